//! Upstream providers' status pages: the newest reading of each, and the events of what changed.

use chrono::{DateTime, Utc};

use super::{events, PgPool, StoreError};
use crate::model::{
    event::{EventData, UpstreamComponent, UpstreamIncident},
    upstream::{changes, Snapshot, UpstreamView},
};

/// Declares the configured providers (name, shown publicly) and retires the others.
pub async fn sync(pool: &PgPool, providers: &[(String, bool)]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("UPDATE upstream_status SET retired = true")
        .execute(&mut *tx)
        .await?;
    for (name, public) in providers {
        sqlx::query!(
            "INSERT INTO upstream_status (name, public, snapshot, fetched_at) \
             VALUES ($1, $2, '{}'::jsonb, 'epoch') \
             ON CONFLICT (name) DO UPDATE SET public = $2, retired = false",
            name,
            public
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The previous reading of `name` and its ETag (None before the first reading).
pub async fn previous(
    pool: &PgPool,
    name: &str,
) -> Result<(Option<Snapshot>, Option<String>), StoreError> {
    let row = sqlx::query!(
        "SELECT snapshot, etag, fetched_at FROM upstream_status WHERE name = $1",
        name
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(r) if r.fetched_at > DateTime::<Utc>::UNIX_EPOCH => {
            (serde_json::from_value(r.snapshot).ok(), r.etag)
        }
        _ => (None, None),
    })
}

/// Stores a reading and appends an event for each incident opened, updated or resolved and each
/// followed component that changed state, in one transaction.
pub async fn record(
    pool: &PgPool,
    name: &str,
    before: Option<&Snapshot>,
    now: &Snapshot,
    etag: Option<&str>,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let found = changes(before, now);
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "UPDATE upstream_status SET snapshot = $2, etag = $3, fetched_at = $4 WHERE name = $1",
        name,
        serde_json::to_value(now).expect("snapshots serialise"),
        etag,
        at
    )
    .execute(&mut *tx)
    .await?;
    let n = found.incidents.len() + found.components.len();
    for (change, incident) in found.incidents {
        let subject = format!("upstream:{name}:{}", incident.id);
        let data = EventData::UpstreamIncident(UpstreamIncident {
            provider: name.to_string(),
            change,
            incident,
        });
        events::append_in(&mut tx, &subject, &data).await?;
    }
    for c in found.components {
        let subject = format!("upstream:{name}:{}", c.name);
        let data = EventData::UpstreamComponent(UpstreamComponent {
            provider: name.to_string(),
            component: c.name,
            from: c.from,
            to: c.to,
        });
        events::append_in(&mut tx, &subject, &data).await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// Notes that a reading found nothing new (a 304): only the time moves.
pub async fn touch(pool: &PgPool, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE upstream_status SET fetched_at = $2 WHERE name = $1",
        name,
        at
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Every live provider that has been read at least once.
pub async fn all(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<UpstreamView>, StoreError> {
    let rows = sqlx::query!(
        "SELECT name, public, snapshot, fetched_at FROM upstream_status \
         WHERE NOT retired AND fetched_at > 'epoch' ORDER BY name"
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| UpstreamView {
            name: r.name,
            public: r.public,
            snapshot: serde_json::from_value(r.snapshot).unwrap_or_default(),
            fetched_at: r.fetched_at,
        })
        .collect())
}

/// The events that opened the providers' incidents still open: evidence for an incident Vigil
/// opens meanwhile.
pub async fn open_incident_events(pool: &PgPool) -> Result<Vec<i64>, StoreError> {
    let mut out = Vec::new();
    for p in all(pool).await? {
        for i in &p.snapshot.incidents {
            let subject = format!("upstream:{}:{}", p.name, i.id);
            let newest = sqlx::query_scalar!(
                "SELECT max(id) FROM events WHERE kind = 'upstream.incident' AND subject = $1",
                subject
            )
            .fetch_one(pool)
            .await?;
            out.extend(newest);
        }
    }
    Ok(out)
}
