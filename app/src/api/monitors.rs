//! Pausing and resuming monitors.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::guard;

/// Pauses or resumes a monitor. Admins only; audited.
#[server]
pub async fn set_monitor_paused(name: String, paused: bool) -> Result<(), ServerFnError> {
    use vigil_core::{
        model::{auth::Scope, monitor::PauseRequest},
        store::{audit, monitors},
    };
    let who = guard::require(Scope::Admin).await?;
    let pool = guard::pool()?;
    let Some(id) = monitors::set_paused(&pool, &name, paused)
        .await
        .map_err(guard::fail)?
    else {
        return Err(ServerFnError::new(format!("no monitor named `{name}`")));
    };
    let action = if paused {
        "monitor.pause"
    } else {
        "monitor.resume"
    };
    audit::record(
        &pool,
        &who.audit_name(),
        action,
        &format!("monitor:{name}"),
        serde_json::json!({}),
    )
    .await
    .map_err(guard::fail)?;
    if let Some(tx) = use_context::<tokio::sync::mpsc::UnboundedSender<PauseRequest>>() {
        let _ = tx.send(PauseRequest {
            monitor_id: id,
            paused,
        });
    }
    Ok(())
}
