//! The public status: summary, live status, uptime, incident history.

use leptos::prelude::*;
use vigil_core::model::live::LiveStatus;

#[cfg(feature = "ssr")]
use super::guard;

/// The status: components, uptime, latency. Public; monitors (names, kinds, errors) only for ops
/// readers, since this is the hydration data of the public page too.
#[server]
pub async fn get_status_summary() -> Result<vigil_core::model::status::StatusSummary, ServerFnError>
{
    use vigil_core::{model::status::PageTitle, store::status::StatusCache};
    let cache = use_context::<std::sync::Arc<StatusCache>>()
        .ok_or_else(|| ServerFnError::new("status is not available"))?;
    let title = use_context::<PageTitle>()
        .map(|t| t.0)
        .unwrap_or_else(|| "Vigil".into());
    let version = use_context::<tokio::sync::watch::Receiver<LiveStatus>>()
        .map(|l| l.borrow().status_version)
        .unwrap_or_default();
    let pool = guard::pool()?;
    let summary = cache
        .get(&pool, &title, version)
        .await
        .map_err(guard::fail)?;
    let ops = guard::auth()
        .await
        .require(vigil_core::model::auth::Scope::Read)
        .is_ok();
    Ok(if ops {
        (*summary).clone()
    } else {
        summary.public()
    })
}

/// The latest tick of the live feed. Rendered into the first HTML so the page is complete without
/// JavaScript; after hydration the page follows the SSE stream instead. Ops readers only: it
/// carries the database's state and error text.
#[server]
pub async fn get_live_status() -> Result<LiveStatus, ServerFnError> {
    guard::require(vigil_core::model::auth::Scope::Read).await?;
    let feed = use_context::<tokio::sync::watch::Receiver<LiveStatus>>()
        .ok_or_else(|| ServerFnError::new("the live feed is not running"))?;
    let status = feed.borrow().clone();
    Ok(status)
}

/// Every component's uptime, month by month over the last year, maintenance hours left out.
/// Public: component names and percentages only.
#[server]
pub async fn get_uptime() -> Result<Vec<vigil_core::model::uptime::ComponentUptime>, ServerFnError>
{
    let pool = guard::pool()?;
    vigil_core::store::uptime::monthly(&pool, 12)
        .await
        .map_err(guard::fail)
}

/// Incidents of the last year, newest first, public updates only. Public.
#[server]
pub async fn get_history() -> Result<Vec<vigil_core::model::incident::IncidentView>, ServerFnError>
{
    use vigil_core::store::incidents::{list, Filter};
    let pool = guard::pool()?;
    let now = chrono::Utc::now();
    list(
        &pool,
        Filter::Between(
            now - chrono::Duration::days(365),
            now + chrono::Duration::days(1),
        ),
        false,
    )
    .await
    .map_err(guard::fail)
}

/// Incidents that started in the last `days` days (at most 30), newest first, public updates
/// only: the status page's "past incidents". Public.
#[server]
pub async fn get_recent_incidents(
    days: i64,
) -> Result<Vec<vigil_core::model::incident::IncidentView>, ServerFnError> {
    use vigil_core::store::incidents::{list, Filter};
    let pool = guard::pool()?;
    let now = chrono::Utc::now();
    list(
        &pool,
        Filter::Between(now - chrono::Duration::days(days.clamp(1, 30)), now),
        false,
    )
    .await
    // A part of the status page, not the page: when the database is away the page still
    // answers 200 with the last state held (`get_status_summary`), and says this part is missing.
    .map_err(|e| {
        use vigil_core::model::answer::Answer;
        leptos::logging::error!("past incidents unavailable: {e}");
        ServerFnError::new(e.public_message())
    })
}
