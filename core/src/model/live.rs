//! The heartbeat every page shows: is the server alive, and can it reach its database?

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the server knows about its own database at one instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DbState {
    /// A round trip succeeded; `latency_ms` is how long `SELECT 1` took.
    Connected { latency_ms: f64 },
    /// The last round trip failed; `error` is a one-line reason fit to show an operator.
    Unreachable { error: String },
    /// No check has completed yet (the first second after start-up).
    Unknown,
}

impl DbState {
    pub fn is_connected(&self) -> bool {
        matches!(self, DbState::Connected { .. })
    }

    /// A short phrase for people; colour is never the only signal.
    pub fn describe(&self) -> String {
        match self {
            DbState::Connected { latency_ms } => format!("connected ({latency_ms:.1} ms)"),
            DbState::Unreachable { error } => format!("unreachable: {error}"),
            DbState::Unknown => "not checked yet".to_string(),
        }
    }
}

/// One tick of the live feed pushed to every open page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveStatus {
    pub server_time: DateTime<Utc>,
    pub db: DbState,
    /// Increments with every tick, so a client can tell a fresh value from a repeated one.
    pub seq: u64,
    /// The newest event id: when it moves, something on the status page changed.
    pub status_version: i64,
    /// Operators only: who has which post-mortem open in an editor right now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub editing: Vec<super::review::Editing>,
}

impl LiveStatus {
    /// What anonymous visitors get: the tick and the status version (which tell a public page
    /// when to refresh), never the database's latency or error text.
    pub fn public(&self) -> LiveStatus {
        LiveStatus {
            db: DbState::Unknown,
            editing: Vec::new(),
            ..self.clone()
        }
    }

    pub fn starting(now: DateTime<Utc>) -> Self {
        LiveStatus {
            server_time: now,
            db: DbState::Unknown,
            seq: 0,
            status_version: 0,
            editing: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_state_serialises_with_a_tag_clients_can_switch_on() {
        let json = serde_json::to_string(&DbState::Connected { latency_ms: 1.5 }).unwrap();
        assert!(json.contains("\"state\":\"connected\""), "{json}");
        assert!(json.contains("\"latency_ms\":1.5"), "{json}");
    }

    #[test]
    fn descriptions_name_the_state_in_words() {
        assert_eq!(
            DbState::Connected { latency_ms: 0.26 }.describe(),
            "connected (0.3 ms)"
        );
        assert_eq!(
            DbState::Unreachable {
                error: "connection refused".into()
            }
            .describe(),
            "unreachable: connection refused"
        );
        assert!(!DbState::Unknown.is_connected());
    }
}
