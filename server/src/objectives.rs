//! Objectives judged: their burn-rate alerts, said once each through the event stream
//! (channels hear `slo.burn`). One replica judges (the `objectives` lease); the figures
//! themselves (`vigil_core::store::objectives::assess`) are what the API and `/ops/slos` show.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::{
        event::{EventData, SloBurn},
        objective::{AlertMove, Judges, Objective, SloView},
        world::Pending,
    },
    store::{objectives as store, StoreError},
};

use crate::world::{follow::Live, World};

/// The objectives of `world` that check (the world is validated when written; one that no
/// longer reads is left out rather than judged wrongly).
pub fn objectives_of(world: &World) -> Vec<Objective> {
    world
        .objectives
        .iter()
        .filter_map(|spec| spec.check().ok())
        .collect()
}

/// Judges every rule of every objective once: fires and clears, each said once (the store
/// changes the state and appends the event together). Returns how many were said.
pub async fn judge(
    pool: &PgPool,
    objectives: &[Objective],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut said = 0;
    let mut keep = Vec::new();
    // `assess` answers in the order it was asked.
    for (o, slo) in objectives
        .iter()
        .zip(store::assess(pool, objectives, now).await?)
    {
        for (rule, view) in o.alerts.iter().zip(&slo.alerts) {
            keep.push((slo.id.clone(), view.id.clone()));
            let firing = match rule.judge(view.firing, view.long_rate, view.short_rate) {
                AlertMove::Fire => true,
                AlertMove::Clear => false,
                // Recorded quietly the first time, so that its "since" starts.
                AlertMove::Stay if view.since.is_none() => false,
                AlertMove::Stay => continue,
            };
            let event = EventData::SloBurn(SloBurn {
                objective: slo.id.clone(),
                name: slo.name.clone(),
                rule: view.id.clone(),
                severity: rule.severity.as_str().into(),
                firing,
                long_rate: view.long_rate,
                short_rate: view.short_rate,
                budget_remaining: slo.remaining,
                at: now,
            });
            if store::move_alert(pool, &slo.id, &view.id, firing, &event).await? {
                said += 1;
            }
        }
    }
    store::forget_alerts_except(pool, &keep).await?;
    Ok(said)
}

/// Judges the live world's objectives every `every` on the replica holding the lease; with
/// none, it only waits for the world to change (an idle Vigil without objectives pays nothing).
pub fn start(
    pool: PgPool,
    live: Live,
    cluster: &crate::cluster::Cluster,
    every: Duration,
    shutdown: CancellationToken,
) {
    cluster.run_exclusive("objectives", shutdown, move |held| {
        run(pool.clone(), live.clone(), every, held)
    });
}

async fn run(pool: PgPool, mut live: Live, every: Duration, held: CancellationToken) {
    loop {
        let objectives = objectives_of(&live.borrow_and_update().settings);
        let wait = if objectives.is_empty() {
            None
        } else {
            if let Err(e) = judge(&pool, &objectives, Utc::now()).await {
                tracing::warn!(error = %e, "cannot judge the objectives; trying again");
            }
            Some(every)
        };
        let next = async {
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = held.cancelled() => return,
            changed = live.changed() => if changed.is_err() { return },
            _ = next => {}
        }
    }
}

/// The live world's objectives judged now, for the API and the app's pages.
#[derive(Clone)]
pub struct Judge {
    pub pool: PgPool,
    pub live: Live,
}

impl Judge {
    /// Every objective, or only `id`'s.
    pub async fn slos(&self, id: Option<&str>) -> Result<Vec<SloView>, StoreError> {
        let objectives: Vec<Objective> = objectives_of(&self.live.borrow().settings)
            .into_iter()
            .filter(|o| id.is_none_or(|id| o.id == id))
            .collect();
        store::assess(&self.pool, &objectives, Utc::now()).await
    }
}

impl Judges for Judge {
    fn slos(&self) -> Pending<'_, Result<Vec<SloView>, String>> {
        Box::pin(async move { Judge::slos(self, None).await.map_err(|e| e.to_string()) })
    }

    fn objectives(&self) -> Vec<Objective> {
        objectives_of(&self.live.borrow().settings)
    }
}

/// As the app's context holds it.
pub fn judges(pool: PgPool, live: Live) -> Arc<dyn Judges> {
    Arc::new(Judge { pool, live })
}
