//! Starting the probes: restore each monitor's state, and run the scheduler, the writer and the
//! retention job over the live world (`world::follow`), on the replica holding the lease.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::monitor::{CheckResult, PauseRequest},
    store::{checks, cluster, monitors, StoreError},
};

use super::{
    check::Probers,
    heartbeats::Heartbeats,
    scheduler::{Paused, Scheduler},
    writer::{Command, Writer},
};
use crate::{cluster::Cluster, config::monitors::ProbesConfig, world::follow::Live};

/// The lease the probes run under: one replica at a time schedules every monitor and folds
/// the results into their states.
pub const LEASE: &str = "probes";

/// The probing side of the replica holding the lease: where results and pauses go.
#[derive(Clone)]
struct Running {
    results: mpsc::Sender<(i64, CheckResult)>,
    commands: mpsc::Sender<Command>,
}

/// What the HTTP side needs from the probes, on every replica.
#[derive(Clone)]
pub struct ProbeHandle {
    pool: PgPool,
    live: Live,
    heartbeats: Arc<Heartbeats>,
    running: Arc<Mutex<Option<Running>>>,
    pauses: mpsc::UnboundedSender<PauseRequest>,
}

impl ProbeHandle {
    /// Records a heartbeat; false when no monitor has this secret. The ping is stored, so the
    /// replica running the probes sees it whichever replica it reached; on that replica it also
    /// counts at once.
    pub async fn heartbeat(&self, secret: &str) -> bool {
        let Some(id) = self.live.borrow().heartbeats.get(secret).copied() else {
            return false;
        };
        let now = Utc::now();
        self.heartbeats.beat(id, now);
        if let Err(e) = cluster::record_ping(&self.pool, id, now).await {
            tracing::warn!(error = %e, "could not store a heartbeat ping");
        }
        let running = self.running.lock().expect("running poisoned").clone();
        if let Some(r) = running {
            let _ = r
                .results
                .send((id, CheckResult::ok(now, Duration::ZERO)))
                .await;
        }
        true
    }

    /// Where pause and resume requests go (the store has already flipped the monitor's flag).
    pub fn pause_requests(&self) -> mpsc::UnboundedSender<PauseRequest> {
        self.pauses.clone()
    }
}

/// Probes the live world's monitors on whichever replica holds the `probes` lease.
pub fn start(
    pool: PgPool,
    probes_config: &ProbesConfig,
    live: Live,
    cluster: &Cluster,
    wake: crate::wake::Events,
    shutdown: CancellationToken,
) -> ProbeHandle {
    let heartbeats = Arc::new(Heartbeats::default());
    let paused = Arc::new(Paused::default());
    let running: Arc<Mutex<Option<Running>>> = Default::default();

    let (pauses_tx, mut pauses_rx) = mpsc::unbounded_channel::<PauseRequest>();
    {
        let (paused, running) = (paused.clone(), running.clone());
        tokio::spawn(async move {
            while let Some(req) = pauses_rx.recv().await {
                paused.set(req.monitor_id, req.paused);
                let r = running.lock().expect("running poisoned").clone();
                if let Some(r) = r {
                    let _ = r
                        .commands
                        .send(Command::Pause(req.monitor_id, req.paused))
                        .await;
                }
            }
        });
    }

    let probes = Probing {
        pool: pool.clone(),
        wake,
        live: live.clone(),
        config: probes_config.clone(),
        heartbeats: heartbeats.clone(),
        paused: paused.clone(),
        running: running.clone(),
    };
    cluster.run_exclusive(LEASE, shutdown, move |held| probes.clone().run(held));
    ProbeHandle {
        pool,
        live,
        heartbeats,
        running,
        pauses: pauses_tx,
    }
}

/// Everything a spell of probing needs; cloned for each time this replica takes the lease.
#[derive(Clone)]
struct Probing {
    pool: PgPool,
    wake: crate::wake::Events,
    live: Live,
    config: ProbesConfig,
    heartbeats: Arc<Heartbeats>,
    paused: Arc<Paused>,
    running: Arc<Mutex<Option<Running>>>,
}

