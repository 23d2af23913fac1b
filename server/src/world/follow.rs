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
    /// The sources, channels, alert rules and page settings (no components or monitors),
    /// credentials opened.
    pub settings: Arc<super::World>,
}

/// Where the live world is read from: cheap to clone, every holder sees each new revision.
pub type Live = watch::Receiver<Arc<LiveWorld>>;

/// Reads the live monitors. A stored spec this version cannot read is left out and logged
/// (never the whole world).
pub async fn load(pool: &PgPool) -> Result<LiveWorld, StoreError> {
    let (revision, rows) = world::live_specs(pool).await?;
    let mut by_id = HashMap::with_capacity(rows.len());
    for (id, spec) in rows {
        if let Some(spec) = read(id, spec) {
            by_id.insert(id, spec);
        }
    }
    Ok(assemble(revision, by_id, settings(pool).await?))
}

/// The settings as stored (a few rows: read whole at each revision).
async fn settings(pool: &PgPool) -> Result<Arc<super::World>, StoreError> {
    let stored = world::settings(pool).await?;
    Ok(Arc::new(super::World::from_stored(&[], &[], &stored)))
}

/// The world after the revisions since `known`'s: only the monitors written or retired since
/// are read, so a change to one monitor among ten thousand costs one row, not ten thousand.
async fn advance(pool: &PgPool, known: &LiveWorld) -> Result<LiveWorld, StoreError> {
    let (revision, written, retired) = world::specs_since(pool, known.revision).await?;
    let mut by_id = known.by_id.clone();
    for id in retired {
        by_id.remove(&id);
    }
    for (id, spec) in written {
        match read(id, spec) {
            Some(spec) => by_id.insert(id, spec),
            None => by_id.remove(&id),
        };
    }
    let read = settings(pool).await?;
    // Unchanged settings stay the same value, so their followers can tell nothing moved.
    let settings = if read == known.settings {
        known.settings.clone()
    } else {
        read
    };
    Ok(assemble(revision, by_id, settings))
}

/// A stored spec as the probes run it: its secrets opened, parsed. None (and said) when it
/// cannot be.
pub fn read(id: i64, mut spec: serde_json::Value) -> Option<Arc<MonitorSpec>> {
    if let Err(e) = super::seal::sealer().open(&mut spec) {
        tracing::error!(monitor = id, error = %e, "cannot open a stored monitor's secrets; it is not probed");
        return None;
    }
    match serde_json::from_value::<MonitorSpec>(spec) {
        Ok(spec) => Some(Arc::new(spec)),
        Err(e) => {
            tracing::error!(monitor = id, error = %e, "cannot read a stored monitor; it is not probed");
            None
        }
    }
}

fn assemble(
    revision: i64,
    by_id: HashMap<i64, Arc<MonitorSpec>>,
    settings: Arc<super::World>,
) -> LiveWorld {
    let mut monitors: Vec<(i64, Arc<MonitorSpec>)> =
        by_id.iter().map(|(id, s)| (*id, s.clone())).collect();
    monitors.sort_unstable_by_key(|(id, _)| *id);
    let heartbeats = monitors
        .iter()
        .filter_map(|(id, s)| match &s.check {
            Check::Heartbeat { secret, .. } => Some((secret.clone(), *id)),
            _ => None,
        })
        .collect();
    // Which revision this replica runs: how far a change has spread (`./scripts/bench --only world`).
    metrics::gauge!("vigil_world_revision").set(revision as f64);
    LiveWorld {
        revision,
        monitors,
        by_id,
        heartbeats,
        settings,
    }
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
            let known = tx.borrow().clone();
            match world::head(&pool).await {
                Ok(head) if head > known.revision => match advance(&pool, &known).await {
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
