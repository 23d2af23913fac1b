//! Several `vigil serve` processes on one PostgreSQL. Every replica serves every page and API (the
//! live feed hears every write through LISTEN/NOTIFY); work that must run once — the probes, the
//! Linode poller, the resource collectors, the incident engine, the outbox — runs on whichever
//! replica holds its lease (`store::cluster::hold_all`: one statement for all of a replica's leases),
//! renewed every third of `cluster.lease_secs`.
//!
//! When a replica dies, another takes its work over once the lease expires. When the database
//! cannot be reached, the holder keeps working (the probes buffer their results; everything else
//! needs the database and waits for it): nobody else can take a lease meanwhile, and a replica
//! cannot tell an outage of PostgreSQL from being cut off alone. On reconnecting it renews, or,
//! finding its lease taken by a replica that could reach the database all along, stops — so a
//! partition of one replica may have the probes run twice for its duration, never more.
//! PostgreSQL is the only coordinator: there is no consensus protocol of Vigil's own.

use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sqlx::PgPool;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;
use vigil_core::store::cluster;

/// This replica: its name, and what it holds now.
#[derive(Clone)]
pub struct Cluster {
    pool: PgPool,
    id: Arc<str>,
    lease: Duration,
    held: Arc<Mutex<BTreeSet<String>>>,
    /// Every lease some work here wants, and where the keeper says whether this replica holds it.
    wanted: Arc<Mutex<BTreeMap<String, watch::Sender<bool>>>>,
    /// Wakes the keeper at once (new work wants a lease) instead of at its next round.
    nudge: Arc<Notify>,
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
            wanted: Default::default(),
            nudge: Default::default(),
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

    /// The keeper: every third of the lease (and at once when new work wants a lease), one round
    /// trip announces this replica and takes or renews every lease its work wants; each piece of
    /// work hears whether it holds its lease from there. One task and one statement for all the
    /// leases, instead of a task and a query each: an idle replica's database traffic is this.
    /// At shutdown it stops; leaving releases the leases (so the others take over at once).
    pub fn spawn_keeper(&self, addr: String, shutdown: CancellationToken) {
        let me = self.clone();
        tokio::spawn(async move {
            let version = env!("CARGO_PKG_VERSION");
            let host = hostname();
            let mut every = crate::workers::ticker(me.lease / 3);
            let mut unreachable_since: Option<Instant> = None;
            let mut rounds = 0u64;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = every.tick() => {}
                    _ = me.nudge.notified() => {}
                }
                if let Err(e) = cluster::announce(&me.pool, &me.id, &host, &addr, version).await {
                    tracing::debug!(error = %e, "could not announce this replica");
                }
                // Replicas silent for an hour are gone; their rows only clutter /ops.
                if rounds.is_multiple_of(60) {
                    let _ = cluster::forget_silent(&me.pool, 3600.0).await;
                }
                rounds += 1;
                let names: Vec<String> = me
                    .wanted
                    .lock()
                    .expect("wanted poisoned")
                    .keys()
                    .cloned()
                    .collect();
                if names.is_empty() {
                    continue;
                }
                match cluster::hold_all(&me.pool, &names, &me.id, me.lease.as_secs_f64()).await {
                    Ok(held) => {
                        if let Some(t) = unreachable_since.take() {
                            tracing::info!(
                                after_secs = t.elapsed().as_secs(),
                                "renewed the leases: the database is back"
                            );
                        }
                        let held: BTreeSet<String> = held.into_iter().collect();
                        for (name, tx) in me.wanted.lock().expect("wanted poisoned").iter() {
                            tx.send_if_modified(|h| {
                                let now = held.contains(name);
                                std::mem::replace(h, now) != now
                            });
                        }
                    }
                    // Whoever holds a lease keeps working until the database answers; whoever
                    // waits goes on waiting (see the module's comment).
                    Err(e) => {
                        if unreachable_since.is_none() {
                            tracing::warn!(error = %e, "cannot renew the leases; working on until the database answers");
                            unreachable_since = Some(Instant::now());
                        }
                    }
                }
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
        let (tx, holding) = watch::channel(false);
        self.wanted
            .lock()
            .expect("wanted poisoned")
            .insert(name.clone(), tx);
        self.nudge.notify_one();
        self.tasks
            .spawn(async move { me.hold_and_run(name, holding, shutdown, work).await });
    }

    async fn hold_and_run<F, Fut>(
        self,
        name: String,
        mut holding: watch::Receiver<bool>,
        shutdown: CancellationToken,
        mut work: F,
    ) where
        F: FnMut(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        loop {
            // Wait for the lease.
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = holding.wait_for(|held| *held) => if r.is_err() { return },
            }
            self.mark(&name, true);
            tracing::info!(lease = %name, replica = %self.id, "holding");
            let held = shutdown.child_token();
            let mut task = tokio::spawn(work(held.clone()));
            let ended = tokio::select! {
                // In this order: work that ends because shutdown began has not stopped by
                // itself (it was said so in the log at every shutdown).
                biased;
                _ = shutdown.cancelled() => Ended::Shutdown,
                _ = holding.wait_for(|held| !*held) => Ended::Lost,
                _ = &mut task => Ended::ByItself,
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
                        _ = tokio::time::sleep(self.lease / 3) => {}
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
