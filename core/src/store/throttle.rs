//! Failed sign-in counting, per account and per address. The rule deciding how long to wait lives
//! in `model::throttle`; this only keeps the counts.

use chrono::{DateTime, Utc};

use super::{PgPool, StoreError};

/// (failures, time of the last failure) for a key, if it has failed before.
pub async fn get(pool: &PgPool, key: &str) -> Result<Option<(i32, DateTime<Utc>)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT failures, last_failure_at FROM login_failures WHERE key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn record_failure(pool: &PgPool, key: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO login_failures (key, failures, last_failure_at) VALUES ($1, 1, now()) \
         ON CONFLICT (key) DO UPDATE SET failures = login_failures.failures + 1, last_failure_at = now()",
    )
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn clear(pool: &PgPool, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}
