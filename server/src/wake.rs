//! Wake-ups from the database. PostgreSQL tells every Vigil process on the database when new
//! events commit (`events::append_in` notifies in the event's transaction), so the workers that act on events
//! — the incident engine, the notification outbox, the live feed — sleep until then instead of
//! asking every second. Notifications are a hint, never the only path: while the listening
//! connection is down each worker falls back to its own timer, and a reconnect wakes everyone
//! to catch up on what was written meanwhile.

use std::time::Duration;

use sqlx::{postgres::PgListener, PgPool};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use vigil_core::store::events::NOTIFY_CHANNEL;

/// How long a worker sleeps without a wake-up before looking anyway.
pub const FALLBACK: Duration = Duration::from_secs(30);

/// A counter that moves whenever events were (or may have been) written. Cheap to clone; each
/// holder waits with [`Events::changed`].
#[derive(Clone)]
pub struct Events(watch::Receiver<u64>);

impl Events {
    /// Waits for the next wake-up or `timeout`, whichever comes first.
    pub async fn changed(&mut self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.0.changed()).await;
    }

    /// A worker's pause between passes: `wait` or the next wake-up, whichever comes first.
    /// False once `shutdown` is asked (before or during the pause): the worker stops.
    pub async fn rest(&mut self, shutdown: &CancellationToken, wait: Duration) -> bool {
        if shutdown.is_cancelled() {
            return false;
        }
        if wait > Duration::ZERO {
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = self.changed(wait) => {}
            }
        }
        true
    }
}

/// How long until `at` (nothing if it has passed), at most `cap`.
pub fn until(at: chrono::DateTime<chrono::Utc>, cap: Duration) -> Duration {
    (at - chrono::Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO)
        .min(cap)
}

/// Starts listening; the returned handle wakes its holders until `shutdown`.
pub fn spawn(pool: PgPool, shutdown: CancellationToken) -> Events {
    let (tx, rx) = watch::channel(0u64);
    tokio::spawn(async move {
        loop {
            let listened = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = listen(&pool, &tx) => r,
            };
            if let Err(e) = listened {
                tracing::warn!(error = %e, "not hearing of new events from the database; workers fall back to their timers");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    });
    Events(rx)
}

async fn listen(pool: &PgPool, tx: &watch::Sender<u64>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(NOTIFY_CHANNEL).await?;
    // Whatever was written before we listened (or while we were away) is caught up now.
    tx.send_modify(|n| *n += 1);
    loop {
        match listener.try_recv().await? {
            Some(_) => tx.send_modify(|n| *n += 1),
            // The connection dropped; `try_recv` reconnects on the next call, and anything
            // written in between must not wait for the next event.
            None => tx.send_modify(|n| *n += 1),
        }
    }
}
