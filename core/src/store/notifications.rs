//! The notification outbox: channels synced from the configuration, the head of each channel's
//! queue, and the outcome of each delivery attempt.

use chrono::{DateTime, Utc};

use super::{events::Event, PgPool, StoreError};

/// A channel as configured.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelSpec {
    pub name: String,
    pub kind: String,
    pub url: String,
    /// LIKE patterns over event kinds.
    pub patterns: Vec<String>,
}

/// Makes the stored channels match the configuration; channels no longer configured are
/// disabled (their undelivered notifications stay, visible in the delivery log).
pub async fn sync_channels(pool: &PgPool, channels: &[ChannelSpec]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for c in channels {
        sqlx::query!(
            "INSERT INTO notify_channels (name, kind, url, patterns, enabled) VALUES ($1, $2, $3, $4, true) \
             ON CONFLICT (name) DO UPDATE SET kind = $2, url = $3, patterns = $4, enabled = true",
            &c.name,
            &c.kind,
            &c.url,
            &c.patterns
        )
        .execute(&mut *tx)
        .await?;
    }
    let names: Vec<String> = channels.iter().map(|c| c.name.clone()).collect();
    sqlx::query!(
        "UPDATE notify_channels SET enabled = false WHERE NOT (name = ANY($1))",
        &names
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The oldest undelivered notification of one channel, with its event.
#[derive(Clone, Debug)]
pub struct Due {
    pub id: i64,
    pub channel: String,
    pub kind: String,
    pub url: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub event: Event,
}

/// Each enabled channel's oldest pending notification. Only the head of a queue is ever sent,
/// so a channel's messages arrive in order even when one of them has to wait (a 429).
pub async fn heads(pool: &PgPool) -> Result<Vec<Due>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Head {
        id: i64,
        channel: String,
        kind: String,
        url: String,
        attempts: i32,
        next_attempt_at: DateTime<Utc>,
        created_at: DateTime<Utc>,
        event_id: i64,
        at: DateTime<Utc>,
        event_kind: String,
        subject: String,
        payload: serde_json::Value,
    }
    let rows: Vec<Head> = sqlx::query_as!(
        Head,
        "SELECT DISTINCT ON (n.channel_id) n.id, c.name AS channel, c.kind, c.url, n.attempts, \
           n.next_attempt_at, n.created_at, \
           e.id AS event_id, e.at, e.kind AS event_kind, e.subject, e.payload \
         FROM notifications n JOIN notify_channels c ON c.id = n.channel_id \
         JOIN events e ON e.id = n.event_id \
         WHERE n.state = 'pending' AND c.enabled ORDER BY n.channel_id, n.id"
    )
    .fetch_all(pool)
    .await?;
    // The event each head announces, as stored.
    let head = |r: Head| {
        let event = Event::from(super::events::StoredEvent {
            id: r.event_id,
            at: r.at,
            kind: r.event_kind,
            subject: r.subject,
            payload: r.payload,
        });
        Due {
            id: r.id,
            channel: r.channel,
            kind: r.kind,
            url: r.url,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            created_at: r.created_at,
            event,
        }
    };
    Ok(rows.into_iter().map(head).collect())
}

/// When the next head waiting for its retry falls due (for sleeping until then): without the
/// events `heads` reads.
pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT min(h.next_attempt_at) FROM (SELECT DISTINCT ON (n.channel_id) n.next_attempt_at \
           FROM notifications n JOIN notify_channels c ON c.id = n.channel_id \
           WHERE n.state = 'pending' AND c.enabled ORDER BY n.channel_id, n.id) h"
    )
    .fetch_one(pool)
    .await?)
}

pub use crate::model::notification::Delivery;

pub async fn recent(pool: &PgPool, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    Ok(sqlx::query_as!(
        Delivery,
        "SELECT n.id, c.name AS channel, e.kind AS event_kind, e.subject, n.state, n.attempts, \
           n.last_status, n.last_error, n.created_at, n.next_attempt_at, n.delivered_at \
         FROM notifications n JOIN notify_channels c ON c.id = n.channel_id \
         JOIN events e ON e.id = n.event_id ORDER BY n.id DESC LIMIT $1",
        limit
    )
    .fetch_all(pool)
    .await?)
}
