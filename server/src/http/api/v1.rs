//! `/api/v1/me`, `/api/v1/monitors`, `/api/v1/nodebalancers`, `/api/v1/replicas`: who the caller
//! is, the monitors, the load balancers and the replicas, for scripts and agents.

use axum::{extract::State, Extension, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::model::{
    auth::{Auth, Denied, Me},
    monitor::MonitorStatus,
};

use crate::http::api::{extract::Require, scope};
use crate::http::{api::error::ApiError, state::AppState};

/// `GET /api/v1/me`: who the caller is and what it may do. Any valid credential will do.
#[utoipa::path(get, path = "/api/v1/me",
    responses((status = 200, body = Me), (status = 401)),
    security(("token" = [])))]
pub async fn me(Extension(auth): Extension<Auth>) -> Result<Json<Me>, ApiError> {
    Ok(Json(auth.0.ok_or(Denied::Unauthenticated)?.me()))
}

#[derive(Serialize, ToSchema)]
pub struct MonitorList {
    pub monitors: Vec<MonitorItem>,
}

#[derive(Serialize, ToSchema)]
pub struct MonitorItem {
    pub name: String,
    /// The component's id.
    pub component: String,
    /// `http`, `tcp`, `dns`, `tls`, `heartbeat`.
    pub kind: String,
    pub state: MonitorStatus,
    pub since: Option<DateTime<Utc>>,
    pub last_check_at: Option<DateTime<Utc>>,
    pub latency_ms: Option<f32>,
    pub last_error: Option<String>,
    pub interval_secs: i32,
    pub paused: bool,
}

/// `GET /api/v1/monitors` (scope `read`): every monitor with its component, kind and state.
#[utoipa::path(get, path = "/api/v1/monitors",
    responses((status = 200, body = MonitorList), (status = 401), (status = 403)),
    security(("token" = ["read"])))]
pub async fn monitors(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Json<MonitorList>, ApiError> {
    let version = state.live.borrow().status_version;
    let s = state
        .status
        .get(&state.pool, &state.page_title(), version)
        .await?;
    let monitors = s
        .components
        .iter()
        .flat_map(|c| {
            c.monitors.iter().map(move |m| MonitorItem {
                name: m.name.clone(),
                component: c.id.clone(),
                kind: m.kind.clone(),
                state: m.status,
                since: m.since,
                last_check_at: m.last_check_at,
                latency_ms: m.latency_ms,
                last_error: m.last_error.clone(),
                interval_secs: m.interval_secs,
                paused: m.paused,
            })
        })
        .collect();
    Ok(Json(MonitorList { monitors }))
}

#[derive(Serialize, ToSchema)]
pub struct NodeBalancerList {
    pub nodebalancers: Vec<NodeBalancerItem>,
}

#[derive(Serialize, ToSchema)]
pub struct NodeBalancerItem {
    pub id: i64,
    pub label: String,
    /// The newest 5-minute connection count from Linode's stats.
    pub connections: Option<Reading>,
    pub configs: Vec<PortConfig>,
}

#[derive(Serialize, ToSchema)]
pub struct Reading {
    pub at: DateTime<Utc>,
    pub value: f64,
}

#[derive(Serialize, ToSchema)]
pub struct PortConfig {
    pub id: i64,
    pub port: i32,
    pub protocol: String,
    pub nodes_status: NodesStatus,
    pub backends: Vec<BackendItem>,
}

#[derive(Default, Serialize, ToSchema)]
pub struct NodesStatus {
    pub up: u32,
    pub down: u32,
}

#[derive(Serialize, ToSchema)]
pub struct BackendItem {
    pub id: i64,
    pub label: String,
    pub address: String,
    /// `up` or `down`, as Linode reports it.
    pub status: String,
    pub mode: String,
    pub weight: i32,
    pub flapping: bool,
    pub since: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
}

/// `GET /api/v1/nodebalancers` (scope `read`): NodeBalancers → configs by port → backends, with
/// the latest connection count from the stats endpoint.
#[utoipa::path(get, path = "/api/v1/nodebalancers",
    responses((status = 200, body = NodeBalancerList), (status = 401), (status = 403)),
    security(("token" = ["read"])))]
pub async fn nodebalancers(
    State(pool): State<sqlx::PgPool>,
    _: Require<scope::Read>,
) -> Result<Json<NodeBalancerList>, ApiError> {
    let rows = vigil_core::store::backends::all(&pool).await?;
    let now = Utc::now();
    let connections =
        vigil_core::store::backends::connections(&pool, now - chrono::Duration::hours(24), now)
            .await?;
    let mut out: Vec<NodeBalancerItem> = Vec::new();
    // Rows come sorted by NodeBalancer and port: each starts a new entry or extends the last.
    for b in rows {
        if out.last().is_none_or(|n| n.id != b.nodebalancer_id) {
            let latest = connections
                .iter()
                .find(|(label, _)| *label == b.nodebalancer_label)
                .and_then(|(_, points)| points.last())
                .map(|(at, value)| Reading {
                    at: *at,
                    value: *value,
                });
            out.push(NodeBalancerItem {
                id: b.nodebalancer_id,
                label: b.nodebalancer_label.clone(),
                connections: latest,
                configs: Vec::new(),
            });
        }
        let nb = out.last_mut().expect("just pushed");
        let cfg = match nb.configs.iter().position(|c| c.id == b.config_id) {
            Some(i) => &mut nb.configs[i],
            None => {
                nb.configs.push(PortConfig {
                    id: b.config_id,
                    port: b.port,
                    protocol: b.protocol.clone(),
                    nodes_status: NodesStatus::default(),
                    backends: Vec::new(),
                });
                nb.configs.last_mut().expect("just pushed")
            }
        };
        if b.status == "up" {
            cfg.nodes_status.up += 1;
        } else {
            cfg.nodes_status.down += 1;
        }
        cfg.backends.push(BackendItem {
            id: b.node_id,
            label: b.label,
            address: b.address,
            status: b.status,
            mode: b.mode,
            weight: b.weight,
            flapping: b.flapping,
            since: b.since,
            seen_at: b.seen_at,
        });
    }
    Ok(Json(NodeBalancerList { nodebalancers: out }))
}

#[derive(Serialize, ToSchema)]
pub struct ReplicaList {
    /// The replicas heard from in the last minute.
    pub replicas: Vec<vigil_core::model::cluster::ReplicaView>,
    /// The one that answered.
    pub answered_by: String,
}

/// `GET /api/v1/replicas` (scope `read`): the `vigil serve` processes sharing the database and
/// the work each holds (`probes`, `linode`, `resources`, `incidents`, `notify`).
#[utoipa::path(get, path = "/api/v1/replicas",
    responses((status = 200, body = ReplicaList), (status = 401), (status = 403)),
    security(("token" = ["read"])))]
pub async fn replicas(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Json<ReplicaList>, ApiError> {
    Ok(Json(ReplicaList {
        replicas: vigil_core::store::cluster::replicas(&state.pool, 60.0).await?,
        answered_by: state.cluster.id().to_string(),
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(replicas))
        .routes(routes!(nodebalancers))
}
