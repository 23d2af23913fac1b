//! The world's settings through the API: `/api/v1/sources`, `/api/v1/channels`,
//! `/api/v1/alert-rules` (list, create, read, change, delete) and `/api/v1/page`. Bodies use the
//! TOML's field names (a source's with its `kind`: `{"kind": "prometheus", "name": "prom",
//! "url": "http://prometheus:9090"}`); webhook URLs read back as "(secret)". As with components
//! and monitors, each object's revision is its ETag, writes take `If-Match` and answer 412 with
//! the object as it is now, and every write is one revision through `world::apply::change`.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::model::{auth::Principal, world::WorldOp};

use super::world::{current, edit, if_match, with_etag};
use crate::http::api::{
    error::ApiError,
    extract::{ApiJson, Require},
    scope,
};
use crate::http::state::AppState;
use crate::world::{
    apply::{self, Current},
    command,
    plan::{self, ObjectKind},
    settings::PAGE_ID,
};

/// A setting as stored: its fields as written (credentials as "(secret)"), its id, the revision
/// that last changed it and what manages it.
#[derive(Serialize, ToSchema)]
pub struct SettingItem {
    /// A source's or channel's name, a rule's name (or `memory-above-0.9`), `page`.
    pub id: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Value,
    pub revision: i64,
    /// `file PATH` when a configuration file declares it (then it is read-only here).
    pub managed_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SettingList {
    pub items: Vec<SettingItem>,
    /// The world's revision.
    pub revision: i64,
}

fn item(current: &Current, kind: ObjectKind, id: &str) -> Option<SettingItem> {
    let key = (kind, id.to_string());
    Some(SettingItem {
        id: id.to_string(),
        fields: plan::without_secrets(&current.world).setting(kind, id)?,
        revision: current.revisions.get(&key).copied().unwrap_or_default(),
        managed_by: current.managed.get(&key).cloned(),
    })
}

async fn list(state: &AppState, kind: ObjectKind) -> Result<Json<SettingList>, ApiError> {
    Ok(Json(listed(state, kind).await?))
}

/// Every setting of `kind` as stored, with the world's revision.
pub async fn listed(state: &AppState, kind: ObjectKind) -> Result<SettingList, ApiError> {
    let current = current(state).await?;
    let items = current
        .world
        .settings()
        .into_iter()
        .filter(|s| s.kind == kind)
        .filter_map(|s| item(&current, kind, &s.id))
        .collect();
    Ok(SettingList {
        items,
        revision: current.head,
    })
}

async fn get(state: &AppState, kind: ObjectKind, id: &str) -> Result<Response, ApiError> {
    let current = current(state).await?;
    let found = item(&current, kind, id)
        .ok_or_else(|| ApiError::NotFound(format!("no {} `{id}`", kind.name())))?;
    Ok(with_etag(StatusCode::OK, found.revision, found))
}

/// Writes one setting and answers with it as stored.
async fn put(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    kind: ObjectKind,
    original: Option<String>,
    change: impl FnOnce(&Current) -> Result<Value, apply::WorldError> + Send,
    created: StatusCode,
) -> Result<Response, ApiError> {
    let expected = if_match(headers)?;
    let mut id = None;
    apply::change(
        &state.pool,
        &state.world.probes,
        edit(who, headers),
        |current, w| {
            let doc = change(current)?;
            // The id the document gives; a document that does not read is refused below, in
            // the command's words.
            id = crate::world::World::default()
                .put_setting(kind, doc.clone())
                .ok();
            let op = WorldOp::PutSetting {
                kind: kind.name().into(),
                original: original.clone(),
                doc,
                expected_revision: expected,
            };
            command::edit_for(op)(current, w)
        },
    )
    .await?;
    let current = current(state).await?;
    let id = id.unwrap_or_default();
    let found = item(&current, kind, &id)
        .ok_or_else(|| ApiError::NotFound(format!("no {} `{id}`", kind.name())))?;
    let status = if original.is_none() {
        created
    } else {
        StatusCode::OK
    };
    Ok(with_etag(status, found.revision, found))
}

async fn patch(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    kind: ObjectKind,
    id: String,
    patch: Value,
) -> Result<Response, ApiError> {
    let expected = if_match(headers)?;
    let original = id.clone();
    put(
        state,
        who,
        headers,
        kind,
        Some(original),
        move |current| match command::patch(current, kind, &id, &patch, expected)? {
            WorldOp::PutSetting { doc, .. } => Ok(doc),
            _ => unreachable!("a setting patches into a setting"),
        },
        StatusCode::OK,
    )
    .await
}

async fn delete(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    kind: ObjectKind,
    id: String,
) -> Result<StatusCode, ApiError> {
    let expected = if_match(headers)?;
    apply::change(
        &state.pool,
        &state.world.probes,
        edit(who, headers),
        |current, w| {
            command::refuse_stale(current, kind, &id, expected)?;
            command::edit_for(WorldOp::DeleteSetting {
                kind: kind.name().into(),
                id: id.clone(),
            })(current, w)
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET` of one kind's list, documented at its path.
macro_rules! setting_list {
    ($kind:expr, $what:literal, $list:literal, $list_fn:ident) => {
        #[doc = concat!("`GET ", $list, "` (scope `read`): every ", $what, ", in order, with its revision.")]
        #[utoipa::path(get, path = $list,
            responses((status = 200, body = SettingList), (status = 401), (status = 403)),
            security(("token" = ["read"])))]
        pub async fn $list_fn(
            State(state): State<AppState>,
            _: Require<scope::Read>,
        ) -> Result<Json<SettingList>, ApiError> {
            list(&state, $kind).await
        }
    };
}

/// Create, read, change and delete of one kind of setting, each documented at its path.
macro_rules! setting_routes {
    ($kind:expr, $what:literal, $list:literal, $one:literal,
     $create_fn:ident, $get_fn:ident, $patch_fn:ident, $delete_fn:ident) => {
        #[doc = concat!("`POST ", $list, "` (scope `config:write`): a new ", $what, ", live on every replica within a second or two.")]
        #[utoipa::path(post, path = $list, request_body = Object,
            responses((status = 201, body = SettingItem), (status = 400), (status = 401), (status = 403), (status = 409)),
            security(("token" = ["config:write"])))]
        pub async fn $create_fn(
            State(state): State<AppState>,
            who: Require<scope::ConfigWrite>,
            headers: HeaderMap,
            ApiJson(doc): ApiJson<Value>,
        ) -> Result<Response, ApiError> {
            put(&state, &who.0, &headers, $kind, None, move |_| Ok(doc), StatusCode::CREATED).await
        }

        #[doc = concat!("`GET ", $one, "` (scope `read`).")]
        #[utoipa::path(get, path = $one,
            responses((status = 200, body = SettingItem), (status = 404)),
            security(("token" = ["read"])))]
        pub async fn $get_fn(
            State(state): State<AppState>,
            _: Require<scope::Read>,
            Path(id): Path<String>,
        ) -> Result<Response, ApiError> {
            get(&state, $kind, &id).await
        }

        #[doc = concat!("`PATCH ", $one, "` (scope `config:write`): a JSON merge patch (`null` clears a field); with `If-Match`, 412 when it changed since.")]
        #[utoipa::path(patch, path = $one, request_body = Object,
            responses((status = 200, body = SettingItem), (status = 400), (status = 404), (status = 409), (status = 412)),
            security(("token" = ["config:write"])))]
        pub async fn $patch_fn(
            State(state): State<AppState>,
            who: Require<scope::ConfigWrite>,
            Path(id): Path<String>,
            headers: HeaderMap,
            ApiJson(body): ApiJson<Value>,
        ) -> Result<Response, ApiError> {
            patch(&state, &who.0, &headers, $kind, id, body).await
        }

        #[doc = concat!("`DELETE ", $one, "` (scope `config:write`): stops it on every replica; its history stays.")]
        #[utoipa::path(delete, path = $one,
            responses((status = 204), (status = 404), (status = 409), (status = 412)),
            security(("token" = ["config:write"])))]
        pub async fn $delete_fn(
            State(state): State<AppState>,
            who: Require<scope::ConfigWrite>,
            Path(id): Path<String>,
            headers: HeaderMap,
        ) -> Result<StatusCode, ApiError> {
            delete(&state, &who.0, &headers, $kind, id).await
        }
    };
}

setting_list!(
    ObjectKind::Channel,
    "notification channel",
    "/api/v1/channels",
    list_channels
);
setting_list!(
    ObjectKind::AlertRule,
    "alert rule",
    "/api/v1/alert-rules",
    list_alert_rules
);

setting_routes!(
    ObjectKind::Source,
    "data source",
    "/api/v1/sources",
    "/api/v1/sources/{id}",
    create_source,
    get_source,
    patch_source,
    delete_source
);
setting_routes!(
    ObjectKind::Channel,
    "notification channel",
    "/api/v1/channels",
    "/api/v1/channels/{id}",
    create_channel,
    get_channel,
    patch_channel,
    delete_channel
);
setting_list!(
    ObjectKind::Objective,
    "objective",
    "/api/v1/objectives",
    list_objectives
);
setting_routes!(
    ObjectKind::Objective,
    "objective",
    "/api/v1/objectives",
    "/api/v1/objectives/{id}",
    create_objective,
    get_objective,
    patch_objective,
    delete_objective
);
setting_routes!(
    ObjectKind::AlertRule,
    "alert rule",
    "/api/v1/alert-rules",
    "/api/v1/alert-rules/{id}",
    create_alert_rule,
    get_alert_rule,
    patch_alert_rule,
    delete_alert_rule
);

/// `GET /api/v1/page` (scope `read`): the public page's title, description and links.
#[utoipa::path(get, path = "/api/v1/page",
    responses((status = 200, body = SettingItem), (status = 404)),
    security(("token" = ["read"])))]
pub async fn get_page(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Response, ApiError> {
    get(&state, ObjectKind::Page, PAGE_ID).await
}

/// `PUT /api/v1/page` (scope `config:write`): sets the page's settings (`{"title": …,
/// "description": …, "links": [{"name": …, "url": …}]}`); the public page shows them at once.
#[utoipa::path(put, path = "/api/v1/page", request_body = crate::world::settings::PageConfig,
    responses((status = 200, body = SettingItem), (status = 400), (status = 409), (status = 412)),
    security(("token" = ["config:write"])))]
pub async fn put_page(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    headers: HeaderMap,
    ApiJson(doc): ApiJson<Value>,
) -> Result<Response, ApiError> {
    // Created or replaced: the command decides under the world's lock.
    put(
        &state,
        &who.0,
        &headers,
        ObjectKind::Page,
        None,
        move |_| Ok(doc),
        StatusCode::OK,
    )
    .await
    .map(IntoResponse::into_response)
}

/// `PATCH /api/v1/page` (scope `config:write`): a JSON merge patch of the page's settings.
#[utoipa::path(patch, path = "/api/v1/page", request_body = Object,
    responses((status = 200, body = SettingItem), (status = 400), (status = 404), (status = 412)),
    security(("token" = ["config:write"])))]
pub async fn patch_page(
    State(state): State<AppState>,
    who: Require<scope::ConfigWrite>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    patch(
        &state,
        &who.0,
        &headers,
        ObjectKind::Page,
        PAGE_ID.into(),
        body,
    )
    .await
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // `GET /api/v1/sources` lists them with their freshness (`api::resources`).
        .routes(routes!(create_source))
        .routes(routes!(get_source, patch_source, delete_source))
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(get_channel, patch_channel, delete_channel))
        .routes(routes!(list_alert_rules, create_alert_rule))
        .routes(routes!(get_alert_rule, patch_alert_rule, delete_alert_rule))
        .routes(routes!(get_page, put_page, patch_page))
        .routes(routes!(list_objectives, create_objective))
        .routes(routes!(get_objective, patch_objective, delete_objective))
}
