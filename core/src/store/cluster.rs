//! Replicas and leases: which `vigil serve` processes share the database, and which of them runs
//! each piece of work that must run once. The database's clock decides when a lease expires.

use chrono::{DateTime, Utc};

use super::{PgPool, StoreError};
pub use crate::model::cluster::{LeaseView, ReplicaView};

/// Says that replica `id` is alive (and what it is), now.
pub async fn announce(
    pool: &PgPool,
    id: &str,
    hostname: &str,
    addr: &str,
    version: &str,
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO replicas (id, hostname, addr, version) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET last_seen = now()",
        id,
        hostname,
        addr,
        version
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Takes or renews every lease in `names` that is free, expired or already `holder`'s, in one
/// statement; returns the names `holder` holds now. Rows are locked in the order of `names`,
/// which callers keep sorted, so that two replicas asking at once never wait on each other in a
/// circle.
pub async fn hold_all(
    pool: &PgPool,
    names: &[String],
    holder: &str,
    secs: f64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar!(
        "INSERT INTO leases AS l (name, holder, acquired_at, renewed_at, expires_at) \
         SELECT n, $2, now(), now(), now() + make_interval(secs => $3) FROM unnest($1::text[]) n \
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, \
           acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE now() END, \
           renewed_at = now(), expires_at = EXCLUDED.expires_at \
         WHERE l.holder = EXCLUDED.holder OR l.expires_at < now() \
         RETURNING name",
        names,
        holder,
        secs
    )
    .fetch_all(pool)
    .await?)
}

/// Gives lease `name` up (a clean shutdown), so another replica need not wait for it to expire.
pub async fn release(pool: &PgPool, name: &str, holder: &str) -> Result<(), StoreError> {
    sqlx::query!(
        "DELETE FROM leases WHERE name = $1 AND holder = $2",
        name,
        holder
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A replica leaving: its leases go, and so does its row.
pub async fn leave(pool: &PgPool, id: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("DELETE FROM leases WHERE holder = $1", id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM replicas WHERE id = $1", id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Replicas heard from in the last `within_secs`, newest start first, with their live leases.
pub async fn replicas(pool: &PgPool, within_secs: f64) -> Result<Vec<ReplicaView>, StoreError> {
    let replicas = sqlx::query!(
        "SELECT id, hostname, addr, version, started_at, last_seen FROM replicas \
         WHERE last_seen > now() - make_interval(secs => $1) ORDER BY started_at DESC, id",
        within_secs
    )
    .fetch_all(pool)
    .await?;
    let leases = sqlx::query!(
        "SELECT name, holder, acquired_at, expires_at FROM leases WHERE expires_at > now() \
         ORDER BY name"
    )
    .fetch_all(pool)
    .await?;
    Ok(replicas
        .into_iter()
        .map(|r| ReplicaView {
            leases: leases
                .iter()
                .filter(|l| l.holder == r.id)
                .map(|l| LeaseView {
                    name: l.name.clone(),
                    since: l.acquired_at,
                    expires_at: l.expires_at,
                })
                .collect(),
            id: r.id,
            hostname: r.hostname,
            addr: r.addr,
            version: r.version,
            started_at: r.started_at,
            last_seen: r.last_seen,
        })
        .collect())
}

/// Forgets replicas not heard from for `secs` (their leases expired long before).
pub async fn forget_silent(pool: &PgPool, secs: f64) -> Result<u64, StoreError> {
    let done = sqlx::query!(
        "DELETE FROM replicas WHERE last_seen < now() - make_interval(secs => $1)",
        secs
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Records a heartbeat ping for `monitor`, whichever replica received it.
pub async fn record_ping(pool: &PgPool, monitor: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO heartbeat_pings (monitor_id, at) VALUES ($1, $2) \
         ON CONFLICT (monitor_id) DO UPDATE SET at = GREATEST(heartbeat_pings.at, EXCLUDED.at)",
        monitor,
        at
    )
    .execute(pool)
    .await?;
    super::events::wake_replicas(pool, "ping").await
}

/// Every heartbeat monitor's newest ping.
pub async fn pings(pool: &PgPool) -> Result<Vec<(i64, DateTime<Utc>)>, StoreError> {
    Ok(sqlx::query!("SELECT monitor_id, at FROM heartbeat_pings")
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.monitor_id, r.at))
        .collect())
}

/// The live monitors paused now: a pause made through another replica reaches the one probing.
/// (Few are paused; every wake-up asked for all ten thousand flags before.)
pub async fn paused_monitors(pool: &PgPool) -> Result<Vec<i64>, StoreError> {
    Ok(
        sqlx::query_scalar!("SELECT id FROM monitors WHERE paused AND NOT retired ORDER BY id")
            .fetch_all(pool)
            .await?,
    )
}
