//! Sign-in sessions: an opaque id, the encoded record and its expiry. The server's session layer
//! (`server::auth::session_store`) encodes and decodes; this only stores.

use chrono::{DateTime, Utc};

use super::{PgPool, StoreError};

/// Stores a new session under `id`, unless that id is taken. Returns whether it was stored.
pub async fn create(
    pool: &PgPool,
    id: &str,
    data: &[u8],
    expiry: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "INSERT INTO tower_sessions.session (id, data, expiry_date) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
        id,
        data,
        expiry
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores (or replaces) the session under `id`.
pub async fn save(
    pool: &PgPool,
    id: &str,
    data: &[u8],
    expiry: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO tower_sessions.session (id, data, expiry_date) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, expiry_date = EXCLUDED.expiry_date",
        id,
        data,
        expiry
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The session under `id`, unless it has expired.
pub async fn load(pool: &PgPool, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT data FROM tower_sessions.session WHERE id = $1 AND expiry_date > now()",
        id
    )
    .fetch_optional(pool)
    .await?)
}

pub async fn delete(pool: &PgPool, id: &str) -> Result<(), StoreError> {
    sqlx::query!("DELETE FROM tower_sessions.session WHERE id = $1", id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets every expired session; returns how many.
pub async fn delete_expired(pool: &PgPool) -> Result<u64, StoreError> {
    let done = sqlx::query!("DELETE FROM tower_sessions.session WHERE expiry_date < now()")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
