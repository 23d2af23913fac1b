//! The evidence the seed team fetched by hand, for scripts: Kubernetes nodes (conditions,
//! requests against allocatable), a NodeBalancer port's configuration history, and the
//! upstream providers' status pages.

use axum::{
    extract::{Path, Query, State},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::{
    model::{kubernetes::NodeView, lb_config::HistoryEntry, upstream::UpstreamView},
    store::{kubernetes, lb_configs, upstream},
};

use crate::http::api::{extract::Require, scope};
use crate::http::{api::error::ApiError, state::AppState};

#[derive(Serialize, ToSchema)]
pub struct KubernetesNodeList {
    /// Every node of every `[[kubernetes]]` cluster, by cluster and name.
    pub nodes: Vec<NodeView>,
}

/// `GET /api/v1/kubernetes/nodes` (scope `read`): each node's conditions and its pods' CPU and
/// memory requests against what it can allocate.
#[utoipa::path(get, path = "/api/v1/kubernetes/nodes",
    responses((status = 200, body = KubernetesNodeList), (status = 401), (status = 403)),
    security(("token" = ["read"])))]
pub async fn kubernetes_nodes(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Json<KubernetesNodeList>, ApiError> {
    Ok(Json(KubernetesNodeList {
        nodes: kubernetes::nodes(&state.pool).await?,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// How many entries, newest first (1–500, default 100).
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ConfigHistory {
    /// Each reading that found the port's settings first, changed, or posted again unchanged
    /// ("reapplied"), newest first.
    pub history: Vec<HistoryEntry>,
}

/// `GET /api/v1/nodebalancers/{id}/configs/{config_id}/history` (scope `read`): what Linode
/// reported for one port's configuration over time, with field-by-field changes.
#[utoipa::path(get, path = "/api/v1/nodebalancers/{id}/configs/{config_id}/history",
    params(("id" = i64, Path, description = "The NodeBalancer's id"),
        ("config_id" = i64, Path, description = "The port configuration's id"), HistoryQuery),
    responses((status = 200, body = ConfigHistory), (status = 400), (status = 401),
        (status = 403), (status = 404)),
    security(("token" = ["read"])))]
pub async fn config_history(
    State(state): State<AppState>,
    _: Require<scope::Read>,
    Path((id, config_id)): Path<(i64, i64)>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<ConfigHistory>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 500"));
    }
    let history = lb_configs::history_of(&state.pool, id, config_id, limit).await?;
    if history.is_empty() {
        return Err(ApiError::NotFound(format!(
            "Vigil has no configuration recorded for NodeBalancer {id} config {config_id}; \
             GET /api/v1/nodebalancers lists the ones it watches"
        )));
    }
    Ok(Json(ConfigHistory { history }))
}

#[derive(Serialize, ToSchema)]
pub struct UpstreamList {
    /// Each `[[upstream]]` provider's newest reading.
    pub upstreams: Vec<UpstreamView>,
}

/// `GET /api/v1/upstreams` (scope `read`): the providers' status pages as Vigil last read them:
/// their indicator, followed components and unresolved incidents.
#[utoipa::path(get, path = "/api/v1/upstreams",
    responses((status = 200, body = UpstreamList), (status = 401), (status = 403)),
    security(("token" = ["read"])))]
pub async fn upstreams(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Json<UpstreamList>, ApiError> {
    Ok(Json(UpstreamList {
        upstreams: upstream::all(&state.pool).await?,
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(kubernetes_nodes))
        .routes(routes!(config_history))
        .routes(routes!(upstreams))
}
