//! Freshness of every data source (each Prometheus, node_exporter, the Linode API, the probe
//! scheduler): last success, last error, and the stale flag with its `source.stale` /
//! `source.fresh` events, written in the same transaction as the flag.

use chrono::{DateTime, Utc};

use crate::model::{
    event::{EventData, SourceFresh, SourceStale},
    resource::{stale_message, SourceView},
};

use super::{events, PgPool, StoreError};

/// Declares a source (at start-up, from the configuration); un-retires it if it was dropped
/// and came back. A source is judged from `registered_at` until it first answers.
pub async fn register(
    pool: &PgPool,
    name: &str,
    kind: &str,
    target: &str,
    stale_after_secs: u32,
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO sources (name, kind, target, stale_after_secs) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET kind = $2, target = $3, stale_after_secs = $4, \
           retired = false, registered_at = CASE WHEN sources.retired THEN now() ELSE sources.registered_at END",
        name,
        kind,
        target,
        stale_after_secs as i32
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Retires every source not in `keep` (removed from the configuration): it is no longer judged.
pub async fn retire_others(pool: &PgPool, keep: &[String]) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE sources SET retired = true WHERE NOT (name = ANY($1))",
        keep
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records an answer; a stale source becomes fresh again, with its event.
pub async fn success(pool: &PgPool, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    // The common case, a fresh source answering again, is one statement.
    let fresh = sqlx::query!(
        "UPDATE sources SET last_attempt = $2, last_success = $2 WHERE name = $1 AND NOT stale",
        name,
        at
    )
    .execute(pool)
    .await?;
    if fresh.rows_affected() > 0 {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    let was = sqlx::query!(
        "SELECT kind, stale_since FROM sources WHERE name = $1 AND stale FOR UPDATE",
        name
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(was) = was {
        let (kind, stale_since) = (was.kind, was.stale_since);
        sqlx::query!(
            "UPDATE sources SET last_attempt = $2, last_success = $2, stale = false, stale_since = NULL \
             WHERE name = $1",
            name,
            at
        )
        .execute(&mut *tx)
        .await?;
        let data = EventData::SourceFresh(SourceFresh {
            source: name.to_string(),
            kind: kind.to_string(),
            stale_since,
            message: format!("{name} is answering again"),
        });
        events::append_in(&mut tx, &format!("source:{name}"), &data).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records a failed attempt. Staleness is judged by [`mark_stale`] from the last success, so one
/// error does not make a source stale.
pub async fn failure(
    pool: &PgPool,
    name: &str,
    at: DateTime<Utc>,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE sources SET last_attempt = $2, last_error_at = $2, last_error = $3 WHERE name = $1",
        name,
        at,
        error
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks every source not heard from within its stale-after as stale and appends a
/// `source.stale` alert event for each. Returns the names that went stale. `watching_since` is
/// when this process began to watch: a source is judged only on what could have been heard since
/// (a restart after a gap is Vigil's absence, not every source's failure).
pub async fn mark_stale(
    pool: &PgPool,
    now: DateTime<Utc>,
    watching_since: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let mut tx = pool.begin().await?;
    #[derive(sqlx::FromRow)]
    struct Gone {
        name: String,
        kind: String,
        last_success: Option<DateTime<Utc>>,
        last_error: Option<String>,
    }
    let gone: Vec<Gone> = sqlx::query_as!(
        Gone,
        "UPDATE sources SET stale = true, stale_since = $1 \
         WHERE NOT stale AND NOT retired \
           AND GREATEST(COALESCE(last_success, registered_at), $2) < $1::timestamptz - make_interval(secs => stale_after_secs) \
         RETURNING name, kind, last_success, last_error",
        now,
        watching_since
    )
    .fetch_all(&mut *tx)
    .await?;
    for Gone {
        name,
        kind,
        last_success,
        last_error,
    } in &gone
    {
        let data = EventData::SourceStale(SourceStale {
            source: name.clone(),
            kind: kind.clone(),
            last_success: *last_success,
            last_error: last_error.clone(),
            message: stale_message(kind, name),
        });
        events::append_in(&mut tx, &format!("source:{name}"), &data).await?;
    }
    tx.commit().await?;
    Ok(gone.into_iter().map(|g| g.name).collect())
}

pub async fn all(pool: &PgPool) -> Result<Vec<SourceView>, StoreError> {
    let rows: Vec<SourceRow> = sqlx::query_as!(
        SourceRow,
        "SELECT name, kind, target, stale_after_secs, last_attempt, last_success, last_error_at, \
           last_error, stale, stale_since FROM sources WHERE NOT retired ORDER BY kind, name"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(SourceRow::into_view).collect())
}

#[derive(sqlx::FromRow)]
struct SourceRow {
    name: String,
    kind: String,
    target: String,
    stale_after_secs: i32,
    last_attempt: Option<DateTime<Utc>>,
    last_success: Option<DateTime<Utc>>,
    last_error_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    stale: bool,
    stale_since: Option<DateTime<Utc>>,
}

impl SourceRow {
    fn into_view(self) -> SourceView {
        SourceView {
            name: self.name,
            kind: self.kind,
            target: self.target,
            stale_after_secs: self.stale_after_secs,
            last_attempt: self.last_attempt,
            last_success: self.last_success,
            last_error_at: self.last_error_at,
            last_error: self.last_error,
            stale: self.stale,
            stale_since: self.stale_since,
        }
    }
}

/// When Vigil starts: if nothing was heard from any source for longer than `gap` (no replica was
/// running), says so once as a `vigil.absent` event. Returns the event's data when it was written.
pub async fn record_absence(
    pool: &PgPool,
    now: DateTime<Utc>,
    gap: chrono::Duration,
) -> Result<Option<crate::model::event::VigilAbsent>, StoreError> {
    let mut tx = pool.begin().await?;
    // One replica says it, whichever starts first.
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('vigil.absent'))")
        .execute(&mut *tx)
        .await?;
    let last: Option<DateTime<Utc>> =
        sqlx::query_scalar!("SELECT max(last_attempt) FROM sources WHERE NOT retired")
            .fetch_one(&mut *tx)
            .await?;
    let Some(last) = last.filter(|l| now - *l > gap) else {
        return Ok(None);
    };
    let said: bool = sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM events WHERE kind = 'vigil.absent' AND at >= $1) AS \"said!\"",
        last
    )
    .fetch_one(&mut *tx)
    .await?;
    if said {
        return Ok(None);
    }
    let absent = crate::model::event::VigilAbsent {
        from: last,
        to: now,
    };
    events::append_in(&mut tx, "vigil", &EventData::VigilAbsent(absent.clone())).await?;
    tx.commit().await?;
    Ok(Some(absent))
}
