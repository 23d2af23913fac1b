//! The event stream: every state change, alert and incident update is appended here, and a
//! NOTIFY tells live readers (SSE, the incident engine, the outbox) to look.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{PgPool, StoreError};

/// The channel name used with LISTEN/NOTIFY; the payload is the new event's id.
pub const NOTIFY_CHANNEL: &str = "vigil_events";

#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub subject: String,
    pub payload: serde_json::Value,
}

/// Appends an event and notifies listeners in the same transaction, so a listener never hears of
/// an event it cannot yet read.
pub async fn append(
    pool: &PgPool,
    kind: &str,
    subject: &str,
    payload: serde_json::Value,
) -> Result<Event, StoreError> {
    let mut tx = pool.begin().await?;
    let event = append_in(&mut tx, kind, subject, payload).await?;
    tx.commit().await?;
    Ok(event)
}

/// As [`append`], inside the caller's transaction: the event exists exactly when the change it
/// describes does.
pub async fn append_in(
    conn: &mut sqlx::PgConnection,
    kind: &str,
    subject: &str,
    payload: serde_json::Value,
) -> Result<Event, StoreError> {
    let event: Event = sqlx::query_as(
        "INSERT INTO events (kind, subject, payload) VALUES ($1, $2, $3) \
         RETURNING id, at, kind, subject, payload",
    )
    .bind(kind)
    .bind(subject)
    .bind(&payload)
    .fetch_one(&mut *conn)
    .await?;
    // The outbox: every channel that wants this kind of event gets its notification now, in
    // this transaction — it commits with the event or not at all.
    // A component under maintenance holds back its monitors' alerts, and a monitor's first
    // verdict of "up" (Vigil starting) is nothing to wake anyone for.
    sqlx::query(
        "INSERT INTO notifications (channel_id, event_id) \
         SELECT id, $1 FROM notify_channels WHERE enabled AND $2 LIKE ANY (patterns) \
         AND NOT ($2 = 'monitor.state' AND $4 = 'unknown' AND $5 = 'up') \
         AND NOT ($2 = 'monitor.state' AND EXISTS ( \
           SELECT 1 FROM incident_components ic JOIN incidents i ON i.id = ic.incident_id \
           WHERE i.kind = 'maintenance' AND i.status IN ('in_progress', 'verifying') \
             AND ic.component_id = $3))",
    )
    .bind(event.id)
    .bind(&event.kind)
    .bind(event.payload["component"].as_str())
    .bind(event.payload["from"].as_str())
    .bind(event.payload["to"].as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(NOTIFY_CHANNEL)
        .bind(event.id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(event)
}

/// The newest event id, or 0: a cheap "has anything changed?" for live pages.
pub async fn latest_id(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM events")
            .fetch_one(pool)
            .await?,
    )
}

/// Events in `[from, to)`, oldest first.
pub async fn in_window(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Event>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, at, kind, subject, payload FROM events \
         WHERE at >= $1 AND at < $2 ORDER BY at, id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?)
}

/// The newest event of `kind` for each subject: the current state of alerts that raise and clear.
pub async fn latest_per_subject(pool: &PgPool, kind: &str) -> Result<Vec<Event>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT DISTINCT ON (subject) id, at, kind, subject, payload FROM events \
         WHERE kind = $1 ORDER BY subject, id DESC",
    )
    .bind(kind)
    .fetch_all(pool)
    .await?)
}
