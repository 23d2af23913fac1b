//! Post-mortem follow-ups.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::guard;

/// Follow-ups across post-mortems; `status` "all" shows every status. Viewers and up.
#[server]
pub async fn get_follow_ups(
    owner: Option<String>,
    status: Option<String>,
    overdue: bool,
) -> Result<Vec<vigil_core::model::follow_up::FollowUp>, ServerFnError> {
    use vigil_core::model::{
        auth::Scope,
        follow_up::{FollowUpFilter, FollowUpStatus},
    };
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let status = match status.as_deref() {
        None | Some("all") | Some("") => None,
        Some(s) => Some(FollowUpStatus::parse(s).ok_or_else(|| {
            ServerFnError::new(format!("status: `{s}` is not open, done, wont_do or all"))
        })?),
    };
    let filter = FollowUpFilter {
        owner: owner.filter(|o| !o.is_empty()),
        status,
        overdue,
    };
    vigil_core::store::follow_ups::list(&pool, &filter)
        .await
        .map_err(guard::fail)
}
