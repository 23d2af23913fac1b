//! The event stream: every state change, alert and incident update is appended here, and a
//! NOTIFY tells live readers (SSE, the incident engine, the outbox) to look.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{PgPool, StoreError};
use crate::model::{
    event::EventData,
    monitor::MonitorStatus,
    status::ComponentStatus,
    subscriber::{audience, Audience},
};

/// The channel name used with LISTEN/NOTIFY; the payload is the new event's id.
pub const NOTIFY_CHANNEL: &str = "vigil_events";

/// An event as read back: its data parsed once, here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredEvent", into = "StoredEvent")]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub subject: String,
    pub data: EventData,
}

impl Event {
    pub fn kind(&self) -> String {
        self.data.kind()
    }
}

/// An event's row (and its JSON for webhooks and the API): kind and payload as stored.
#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub subject: String,
    pub payload: serde_json::Value,
}

impl From<StoredEvent> for Event {
    fn from(s: StoredEvent) -> Event {
        Event {
            id: s.id,
            at: s.at,
            subject: s.subject,
            data: EventData::parse(&s.kind, s.payload),
        }
    }
}

impl From<Event> for StoredEvent {
    fn from(e: Event) -> StoredEvent {
        let (kind, payload) = e.data.to_parts();
        StoredEvent {
            id: e.id,
            at: e.at,
            kind,
            subject: e.subject,
            payload,
        }
    }
}

/// Rows as read, each parsed once into its typed event.
fn parsed(rows: Result<Vec<StoredEvent>, sqlx::Error>) -> Result<Vec<Event>, StoreError> {
    Ok(rows?.into_iter().map(Event::from).collect())
}

/// Appends an event and notifies listeners in the same transaction, so a listener never hears of
/// an event it cannot yet read.
pub async fn append(pool: &PgPool, subject: &str, data: &EventData) -> Result<Event, StoreError> {
    let mut tx = pool.begin().await?;
    let event = append_in(&mut tx, subject, data).await?;
    tx.commit().await?;
    Ok(event)
}

