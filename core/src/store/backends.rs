//! Load-balancer backends: the latest view of each, and the history of their status changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{events, PgPool, StoreError};

/// One backend as observed in one poll.
#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow)]
pub struct Backend {
    pub nodebalancer_id: i64,
    pub nodebalancer_label: String,
    pub config_id: i64,
    pub port: i32,
    pub protocol: String,
    pub node_id: i64,
    pub label: String,
    pub address: String,
    pub status: String,
    pub mode: String,
    pub weight: i32,
    pub flapping: bool,
    pub since: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
}

/// A status change to keep in the history.
pub struct Change {
    pub config_id: i64,
    pub node_id: i64,
    pub at: DateTime<Utc>,
    pub from: String,
    pub to: String,
}

/// An event to append with the poll's writes.
pub struct NewEvent {
    pub subject: String,
    pub data: crate::model::event::EventData,
}

pub async fn all(pool: &PgPool) -> Result<Vec<Backend>, StoreError> {
    Ok(sqlx::query_as!(
        Backend,
        "SELECT nodebalancer_id, nodebalancer_label, config_id, port, protocol, node_id, label, address, \
         status, mode, weight, flapping, since, seen_at FROM lb_backends \
         ORDER BY nodebalancer_label, port, label"
    )
    .fetch_all(pool)
    .await?)
}

/// Change times per backend since `from`, oldest first: what flap detection resumes from.
pub async fn changes_since(
    pool: &PgPool,
    from: DateTime<Utc>,
) -> Result<Vec<(i64, i64, DateTime<Utc>)>, StoreError> {
    Ok(sqlx::query!(
        "SELECT config_id, node_id, at FROM lb_backend_changes WHERE at >= $1 ORDER BY at",
        from
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.config_id, r.node_id, r.at))
    .collect())
}

/// Writes one poll: every backend's latest state, its changes, and the events, together.
pub async fn record(
    pool: &PgPool,
    backends: &[Backend],
    changes: &[Change],
    new_events: Vec<NewEvent>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for b in backends {
        sqlx::query!(
            "INSERT INTO lb_backends (nodebalancer_id, nodebalancer_label, config_id, port, protocol, node_id, label, \
               address, status, mode, weight, flapping, since, seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (config_id, node_id) DO UPDATE SET nodebalancer_label = $2, port = $4, protocol = $5, \
               label = $7, address = $8, status = $9, mode = $10, weight = $11, flapping = $12, since = $13, seen_at = $14",
            b.nodebalancer_id,
            &b.nodebalancer_label,
            b.config_id,
            b.port,
            &b.protocol,
            b.node_id,
            &b.label,
            &b.address,
            &b.status,
            &b.mode,
            b.weight,
            b.flapping,
            b.since,
            b.seen_at
        )
        .execute(&mut *tx)
        .await?;
    }
    for c in changes {
        sqlx::query!(
            "INSERT INTO lb_backend_changes (config_id, node_id, at, from_status, to_status) VALUES ($1, $2, $3, $4, $5)",
            c.config_id,
            c.node_id,
            c.at,
            &c.from,
            &c.to
        )
            .execute(&mut *tx)
            .await?;
    }
    for e in new_events {
        events::append_in(&mut tx, &e.subject, &e.data).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every backend with its history over `[start, end)`, for the ops dashboard.
pub async fn views(
    pool: &PgPool,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<crate::model::backend::BackendView>, StoreError> {
    use crate::model::backend::{segments, BackendStatus, BackendView};
    let changes = sqlx::query!(
        "SELECT config_id, node_id, at, from_status, to_status FROM lb_backend_changes \
         WHERE at >= $1 AND at < $2 ORDER BY at",
        start,
        end
    )
    .fetch_all(pool)
    .await?;
    Ok(all(pool)
        .await?
        .into_iter()
        .map(|b| {
            let mine: Vec<_> = changes
                .iter()
                .filter(|c| c.config_id == b.config_id && c.node_id == b.node_id)
                .map(|c| {
                    let from = BackendStatus::parse(&c.from_status);
                    (c.at, from, BackendStatus::parse(&c.to_status))
                })
                .collect();
            let status = BackendStatus::parse(&b.status);
            BackendView {
                history: segments(status, &mine, start.max(b.since.min(start)), end),
                nodebalancer: b.nodebalancer_label,
                port: b.port,
                protocol: b.protocol,
                label: b.label,
                address: b.address,
                status,
                flapping: b.flapping,
                since: b.since,
                seen_at: b.seen_at,
            }
        })
        .collect())
}

/// Stores a NodeBalancer's label and own addresses (what the dependency map matches monitors'
/// hosts against).
pub async fn record_nodebalancer(
    pool: &PgPool,
    id: i64,
    label: &str,
    hostname: Option<&str>,
    addresses: &[String],
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO lb_nodebalancers (id, label, hostname, addresses, seen_at) \
         VALUES ($1, $2, $3, $4, now()) ON CONFLICT (id) DO UPDATE SET label = $2, \
         hostname = $3, addresses = $4, seen_at = now()",
        id,
        label,
        hostname,
        addresses
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Stores connection counts from `/stats`; points already stored are skipped.
pub async fn record_connections(
    pool: &PgPool,
    nodebalancer_id: i64,
    points: &[(DateTime<Utc>, f64)],
) -> Result<(), StoreError> {
    let (ats, values): (Vec<DateTime<Utc>>, Vec<f64>) = points.iter().copied().unzip();
    sqlx::query!(
        "INSERT INTO lb_connections (nodebalancer_id, at, connections) \
         SELECT $1, * FROM UNNEST($2::timestamptz[], $3::float8[]) ON CONFLICT DO NOTHING",
        nodebalancer_id,
        &ats,
        &values
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A NodeBalancer's label and its (time, connections) points.
pub type LabelledSeries = (String, Vec<(DateTime<Utc>, f64)>);

/// Connection counts per NodeBalancer label over `[from, to]`, oldest first.
pub async fn connections(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, Vec<(DateTime<Utc>, f64)>)>, StoreError> {
    let rows = sqlx::query!(
        "SELECT b.label, c.at, c.connections FROM lb_connections c \
         JOIN (SELECT DISTINCT nodebalancer_id, nodebalancer_label AS label FROM lb_backends) b \
           ON b.nodebalancer_id = c.nodebalancer_id \
         WHERE c.at >= $1 AND c.at <= $2 ORDER BY b.label, c.at",
        from,
        to
    )
    .fetch_all(pool)
    .await?;
    let mut out: Vec<LabelledSeries> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|(l, _)| *l != r.label) {
            out.push((r.label.clone(), Vec::new()));
        }
        out.last_mut()
            .expect("pushed")
            .1
            .push((r.at, r.connections));
    }
    Ok(out)
}
