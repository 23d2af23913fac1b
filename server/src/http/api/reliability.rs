//! `GET /api/v1/reliability`: the figures of `/ops/reliability` for scripts and dashboards
//! (scope `read`).

use axum::{
    extract::{Query, State},
    Json,
};
use chrono::{Datelike, Months, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::{
    model::reliability::{Reliability, FACTORS},
    store::reliability,
};

use crate::http::api::{extract::Require, scope};
use crate::http::{api::error::ApiError, state::AppState};

/// The longest period asked for at once.
const MAX_DAYS: i64 = 5 * 366;

#[derive(Deserialize, IntoParams)]
pub struct ReliabilityQuery {
    /// First day, `YYYY-MM-DD`; default: the first day of the month eleven months ago.
    pub from: Option<String>,
    /// Day after the last, `YYYY-MM-DD`; default: tomorrow.
    pub to: Option<String>,
    /// Only incidents touching this component id.
    pub component: Option<String>,
    /// Only post-mortems tagged with this contributing factor.
    pub tag: Option<String>,
}

/// The period a query asks for, checked: which field is wrong and how to write it.
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let day = |field: &'static str, s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| ApiError::invalid(field, format!("`{s}` is not a date like 2026-01-31")))
    };
    let first_of_month = today.with_day(1).expect("the first exists");
    let from = match from.filter(|s| !s.trim().is_empty()) {
        Some(s) => day("from", s)?,
        None => first_of_month - Months::new(11),
    };
    let to = match to.filter(|s| !s.trim().is_empty()) {
        Some(s) => day("to", s)?,
        None => today + chrono::Duration::days(1),
    };
    if to <= from {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    if (to - from).num_days() > MAX_DAYS {
        return Err(ApiError::invalid(
            "from",
            format!("ask for at most {MAX_DAYS} days at once"),
        ));
    }
    Ok((from, to))
}

/// `GET /api/v1/reliability?from=&to=&component=&tag=` (scope `read`).
#[utoipa::path(get, path = "/api/v1/reliability", params(ReliabilityQuery),
    responses((status = 200, body = Reliability), (status = 400, description = "a field is wrong: the answer names it"),
        (status = 401), (status = 403)),
    security(("token" = ["read"]), ("token" = ["postmortems:write"])))]
pub async fn get(
    State(state): State<AppState>,
    _: Require<scope::ReadsPostmortems>,
    Query(q): Query<ReliabilityQuery>,
) -> Result<Json<Reliability>, ApiError> {
    let (from, to) = period(q.from.as_deref(), q.to.as_deref(), Utc::now().date_naive())?;
    let component = q.component.filter(|c| !c.is_empty());
    if let Some(c) = &component {
        if !vigil_core::store::incidents::unknown_components(&state.pool, std::slice::from_ref(c))
            .await?
            .is_empty()
        {
            return Err(ApiError::invalid(
                "component",
                format!("no component `{c}`; GET /api/v2/components.json lists them"),
            ));
        }
    }
    let tag = q.tag.filter(|t| !t.is_empty());
    if let Some(t) = &tag {
        if !FACTORS.contains(&t.as_str()) {
            return Err(ApiError::invalid(
                "tag",
                format!(
                    "`{t}` is not a contributing factor; use {}",
                    FACTORS.join(", ")
                ),
            ));
        }
    }
    Ok(Json(
        reliability::report(&state.pool, from, to, component.as_deref(), tag.as_deref()).await?,
    ))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_defaults_to_twelve_months_and_names_a_bad_field() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(
            period(None, None, today).unwrap(),
            (
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
            )
        );
        for (from, to, field) in [
            (Some("2026-13-01"), None, "from"),
            (None, Some("tomorrow"), "to"),
            (Some("2026-05-01"), Some("2026-04-01"), "to"),
            (Some("2010-01-01"), None, "from"),
        ] {
            match period(from, to, today) {
                Err(ApiError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{from:?} {to:?}: {other:?}"),
            }
        }
    }
}
