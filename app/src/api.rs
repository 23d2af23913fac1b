//! Server functions: thin wrappers that read what the server provides as context.

use leptos::prelude::*;
use vigil_core::model::live::LiveStatus;

/// The latest tick of the live feed. Rendered into the first HTML so the page is complete without
/// JavaScript; after hydration the page follows the SSE stream instead.
#[server]
pub async fn get_live_status() -> Result<LiveStatus, ServerFnError> {
    let feed = use_context::<tokio::sync::watch::Receiver<LiveStatus>>()
        .ok_or_else(|| ServerFnError::new("the live feed is not running"))?;
    let status = feed.borrow().clone();
    Ok(status)
}
