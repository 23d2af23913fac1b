//! The live feed: one task checks the database every second and publishes the result; every open
//! page follows it over server-sent events. One check per second, however many pages are open.

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::watch;
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
pub struct Publisher(std::sync::Weak<watch::Sender<LiveStatus>>);

impl Publisher {
    /// Reads the newest event id and moves the status version up to it (never down).
    pub async fn catch_up(&self, pool: &PgPool) {
        let Some(tx) = self.0.upgrade() else { return };
        if let Ok(latest) = events::latest_id(pool).await {
            tx.send_if_modified(|s| {
                let moved = latest > s.status_version;
                s.status_version = s.status_version.max(latest);
                moved
            });
        }
    }
}

/// Starts the ticker. The feed ends (and every SSE stream with it) when `shutdown` is cancelled,
/// so open pages never hold a graceful shutdown hostage.
pub fn spawn(
    pool: PgPool,
    shutdown: CancellationToken,
) -> (watch::Receiver<LiveStatus>, Publisher) {
    let (tx, rx) = watch::channel(LiveStatus::starting(Utc::now()));
    let tx = std::sync::Arc::new(tx);
    let publisher = Publisher(std::sync::Arc::downgrade(&tx));
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut seq = 0u64;
        let mut status_version = 0i64;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = interval.tick() => {}
            }
            // One round trip a tick: reading the newest event id doubles as the health check.
            let (db, latest) =
                health::ping_with(TICK - Duration::from_millis(100), events::latest_id(&pool))
                    .await;
            // Never backwards: a change may have moved it since this round trip began.
            status_version = latest
                .unwrap_or(status_version)
                .max(tx.borrow().status_version);
            seq += 1;
            if seq.is_multiple_of(30) {
                // Hand freed heap back to the system now and then: the idle footprint is what an
                // operator sees in `top` on the small machine a status page runs on.
                // SAFETY: malloc_trim only releases free memory; it is safe at any time.
                unsafe {
                    libc::malloc_trim(0);
                }
            }
            tx.send_replace(LiveStatus {
                server_time: Utc::now(),
                db,
                seq,
                status_version,
            });
        }
    });
    (rx, publisher)
}

/// Middleware: after a request that may have changed something (any method but GET, HEAD and
/// OPTIONS) the status version catches up before the answer leaves, so public pages served from
/// memory show the change to whoever reads next.
pub async fn catch_up_after_writes(
    axum::extract::State(state): axum::extract::State<crate::http::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let resp = next.run(req).await;
    if writes && resp.status().as_u16() < 400 {
        state.publisher.catch_up(&state.pool).await;
        state.public.invalidate();
    }
    resp
}
