use std::time::Duration;

use axum::{extract::State, http::StatusCode, Json};
use sqlx::PgPool;
use vigil_core::{model::live::DbState, store::health};

/// Liveness: the process answers. Never touches the database, so a database outage does not get
/// Vigil restarted by an orchestrator.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers within a second.
pub async fn readyz(State(pool): State<PgPool>) -> (StatusCode, Json<DbState>) {
    let state = health::ping(&pool, Duration::from_secs(1)).await;
    let code = if state.is_connected() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(state))
}
