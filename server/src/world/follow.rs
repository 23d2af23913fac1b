//! Every replica's view of the live world: the monitors as the probes run them, at a revision.
//! A revision commits with an event, and events wake every replica (`wake`); on each wake-up a
//! replica reads the head's number — one small query — and reloads the monitors only when it
//! moved. So a change made on any replica is probed, and its heartbeats accepted, everywhere,
//! within a round trip or two of the commit.

use std::{collections::HashMap, sync::Arc};

use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::monitor::{Check, MonitorSpec},
    store::{world, StoreError},
};

/// The monitors at one revision of the world.
#[derive(Debug, Default)]
pub struct LiveWorld {
    pub revision: i64,
    /// Each live monitor's database id and spec, by id.
    pub monitors: Vec<(i64, Arc<MonitorSpec>)>,
    pub by_id: HashMap<i64, Arc<MonitorSpec>>,
    /// Heartbeat secrets and the monitor each belongs to.
    pub heartbeats: HashMap<String, i64>,
}

/// Where the live world is read from: cheap to clone, every holder sees each new revision.
pub type Live = watch::Receiver<Arc<LiveWorld>>;

/// Reads the live monitors. A stored spec this version cannot read is left out and logged
/// (never the whole world).
pub async fn load(pool: &PgPool) -> Result<LiveWorld, StoreError> {
    let (revision, rows) = world::live_specs(pool).await?;
    let mut monitors = Vec::with_capacity(rows.len());
    let mut heartbeats = HashMap::new();
    for (id, spec) in rows {
        match serde_json::from_value::<MonitorSpec>(spec) {
            Ok(spec) => {
                if let Check::Heartbeat { secret, .. } = &spec.check {
                    heartbeats.insert(secret.clone(), id);
                }
                monitors.push((id, Arc::new(spec)));
            }
            Err(e) => {
                tracing::error!(monitor = id, error = %e, "cannot read a stored monitor; it is not probed")
            }
        }
    }
    // Which revision this replica runs: how far a change has spread (`./scripts/bench --only world`).
    metrics::gauge!("vigil_world_revision").set(revision as f64);
    Ok(LiveWorld {
        revision,
        by_id: monitors.iter().cloned().collect(),
        monitors,
        heartbeats,
    })
}

/// Follows the world from `first` until `shutdown`.
pub fn spawn(
    pool: PgPool,
    first: LiveWorld,
    mut wake: crate::wake::Events,
    shutdown: CancellationToken,
) -> Live {
    let (tx, rx) = watch::channel(Arc::new(first));
    tokio::spawn(async move {
        while wake.rest(&shutdown, crate::wake::FALLBACK).await {
            let known = tx.borrow().revision;
            match world::head(&pool).await {
                Ok(head) if head != known => match load(&pool).await {
                    Ok(live) => {
                        tracing::info!(
                            revision = live.revision,
                            monitors = live.monitors.len(),
                            "applying the world's new revision"
                        );
                        tx.send_replace(Arc::new(live));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the world's new revision; trying again at the next wake-up")
                    }
                },
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "cannot read the world's head"),
            }
        }
    });
    rx
}
