//! `/api/v1/incidents` and `/api/v1/maintenances`: create and change incidents from scripts with
//! Statuspage's field names (scope `incidents:write`), read them with internal notes (scope
//! `read`).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::{
    model::incident::{Impact, IncidentKind, IncidentStatus, MaintenanceStatus, StatusName},
    store::{
        incident_commands::{self, IncidentInput, UpdateInput},
        incidents::{self, Filter},
    },
};

use crate::http::api::{
    extract::{ApiJson, Require},
    scope,
};
use crate::http::{
    api::bodies::{Incident, IncidentList},
    api::error::ApiError,
    state::AppState,
};

/// A new incident.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// What is affected, in a few words.
    name: String,
    /// investigating (default), identified, monitoring or resolved.
    status: Option<IncidentStatus>,
    /// none, minor (default), major or critical.
    impact: Option<Impact>,
    /// The first public update.
    body: Option<String>,
    /// Affected components (ids from /api/v2/components.json).
    component_ids: Option<Vec<String>>,
}

/// A change to an incident or maintenance; every field optional.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatch {
    name: Option<String>,
    /// One of the incident's (or the maintenance's) statuses.
    #[schema(value_type = Option<String>)]
    status: Option<StatusName>,
    impact: Option<Impact>,
    component_ids: Option<Vec<String>>,
}

/// An update on the timeline.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpdate {
    body: String,
    /// A new status with the update (not for internal notes).
    #[schema(value_type = Option<String>)]
    status: Option<StatusName>,
    /// true: an internal note, never shown publicly.
    #[serde(default)]
    internal: bool,
}

/// A scheduled maintenance.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMaintenance {
    name: String,
    /// scheduled (default), in_progress, verifying or completed.
    status: Option<MaintenanceStatus>,
    body: Option<String>,
    component_ids: Option<Vec<String>>,
    scheduled_for: DateTime<Utc>,
    scheduled_until: DateTime<Utc>,
}

async fn one(state: &AppState, id: i64) -> Result<Incident, ApiError> {
    let i = incidents::get(&state.pool, id, true)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no incident {id}")))?;
    Ok(Incident::of(&i, &state.public_url))
}

#[utoipa::path(post, path = "/api/v1/incidents", request_body = NewIncident,
    responses((status = 201, body = Incident, description = "the incident, with its `id`"), (status = 400, description = "a field is wrong; `field` names it"),
              (status = 401), (status = 403)),
    security(("token" = ["incidents:write"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Require<scope::IncidentsWrite>,
    ApiJson(n): ApiJson<NewIncident>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let who = caller.audit_name();
    let input = IncidentInput {
        name: Some(n.name),
        status: n.status.map(StatusName::Incident),
        impact: n.impact,
        body: n.body,
        component_ids: n.component_ids,
        ..Default::default()
    };
    let id = incident_commands::create(&state.pool, IncidentKind::Incident, &input, &who).await?;
    Ok((StatusCode::CREATED, Json(one(&state, id).await?)))
}

#[utoipa::path(post, path = "/api/v1/maintenances", request_body = NewMaintenance,
    responses((status = 201, body = Incident, description = "the maintenance, with its `id`"), (status = 400), (status = 401), (status = 403)),
    security(("token" = ["incidents:write"])))]
