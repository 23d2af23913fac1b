//! The world through the API: `/api/v1/components`, `/api/v1/monitors` (create, read, change,
//! delete) and `/api/v1/world` (export, plan, apply, revisions, restore). Bodies use the TOML's
//! field names. Every object carries its revision as an ETag; a write with `If-Match` naming an
//! older one is refused with 412 and the object as it is now. Writes need `config:write` (the
//! admin role, for people); every write is one revision, through `world::apply::change`.

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::model::auth::Principal;

use crate::config::monitors::{ComponentConfig, MonitorConfig};
use crate::http::api::{
    error::ApiError,
    extract::{ApiJson, Require},
    scope,
};
use crate::http::state::AppState;
use vigil_core::model::world::WorldOp;

use crate::world::{
    apply::{self, Applied, Current, Edit},
    command,
    plan::{self, ObjectKind, Plan},
    Actor, World,
};

/// A component as stored: its fields, the revision that last changed it, what manages it.
#[derive(Serialize, ToSchema)]
pub struct ComponentItem {
    #[serde(flatten)]
    pub component: ComponentConfig,
    pub revision: i64,
    /// `file PATH` when a configuration file declares it (then it is read-only here).
    pub managed_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ComponentList {
    pub components: Vec<ComponentItem>,
    /// The world's revision.
    pub revision: i64,
}

/// A monitor as stored, secrets shown as "(secret)".
#[derive(Serialize, ToSchema)]
pub struct MonitorObject {
    pub id: i64,
    #[serde(flatten)]
    pub monitor: MonitorConfig,
    pub revision: i64,
    pub managed_by: Option<String>,
}

/// The live world, secrets shown as "(secret)", at a revision.
#[derive(Serialize, ToSchema)]
pub struct WorldExport {
    pub revision: i64,
    #[serde(flatten)]
    pub world: World,
}

/// A world to plan or apply. Without `prune`, objects it does not name are kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorldInput {
    #[serde(default, rename = "component")]
    pub components: Vec<ComponentConfig>,
    #[serde(default, rename = "monitor")]
    pub monitors: Vec<MonitorConfig>,
    /// Data sources, channels, alert rules and the page, with `vigil.toml`'s section names.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub prometheus: Vec<crate::config::resources::PrometheusConfig>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub node_exporter: Vec<crate::config::resources::NodeExporterConfig>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub kubernetes: Vec<crate::config::kubernetes::KubernetesConfig>,
    #[schema(value_type = Option<Object>)]
    pub linode: Option<crate::config::LinodeConfig>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub upstream: Vec<crate::config::upstream::UpstreamConfig>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub notify: Vec<crate::config::notify::NotifyConfig>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub alert: Vec<crate::config::resources::AlertConfig>,
    pub page: Option<crate::world::settings::PageConfig>,
    /// Objectives and their error budgets.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub objective: Vec<vigil_core::model::objective::ObjectiveSpec>,
    /// Remove what the world has and this does not name.
    #[serde(default)]
    pub prune: bool,
    /// Refuse (409) unless the live world is still at this revision.
    pub expect_revision: Option<i64>,
    /// Said in the history beside the revision.
    pub message: Option<String>,
}

/// What a plan or an apply found: the change field by field, and the revision it is from (a
/// plan) or made (an apply; `revised` false when nothing needed changing).
#[derive(Serialize, ToSchema)]
pub struct WorldOutcome {
    pub revision: i64,
    pub revised: bool,
    pub plan: Plan,
    /// The plan as `vigil world plan` prints it.
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct RevisionItem {
    pub number: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    pub message: Option<String>,
    pub changes: Plan,
}

#[derive(Serialize, ToSchema)]
pub struct RevisionList {
    pub revisions: Vec<RevisionItem>,
}

#[derive(Deserialize, IntoParams)]
pub struct RevisionsQuery {
    /// At most this many, newest first (default 50, at most 500).
    limit: Option<i64>,
}

/// The revision a write is conditional on (`If-Match: "12"`); `*` or none: any.
pub(super) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            ApiError::invalid(
                "If-Match",
                format!("`{text}` is not a revision; send the ETag you were given, e.g. \"12\""),
            )
        })
}

