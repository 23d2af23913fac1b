//! Starting the probes: sync the configured components and monitors into the database, restore
//! each monitor's state, and run the scheduler, the writer and the retention job.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::monitor::{Check, CheckResult, MonitorSpec, PauseRequest},
    store::{checks, monitors, StoreError},
};

use super::{
    scheduler::{Heartbeats, Paused, Scheduler},
    writer::{Command, Writer},
    Probers,
};
use crate::config::{monitors::ProbesConfig, Config};

/// What the HTTP side needs from the running probes.
#[derive(Clone)]
pub struct ProbeHandle {
    heartbeat_secrets: Arc<HashMap<String, i64>>,
    heartbeats: Arc<Heartbeats>,
    results: mpsc::Sender<(i64, CheckResult)>,
    pauses: mpsc::UnboundedSender<PauseRequest>,
}

impl ProbeHandle {
    /// Records a heartbeat; false when no monitor has this secret.
    pub async fn heartbeat(&self, secret: &str) -> bool {
        let Some(&id) = self.heartbeat_secrets.get(secret) else {
            return false;
        };
        let now = Utc::now();
        self.heartbeats.beat(id, now);
        let _ = self
            .results
            .send((id, CheckResult::ok(now, Duration::ZERO)))
            .await;
        true
    }

    /// Where pause and resume requests go (the store has already flipped the monitor's flag).
    pub fn pause_requests(&self) -> mpsc::UnboundedSender<PauseRequest> {
        self.pauses.clone()
    }
}

pub async fn start(
    pool: PgPool,
    config: &Config,
    shutdown: CancellationToken,
) -> Result<ProbeHandle, StoreError> {
    let decls: Vec<monitors::ComponentDecl> = config
        .components
        .iter()
        .map(|c| monitors::ComponentDecl {
            id: c.id.clone(),
            name: c.name.clone(),
            group: c.group.clone(),
            description: c.description.clone(),
        })
        .collect();
    let synced = monitors::sync(&pool, &decls, &config.monitor_specs).await?;
    let stored = monitors::states(&pool).await?;

    let heartbeats = Arc::new(Heartbeats::default());
    let paused = Arc::new(Paused::default());
    let mut states = HashMap::new();
    for (id, is_paused, state) in stored {
        paused.set(id, is_paused);
        if let Some(s) = state {
            if let Some(t) = s.last_ok_at {
                heartbeats.beat(id, t);
            }
            states.insert(id, (s.state, s.last_ok_at));
        }
    }
    let heartbeat_secrets: HashMap<String, i64> = synced
        .iter()
        .filter_map(|(id, spec)| match &spec.check {
            Check::Heartbeat { secret, .. } => Some((secret.clone(), *id)),
            _ => None,
        })
        .collect();
    let specs: Vec<(i64, Arc<MonitorSpec>)> = synced
        .into_iter()
        .map(|(id, s)| (id, Arc::new(s)))
        .collect();

    let probes: &ProbesConfig = &config.probes;
    let (results_tx, results_rx) = mpsc::channel(16_384);
    let (commands_tx, commands_rx) = mpsc::channel(64);
    let writer = Writer {
        pool: pool.clone(),
        specs: specs.iter().cloned().collect(),
        states,
        thresholds: probes.thresholds(),
        batch_max: 2_000,
        flush_every: Duration::from_millis(250),
        reported_at: None,
    };
    tokio::spawn(writer.run(results_rx, commands_rx, shutdown.clone()));
    let scheduler = Scheduler {
        monitors: specs,
        probers: Arc::new(Probers::new(probes.max_body_kb * 1024, heartbeats.clone())),
        paused: paused.clone(),
        max_concurrency: probes.max_concurrency,
    };
    tokio::spawn(scheduler.run(results_tx.clone(), shutdown.clone()));
    spawn_retention(pool, probes.raw_retention_days, shutdown);

    let (pauses_tx, mut pauses_rx) = mpsc::unbounded_channel::<PauseRequest>();
    {
        let paused = paused.clone();
        let commands = commands_tx;
        tokio::spawn(async move {
            while let Some(req) = pauses_rx.recv().await {
                paused.set(req.monitor_id, req.paused);
                let _ = commands
                    .send(Command::Pause(req.monitor_id, req.paused))
                    .await;
            }
        });
    }
    Ok(ProbeHandle {
        heartbeat_secrets: Arc::new(heartbeat_secrets),
        heartbeats,
        results: results_tx,
        pauses: pauses_tx,
    })
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
