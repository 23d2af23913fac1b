//! Follow-ups tracked as GitHub issues: which are waiting for an issue, which are due a reading,
//! and what GitHub said. The follow-up's status follows the issue's state; each change made that
//! way is audited as `github`.

use super::{audit, PgPool, StoreError};
use crate::model::follow_up::{status_of_issue, FollowUpStatus};

/// Who the audit log names for changes GitHub made.
pub const ACTOR: &str = "github";

/// A follow-up that needs an issue opened.
pub struct ToOpen {
    pub id: i64,
    pub incident_id: i64,
    pub title: String,
    pub postmortem: String,
    pub owner: Option<String>,
    pub due_on: Option<chrono::NaiveDate>,
}

/// Follow-ups that asked for an issue (or never said, when `by_default`) and have none, open
/// ones only; one that failed is tried again after `retry_after`.
pub async fn to_open(
    pool: &PgPool,
    by_default: bool,
    retry_after: chrono::Duration,
    limit: i64,
) -> Result<Vec<ToOpen>, StoreError> {
    Ok(sqlx::query_as!(
        ToOpen,
        r#"SELECT f.id, p.incident_id, f.title, p.title AS postmortem,
           u.username AS "owner?", f.due_on
           FROM follow_ups f JOIN postmortems p ON p.id = f.postmortem_id
           LEFT JOIN users u ON u.id = f.owner_id
           WHERE f.github_number IS NULL AND f.status = 'open'
             AND (f.github_wanted OR ($1 AND f.github_wanted IS NULL))
             AND (f.github_checked_at IS NULL OR f.github_checked_at < now() - $2::interval)
           ORDER BY f.id LIMIT $3"#,
        by_default,
        pg_interval(retry_after),
        limit
    )
    .fetch_all(pool)
    .await?)
}

fn pg_interval(d: chrono::Duration) -> sqlx::postgres::types::PgInterval {
    sqlx::postgres::types::PgInterval {
        months: 0,
        days: 0,
        microseconds: d.num_microseconds().unwrap_or(i64::MAX),
    }
}

/// The issue was opened: linked, and its address becomes the follow-up's link when it had none.
pub async fn opened(pool: &PgPool, id: i64, number: i64, url: &str) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE follow_ups SET github_wanted = true, github_number = $2, github_url = $3, \
         github_state = 'open', github_error = NULL, github_etag = NULL, github_checked_at = now(), \
         link = coalesce(link, $3), updated_at = now() WHERE id = $1",
        id,
        number,
        url
    )
    .execute(pool)
    .await?;
    audit::record(
        pool,
        ACTOR,
        "follow_up.github_opened",
        &format!("follow-up:{id}"),
        serde_json::json!({ "issue": number, "url": url }),
    )
    .await
}

/// GitHub refused or could not be reached: said on the follow-up, tried again later.
pub async fn failed(pool: &PgPool, id: i64, error: &str) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE follow_ups SET github_error = $2, github_checked_at = now() WHERE id = $1",
        id,
        error
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A linked issue due a reading.
pub struct ToRead {
    pub id: i64,
    pub number: i64,
    pub etag: Option<String>,
}

/// Linked issues not read for `every` (deleted ones are no longer read), oldest reading first.
pub async fn to_read(
    pool: &PgPool,
    every: chrono::Duration,
    limit: i64,
) -> Result<Vec<ToRead>, StoreError> {
    Ok(sqlx::query_as!(
        ToRead,
        r#"SELECT id, github_number AS "number!", github_etag AS etag FROM follow_ups
           WHERE github_number IS NOT NULL AND github_state IS DISTINCT FROM 'deleted'
             AND (github_checked_at IS NULL OR github_checked_at < now() - $1::interval)
           ORDER BY github_checked_at NULLS FIRST, id LIMIT $2"#,
        pg_interval(every),
        limit
    )
    .fetch_all(pool)
    .await?)
}

/// Nothing changed since the last reading (GitHub answered 304).
pub async fn unchanged(pool: &PgPool, id: i64) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE follow_ups SET github_checked_at = now(), github_error = NULL WHERE id = $1",
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The issue's state as GitHub gave it: stored, and the follow-up's status follows it when the
/// state is new (a person's own change in Vigil stands until the issue changes). Returns the
/// status set, if it changed.
pub async fn read(
    pool: &PgPool,
    id: i64,
    state: &str,
    reason: Option<&str>,
    etag: Option<&str>,
) -> Result<Option<FollowUpStatus>, StoreError> {
    let state = if state == "closed" { "closed" } else { "open" };
    let wanted = status_of_issue(state, reason);
    let row = sqlx::query!(
        r#"WITH old AS (SELECT id, github_state, status FROM follow_ups WHERE id = $1 FOR UPDATE)
           UPDATE follow_ups f SET github_state = $2, github_etag = $3, github_checked_at = now(),
             github_error = NULL,
             status = CASE WHEN old.github_state IS DISTINCT FROM $2 THEN $4 ELSE f.status END,
             updated_at = CASE WHEN old.github_state IS DISTINCT FROM $2 THEN now()
                               ELSE f.updated_at END
           FROM old WHERE f.id = old.id
           RETURNING old.status AS "before!", f.status AS "after!""#,
        id,
        state,
        etag,
        wanted.as_str()
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row.filter(|r| r.before != r.after) else {
        return Ok(None);
    };
    audit::record(
        pool,
        ACTOR,
        "follow_up.update",
        &format!("follow-up:{id}"),
        serde_json::json!({ "status": row.after, "issue_state": state, "state_reason": reason }),
    )
    .await?;
    Ok(FollowUpStatus::parse(&row.after))
}

/// GitHub answered 404 for the issue (deleted, transferred or hidden): no longer read; the
/// follow-up keeps its status and says what happened.
pub async fn deleted(pool: &PgPool, id: i64, error: &str) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE follow_ups SET github_state = 'deleted', github_error = $2, \
         github_checked_at = now(), updated_at = now() WHERE id = $1",
        id,
        error
    )
    .execute(pool)
    .await?;
    audit::record(
        pool,
        ACTOR,
        "follow_up.github_deleted",
        &format!("follow-up:{id}"),
        serde_json::json!({ "error": error }),
    )
    .await
}

/// The follow-ups linked to issue `number` (a webhook names the issue, not the follow-up).
pub async fn by_number(pool: &PgPool, number: i64) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM follow_ups WHERE github_number = $1 ORDER BY id",
        number
    )
    .fetch_all(pool)
    .await?)
}

/// Remembers a GitHub webhook delivery; false when it was already taken within the last day
/// (a replay). Deliveries older than a day are forgotten on the way.
pub async fn first_delivery(pool: &PgPool, delivery: &str) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("DELETE FROM github_deliveries WHERE received_at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    let new = sqlx::query!(
        "INSERT INTO github_deliveries (id) VALUES ($1) ON CONFLICT DO NOTHING",
        delivery
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    tx.commit().await?;
    Ok(new)
}
