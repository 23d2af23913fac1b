//! Check results: raw rows, per-minute/hour/day rollups kept up to date as results arrive, and
//! monitor state changes with their events — all written in one transaction per batch.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::model::{
    event::{EventData, MonitorChanged},
    monitor::{CheckResult, MonitorState, Outcome, Transition},
    objective::LATENCY_BOUNDS_MS,
};

use super::{events, PgPool, StoreError};

/// A monitor's state after a batch, to store.
pub struct StateUpdate {
    pub monitor_id: i64,
    pub state: MonitorState,
    pub last: CheckResult,
    pub last_ok_at: Option<DateTime<Utc>>,
    /// What each region sees, for a monitor checked from several (`{"eu-west": "down"}`).
    pub regions: Option<serde_json::Value>,
}

/// A state change to record as a `monitor.state` event.
pub struct Change {
    pub monitor_id: i64,
    pub monitor: String,
    pub component: String,
    pub transition: Transition,
}

fn outcome_code(o: Outcome) -> i16 {
    match o {
        Outcome::Ok => 0,
        Outcome::Degraded => 1,
        Outcome::Failed => 2,
    }
}

#[derive(Default, Clone, Copy)]
struct Agg {
    checks: i32,
    failures: i32,
    degraded: i32,
    latency_sum: f64,
    latency_max: f32,
    /// Checks that did not fail answering within each of `LATENCY_BOUNDS_MS`.
    latency_le: [i32; LATENCY_BOUNDS_MS.len()],
}

