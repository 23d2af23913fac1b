//! The replicas sharing one database and the work each holds, as `/ops` shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A replica and the work it holds, for `/ops`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaView {
    pub id: String,
    pub hostname: String,
    pub addr: String,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub leases: Vec<LeaseView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaseView {
    pub name: String,
    /// Since when this replica has held it without interruption.
    pub since: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
