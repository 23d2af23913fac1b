//! `GET /api/v1/slos` and `/api/v1/slos/{id}`: each objective's target, what it achieved so far,
//! its error budget, burn rates and alerts (scope `read`). The objectives themselves are
//! written through `/api/v1/objectives` like every other object of the world.

use axum::{
    extract::{Path, State},
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::model::objective::SloView;

use crate::http::api::{extract::Require, scope};
use crate::http::{api::error::ApiError, state::AppState};
use crate::objectives::Judge;

#[derive(Serialize, ToSchema)]
pub struct SloList {
    pub slos: Vec<SloView>,
}

fn judge(state: &AppState) -> Judge {
    Judge {
        pool: state.pool.clone(),
        live: state.world.live.clone(),
    }
}

/// `GET /api/v1/slos` (scope `read`): every objective, judged now.
#[utoipa::path(get, path = "/api/v1/slos",
    responses((status = 200, body = SloList), (status = 401), (status = 403)),
    security(("token" = ["read"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Json<SloList>, ApiError> {
    let slos = judge(&state).slos(None).await?;
    Ok(Json(SloList { slos }))
}

/// `GET /api/v1/slos/{id}` (scope `read`): one objective, judged now.
#[utoipa::path(get, path = "/api/v1/slos/{id}",
    responses((status = 200, body = SloView), (status = 401), (status = 403), (status = 404)),
    security(("token" = ["read"])))]
pub async fn one(
    State(state): State<AppState>,
    _: Require<scope::Read>,
    Path(id): Path<String>,
) -> Result<Json<SloView>, ApiError> {
    judge(&state)
        .slos(Some(&id))
        .await?
        .pop()
        .map(Json)
        .ok_or_else(|| {
            ApiError::NotFound(format!("no objective `{id}`; GET /api/v1/slos lists them"))
        })
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one))
}