pub async fn write_batch(
    pool: &PgPool,
    results: &[(i64, CheckResult)],
    states: &[StateUpdate],
    changes: &[Change],
) -> Result<(), StoreError> {
    if results.is_empty() && states.is_empty() && changes.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(results.len());
    let mut ats = Vec::with_capacity(results.len());
    let mut outcomes = Vec::with_capacity(results.len());
    let mut latencies = Vec::with_capacity(results.len());
    let mut classes: Vec<Option<&str>> = Vec::with_capacity(results.len());
    let mut messages: Vec<Option<&str>> = Vec::with_capacity(results.len());
    let mut regions: Vec<&str> = Vec::with_capacity(results.len());
    let mut rollups: BTreeMap<(i64, i8, DateTime<Utc>), Agg> = BTreeMap::new();
    for (id, r) in results {
        let ms = r.latency.as_secs_f64() * 1000.0;
        ids.push(*id);
        ats.push(r.at);
        outcomes.push(outcome_code(r.outcome));
        latencies.push(ms as f32);
        classes.push(r.error.as_ref().map(|(c, _)| c.as_str()));
        messages.push(r.error.as_ref().map(|(_, m)| m.as_str()));
        regions.push(r.region.as_deref().unwrap_or(crate::model::monitor::LOCAL));
        for (res, step) in [
            (b'm', TimeDelta::minutes(1)),
            (b'h', TimeDelta::hours(1)),
            (b'd', TimeDelta::days(1)),
        ] {
            let bucket = r.at.duration_trunc(step).unwrap_or(r.at);
            let a = rollups.entry((*id, res as i8, bucket)).or_default();
            a.checks += 1;
            // An outvoted regional failure: the monitor was up by its quorum.
            let failed = r.outcome == Outcome::Failed && !r.outvoted;
            a.failures += i32::from(failed);
            a.degraded += i32::from(r.outcome == Outcome::Degraded);
            a.latency_sum += ms;
            a.latency_max = a.latency_max.max(ms as f32);
            if !failed {
                for (le, bound) in a.latency_le.iter_mut().zip(LATENCY_BOUNDS_MS) {
                    *le += i32::from(ms <= f64::from(bound));
                }
            }
        }
    }
    let mut tx = pool.begin().await?;
    if !results.is_empty() {
        sqlx::query!(
            "INSERT INTO check_results (monitor_id, at, outcome, latency_ms, error_class, message, region) \
             SELECT * FROM UNNEST($1::bigint[], $2::timestamptz[], $3::smallint[], $4::real[], $5::text[], $6::text[], $7::text[])",
            &ids,
            &ats,
            &outcomes,
            &latencies,
            &classes as _,
            &messages as _,
            &regions as _
        )
        .execute(&mut *tx)
        .await?;
        let mut r_ids = Vec::new();
        let mut r_res = Vec::new();
        let mut r_bucket = Vec::new();
        let mut r_checks = Vec::new();
        let mut r_fail = Vec::new();
        let mut r_deg = Vec::new();
        let mut r_sum = Vec::new();
        let mut r_max = Vec::new();
        // Each rollup's histogram, one after the other (an array of arrays does not unnest
        // row by row: the query slices this one).
        let mut r_le = Vec::with_capacity(rollups.len() * LATENCY_BOUNDS_MS.len());
        for ((id, res, bucket), a) in &rollups {
            r_ids.push(*id);
            r_res.push(*res);
            r_bucket.push(*bucket);
            r_checks.push(a.checks);
            r_fail.push(a.failures);
            r_deg.push(a.degraded);
            r_sum.push(a.latency_sum);
            r_max.push(a.latency_max);
            r_le.extend_from_slice(&a.latency_le);
        }
        sqlx::query!(
            "INSERT INTO check_rollups AS r (monitor_id, resolution, bucket, checks, failures, degraded, latency_sum, latency_max, latency_le) \
             SELECT u.id, u.res, u.bucket, u.checks, u.failures, u.degraded, u.latency_sum, u.latency_max, \
               ($9::int[])[(u.n - 1) * $10 + 1 : u.n * $10] \
             FROM UNNEST($1::bigint[], $2::\"char\"[], $3::timestamptz[], $4::int[], $5::int[], $6::int[], $7::float8[], $8::real[]) \
               WITH ORDINALITY AS u(id, res, bucket, checks, failures, degraded, latency_sum, latency_max, n) \
             ON CONFLICT (monitor_id, resolution, bucket) DO UPDATE SET \
               checks = r.checks + EXCLUDED.checks, failures = r.failures + EXCLUDED.failures, \
               degraded = r.degraded + EXCLUDED.degraded, latency_sum = r.latency_sum + EXCLUDED.latency_sum, \
               latency_max = greatest(r.latency_max, EXCLUDED.latency_max), \
               latency_le = CASE WHEN cardinality(r.latency_le) = 0 THEN r.latency_le \
                 ELSE ARRAY(SELECT x + y FROM unnest(r.latency_le, EXCLUDED.latency_le) AS t(x, y)) END",
            &r_ids,
            &r_res,
            &r_bucket,
            &r_checks,
            &r_fail,
            &r_deg,
            &r_sum,
            &r_max,
            &r_le,
            LATENCY_BOUNDS_MS.len() as i32
        )
        .execute(&mut *tx)
        .await?;
    }
    for s in states {
        sqlx::query!(
            "INSERT INTO monitor_state AS s (monitor_id, status, since, failures_in_a_row, successes_in_a_row, \
               degraded_in_a_row, last_check_at, last_ok_at, last_latency_ms, last_error, regions) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (monitor_id) DO UPDATE SET status = $2, since = $3, failures_in_a_row = $4, \
               successes_in_a_row = $5, degraded_in_a_row = $6, last_check_at = $7, last_ok_at = $8, \
               last_latency_ms = $9, last_error = $10, regions = $11",
            s.monitor_id,
            s.state.status.as_str(),
            s.state.since,
            s.state.failures_in_a_row as i32,
            s.state.successes_in_a_row as i32,
            s.state.degraded_in_a_row as i32,
            s.last.at,
            s.last_ok_at,
            (s.last.latency.as_secs_f64() * 1000.0) as f32,
            s.last.error.as_ref().map(|(c, m)| format!("{}: {m}", c.as_str())),
            s.regions
        )
        .execute(&mut *tx)
        .await?;
    }
    for c in changes {
        let data = EventData::MonitorState(MonitorChanged {
            monitor_id: c.monitor_id,
            monitor: c.monitor.clone(),
            component: c.component.clone(),
            from: c.transition.from,
            to: c.transition.to,
            cause: c.transition.cause.clone(),
            at: c.transition.at,
        });
        events::append_in(&mut tx, &format!("monitor:{}", c.monitor), &data).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes raw results and fine rollups past their retention. Returns rows deleted.
pub async fn expire(pool: &PgPool, raw_days: u32) -> Result<u64, StoreError> {
    let raw = sqlx::query!(
        "DELETE FROM check_results WHERE at < now() - make_interval(days => $1)",
        raw_days as i32
    )
    .execute(pool)
    .await?
    .rows_affected();
    let minutes = sqlx::query!(
        "DELETE FROM check_rollups WHERE resolution = 'm' AND bucket < now() - interval '8 days'"
    )
    .execute(pool)
    .await?
    .rows_affected();
    let hours = sqlx::query!(
        // Kept for 400 days: the public uptime page's twelve months are drawn from them.
        "DELETE FROM check_rollups WHERE resolution = 'h' AND bucket < now() - interval '400 days'"
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(raw + minutes + hours)
}