/// As [`append`], inside the caller's transaction: the event exists exactly when the change it
/// describes does.
pub async fn append_in(
    conn: &mut sqlx::PgConnection,
    subject: &str,
    data: &EventData,
) -> Result<Event, StoreError> {
    let (kind, payload) = data.to_parts();
    let event: Event = sqlx::query_as!(
        StoredEvent,
        "INSERT INTO events (kind, subject, payload) VALUES ($1, $2, $3) \
         RETURNING id, at, kind, subject, payload",
        &kind,
        subject,
        &payload
    )
    .fetch_one(&mut *conn)
    .await?
    .into();
    // The outbox: every channel that wants this kind of event gets its notification now, in
    // this transaction — it commits with the event or not at all.
    // A component under maintenance holds back its monitors' alerts, a monitor's first
    // verdict of "up" (Vigil starting) is nothing to wake anyone for, and imported history is
    // not news.
    let (component, first_verdict) = match data {
        EventData::MonitorState(m) => (
            Some(m.component.as_str()),
            m.from == MonitorStatus::Unknown && m.to == MonitorStatus::Up,
        ),
        _ => (None, false),
    };
    sqlx::query!(
        "INSERT INTO notifications (channel_id, event_id) \
         SELECT id, $1 FROM notify_channels WHERE enabled AND $2 LIKE ANY (patterns) \
         AND NOT $4 AND $2 <> 'history.imported' \
         AND NOT ($2 = 'monitor.state' AND EXISTS ( \
           SELECT 1 FROM incident_components ic JOIN incidents i ON i.id = ic.incident_id \
           WHERE i.kind = 'maintenance' AND i.status IN ('in_progress', 'verifying') \
             AND ic.component_id = $3))",
        event.id,
        &kind,
        component,
        first_verdict
    )
    .execute(&mut *conn)
    .await?;
    // Subscribers' outbox, likewise in this transaction: every confirmed subscriber who follows
    // this kind of news and one of the components it touches (or all of them).
    match (audience(&kind), data) {
        (Some(Audience::Components), EventData::ComponentStatus(c)) => {
            // Maintenance-only followers hear of a component going into or out of maintenance.
            let maintenance = c.from == ComponentStatus::UnderMaintenance
                || c.to == ComponentStatus::UnderMaintenance;
            sqlx::query!(
                "INSERT INTO subscriber_deliveries (subscriber_id, purpose, event_id) \
                 SELECT s.id, 'event', $1 FROM subscribers s \
                 WHERE s.state = 'active' AND s.kind = 'webhook' \
                   AND (s.incidents OR ($2 AND s.maintenances)) \
                   AND (cardinality(s.components) = 0 OR $3 = ANY (s.components)) \
                 ORDER BY s.id",
                event.id,
                maintenance,
                c.component_id
            )
            .execute(&mut *conn)
            .await?;
        }
        (Some(Audience::Components), _) | (None, _) => {}
        (Some(audience), _) => {
            let incident = match data {
                EventData::PostmortemPublished(p) => Some(p.incident_id),
                other => other.incident().map(|n| n.id),
            };
            sqlx::query!(
                "INSERT INTO subscriber_deliveries (subscriber_id, purpose, event_id) \
                 SELECT s.id, 'event', $1 FROM subscribers s \
                 WHERE s.state = 'active' AND (CASE WHEN $2 THEN s.maintenances ELSE s.incidents END) \
                   AND (cardinality(s.components) = 0 OR s.components && ARRAY( \
                     SELECT component_id FROM incident_components WHERE incident_id = $3)) \
                 ORDER BY s.id",
                event.id,
                audience == Audience::Maintenances,
                incident
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    wake_replicas(&mut *conn, &event.id.to_string()).await?;
    Ok(event)
}

/// Wakes every replica's workers (the same notification a new event sends) for a change that is
/// not an event: a monitor paused, a heartbeat's ping, made through one replica and acted on by
/// whichever holds the probes.
/// A new event sends the same notification, from its transaction, with its id.
pub async fn wake_replicas(db: impl sqlx::PgExecutor<'_>, why: &str) -> Result<(), StoreError> {
    sqlx::query!("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, why)
        .execute(db)
        .await?;
    Ok(())
}

/// The newest event id, or 0: a cheap "has anything changed?" for live pages.
pub async fn latest_id(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar!(r#"SELECT coalesce(max(id), 0) AS "id!" FROM events"#)
            .fetch_one(pool)
            .await?,
    )
}

/// Up to `limit` events after `cursor`, in order: how followers (the incident engine) read on.
pub async fn after(pool: &PgPool, cursor: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
    parsed(
        sqlx::query_as!(
            StoredEvent,
            "SELECT id, at, kind, subject, payload FROM events WHERE id > $1 ORDER BY id LIMIT $2",
            cursor,
            limit
        )
        .fetch_all(pool)
        .await,
    )
}

/// Events in `[from, to)`, oldest first.
pub async fn in_window(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Event>, StoreError> {
    parsed(
        sqlx::query_as!(
            StoredEvent,
            "SELECT id, at, kind, subject, payload FROM events \
         WHERE at >= $1 AND at < $2 ORDER BY at, id",
            from,
            to
        )
        .fetch_all(pool)
        .await,
    )
}

/// The newest event of `kind` for each subject: the current state of alerts that raise and clear.
pub async fn latest_per_subject(pool: &PgPool, kind: &str) -> Result<Vec<Event>, StoreError> {
    parsed(
        sqlx::query_as!(
            StoredEvent,
            "SELECT DISTINCT ON (subject) id, at, kind, subject, payload FROM events \
         WHERE kind = $1 ORDER BY subject, id DESC",
            kind
        )
        .fetch_all(pool)
        .await,
    )
}
