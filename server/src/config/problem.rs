//! What every section's checks answer with.

/// A setting that does not make sense: which key, why, and (for monitors) the line it starts
/// on. Every section's checks answer with this one shape; [`ConfigError::invalid`] says where.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            line: None,
            key: key.into(),
            message: message.into(),
        }
    }
}
