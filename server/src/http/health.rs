use std::time::Duration;

use axum::{extract::State, http::StatusCode};
use sqlx::PgPool;
use vigil_core::{model::live::DbState, store::health};

/// Liveness: the process answers. Never touches the database, so a database outage does not get
/// Vigil restarted by an orchestrator.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers within a second. Public, so one word: why it is not ready is
/// in the log and on `/ops`, not in front of strangers.
pub async fn readyz(State(pool): State<PgPool>) -> (StatusCode, &'static str) {
    let state = health::ping(&pool, Duration::from_secs(1)).await;
    if state.is_connected() {
        (StatusCode::OK, "ready\n")
    } else {
        if let DbState::Unreachable { error } = &state {
            tracing::warn!(%error, "not ready: the database does not answer");
        }
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n")
    }
}

pub fn router() -> axum::Router<super::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}
