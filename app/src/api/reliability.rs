//! Reliability figures over a window.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::guard;

/// Reliability figures for a period (`YYYY-MM-DD`, defaults: the last twelve months), one
/// component's or all, post-mortems by contributing factor. Viewers and up.
#[server]
pub async fn get_reliability(
    from: Option<String>,
    to: Option<String>,
    component: Option<String>,
    tag: Option<String>,
) -> Result<vigil_core::model::reliability::Reliability, ServerFnError> {
    use chrono::NaiveDate;
    use vigil_core::model::{auth::Scope, reliability::FACTORS};
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let day = |field: &str, s: Option<String>| -> Result<Option<NaiveDate>, ServerFnError> {
        match s.filter(|s| !s.trim().is_empty()) {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    ServerFnError::new(format!("{field}: `{s}` is not a date like 2026-01-31"))
                }),
        }
    };
    let today = chrono::Utc::now().date_naive();
    let first = chrono::Datelike::with_day(&today, 1).expect("the first exists");
    let from = day("from", from)?.unwrap_or(first - chrono::Months::new(11));
    let to = day("to", to)?.unwrap_or(today + chrono::Duration::days(1));
    if to <= from {
        return Err(ServerFnError::new("to: must be after from"));
    }
    let tag = tag.filter(|t| !t.is_empty());
    if let Some(t) = &tag {
        if !FACTORS.contains(&t.as_str()) {
            return Err(ServerFnError::new(format!(
                "tag: `{t}` is not a contributing factor"
            )));
        }
    }
    let component = component.filter(|c| !c.is_empty());
    vigil_core::store::reliability::report(&pool, from, to, component.as_deref(), tag.as_deref())
        .await
        .map_err(guard::fail)
}
