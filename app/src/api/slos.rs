//! Objectives judged now.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::guard;

/// Every objective's target, what it achieved, its budget, burn rates and alerts. Viewers and up.
#[server]
pub async fn get_slos() -> Result<Vec<vigil_core::model::objective::SloView>, ServerFnError> {
    use vigil_core::model::{auth::Scope, objective::Judges};
    guard::require(Scope::Read).await?;
    let judges = use_context::<std::sync::Arc<dyn Judges>>()
        .ok_or_else(|| ServerFnError::new("objectives are not served here"))?;
    judges.slos().await.map_err(ServerFnError::new)
}
