//! Watches what each component shows the public and announces every change once, as a
//! `component.status` event: webhook subscribers receive it as Statuspage's `component_update`.
//! One replica watches at a time (the `components` lease); the comparison and the new state are
//! one transaction in the store, so a handover neither repeats nor loses a change.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::store::status;

use crate::wake::{Events, FALLBACK};

/// Looks after every wake-up (a monitor's verdict, an incident or maintenance changing) and at
/// least every [`FALLBACK`]; after a failure, again in a second.
pub async fn watch(pool: PgPool, mut events: Events, shutdown: CancellationToken) {
    loop {
        let wait = match status::announce_component_changes(&pool).await {
            Ok(changes) => {
                for c in &changes {
                    tracing::info!(subject = %c.subject, message = %c.data.message(), "component status changed");
                }
                FALLBACK
            }
            Err(e) => {
                tracing::warn!(error = %e, "component status check failed; retrying");
                Duration::from_secs(1)
            }
        };
        if !events.rest(&shutdown, wait).await {
            return;
        }
    }
}

pub fn start(
    pool: PgPool,
    events: Events,
    cluster: &crate::cluster::Cluster,
    shutdown: CancellationToken,
) {
    cluster.run_exclusive("components", shutdown, move |held| {
        watch(pool.clone(), events.clone(), held)
    });
}
