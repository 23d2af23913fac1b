//! NodeBalancer configuration history: each port's settings whenever a poll finds them first,
//! changed, or posted again unchanged, each with its `lb.config` event.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{events, PgPool, StoreError};
pub use crate::model::lb_config::HistoryEntry;
use crate::model::{
    event::{EventData, LbConfigChanged},
    lb_config::{ConfigChange, FieldChange, Settings},
};

/// The newest reading of a port: what the next poll compares with.
#[derive(Clone, Debug, PartialEq)]
pub struct Latest {
    pub settings: Settings,
    pub nodebalancer_updated: Option<String>,
}

/// The newest reading of every port, by config id.
pub async fn latest(pool: &PgPool) -> Result<HashMap<i64, Latest>, StoreError> {
    let rows = sqlx::query!(
        "SELECT DISTINCT ON (config_id) config_id, settings, nodebalancer_updated \
         FROM lb_config_history ORDER BY config_id, id DESC"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let latest = Latest {
                settings: serde_json::from_value(r.settings).unwrap_or_default(),
                nodebalancer_updated: r.nodebalancer_updated,
            };
            (r.config_id, latest)
        })
        .collect())
}

/// A reading to store.
pub struct Reading {
    pub nodebalancer_id: i64,
    pub nodebalancer_label: String,
    pub config_id: i64,
    pub port: u16,
    pub at: DateTime<Utc>,
    pub nodebalancer_updated: Option<String>,
    pub settings: Settings,
    pub change: ConfigChange,
    pub changes: Vec<FieldChange>,
}

/// Stores readings; a change or a re-apply also appends its `lb.config` event (the first
/// reading of a port is only stored).
pub async fn record(pool: &PgPool, readings: &[Reading]) -> Result<(), StoreError> {
    if readings.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    for r in readings {
        sqlx::query!(
            "INSERT INTO lb_config_history (nodebalancer_id, nodebalancer_label, config_id, port, \
               at, nodebalancer_updated, settings, change, changes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            r.nodebalancer_id,
            r.nodebalancer_label,
            r.config_id,
            i32::from(r.port),
            r.at,
            r.nodebalancer_updated,
            serde_json::to_value(&r.settings).expect("settings serialise"),
            r.change.as_str(),
            serde_json::to_value(&r.changes).expect("changes serialise")
        )
        .execute(&mut *tx)
        .await?;
        if r.change != ConfigChange::Initial {
            let data = EventData::LbConfig(LbConfigChanged {
                nodebalancer: r.nodebalancer_label.clone(),
                port: r.port,
                change: r.change,
                changes: r.changes.clone(),
            });
            let subject = format!("lb:{}:{}", r.nodebalancer_label, r.port);
            events::append_in(&mut tx, &subject, &data).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The newest `limit` entries, newest first.
pub async fn history(pool: &PgPool, limit: i64) -> Result<Vec<HistoryEntry>, StoreError> {
    let rows = sqlx::query_as!(
        HistoryRow,
        "SELECT nodebalancer_label, port, at, change, changes, settings FROM lb_config_history \
         ORDER BY id DESC LIMIT $1",
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(HistoryRow::entry).collect())
}

/// One port's newest `limit` entries, newest first (empty when Vigil never read that port).
pub async fn history_of(
    pool: &PgPool,
    nodebalancer_id: i64,
    config_id: i64,
    limit: i64,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let rows = sqlx::query_as!(
        HistoryRow,
        "SELECT nodebalancer_label, port, at, change, changes, settings FROM lb_config_history \
         WHERE nodebalancer_id = $1 AND config_id = $2 ORDER BY id DESC LIMIT $3",
        nodebalancer_id,
        config_id,
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(HistoryRow::entry).collect())
}

struct HistoryRow {
    nodebalancer_label: String,
    port: i32,
    at: DateTime<Utc>,
    change: String,
    changes: serde_json::Value,
    settings: serde_json::Value,
}

impl HistoryRow {
    fn entry(self) -> HistoryEntry {
        HistoryEntry {
            nodebalancer: self.nodebalancer_label,
            port: self.port,
            at: self.at,
            change: ConfigChange::parse(&self.change),
            changes: serde_json::from_value(self.changes).unwrap_or_default(),
            settings: serde_json::from_value(self.settings).unwrap_or_default(),
        }
    }
}
