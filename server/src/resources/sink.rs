//! Where collectors hand their readings: node names resolved to ids, samples written with their
//! rollups, alert rules applied, alert events appended.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use vigil_core::{
    model::{event::EventData, resource::Metric},
    store::{events, resources, StoreError},
};

use super::alerts::Alerts;

/// One value of one metric of one node at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub node: String,
    pub metric: Metric,
    pub at: DateTime<Utc>,
    pub value: f64,
}

pub struct Sink {
    pool: PgPool,
    ids: Mutex<HashMap<String, i32>>,
    alerts: Mutex<Alerts>,
}

impl Sink {
    pub async fn new(
        pool: PgPool,
        rules: Vec<vigil_core::model::resource::AlertRule>,
    ) -> Result<Sink, StoreError> {
        let mut alerts = Alerts::new(rules);
        alerts.restore_firing(&firing_alerts(&pool).await?);
        Ok(Sink {
            pool,
            ids: Mutex::new(HashMap::new()),
            alerts: Mutex::new(alerts),
        })
    }

    /// Judges the readings from now on by `rules`.
    pub fn set_rules(&self, rules: Vec<vigil_core::model::resource::AlertRule>) {
        self.alerts
            .lock()
            .expect("alerts poisoned")
            .set_rules(rules);
    }

    /// Stores readings from `source` and applies the alert rules. NaN and infinite values are
    /// not data: they are dropped (a gap in the graph) and counted. Returns how many were new.
    pub async fn submit(
        &self,
        source: &str,
        mut readings: Vec<Reading>,
    ) -> Result<u64, StoreError> {
        let before = readings.len();
        readings.retain(|r| r.value.is_finite());
        let dropped = before - readings.len();
        if dropped > 0 {
            metrics::counter!("resource_samples_not_a_number_total", "source" => source.to_string())
                .increment(dropped as u64);
        }
        if readings.is_empty() {
            return Ok(0);
        }
        let mut samples = Vec::with_capacity(readings.len());
        for r in &readings {
            let id = self.id(&r.node, source).await?;
            samples.push(resources::Sample {
                node_id: id,
                metric: r.metric,
                at: r.at,
                value: r.value,
            });
        }
        let inserted = resources::write(&self.pool, &samples).await?;
        metrics::counter!("resource_samples_total", "source" => source.to_string())
            .increment(inserted);
        readings.sort_by_key(|r| r.at);
        let raised: Vec<_> = {
            let mut alerts = self.alerts.lock().expect("alerts poisoned");
            readings
                .iter()
                .flat_map(|r| alerts.observe(&r.node, r.metric, r.at, r.value))
                .collect()
        };
        for e in raised {
            events::append(&self.pool, &e.subject, &EventData::ResourceAlert(e.alert)).await?;
        }
        Ok(inserted)
    }

    async fn id(&self, node: &str, source: &str) -> Result<i32, StoreError> {
        if let Some(id) = self.ids.lock().expect("ids poisoned").get(node) {
            return Ok(*id);
        }
        let id = resources::node_id(&self.pool, node, source).await?;
        self.ids
            .lock()
            .expect("ids poisoned")
            .insert(node.to_string(), id);
        Ok(id)
    }
}

/// Alerts whose latest event says firing: (node, metric, since).
async fn firing_alerts(pool: &PgPool) -> Result<Vec<(String, Metric, DateTime<Utc>)>, StoreError> {
    let latest = events::latest_per_subject(pool, "resource.alert").await?;
    Ok(latest
        .into_iter()
        .filter_map(|e| match e.data {
            EventData::ResourceAlert(a) if a.firing => {
                let metric = Metric::parse(&a.metric)?;
                // The alert's own start: samples after it are judged, older ones (a backfill) not.
                Some((a.node, metric, a.since.unwrap_or(e.at)))
            }
            _ => None,
        })
        .collect())
}
