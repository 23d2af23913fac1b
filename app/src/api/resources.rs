//! Load balancers, upstream providers, node graphs and the correlation view.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::guard;

/// Load-balancer backends with their UP/DOWN history over the last `hours`. Viewers and up.
#[server]
pub async fn get_load_balancers(
    hours: i64,
) -> Result<Vec<vigil_core::model::backend::BackendView>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let hours = hours.clamp(1, 24 * 7);
    let end = chrono::Utc::now();
    vigil_core::store::backends::views(&pool, end - chrono::Duration::hours(hours), end)
        .await
        .map_err(guard::fail)
}

/// The upstream providers as their status pages last said. Viewers and up.
#[server]
pub async fn get_upstreams() -> Result<Vec<vigil_core::model::upstream::UpstreamView>, ServerFnError>
{
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    vigil_core::store::upstream::all(&pool)
        .await
        .map_err(guard::fail)
}

/// The newest 200 NodeBalancer configuration readings (changes, re-applies). Viewers and up.
#[server]
pub async fn get_lb_config_history(
) -> Result<Vec<vigil_core::model::lb_config::HistoryEntry>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    vigil_core::store::lb_configs::history(&pool, 200)
        .await
        .map_err(guard::fail)
}

/// Every signal over one window on one time axis: probes, backends, node graphs, events. The
/// window is a named range (`1h` … `30d`) or explicit `from`/`to`. Viewers and up.
#[server]
pub async fn get_correlation(
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<vigil_core::model::stack::Stack, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let (from, to) = guard::window(range, from, to)?;
    vigil_core::store::correlation::correlation(&pool, from, to, &guard::graphs())
        .await
        .map_err(guard::fail)
}

/// The node page: nodes with their newest values, every data source's freshness, and graphs of
/// every resource metric over the range. Viewers and up.
#[server]
pub async fn get_nodes(range: Option<String>) -> Result<NodesPage, ServerFnError> {
    use vigil_core::{
        model::{
            auth::Scope,
            resource::Metric,
            stack::{Section, Stack},
        },
        store::{correlation, resources, sources},
    };
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let graphs = guard::graphs();
    let (from, to) = guard::window(range, None, None)?;
    let nodes = resources::nodes(
        &pool,
        chrono::Utc::now(),
        chrono::Duration::seconds(graphs.node_stale_secs as i64),
    )
    .await
    .map_err(guard::fail)?;
    let rows = correlation::metric_rows(&pool, from, to, &graphs, &Metric::ALL)
        .await
        .map_err(guard::fail)?;
    Ok(NodesPage {
        nodes,
        kubernetes: vigil_core::store::kubernetes::nodes(&pool)
            .await
            .map_err(guard::fail)?,
        sources: sources::all(&pool).await.map_err(guard::fail)?,
        stack: Stack {
            from,
            to,
            sections: vec![Section {
                title: "Resources".into(),
                rows,
            }],
            marks: Vec::new(),
        },
    })
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NodesPage {
    pub nodes: Vec<vigil_core::model::resource::NodeSummary>,
    /// Nodes of the `[[kubernetes]]` clusters: conditions, requests against allocatable.
    pub kubernetes: Vec<vigil_core::model::kubernetes::NodeView>,
    pub sources: Vec<vigil_core::model::resource::SourceView>,
    pub stack: vigil_core::model::stack::Stack,
}

/// Each NodeBalancer's connection count over the last `hours`, as a stack of graphs. Viewers.
#[server]
pub async fn get_lb_connections(
    hours: i64,
) -> Result<vigil_core::model::stack::Stack, ServerFnError> {
    use vigil_core::{
        model::{
            auth::Scope,
            stack::{Section, Stack},
        },
        store::correlation,
    };
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let to = chrono::Utc::now();
    let from = to - chrono::Duration::hours(hours.clamp(1, 24 * 7));
    let rows = correlation::connection_rows(&pool, from, to)
        .await
        .map_err(guard::fail)?;
    Ok(Stack {
        from,
        to,
        sections: vec![Section {
            title: "Connections".into(),
            rows,
        }],
        marks: Vec::new(),
    })
}
