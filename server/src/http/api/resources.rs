//! `/api/v1/sources`, `/api/v1/nodes` and `/api/v1/nodes/{name}/series`: source freshness and
//! the node graphs Vigil keeps, for scripts and for anyone whose Grafana is down.

use axum::{
    extract::{Path, Query, State},
    Json,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::{
    model::{
        resource::{GraphSettings, Metric, NodeSummary, Resolution, SourceView},
        window,
    },
    store::{resources, sources},
};

use crate::http::api::{extract::Require, scope};
use crate::http::{api::error::ApiError, state::AppState};

#[derive(Serialize, ToSchema)]
pub struct SourceList {
    /// Every source Vigil hears from (the probe scheduler, agents and GitHub too), with its
    /// freshness.
    pub sources: Vec<SourceItem>,
    /// The data sources the world configures, as written (`POST`/`PATCH`/`DELETE` change them).
    pub configured: Vec<super::settings::SettingItem>,
    /// The world's revision.
    pub revision: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SourceItem {
    #[serde(flatten)]
    pub source: SourceView,
    /// `fresh`, `stale` or `never` (configured, not heard from yet).
    pub state: &'static str,
}

/// `GET /api/v1/sources` (scope `read`): every data source with its freshness, and the sources
/// the world configures with their settings and revisions.
#[utoipa::path(get, path = "/api/v1/sources",
    responses((status = 200, body = SourceList), (status = 401), (status = 403)),
    security(("token" = ["read"])))]
pub async fn list_sources(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Json<SourceList>, ApiError> {
    let sources = sources::all(&state.pool)
        .await?
        .into_iter()
        .map(|s| SourceItem {
            state: s.state(),
            source: s,
        })
        .collect();
    let configured =
        super::settings::listed(&state, crate::world::plan::ObjectKind::Source).await?;
    Ok(Json(SourceList {
        sources,
        configured: configured.items,
        revision: configured.revision,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct NodeList {
    pub nodes: Vec<NodeSummary>,
}

/// `GET /api/v1/nodes` (scope `read`): nodes with their newest ratios and staleness.
#[utoipa::path(get, path = "/api/v1/nodes",
    responses((status = 200, body = NodeList), (status = 401), (status = 403)),
    security(("token" = ["read"])))]
pub async fn list_nodes(
    State(state): State<AppState>,
    _: Require<scope::Read>,
) -> Result<Json<NodeList>, ApiError> {
    let nodes = resources::nodes(
        &state.pool,
        chrono::Utc::now(),
        chrono::Duration::seconds(state.graphs.node_stale_secs as i64),
    )
    .await?;
    Ok(Json(NodeList { nodes }))
}

#[derive(Serialize, ToSchema)]
pub struct Series {
    pub node: String,
    pub metric: Metric,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Where the points come from: raw samples or a rollup.
    pub resolution: Resolution,
    /// A gap longer than this between points is missing data, not a line.
    pub gap_ms: i64,
    /// The alert rule's threshold for this metric, when there is one.
    pub threshold: Option<f64>,
    /// `[unix_ms, mean, max]`.
    #[schema(value_type = Vec<Vec<f64>>)]
    pub points: Vec<(i64, f64, f64)>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// `memory`, `cpu` or `memory_pressure`.
    metric: Option<String>,
    /// `1h`, `6h`, `24h`, `7d`, `30d` (or `from` and `to`).
    range: Option<String>,
    /// RFC 3339 start, with `to`.
    from: Option<String>,
    /// RFC 3339 end, with `from`.
    to: Option<String>,
}

/// `GET /api/v1/nodes/{name}/series?metric=memory&range=24h` or `&from=…&to=…` (scope `read`).
#[utoipa::path(get, path = "/api/v1/nodes/{name}/series",
    params(("name" = String, Path, description = "the node's name"), SeriesQuery),
    responses((status = 200, body = Series), (status = 400, description = "a bad parameter, named"),
              (status = 401), (status = 403), (status = 404, description = "no such node")),
    security(("token" = ["read"])))]
pub async fn node_series(
    State(state): State<AppState>,
    _: Require<scope::Read>,
    Path(name): Path<String>,
    Query(q): Query<SeriesQuery>,
) -> Result<Json<Series>, ApiError> {
    let metric = parse_metric(q.metric.as_deref())?;
    let (from, to) = window::resolve(
        q.range.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        chrono::Utc::now(),
    )?;
    let known = resources::nodes(&state.pool, to, chrono::Duration::MAX).await?;
    if !known.iter().any(|n| n.name == name) {
        return Err(ApiError::NotFound(format!(
            "no node named `{name}`; GET /api/v1/nodes lists them"
        )));
    }
    let series = resources::series(
        &state.pool,
        Some(&name),
        metric,
        from,
        to,
        sample_secs(&state.graph_settings()),
    )
    .await?
    .into_iter()
    .next();
    let (resolution, gap_ms, points) = match series {
        Some(s) => (s.resolution, s.gap_ms, s.points),
        None => (Resolution::for_range(to - from), 0, Vec::new()),
    };
    Ok(Json(Series {
        node: name,
        metric,
        from,
        to,
        resolution,
        gap_ms,
        threshold: state.graph_settings().threshold(metric),
        points: points.iter().map(|p| (p.t, p.v, p.max)).collect(),
    }))
}

fn parse_metric(m: Option<&str>) -> Result<Metric, ApiError> {
    let names = || Metric::ALL.map(|m| m.name()).join(", ");
    match m {
        None => Err(ApiError::invalid(
            "metric",
            format!("is required: one of {}", names()),
        )),
        Some(m) => Metric::parse(m)
            .ok_or_else(|| ApiError::invalid("metric", format!("`{m}` is not one of {}", names()))),
    }
}

fn sample_secs(g: &GraphSettings) -> u64 {
    g.sample_secs.max(1)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sources))
        .routes(routes!(list_nodes))
        .routes(routes!(node_series))
}
