//! Probe agents' side of the store: the monitors a region checks, and the inbox their results
//! wait in until the replica running the probes folds them into the monitors' states.

use crate::model::monitor::CheckResult;

use super::{PgPool, StoreError};

/// The live, unpaused monitors that list `region`: their ids and specs as stored (secrets sealed;
/// the server opens them).
pub async fn monitors_for(
    pool: &PgPool,
    region: &str,
) -> Result<Vec<(i64, serde_json::Value)>, StoreError> {
    let rows = sqlx::query!(
        "SELECT id, spec FROM monitors WHERE NOT retired AND NOT paused \
         AND spec->'regions' ? $1 ORDER BY id",
        region
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.spec)).collect())
}

/// Queues results an agent of `region` observed. Results for monitors that do not list the
/// region (or no longer exist) are left out; returns how many were queued.
pub async fn accept(
    pool: &PgPool,
    region: &str,
    results: &[(i64, CheckResult)],
) -> Result<u64, StoreError> {
    let (ids, payloads): (Vec<i64>, Vec<serde_json::Value>) = results
        .iter()
        .map(|(id, r)| (*id, serde_json::to_value(r).expect("results serialise")))
        .unzip();
    let done = sqlx::query!(
        "INSERT INTO agent_inbox (monitor_id, region, result) \
         SELECT r.id, $1, r.result FROM UNNEST($2::bigint[], $3::jsonb[]) AS r (id, result) \
         JOIN monitors m ON m.id = r.id AND NOT m.retired AND m.spec->'regions' ? $1",
        region,
        &ids,
        &payloads
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Takes up to `limit` queued results, oldest first: (monitor, region, result). Taken results
/// leave the inbox; the caller folds and writes them.
pub async fn take(
    pool: &PgPool,
    limit: i64,
) -> Result<Vec<(i64, String, CheckResult)>, StoreError> {
    let rows = sqlx::query!(
        "DELETE FROM agent_inbox WHERE id IN ( \
           SELECT id FROM agent_inbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, monitor_id, region, result",
        limit
    )
    .fetch_all(pool)
    .await?;
    let mut out: Vec<(i64, i64, String, CheckResult)> = rows
        .into_iter()
        .filter_map(|r| {
            let result = serde_json::from_value(r.result).ok()?;
            Some((r.id, r.monitor_id, r.region, result))
        })
        .collect();
    out.sort_by_key(|(id, ..)| *id);
    Ok(out
        .into_iter()
        .map(|(_, monitor, region, mut result)| {
            result.region = Some(region.clone());
            (monitor, region, result)
        })
        .collect())
}
