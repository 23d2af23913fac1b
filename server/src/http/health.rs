use std::time::Duration;

use axum::{extract::State, http::StatusCode};
use vigil_core::{model::live::DbState, store::health};

/// Liveness: the process answers. Never touches the database, so a database outage does not get
/// Vigil restarted by an orchestrator.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers within a second — or, while it does not, this replica holds a
/// last known state to answer the public with (it says so: 200 `degraded`). Only a replica with
/// neither is not ready: taking every replica out of a load balancer during an outage of
/// PostgreSQL would turn the status page off exactly when it is needed. Public, so few words: why
/// is in the log and on `/ops`.
pub async fn readyz(
    State(state): State<crate::http::state::AppState>,
) -> (StatusCode, &'static str) {
    let db = health::ping(&state.pool, Duration::from_secs(1)).await;
    if db.is_connected() {
        return (StatusCode::OK, "ready\n");
    }
    if let DbState::Unreachable { error } = &db {
        tracing::warn!(%error, "the database does not answer");
    }
    if state.status.holds_a_state() {
        (
            StatusCode::OK,
            "degraded: database unreachable, serving the last known state\n",
        )
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n")
    }
}

pub fn endpoints() -> Vec<crate::http::endpoint::Endpoint> {
    use crate::http::endpoint::get;
    vec![get("/healthz", healthz), get("/readyz", readyz)]
}
