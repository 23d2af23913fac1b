//! Objectives judged now.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::guard;

/// Every objective's target, what it achieved, its budget, burn rates and alerts. Viewers and up.
#[server]
pub async fn get_slos() -> Result<Vec<vigil_core::model::objective::SloView>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    judges()?.slos().await.map_err(ServerFnError::new)
}

#[cfg(feature = "ssr")]
fn judges() -> Result<std::sync::Arc<dyn vigil_core::model::objective::Judges>, ServerFnError> {
    use_context::<std::sync::Arc<dyn vigil_core::model::objective::Judges>>()
        .ok_or_else(|| ServerFnError::new("objectives are not served here"))
}

/// Every objective's report for `month` (`YYYY-MM`, this month when empty), or only those of
/// `component`. Viewers and up. Answers the month it reports.
#[server]
pub async fn get_slo_reports(
    month: Option<String>,
    component: Option<String>,
) -> Result<(String, Vec<vigil_core::model::objective::SloReport>), ServerFnError> {
    use vigil_core::model::{auth::Scope, objective::Month};
    guard::require(Scope::Read).await?;
    let now = chrono::Utc::now();
    let month = match month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        None => Month::of(now),
        Some(m) => Month::parse(m).map_err(ServerFnError::new)?,
    };
    let component = component.filter(|c| !c.trim().is_empty());
    let reports = judges()?
        .reports(component, month)
        .await
        .map_err(ServerFnError::new)?;
    Ok((month.to_string(), reports))
}

/// The objectives the public page shows, their last twelve months met or missed. Anyone.
#[server]
pub async fn get_public_slas() -> Result<Vec<vigil_core::model::objective::PublicSla>, ServerFnError>
{
    Ok(judges()?.public().await)
}
