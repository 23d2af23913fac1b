//! `/api/v1/follow-ups`: post-mortems' follow-up tasks as items, for scripts and trackers —
//! listed across incidents (scope `read`), added to a post-mortem and changed (scope
//! `postmortems:write`).

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::{
    model::follow_up::{FollowUp, FollowUpFilter, FollowUpStatus},
    store::follow_ups::{self, Fields},
};

use crate::http::api::{
    extract::{ApiJson, Require},
    scope,
};
use crate::http::{api::error::ApiError, state::AppState};

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only this user's items.
    pub owner: Option<String>,
    /// `open`, `done`, `wont_do` or `all` (the default).
    pub status: Option<String>,
    /// `true`: only open items past their due date.
    pub overdue: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct FollowUpList {
    /// Open items first, soonest due first.
    pub follow_ups: Vec<FollowUp>,
}

fn status(s: &str) -> Result<FollowUpStatus, ApiError> {
    FollowUpStatus::parse(s)
        .ok_or_else(|| ApiError::invalid("status", format!("`{s}` is not open, done or wont_do")))
}

/// `YYYY-MM-DD`; empty clears.
fn date(s: &str) -> Result<Option<NaiveDate>, ApiError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(Some)
        .map_err(|_| ApiError::invalid("due_on", format!("`{s}` is not a date like 2026-12-31")))
}

/// `GET /api/v1/follow-ups` (scope `read`): every post-mortem's follow-ups.
#[utoipa::path(get, path = "/api/v1/follow-ups", params(ListQuery),
    responses((status = 200, body = FollowUpList), (status = 400), (status = 401), (status = 403)),
    security(("token" = ["read"]), ("token" = ["postmortems:write"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Require<scope::ReadsPostmortems>,
    Query(q): Query<ListQuery>,
) -> Result<Json<FollowUpList>, ApiError> {
    let filter = FollowUpFilter {
        owner: q.owner.filter(|o| !o.is_empty()),
        status: match q.status.as_deref() {
            None | Some("" | "all") => None,
            Some(s) => Some(status(s)?),
        },
        overdue: q.overdue.unwrap_or(false),
    };
    Ok(Json(FollowUpList {
        follow_ups: follow_ups::list(&state.pool, &filter).await?,
    }))
}

/// A new follow-up.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFollowUp {
    pub title: String,
    /// A Vigil user name.
    pub owner: Option<String>,
    /// `YYYY-MM-DD`, today or later.
    pub due_on: Option<String>,
    /// The issue tracking it (http or https).
    pub link: Option<String>,
    /// With `[github]`: open a GitHub issue for it (its address becomes the link, and the
    /// status follows the issue's state). Left out: `github.open_by_default`.
    pub github_issue: Option<bool>,
}

/// A change; fields left out stay as they are, an empty `owner`, `due_on` or `link` clears it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpChange {
    pub title: Option<String>,
    pub owner: Option<String>,
    pub due_on: Option<String>,
    /// `open`, `done` or `wont_do`.
    pub status: Option<String>,
    pub link: Option<String>,
}

async fn one(state: &AppState, id: i64) -> Result<FollowUp, ApiError> {
    follow_ups::list(&state.pool, &FollowUpFilter::default())
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no follow-up {id}")))
}

/// `POST /api/v1/incidents/{id}/postmortem/follow-ups` (scope `postmortems:write`).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem/follow-ups", request_body = NewFollowUp,
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 201, body = FollowUp), (status = 400, description = "a field is wrong: the answer names it"),
        (status = 401), (status = 403), (status = 404)),
    security(("token" = ["postmortems:write"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Require<scope::PostmortemsWrite>,
    Path(incident): Path<i64>,
    ApiJson(input): ApiJson<NewFollowUp>,
) -> Result<(StatusCode, Json<FollowUp>), ApiError> {
    let who = caller.audit_name();
    if input.github_issue == Some(true) && state.github.is_none() {
        return Err(ApiError::invalid(
            "github_issue",
            "this Vigil does not open GitHub issues: configure [github] (repository and token)",
        ));
    }
    let due = input.due_on.as_deref().map(date).transpose()?;
    let fields = Fields {
        title: Some(&input.title),
        owner: Some(input.owner.as_deref()),
        due_on: due,
        status: None,
        link: Some(input.link.as_deref()),
        github: input.github_issue,
    };
    let id = follow_ups::create(&state.pool, incident, &fields, &who).await?;
    Ok((StatusCode::CREATED, Json(one(&state, id).await?)))
}

/// `PATCH /api/v1/follow-ups/{id}` (scope `postmortems:write`).
#[utoipa::path(patch, path = "/api/v1/follow-ups/{id}", request_body = FollowUpChange,
    params(("id" = i64, Path, description = "follow-up id")),
    responses((status = 200, body = FollowUp), (status = 400, description = "a field is wrong: the answer names it"),
        (status = 401), (status = 403), (status = 404)),
    security(("token" = ["postmortems:write"])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Require<scope::PostmortemsWrite>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<FollowUpChange>,
) -> Result<Json<FollowUp>, ApiError> {
    let who = caller.audit_name();
    one(&state, id).await?;
    let fields = Fields {
        title: input.title.as_deref(),
        owner: input
            .owner
            .as_deref()
            .map(|o| Some(o).filter(|o| !o.is_empty())),
        due_on: input.due_on.as_deref().map(date).transpose()?,
        status: input.status.as_deref().map(status).transpose()?,
        link: input
            .link
            .as_deref()
            .map(|l| Some(l).filter(|l| !l.is_empty())),
        github: None,
    };
    follow_ups::update(&state.pool, id, &fields, &who).await?;
    Ok(Json(one(&state, id).await?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(create))
        .routes(routes!(update))
}
