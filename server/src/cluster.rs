//! Several `vigil serve` processes on one PostgreSQL. Every replica serves every page and API (the
//! live feed hears every write through LISTEN/NOTIFY); work that must run once — the probes, the
//! Linode poller, the resource collectors, the incident engine, the outbox — runs on whichever
//! replica holds its lease (`store::cluster::hold`), renewed every third of `cluster.lease_secs`.
//!
//! When a replica dies, another takes its work over once the lease expires. When the database
//! cannot be reached, the holder keeps working (the probes buffer their results; everything else
//! needs the database and waits for it): nobody else can take a lease meanwhile, and a replica
//! cannot tell an outage of PostgreSQL from being cut off alone. On reconnecting it renews, or,
//! finding its lease taken by a replica that could reach the database all along, stops — so a
//! partition of one replica may have the probes run twice for its duration, never more.
//! PostgreSQL is the only coordinator: there is no consensus protocol of Vigil's own.

use std::{
    collections::BTreeSet,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::store::cluster;

/// This replica: its name, and what it holds now.
#[derive(Clone)]
pub struct Cluster {
    pool: PgPool,
    id: Arc<str>,
    lease: Duration,
    held: Arc<Mutex<BTreeSet<String>>>,
    /// The lease loops, so that leaving waits for the work to stop before releasing.
    tasks: tokio_util::task::TaskTracker,
}

impl Cluster {
    pub fn new(pool: PgPool, config: &crate::config::ClusterConfig) -> Cluster {
        let id = config.replica_name.clone().unwrap_or_else(|| {
            let host = hostname();
            let suffix = uuid::Uuid::new_v4().simple().to_string();
            format!("{host}-{}", &suffix[..6])
        });
        Cluster {
            pool,
            id: id.into(),
            lease: Duration::from_secs(config.lease_secs),
            held: Default::default(),
            tasks: Default::default(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether this replica holds `lease` now.
    pub fn holds(&self, lease: &str) -> bool {
        self.held.lock().expect("held poisoned").contains(lease)
    }

    fn mark(&self, lease: &str, held: bool) {
        let mut set = self.held.lock().expect("held poisoned");
        if held {
            set.insert(lease.to_string());
        } else {
            set.remove(lease);
        }
    }

    /// Announces this replica every third of the lease until shutdown, then leaves (its leases
    /// are released with it, so the others take over at once).
    pub fn spawn_presence(&self, addr: String, shutdown: CancellationToken) {
        let me = self.clone();
        tokio::spawn(async move {
            let version = env!("CARGO_PKG_VERSION");
            let host = hostname();
            let mut every = crate::workers::ticker(me.lease / 3);
            while crate::workers::next_tick(&mut every, &shutdown).await {
                if let Err(e) = cluster::announce(&me.pool, &me.id, &host, &addr, version).await {
                    tracing::warn!(error = %e, "could not announce this replica");
                }
                // Replicas silent for an hour are gone; their rows only clutter /ops.
                let _ = cluster::forget_silent(&me.pool, 3600.0).await;
            }
        });
    }

    /// Leaves the cluster once the work has stopped (at most `wait`): every lease released, so
    /// the other replicas take over at once. Called at shutdown, after cancelling.
    pub async fn leave(&self, wait: Duration) {
        self.tasks.close();
        if tokio::time::timeout(wait, self.tasks.wait()).await.is_err() {
            tracing::warn!("work still running at shutdown; its leases expire on their own");
            return;
        }
        if let Err(e) = cluster::leave(&self.pool, &self.id).await {
            tracing::warn!(error = %e, "could not release this replica's leases");
        }
    }

    /// Runs `work` on this replica whenever it holds lease `name`, until shutdown. `work` gets a
    /// token that is cancelled when the lease is lost; it must stop promptly when it is, and is
    /// started afresh (reading its state from the database) when the lease comes back.
    pub fn run_exclusive<F, Fut>(
        &self,
        name: impl Into<String>,
        shutdown: CancellationToken,
        work: F,
    ) where
        F: FnMut(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let me = self.clone();
        let name = name.into();
        self.tasks
            .spawn(async move { me.hold_and_run(name, shutdown, work).await });
    }

    async fn try_hold(&self, name: &str) -> Result<bool, vigil_core::store::StoreError> {
        cluster::hold(&self.pool, name, &self.id, self.lease.as_secs_f64()).await
    }

    async fn hold_and_run<F, Fut>(self, name: String, shutdown: CancellationToken, mut work: F)
    where
        F: FnMut(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let renew_every = self.lease / 3;
        loop {
            // Wait for the lease.
            loop {
                match self.try_hold(&name).await {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::debug!(lease = %name, error = %e, "cannot reach the database for the lease")
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(renew_every) => {}
                }
            }
            let mut unreachable_since: Option<Instant> = None;
            self.mark(&name, true);
            tracing::info!(lease = %name, replica = %self.id, "holding");
            let held = shutdown.child_token();
            let mut task = tokio::spawn(work(held.clone()));
            let ended = loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break Ended::Shutdown,
                    _ = &mut task => break Ended::ByItself,
                    _ = tokio::time::sleep(renew_every) => {}
                }
                match self.try_hold(&name).await {
                    Ok(true) => {
                        if let Some(t) = unreachable_since.take() {
                            tracing::info!(lease = %name, after_secs = t.elapsed().as_secs(), "renewed the lease: the database is back");
                        }
                    }
                    Ok(false) => break Ended::Lost,
                    Err(e) => {
                        if unreachable_since.is_none() {
                            tracing::warn!(lease = %name, error = %e, "cannot renew the lease; working on until the database answers");
                            unreachable_since = Some(Instant::now());
                        }
                    }
                }
            };
            held.cancel();
            if ended != Ended::ByItself {
                let _ = task.await;
            }
            self.mark(&name, false);
            match ended {
                Ended::Shutdown => {
                    // Let another replica take it at once.
                    let _ = cluster::release(&self.pool, &name, &self.id).await;
                    return;
                }
                Ended::Lost => {
                    tracing::warn!(lease = %name, replica = %self.id, "lost the lease; another replica takes over")
                }
                Ended::ByItself => {
                    // The work stopped although nobody asked it to: start it again (still
                    // holding the lease) rather than leave it undone.
                    tracing::warn!(lease = %name, "the work stopped by itself; starting it again");
                    tokio::select! {
                        _ = shutdown.cancelled() => {
                            let _ = cluster::release(&self.pool, &name, &self.id).await;
                            return;
                        }
                        _ = tokio::time::sleep(renew_every) => {}
                    }
                }
            }
        }
    }
}

/// Why a spell of holding a lease ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ended {
    Shutdown,
    Lost,
    ByItself,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "vigil".into())
}
