use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One line of the audit trail: who changed what, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `user:NAME`, `token:NAME`, `cli:ACCOUNT` or `ip:ADDRESS` (failed sign-ins).
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
}