pub(super) fn with_etag(status: StatusCode, revision: i64, body: impl Serialize) -> Response {
    let mut resp = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{revision}\"")) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

pub(super) fn edit(principal: &Principal, headers: &HeaderMap) -> Edit {
    let mut edit = Edit::by(Actor::of(principal));
    edit.message = headers
        .get("x-vigil-message")
        .and_then(|v| v.to_str().ok())
        .map(|m| m.chars().take(500).collect());
    edit
}

fn component_item(current: &Current, c: &ComponentConfig) -> ComponentItem {
    let key = (ObjectKind::Component, c.id.clone());
    ComponentItem {
        component: c.clone(),
        revision: current.revisions.get(&key).copied().unwrap_or_default(),
        managed_by: current.managed.get(&key).cloned(),
    }
}

fn monitor_object(
    applied: &Applied,
    name: &str,
    revision: i64,
    managed_by: Option<String>,
) -> MonitorObject {
    let monitor = applied
        .world
        .monitor(name)
        .cloned()
        .expect("the monitor just written");
    MonitorObject {
        id: applied.monitor_ids.get(name).copied().unwrap_or_default(),
        monitor: hidden(monitor),
        revision,
        managed_by,
    }
}

/// A monitor's secrets as "(secret)".
fn hidden(m: MonitorConfig) -> MonitorConfig {
    plan::without_secrets(&World {
        monitors: vec![m],
        ..Default::default()
    })
    .monitors
    .remove(0)
}

/// The world as stored now, with each object's revision (for reads; writes read it under the
/// lock in `apply::change`).
pub(super) async fn current(state: &AppState) -> Result<Current, ApiError> {
    Ok(apply::stored(&state.pool).await?)
}

// ---- components ----

/// `GET /api/v1/components` (scope `read`): every component, in page order, with its revision.
#[utoipa::path(get, path = "/api/v1/components",
    responses((status = 200, body = ComponentList), (status = 401), (status = 403)),
    security(("token" = ["read"])))]
pub async fn list_components(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Json<ComponentList>, ApiError> {
    let current = current(&state).await?;
    Ok(Json(ComponentList {
        components: current
            .world
            .components
            .iter()
            .map(|c| component_item(&current, c))
            .collect(),
        revision: current.head,
    }))
}

/// `POST /api/v1/components` (scope `config:write`): a new component, last on the page.
#[utoipa::path(post, path = "/api/v1/components", request_body = ComponentConfig,
    responses((status = 201, body = ComponentItem), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("token" = ["config:write"])))]
pub async fn create_component(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    headers: HeaderMap,
    ApiJson(new): ApiJson<ComponentConfig>,
) -> Result<Response, ApiError> {
    let id = new.id.clone();
    let doc = serde_json::to_value(&new).expect("components serialise");
    let applied = apply::change(
        &state.pool,
        &state.world.probes,
        edit(&who.0, &headers),
        command::edit_for(WorldOp::PutComponent {
            original: None,
            doc,
            expected_revision: None,
        }),
    )
    .await?;
    let c = applied.world.component(&id).cloned().expect("just created");
    Ok(with_etag(
        StatusCode::CREATED,
        applied.revision,
        ComponentItem {
            component: c,
            revision: applied.revision,
            managed_by: None,
        },
    ))
}

/// `GET /api/v1/components/{id}` (scope `read`).
#[utoipa::path(get, path = "/api/v1/components/{id}",
    responses((status = 200, body = ComponentItem), (status = 404)),
    security(("token" = ["read"])))]
pub async fn get_component(
    State(state): State<AppState>,
    _: Require<scope::Read>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let current = current(&state).await?;
    let c = current
        .world
        .component(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no component has id `{id}`")))?;
    let item = component_item(&current, c);
    Ok(with_etag(StatusCode::OK, item.revision, item))
}

/// `PATCH /api/v1/components/{id}` (scope `config:write`): a JSON merge patch (`null` clears a
/// field). With `If-Match`, refused with 412 when the component changed since.
#[utoipa::path(patch, path = "/api/v1/components/{id}", request_body = Object,
    responses((status = 200, body = ComponentItem), (status = 400), (status = 404), (status = 409), (status = 412)),
    security(("token" = ["config:write"])))]