impl Probing {
    /// Probes until `held` is cancelled (the lease lost, or shutdown), starting from the states
    /// the previous holder wrote, then writes what is pending and stops.
    async fn run(self, held: CancellationToken) {
        let Restored {
            states,
            last_checked,
        } = loop {
            match self.restore().await {
                Ok(restored) => break restored,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the monitors' states; retrying");
                    tokio::select! {
                        _ = held.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    }
                }
            }
        };
        let (results_tx, results_rx) = mpsc::channel(16_384);
        let (commands_tx, commands_rx) = mpsc::channel(64);
        let writer = Writer {
            pool: self.pool.clone(),
            live: self.live.clone(),
            states,
            thresholds: self.config.thresholds(),
            batch_max: 2_000,
            flush_every: Duration::from_millis(250),
            reported_at: None,
            regional: HashMap::new(),
        };
        let writing = tokio::spawn(writer.run(results_rx, commands_rx, held.clone()));
        let scheduler = Scheduler {
            live: self.live.clone(),
            region: vigil_core::model::monitor::LOCAL.to_string(),
            probers: Arc::new(Probers::new(
                self.config.max_body_kb * 1024,
                self.heartbeats.clone(),
            )),
            paused: self.paused.clone(),
            max_concurrency: self.config.max_concurrency,
            last_checked,
        };
        let scheduling = scheduler.start(results_tx.clone(), held.clone());
        *self.running.lock().expect("running poisoned") = Some(Running {
            results: results_tx.clone(),
            commands: commands_tx.clone(),
        });
        spawn_retention(
            self.pool.clone(),
            self.config.raw_retention_days,
            held.clone(),
        );
        {
            tokio::spawn(drain_agent_inbox(
                self.pool.clone(),
                self.live.clone(),
                results_tx.clone(),
                held.clone(),
            ));
        }
        self.follow_other_replicas(commands_tx, &held).await;
        *self.running.lock().expect("running poisoned") = None;
        let _ = scheduling.await;
        let _ = writing.await;
    }

    /// Each monitor's state and pause flag as stored, and the newest heartbeat pings.
    async fn restore(&self) -> Result<Restored, StoreError> {
        let mut restored = Restored::default();
        for (id, is_paused, state) in monitors::states(&self.pool).await? {
            self.paused.set(id, is_paused);
            if let Some(s) = state {
                if let Some(t) = s.last_ok_at {
                    self.heartbeats.beat(id, t);
                }
                if let Some(t) = s.last_check_at {
                    restored.last_checked.insert(id, t);
                }
                restored.states.insert(id, (s.state, s.last_ok_at));
            }
        }
        for (id, at) in cluster::pings(&self.pool).await? {
            self.heartbeats.beat(id, at);
        }
        Ok(restored)
    }

    /// Until `held` is cancelled: pings and pauses that reached other replicas. They wake every
    /// replica when they are written; the timer only covers a wake-up lost while the listening
    /// connection was down.
    async fn follow_other_replicas(
        &self,
        commands: mpsc::Sender<Command>,
        held: &CancellationToken,
    ) {
        let mut wake = self.wake.clone();
        while wake.rest(held, crate::wake::FALLBACK).await {
            if !self.live.borrow().heartbeats.is_empty() {
                if let Ok(pings) = cluster::pings(&self.pool).await {
                    for (id, at) in pings {
                        self.heartbeats.beat(id, at);
                    }
                }
            }
            if let Ok(paused) = cluster::paused_monitors(&self.pool).await {
                for (id, paused) in self.paused.changes_to(&paused) {
                    self.paused.set(id, paused);
                    let _ = commands.send(Command::Pause(id, paused)).await;
                }
            }
        }
    }
}

type StoredState = (
    vigil_core::model::monitor::MonitorState,
    Option<chrono::DateTime<Utc>>,
);

/// What a new holder of the probes starts from.
#[derive(Default)]
struct Restored {
    states: HashMap<i64, StoredState>,
    last_checked: HashMap<i64, chrono::DateTime<Utc>>,
}

/// Feeds the agents' results (received by any replica) to this replica's writer, oldest first.
/// While no monitor is checked by agents it only waits for the world to change.
async fn drain_agent_inbox(
    pool: PgPool,
    mut live: Live,
    results: mpsc::Sender<(i64, CheckResult)>,
    held: CancellationToken,
) {
    let mut every = crate::workers::ticker(Duration::from_millis(500));
    loop {
        let regional = live
            .borrow_and_update()
            .monitors
            .iter()
            .any(|(_, s)| s.is_regional());
        if !regional {
            tokio::select! {
                _ = held.cancelled() => return,
                changed = live.changed() => if changed.is_err() { return },
            }
            continue;
        }
        if !crate::workers::next_tick(&mut every, &held).await {
            return;
        }
        loop {
            match vigil_core::store::agents::take(&pool, 5_000).await {
                Ok(taken) => {
                    let full = taken.len() == 5_000;
                    for (id, _, result) in taken {
                        if results.send((id, result)).await.is_err() {
                            return;
                        }
                    }
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "cannot read the agents' results");
                    break;
                }
            }
        }
    }
}

fn spawn_retention(pool: PgPool, raw_days: u32, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut every = crate::workers::ticker(Duration::from_secs(3600));
        while crate::workers::next_tick(&mut every, &shutdown).await {
            match checks::expire(&pool, raw_days).await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "expired old check results"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not expire old check results"),
            }
        }
    });
}
