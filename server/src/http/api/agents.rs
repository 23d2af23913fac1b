//! `/api/v1/agent/*`: what probe agents (`vigil agent`, token scope `agent`) ask for — the
//! monitors of their region — and where they push what they observed. Results wait in the
//! database's inbox until the replica running the probes folds them into the monitors' states.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    Json,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::{
    model::monitor::{is_region_name, CheckResult, MonitorSpec, LOCAL},
    store::{agents, sources},
};

use crate::http::api::{
    extract::{ApiJson, Require},
    scope,
};
use crate::http::{api::error::ApiError, state::AppState};

/// The most results one push may carry.
pub const MAX_BATCH: usize = 20_000;
/// The oldest result taken: an agent keeps results while it cannot reach Vigil (`--buffer`), and
/// drops what is older than this itself. Older ones would rewrite history (`/uptime`, the bars).
pub const MAX_RESULT_AGE: chrono::Duration = chrono::Duration::hours(1);
/// How far ahead of this server's clock a result may be (an agent's clock a little fast).
pub const MAX_RESULT_AHEAD: chrono::Duration = chrono::Duration::seconds(30);

#[derive(Deserialize, IntoParams)]
pub struct RegionQuery {
    /// The agent's region, as monitors list it in `regions` (required).
    region: Option<String>,
}

fn check_region(region: &str) -> Result<(), ApiError> {
    if region != LOCAL && is_region_name(region) {
        Ok(())
    } else {
        Err(ApiError::Invalid {
            field: "region".into(),
            message: format!(
                "`{region}` is not an agent's region: letters, digits, - and _, up to 40, not `local`"
            ),
        })
    }
}

/// A monitor an agent runs.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Assigned {
    pub id: i64,
    /// What to check and how often, as the server's own probes run it.
    #[schema(value_type = Object)]
    pub spec: MonitorSpec,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Assignment {
    pub region: String,
    pub monitors: Vec<Assigned>,
}

/// `GET /api/v1/agent/monitors?region=R` (scope `agent`): the monitors that list the region.
#[utoipa::path(get, path = "/api/v1/agent/monitors", params(RegionQuery),
    responses((status = 200, body = Assignment), (status = 400), (status = 401), (status = 403)),
    security(("token" = ["agent"])))]
pub async fn monitors(
    State(state): State<AppState>,
    agent: Require<scope::Agent>,
    Query(q): Query<RegionQuery>,
) -> Result<Json<Assignment>, ApiError> {
    let region = q.region.unwrap_or_default();
    check_region(&region)?;
    agent.0.speaks_for(&region)?;
    let monitors = agents::monitors_for(&state.pool, &region)
        .await?
        .into_iter()
        .filter_map(|(id, spec)| {
            Some(Assigned {
                id,
                spec: crate::world::follow::read_spec(id, spec).map(|s| (*s).clone())?,
            })
        })
        .collect();
    Ok(Json(Assignment { region, monitors }))
}

/// One observation.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct Observed {
    pub monitor_id: i64,
    #[schema(value_type = Object)]
    pub result: CheckResult,
}

/// What an agent pushes.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Push {
    pub region: String,
    /// Results the agent dropped since its last successful push (its buffer was full while the
    /// server could not be reached), so the loss is known.
    #[serde(default)]
    pub dropped: u64,
    pub results: Vec<Observed>,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// Results queued (those for monitors that list the region).
    pub accepted: u64,
    /// Results refused because their `at` lies more than an hour back or more than 30 s ahead
    /// of the server's clock.
    pub refused: u64,
}

/// `POST /api/v1/agent/results` (scope `agent`): a batch of results from one region.
#[utoipa::path(post, path = "/api/v1/agent/results", request_body = Push,
    responses((status = 202, body = Accepted), (status = 400), (status = 401), (status = 403, description = "not an agent token, or bound to another region")),
    security(("token" = ["agent"])))]
pub async fn results(
    State(state): State<AppState>,
    agent: Require<scope::Agent>,
    ApiJson(push): ApiJson<Push>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    check_region(&push.region)?;
    agent.0.speaks_for(&push.region)?;
    if push.results.len() > MAX_BATCH {
        return Err(ApiError::Invalid {
            field: "results".into(),
            message: format!("at most {MAX_BATCH} results a push; send the rest in another"),
        });
    }
    // Results from outside [now − MAX_RESULT_AGE, now + MAX_RESULT_AHEAD] are refused (and
    // counted): they could backdate failures into the record or keep a region fresh from the future.
    let now = Utc::now();
    let (batch, refused): (Vec<(i64, CheckResult)>, Vec<_>) = push
        .results
        .into_iter()
        .map(|o| (o.monitor_id, o.result))
        .partition(|(_, r)| r.at >= now - MAX_RESULT_AGE && r.at <= now + MAX_RESULT_AHEAD);
    if !refused.is_empty() {
        metrics::counter!("agent_results_refused_total", "reason" => "time")
            .increment(refused.len() as u64);
        tracing::warn!(region = %push.region, refused = refused.len(), "an agent sent results outside the accepted time window");
    }
    let accepted = agents::accept(&state.pool, &push.region, &batch).await?;
    let source = crate::sources::registry::agent_source(&push.region);
    sources::success(&state.pool, &source, Utc::now()).await?;
    if push.dropped > 0 {
        metrics::counter!("agent_results_dropped_total", "region" => push.region.clone())
            .increment(push.dropped);
        tracing::warn!(region = %push.region, dropped = push.dropped, "an agent dropped results while it could not reach Vigil");
        sources::failure(
            &state.pool,
            &source,
            Utc::now(),
            &format!(
                "the agent dropped {} results while it could not reach Vigil",
                push.dropped
            ),
        )
        .await?;
    }
    metrics::counter!("agent_results_accepted_total").increment(accepted);
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            accepted,
            refused: refused.len() as u64,
        }),
    ))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(monitors))
        .routes(routes!(results))
}