pub async fn patch_component(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let applied = apply::change(
        &state.pool,
        &state.world.probes,
        edit(&who.0, &headers),
        |current, w| {
            let op = command::patch(current, ObjectKind::Component, &id, &patch, expected)?;
            command::edit_for(op)(current, w)
        },
    )
    .await?;
    let current = current(&state).await?;
    let c = applied.world.component(&id).expect("patched");
    let item = component_item(&current, c);
    Ok(with_etag(StatusCode::OK, item.revision, item))
}

/// `DELETE /api/v1/components/{id}` (scope `config:write`): refused while monitors belong to it
/// or open incidents name it (the answer lists them). Its history stays.
#[utoipa::path(delete, path = "/api/v1/components/{id}",
    responses((status = 204), (status = 400), (status = 404), (status = 409), (status = 412)),
    security(("token" = ["config:write"])))]
pub async fn delete_component(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let expected = if_match(&headers)?;
    apply::change(
        &state.pool,
        &state.world.probes,
        edit(&who.0, &headers),
        |current, w| {
            command::refuse_stale(current, ObjectKind::Component, &id, expected)?;
            command::edit_for(WorldOp::DeleteComponent { id: id.clone() })(current, w)
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- monitors ----

/// `POST /api/v1/monitors` (scope `config:write`): a new monitor, checked within a second or
/// two by whichever replica runs the probes.
#[utoipa::path(post, path = "/api/v1/monitors", request_body = MonitorConfig,
    responses((status = 201, body = MonitorObject), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("token" = ["config:write"])))]
pub async fn create_monitor(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    headers: HeaderMap,
    ApiJson(new): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let name = new
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let applied = apply::change(
        &state.pool,
        &state.world.probes,
        edit(&who.0, &headers),
        command::edit_for(WorldOp::PutMonitor {
            original: None,
            doc: new,
            expected_revision: None,
        }),
    )
    .await?;
    let object = monitor_object(&applied, &name, applied.revision, None);
    Ok(with_etag(StatusCode::CREATED, applied.revision, object))
}

/// The name of the live monitor with database id `id`.
async fn monitor_name(state: &AppState, id: i64) -> Result<String, ApiError> {
    vigil_core::store::world::live_monitor_name(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no monitor has id {id}")))
}

/// `GET /api/v1/monitors/{id}` (scope `read`): the monitor as written, secrets hidden.
#[utoipa::path(get, path = "/api/v1/monitors/{id}",
    responses((status = 200, body = MonitorObject), (status = 404)),
    security(("token" = ["read"])))]
pub async fn get_monitor(
    State(state): State<AppState>,
    _: Require<scope::Read>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let name = monitor_name(&state, id).await?;
    let current = current(&state).await?;
    let key = (ObjectKind::Monitor, name.clone());
    let monitor = current.world.monitor(&name).cloned().ok_or_else(|| {
        ApiError::NotFound(format!(
            "monitor {id} predates revisions; apply the configuration file once"
        ))
    })?;
    let revision = current.revisions.get(&key).copied().unwrap_or_default();
    Ok(with_etag(
        StatusCode::OK,
        revision,
        MonitorObject {
            id,
            monitor: hidden(monitor),
            revision,
            managed_by: current.managed.get(&key).cloned(),
        },
    ))
}

/// `PATCH /api/v1/monitors/{id}` (scope `config:write`): a JSON merge patch with the TOML's
/// field names (`{"interval_secs": 10}`; `null` clears a field). Only this monitor is re-timed.
#[utoipa::path(patch, path = "/api/v1/monitors/{id}", request_body = Object,
    responses((status = 200, body = MonitorObject), (status = 400), (status = 404), (status = 409), (status = 412)),
    security(("token" = ["config:write"])))]
pub async fn patch_monitor(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let name = monitor_name(&state, id).await?;
    let applied = apply::change(
        &state.pool,
        &state.world.probes,
        edit(&who.0, &headers),
        |current, w| {
            let op = command::patch(current, ObjectKind::Monitor, &name, &patch, expected)?;
            command::edit_for(op)(current, w)
        },
    )
    .await?;
    // This monitor's row alone: the world was just read under the lock, not again here.
    let head = vigil_core::store::world::monitor_head(&state.pool, &name).await?;
    let revision = head.as_ref().map_or(applied.revision, |h| h.revision);
    let object = monitor_object(&applied, &name, revision, head.and_then(|h| h.managed_by));
    Ok(with_etag(StatusCode::OK, revision, object))
}

