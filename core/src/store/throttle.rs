//! Failed sign-in counting, per key ("acct:NAME|ADDR", "ip:ADDR", "device:HASH"). The rule deciding
//! how long to wait lives in `model::throttle`; the store applies it atomically.

use chrono::{DateTime, Utc};

use super::{PgPool, StoreError};
use crate::model::throttle::{FREE_FAILURES, MAX_DELAY_SECS};

/// Whether an attempt may go ahead under every key, or how long to wait.
#[derive(Debug, PartialEq)]
pub enum Admission {
    Allowed,
    Wait(chrono::Duration),
}

/// Admits one sign-in attempt under all `keys` or none, counting it as a failure in advance.
///
/// Check and count are one statement per key under the row's lock, so parallel attempts cannot
/// all pass the check before any is recorded: exactly as many get through as the rule allows.
/// A successful attempt gives its count back with [`succeeded`]. The rule (free failures, then a
/// delay that doubles, capped) is `model::throttle::delay_after`, written here in SQL.
pub async fn admit(pool: &PgPool, keys: &[String]) -> Result<Admission, StoreError> {
    let mut tx = pool.begin().await?;
    for key in keys {
        let admitted: Option<i32> = sqlx::query_scalar!(
            "INSERT INTO login_failures AS f (key, failures, last_failure_at) VALUES ($1, 1, now()) \
             ON CONFLICT (key) DO UPDATE SET failures = f.failures + 1, last_failure_at = now() \
             WHERE f.last_failure_at + make_interval(secs => CASE WHEN f.failures <= $2 THEN 0 \
                   ELSE least(power(2, least(f.failures - $2, 20)), $3) END) <= now() \
             RETURNING failures",
            key,
            FREE_FAILURES,
            MAX_DELAY_SECS as f64
        )
        .fetch_optional(&mut *tx)
        .await?;
        if admitted.is_none() {
            // Nothing is counted for an attempt that was not let through.
            tx.rollback().await?;
            let (n, last) = get(pool, key).await?.unwrap_or((0, Utc::now()));
            let wait = crate::model::throttle::wait_remaining(n, last, Utc::now())
                .unwrap_or_else(|| chrono::Duration::seconds(1));
            return Ok(Admission::Wait(wait));
        }
    }
    tx.commit().await?;
    Ok(Admission::Allowed)
}

/// After a successful sign-in: the (account, address) and device counts start over; the address
/// only gets this attempt back, so signing in to one's own account does not clear the record of
/// guesses against others.
pub async fn succeeded(
    pool: &PgPool,
    clear: &[String],
    give_back: &[String],
) -> Result<(), StoreError> {
    sqlx::query!("DELETE FROM login_failures WHERE key = ANY($1)", clear)
        .execute(pool)
        .await?;
    sqlx::query!(
        "UPDATE login_failures SET failures = greatest(failures - 1, 0) WHERE key = ANY($1)",
        give_back
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// (failures, time of the last failure) for a key, if it has failed before.
pub async fn get(pool: &PgPool, key: &str) -> Result<Option<(i32, DateTime<Utc>)>, StoreError> {
    Ok(sqlx::query!(
        "SELECT failures, last_failure_at FROM login_failures WHERE key = $1",
        key
    )
    .fetch_optional(pool)
    .await?
    .map(|r| (r.failures, r.last_failure_at)))
}

/// Remembers a browser that signed in as `user_id` (by the SHA-256 of its device cookie).
pub async fn remember_device(
    pool: &PgPool,
    token_hash: &str,
    user_id: i64,
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO known_devices (token_hash, user_id) VALUES ($1, $2) \
         ON CONFLICT (token_hash) DO UPDATE SET user_id = $2, last_used_at = now()",
        token_hash,
        user_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether this device cookie belongs to a browser that signed in as `username` before.
pub async fn is_known_device(
    pool: &PgPool,
    token_hash: &str,
    username: &str,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM known_devices d JOIN users u ON u.id = d.user_id \
         WHERE d.token_hash = $1 AND u.username = $2) AS \"known!\"",
        token_hash,
        username
    )
    .fetch_one(pool)
    .await?)
}

/// Counts one request under `key`: at most `limit` per `window`, shared by every replica.
/// `Err(wait)` when the window is full (nothing is counted then).
pub async fn admit_window(
    pool: &PgPool,
    key: &str,
    limit: u32,
    window: chrono::Duration,
) -> Result<Result<(), chrono::Duration>, StoreError> {
    let secs = window.num_milliseconds() as f64 / 1000.0;
    let counted: Option<i32> = sqlx::query_scalar!(
        "INSERT INTO request_windows AS w (key, started_at, n) VALUES ($1, now(), 1) \
         ON CONFLICT (key) DO UPDATE SET \
           n = CASE WHEN w.started_at + make_interval(secs => $3) <= now() THEN 1 ELSE w.n + 1 END, \
           started_at = CASE WHEN w.started_at + make_interval(secs => $3) <= now() THEN now() ELSE w.started_at END \
         WHERE w.started_at + make_interval(secs => $3) <= now() OR w.n < $2 \
         RETURNING n",
        key,
        limit as i32,
        secs
    )
    .fetch_optional(pool)
    .await?;
    if counted.is_some() {
        return Ok(Ok(()));
    }
    let started: Option<DateTime<Utc>> =
        sqlx::query_scalar!("SELECT started_at FROM request_windows WHERE key = $1", key)
            .fetch_optional(pool)
            .await?;
    let wait = started.map_or(window, |s| s + window - Utc::now());
    Ok(Err(wait.max(chrono::Duration::seconds(1))))
}

/// Forgets windows that started more than `longest` (the longest window counted) and a day ago:
/// housekeeping, so counting a request stays one statement.
pub async fn sweep_windows(pool: &PgPool, longest: chrono::Duration) -> Result<u64, StoreError> {
    let secs = longest.num_milliseconds() as f64 / 1000.0;
    Ok(sqlx::query!(
        "DELETE FROM request_windows WHERE started_at < now() - interval '1 day' - make_interval(secs => $1)",
        secs
    )
    .execute(pool)
    .await?
    .rows_affected())
}