pub async fn create_maintenance(
    State(state): State<AppState>,
    caller: Require<scope::IncidentsWrite>,
    ApiJson(n): ApiJson<NewMaintenance>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let who = caller.audit_name();
    let input = IncidentInput {
        name: Some(n.name),
        status: n.status.map(StatusName::Maintenance),
        impact: None,
        body: n.body,
        component_ids: n.component_ids,
        scheduled_for: Some(n.scheduled_for),
        scheduled_until: Some(n.scheduled_until),
    };
    let id =
        incident_commands::create(&state.pool, IncidentKind::Maintenance, &input, &who).await?;
    Ok((StatusCode::CREATED, Json(one(&state, id).await?)))
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}", request_body = IncidentPatch,
    params(("id" = i64, Path, description = "incident or maintenance id")),
    responses((status = 200, body = Incident, description = "the changed incident"), (status = 400), (status = 404)),
    security(("token" = ["incidents:write"])))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Require<scope::IncidentsWrite>,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<IncidentPatch>,
) -> Result<Json<Incident>, ApiError> {
    let who = caller.audit_name();
    let input = IncidentInput {
        name: p.name,
        status: p.status,
        impact: p.impact,
        component_ids: p.component_ids,
        ..Default::default()
    };
    incident_commands::patch(&state.pool, id, &input, &who).await?;
    Ok(Json(one(&state, id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/updates", request_body = NewUpdate,
    params(("id" = i64, Path, description = "incident or maintenance id")),
    responses((status = 201, body = Incident, description = "the incident with its new update"), (status = 400), (status = 404)),
    security(("token" = ["incidents:write"])))]
pub async fn post_update(
    State(state): State<AppState>,
    caller: Require<scope::IncidentsWrite>,
    Path(id): Path<i64>,
    ApiJson(u): ApiJson<NewUpdate>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let who = caller.audit_name();
    let input = UpdateInput {
        body: u.body,
        status: u.status,
        internal: u.internal,
    };
    incident_commands::post_update(&state.pool, id, &input, &who).await?;
    Ok((StatusCode::CREATED, Json(one(&state, id).await?)))
}

#[utoipa::path(get, path = "/api/v1/incidents",
    responses((status = 200, body = IncidentList, description = "the 100 newest incidents and maintenances, with internal notes"), (status = 401), (status = 403)),
    security(("token" = ["read"]), ("token" = ["incidents:write"]), ("token" = ["postmortems:write"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Require<scope::ReadsIncidents>,
) -> Result<Json<IncidentList>, ApiError> {
    let incidents = incidents::list(&state.pool, Filter::Everything(100), true)
        .await?
        .iter()
        .map(|i| Incident::of(i, &state.public_url))
        .collect();
    Ok(Json(IncidentList { incidents }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", params(("id" = i64, Path, description = "incident id")),
    responses((status = 200, body = Incident, description = "the incident with internal notes"), (status = 404)),
    security(("token" = ["read"]), ("token" = ["incidents:write"]), ("token" = ["postmortems:write"])))]
pub async fn get_one(
    State(state): State<AppState>,
    _: Require<scope::ReadsIncidents>,
    Path(id): Path<i64>,
) -> Result<Json<Incident>, ApiError> {
    Ok(Json(one(&state, id).await?))
}

/// `GET /api/v1/incidents/{id}/causes`: the chains of causes Vigil's evidence points to, best
/// first, each link citing its events — or that the evidence holds no infrastructure cause.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/causes",
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 200, body = vigil_core::model::causes::Causes), (status = 401), (status = 403),
        (status = 404)),
    security(("token" = ["read"]), ("token" = ["incidents:write"]), ("token" = ["postmortems:write"])))]
pub async fn causes(
    State(state): State<AppState>,
    _: Require<scope::ReadsIncidents>,
    Path(id): Path<i64>,
) -> Result<Json<vigil_core::model::causes::Causes>, ApiError> {
    state
        .causes
        .of_incident(&state.pool, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no incident {id}")))
}

/// `GET /api/v1/dependencies`: what Vigil knows is served through what and runs where — each
/// monitor's load-balancer ports (declared or discovered), each backend's node, the providers.
#[utoipa::path(get, path = "/api/v1/dependencies",
    responses((status = 200, body = vigil_core::model::causes::DependencyMap), (status = 401),
        (status = 403)),
    security(("token" = ["read"])))]
pub async fn dependencies(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Json<vigil_core::model::causes::DependencyMap>, ApiError> {
    Ok(Json(
        state.causes.map(&state.pool, &Default::default()).await?,
    ))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, patch))
        .routes(routes!(causes))
        .routes(routes!(dependencies))
        .routes(routes!(post_update))
        .routes(routes!(create_maintenance))
}