/// `DELETE /api/v1/monitors/{id}` (scope `config:write`): no further checks; its results,
/// events and incidents stay.
#[utoipa::path(delete, path = "/api/v1/monitors/{id}",
    responses((status = 204), (status = 404), (status = 409), (status = 412)),
    security(("token" = ["config:write"])))]
pub async fn delete_monitor(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let expected = if_match(&headers)?;
    let name = monitor_name(&state, id).await?;
    apply::change(
        &state.pool,
        &state.world.probes,
        edit(&who.0, &headers),
        |current, w| {
            command::refuse_stale(current, ObjectKind::Monitor, &name, expected)?;
            command::edit_for(WorldOp::DeleteMonitor { name: name.clone() })(current, w)
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- the world ----

/// `GET /api/v1/world` (scope `read`): the live world as `vigil world export` prints it.
#[utoipa::path(get, path = "/api/v1/world",
    responses((status = 200, body = WorldExport)),
    security(("token" = ["read"])))]
pub async fn export(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Response, ApiError> {
    let current = current(&state).await?;
    let world = plan::without_secrets(&current.world).sorted();
    Ok(with_etag(
        StatusCode::OK,
        current.head,
        WorldExport {
            revision: current.head,
            world,
        },
    ))
}

/// The world `input` asks for, from the world as it is.
pub fn wanted(current: &World, input: World, prune: bool) -> World {
    if prune {
        return input;
    }
    let mut out = current.clone();
    let mut settings = out.settings();
    let given_settings = input.settings();
    upsert(&mut out.components, input.components, |c| c.id.clone());
    upsert(&mut out.monitors, input.monitors, |m| m.name.clone());
    upsert(&mut settings, given_settings, |s| {
        format!("{}/{}", s.kind.name(), s.id)
    });
    out.set_settings(settings)
        .expect("settings that were read read again");
    out
}

/// Replaces the items of `into` that share a key with one of `given`, appends the others; in
/// linear time (a world of ten thousand monitors is merged as fast as it is read).
fn upsert<T>(into: &mut Vec<T>, given: Vec<T>, key: impl Fn(&T) -> String) {
    let mut at: std::collections::HashMap<String, usize> =
        into.iter().enumerate().map(|(i, t)| (key(t), i)).collect();
    for item in given {
        match at.get(&key(&item)) {
            Some(&i) => into[i] = item,
            None => {
                at.insert(key(&item), into.len());
                into.push(item);
            }
        }
    }
}

impl From<Applied> for WorldOutcome {
    fn from(applied: Applied) -> Self {
        WorldOutcome {
            revision: applied.revision,
            revised: applied.revised,
            text: applied.plan.to_text(),
            plan: applied.plan,
        }
    }
}

async fn plan_or_apply(
    state: &AppState,
    principal: &Principal,
    input: WorldInput,
    dry_run: bool,
) -> Result<WorldOutcome, ApiError> {
    let mut edit = Edit::by(Actor::of(principal));
    edit.message = input.message;
    edit.expect_revision = input.expect_revision;
    edit.dry_run = dry_run;
    let given = World {
        components: input.components,
        monitors: input.monitors,
        prometheus: input.prometheus,
        node_exporters: input.node_exporter,
        kubernetes: input.kubernetes,
        linode: input.linode,
        upstreams: input.upstream,
        notify: input.notify,
        alerts: input.alert,
        page: input.page,
        objectives: input.objective,
    };
    let prune = input.prune;
    let applied = apply::change(&state.pool, &state.world.probes, edit, |current, w| {
        *w = wanted(&current.world, given, prune);
        Ok(())
    })
    .await?;
    Ok(applied.into())
}

/// `POST /api/v1/world/plan` (scope `config:write`): what applying this world would change,
/// field by field; nothing is written. Invalid worlds answer 400 with every problem.
#[utoipa::path(post, path = "/api/v1/world/plan", request_body = WorldInput,
    responses((status = 200, body = WorldOutcome), (status = 400), (status = 409)),
    security(("token" = ["config:write"])))]
