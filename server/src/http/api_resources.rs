//! `/api/v1/sources`, `/api/v1/nodes` and `/api/v1/nodes/{name}/series`: source freshness and
//! the node graphs Vigil keeps, for scripts and for anyone whose Grafana is down.

use axum::{
    extract::{Path, Query, State},
    Extension, Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use vigil_core::{
    model::{
        auth::{Auth, Scope},
        resource::{GraphSettings, Metric},
        window,
    },
    store::{resources, sources},
};

use super::{api_error::ApiError, AppState};

/// `GET /api/v1/sources` (scope `read`): every data source with its freshness.
pub async fn list_sources(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
) -> Result<Json<Value>, ApiError> {
    auth.require(Scope::Read)?;
    let all = sources::all(&state.pool).await?;
    let items: Vec<Value> = all
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).expect("sources serialise");
            v["state"] = json!(s.state());
            v
        })
        .collect();
    Ok(Json(json!({ "sources": items })))
}

/// `GET /api/v1/nodes` (scope `read`): nodes with their newest ratios and staleness.
pub async fn list_nodes(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
) -> Result<Json<Value>, ApiError> {
    auth.require(Scope::Read)?;
    let nodes = resources::nodes(
        &state.pool,
        chrono::Utc::now(),
        chrono::Duration::seconds(state.graphs.node_stale_secs as i64),
    )
    .await?;
    Ok(Json(json!({ "nodes": nodes })))
}

#[derive(Deserialize)]
pub struct SeriesQuery {
    metric: Option<String>,
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /api/v1/nodes/{name}/series?metric=memory&range=24h` or `&from=…&to=…` (scope `read`).
pub async fn node_series(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    Path(name): Path<String>,
    Query(q): Query<SeriesQuery>,
) -> Result<Json<Value>, ApiError> {
    auth.require(Scope::Read)?;
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
        sample_secs(&state.graphs),
    )
    .await?
    .into_iter()
    .next();
    let (resolution, gap_ms, points) = match series {
        Some(s) => (json!(s.resolution), s.gap_ms, s.points),
        None => (
            json!(vigil_core::model::resource::Resolution::for_range(
                to - from
            )),
            0,
            Vec::new(),
        ),
    };
    Ok(Json(json!({
        "node": name, "metric": metric, "from": from, "to": to,
        "resolution": resolution, "gap_ms": gap_ms,
        "threshold": state.graphs.threshold(metric),
        "points": points.iter().map(|p| json!([p.t, p.v, p.max])).collect::<Vec<_>>(),
    })))
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

pub fn router() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/api/v1/sources", get(list_sources))
        .route("/api/v1/nodes", get(list_nodes))
        .route("/api/v1/nodes/{name}/series", get(node_series))
}
