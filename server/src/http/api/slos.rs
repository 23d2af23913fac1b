//! `GET /api/v1/slos` and `/api/v1/slos/{id}`: each objective's target, what it achieved so far,
//! its error budget, burn rates and alerts (scope `read`); `/api/v1/slos/{id}/report`: a
//! calendar month of it, as JSON or CSV. The objectives themselves are
//! written through `/api/v1/objectives` like every other object of the world.

use axum::{
    extract::{Path, Query, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::model::objective::{Month, SloReport, SloView};

use crate::http::api::{extract::Require, scope};
use crate::http::{api::error::ApiError, state::AppState};
use crate::objectives::Judge;

#[derive(Serialize, ToSchema)]
pub struct SloList {
    pub slos: Vec<SloView>,
}

fn judge(state: &AppState) -> &Judge {
    &state.world.judge
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

#[derive(Deserialize, IntoParams)]
pub struct ReportQuery {
    /// `YYYY-MM` (UTC); this month when left out.
    pub month: Option<String>,
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
}

/// `GET /api/v1/slos/{id}/report?month=2026-11[&format=csv]` (scope `read`): one objective over
/// a calendar month — target, achieved, budget spent, each day, and the incidents that spent
/// it — as JSON, or as CSV (a row per day, per incident, and the month's).
#[utoipa::path(get, path = "/api/v1/slos/{id}/report", params(ReportQuery),
    responses((status = 200, body = SloReport, description = "JSON, or text/csv with format=csv"),
        (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("token" = ["read"])))]
pub async fn report(
    State(state): State<AppState>,
    _: Require<scope::Read>,
    Path(id): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now();
    let month = match q.month.as_deref() {
        None => Month::of(now),
        Some(m) => Month::parse(m).map_err(|e| ApiError::invalid("month", e))?,
    };
    crate::objectives::reachable(month, now).map_err(|e| ApiError::invalid("month", e))?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("`{other}` is not a report format: use json or csv"),
            ))
        }
    };
    let report = judge(&state)
        .reports(Some(&id), None, month)
        .await
        .map_err(ApiError::Internal)?
        .pop()
        .ok_or_else(|| {
            ApiError::NotFound(format!("no objective `{id}`; GET /api/v1/slos lists them"))
        })?;
    if !csv {
        return Ok(Json(report).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-{}.csv\"",
                    report.id, report.month
                ),
            ),
        ],
        report.csv(),
    )
        .into_response())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one))
        .routes(routes!(report))
}