pub async fn plan_world(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    ApiJson(input): ApiJson<WorldInput>,
) -> Result<Json<WorldOutcome>, ApiError> {
    Ok(Json(plan_or_apply(&state, &who.0, input, true).await?))
}

/// `POST /api/v1/world/apply` (scope `config:write`): applies this world as one revision (none
/// when it changes nothing).
#[utoipa::path(post, path = "/api/v1/world/apply", request_body = WorldInput,
    responses((status = 200, body = WorldOutcome), (status = 400), (status = 409)),
    security(("token" = ["config:write"])))]
pub async fn apply_world(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    ApiJson(input): ApiJson<WorldInput>,
) -> Result<Json<WorldOutcome>, ApiError> {
    Ok(Json(plan_or_apply(&state, &who.0, input, false).await?))
}

/// `GET /api/v1/world/revisions` (scope `read`): the history, newest first.
#[utoipa::path(get, path = "/api/v1/world/revisions", params(RevisionsQuery),
    responses((status = 200, body = RevisionList)),
    security(("token" = ["read"])))]
pub async fn revisions(
    State(state): State<AppState>,
    _: Require<scope::Read>,
    Query(q): Query<RevisionsQuery>,
) -> Result<Json<RevisionList>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let revisions = vigil_core::store::world::revisions(&state.pool, limit)
        .await?
        .into_iter()
        .map(|r| RevisionItem {
            number: r.number,
            at: r.at,
            actor: r.actor,
            message: r.message,
            changes: serde_json::from_value(r.changes).unwrap_or_default(),
        })
        .collect();
    Ok(Json(RevisionList { revisions }))
}

/// `POST /api/v1/world/revisions/{number}/restore` (scope `config:write`): makes the world what
/// it was after revision `number`, as a new revision. Secrets are kept from the objects as they
/// are (a revision never holds them).
#[utoipa::path(post, path = "/api/v1/world/revisions/{number}/restore",
    responses((status = 200, body = WorldOutcome), (status = 400), (status = 404), (status = 409)),
    security(("token" = ["config:write"])))]
pub async fn restore(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    Path(number): Path<i64>,
) -> Result<Json<WorldOutcome>, ApiError> {
    let outcome =
        restore_revision(&state.pool, &state.world.probes, Actor::of(&who.0), number).await?;
    Ok(Json(outcome))
}

/// Restores revision `number` as a new one (shared with `vigil world restore`).
pub async fn restore_revision(
    pool: &sqlx::PgPool,
    probes: &crate::config::monitors::ProbesConfig,
    actor: Actor,
    number: i64,
) -> Result<WorldOutcome, ApiError> {
    use vigil_core::store::world::{world_at, WorldAt};
    let world: World = match world_at(pool, number).await? {
        None => return Err(ApiError::NotFound(format!("there is no revision {number}"))),
        Some(WorldAt::Whole(world)) => serde_json::from_value(world).map_err(|e| e.to_string()),
        Some(WorldAt::Versions(versions)) => crate::world::history::world_of(versions),
    }
    .map_err(|e| ApiError::Internal(format!("revision {number} does not read: {e}")))?;
    // A revision with no settings at all predates them (or had none): the settings stay as they
    // are rather than every source being removed.
    let keep_settings = world.settings().is_empty();
    let mut edit = Edit::by(actor);
    edit.message = Some(format!("restore revision {number}"));
    let applied = apply::change(pool, probes, edit, |current, w| {
        let settings = if keep_settings {
            current.world.settings()
        } else {
            world.settings()
        };
        *w = world;
        w.set_settings(settings).map_err(apply::WorldError::Invalid)
    })
    .await?;
    Ok(applied.into())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_components, create_component))
        .routes(routes!(get_component, patch_component, delete_component))
        .routes(routes!(super::v1::monitors, create_monitor))
        .routes(routes!(get_monitor, patch_monitor, delete_monitor))
        .routes(routes!(export))
        .routes(routes!(plan_world))
        .routes(routes!(apply_world))
        .routes(routes!(revisions))
        .routes(routes!(restore))
}
