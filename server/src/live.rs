//! The live feed: one task publishes the server's state; every open page follows it over
//! server-sent events, however many are open. The status version (the newest event id) moves
//! when the database reports new events (LISTEN/NOTIFY, see `wake`); the heartbeat — server
//! time and a database check every second, which the operators' live panel shows — runs only
//! while an operator's page is listening. Otherwise the feed looks every 30 s, not every second.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Weak,
    },
    time::Duration,
};

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::live::LiveStatus,
    store::{events, health},
};

pub const TICK: Duration = Duration::from_secs(1);

/// The feed's sending side, for moving the status version at once after a change this process
/// made (so the one who made it reads it back, rather than a page kept from a moment before).
/// Weak: the ticker owns the sender, so that when it stops at shutdown every event stream ends.
#[derive(Clone)]
pub struct Publisher {
    tx: Weak<watch::Sender<LiveStatus>>,
    heartbeat: Arc<Listeners>,
}

/// Operators' pages listening for the heartbeat.
#[derive(Default)]
struct Listeners {
    count: AtomicUsize,
    arrived: Notify,
}

/// Held by an operator's event stream; the heartbeat stops when the last one is dropped.
pub struct Listening(Arc<Listeners>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Publisher {
    /// Reads the newest event id and moves the status version up to it (never down).
    pub async fn catch_up(&self, pool: &PgPool) {
        let Some(tx) = self.tx.upgrade() else { return };
        if let Ok(latest) = events::latest_id(pool).await {
            tx.send_if_modified(|s| {
                let moved = latest > s.status_version;
                s.status_version = s.status_version.max(latest);
                moved
            });
        }
    }

    /// Starts the per-second heartbeat (if it is not running) until the guard is dropped.
    pub fn listen_to_heartbeat(&self) -> Listening {
        if self.heartbeat.count.fetch_add(1, Ordering::Relaxed) == 0 {
            self.heartbeat.arrived.notify_one();
        }
        Listening(self.heartbeat.clone())
    }
}

/// How often the feed checks the database when no operator is listening: it keeps the state
/// that `/ops` shows first, and hands freed memory back, without a round trip every second.
const IDLE_TICK: Duration = Duration::from_secs(30);

/// An open editor says so every 10 s; one not heard from for this long has been closed.
const PRESENCE_SECS: f64 = 25.0;

/// Starts the feed. It ends (and every SSE stream with it) when `shutdown` is cancelled, so open
/// pages never hold a graceful shutdown hostage.
pub fn spawn(
    pool: PgPool,
    mut wake: crate::wake::Events,
    first_version: i64,
    shutdown: CancellationToken,
) -> (watch::Receiver<LiveStatus>, Publisher) {
    // Starting from the newest event already written: the first pages are rendered at the
    // version they will keep, not at 0 and again a moment later.
    let (tx, rx) = watch::channel(LiveStatus {
        status_version: first_version,
        ..LiveStatus::starting(Utc::now())
    });
    let tx = Arc::new(tx);
    let heartbeat = Arc::new(Listeners::default());
    let publisher = Publisher {
        tx: Arc::downgrade(&tx),
        heartbeat: heartbeat.clone(),
    };
    tokio::spawn(async move {
        let mut seq = 0u64;
        let mut status_version = 0i64;
        let mut last_trim = tokio::time::Instant::now();
        loop {
            // One round trip: reading the newest event id doubles as the health check.
            let (db, latest) =
                health::ping_with(TICK - Duration::from_millis(100), events::latest_id(&pool))
                    .await;
            // Never backwards: a change may have moved it since this round trip began.
            status_version = latest
                .unwrap_or(status_version)
                .max(tx.borrow().status_version);
            seq += 1;
            // Who has which post-mortem open, while operators' pages listen (the editor's
            // presence line); nobody's page needs it otherwise.
            let listened = heartbeat.count.load(Ordering::Relaxed) > 0;
            if last_trim.elapsed() >= IDLE_TICK {
                last_trim = tokio::time::Instant::now();
                crate::footprint::hand_back();
            }
            let editing = if listened && db.is_connected() {
                vigil_core::store::reviews::editing(&pool, PRESENCE_SECS)
                    .await
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            tx.send_replace(LiveStatus {
                server_time: Utc::now(),
                db,
                seq,
                status_version,
                editing,
            });
            let wait = if heartbeat.count.load(Ordering::Relaxed) > 0 {
                TICK
            } else {
                IDLE_TICK
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wake.changed(wait) => {}
                _ = heartbeat.arrived.notified() => {}
            }
        }
    });
    (rx, publisher)
}
