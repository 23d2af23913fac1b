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

/// Starts the ticker. The feed ends (and every SSE stream with it) when `shutdown` is cancelled,
/// so open pages never hold a graceful shutdown hostage.
pub fn spawn(pool: PgPool, shutdown: CancellationToken) -> watch::Receiver<LiveStatus> {
    let (tx, rx) = watch::channel(LiveStatus::starting(Utc::now()));
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
            status_version = latest.unwrap_or(status_version);
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
    rx
}
