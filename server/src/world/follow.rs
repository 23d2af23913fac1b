//! Every replica's view of the live world: the monitors as the probes run them, at a revision.
//! A revision commits with an event, and events wake every replica (`wake`); on each wake-up a
//! replica reads the head's number — one small query — and reloads the monitors only when it
//! moved. So a change made on any replica is probed, and its heartbeats accepted, everywhere,
//! within a round trip or two of the commit.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

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
    /// The monitors the last revisions wrote or retired, oldest first: a follower that has
    /// applied revision N and finds the log reaching back to N re-times only those, not the
    /// whole world.
    pub changes: Arc<std::collections::VecDeque<Arc<Change>>>,
}

/// The monitors written or retired by the revisions after `from` up to `to`.
#[derive(Debug)]
pub struct Change {
    pub from: i64,
    pub to: i64,
    pub monitors: Vec<i64>,
}

/// How many steps of changes a world remembers (one step per wake-up that found the head moved).
const CHANGES_KEPT: usize = 256;

impl LiveWorld {
    /// The monitors changed since revision `seen`, when this world's log reaches back to it;
    /// None when it does not (then every monitor is compared).
    pub fn changed_since(&self, seen: i64) -> Option<HashSet<i64>> {
        if self.revision <= seen {
            return None;
        }
        let start = self.changes.iter().position(|c| c.from == seen)?;
        Some(
            self.changes
                .iter()
                .skip(start)
                .flat_map(|c| c.monitors.iter().copied())
                .collect(),
        )
    }
}

/// Where the live world is read from: cheap to clone, every holder sees each new revision.
pub type Live = watch::Receiver<Arc<LiveWorld>>;

/// Reads the live monitors. A stored spec this version cannot read is left out and logged
/// (never the whole world).
pub async fn load(pool: &PgPool) -> Result<LiveWorld, StoreError> {
    let (revision, rows) = world::live_specs(pool).await?;
    let mut by_id = HashMap::with_capacity(rows.len());
    for (id, spec) in rows {
        if let Some(spec) = read_spec(id, spec) {
            by_id.insert(id, spec);
        }
    }
    Ok(assemble(
        revision,
        by_id,
        settings(pool).await?,
        Default::default(),
    ))
}

/// The settings as stored (a few rows: read whole at each revision).
async fn settings(pool: &PgPool) -> Result<Arc<super::World>, StoreError> {
    let stored = world::settings(pool).await?;
    Ok(Arc::new(super::World::from_stored(
        &[],
        Vec::new(),
        &stored,
    )))
}

/// The world after the revisions since `known`'s: only the monitors written or retired since
/// are read, so a change to one monitor among ten thousand costs one row, not ten thousand.
async fn advance(pool: &PgPool, known: &LiveWorld) -> Result<LiveWorld, StoreError> {
    let (revision, written, retired) = world::specs_since(pool, known.revision).await?;
    let read = settings(pool).await?;
    let mut touched: Vec<i64> = retired.clone();
    touched.extend(written.iter().map(|(id, _)| *id));
    // Copying ten thousand entries is CPU work: off the threads that run the probes' timers.
    let by_id = crate::workers::off_the_runtime(|| {
        let mut by_id = known.by_id.clone();
        for id in retired {
            by_id.remove(&id);
        }
        for (id, spec) in written {
            match read_spec(id, spec) {
                Some(spec) => by_id.insert(id, spec),
                None => by_id.remove(&id),
            };
        }
        by_id
    });
    let mut changes: std::collections::VecDeque<Arc<Change>> = (*known.changes).clone();
    changes.push_back(Arc::new(Change {
        from: known.revision,
        to: revision,
        monitors: touched,
    }));
    while changes.len() > CHANGES_KEPT {
        changes.pop_front();
    }
    // Unchanged settings stay the same value, so their followers can tell nothing moved.
    let settings = if read == known.settings {
        known.settings.clone()
    } else {
        read
    };
    Ok(crate::workers::off_the_runtime(|| {
        assemble(revision, by_id, settings, Arc::new(changes))
    }))
}

/// A stored spec as the probes run it: its secrets opened, parsed. None (and said) when it
/// cannot be.
pub fn read_spec(id: i64, mut spec: serde_json::Value) -> Option<Arc<MonitorSpec>> {
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
    changes: Arc<std::collections::VecDeque<Arc<Change>>>,
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
        changes,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn world(revision: i64, steps: &[(i64, i64, &[i64])]) -> LiveWorld {
        LiveWorld {
            revision,
            changes: Arc::new(
                steps
                    .iter()
                    .map(|(from, to, ids)| {
                        Arc::new(Change {
                            from: *from,
                            to: *to,
                            monitors: ids.to_vec(),
                        })
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn a_follower_rereads_only_what_changed_since_it_looked_when_the_log_reaches_back() {
        let w = world(7, &[(3, 5, &[1, 2]), (5, 6, &[2]), (6, 7, &[9])]);
        let ids = |seen| {
            w.changed_since(seen).map(|s| {
                let mut v: Vec<i64> = s.into_iter().collect();
                v.sort();
                v
            })
        };
        assert_eq!(ids(5), Some(vec![2, 9]));
        assert_eq!(ids(3), Some(vec![1, 2, 9]));
        assert_eq!(ids(6), Some(vec![9]));
        // Older than the log, or not behind at all (an agent's world has no revisions): all.
        assert_eq!(ids(2), None);
        assert_eq!(ids(7), None);
        assert_eq!(ids(4), None, "4 is inside a step, not where one starts");
    }
}
