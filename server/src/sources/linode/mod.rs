//! Linode API v4: what Vigil reads about NodeBalancers and their backends.

pub mod client;
pub mod poller;

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::LinodeConfig;

/// Polls the account's NodeBalancers until `stop`. The token is read here, on the replica that
/// polls (its environment or file); without one the Linode API is a failing source, said on
/// /ops, and the poller waits for the world to change.
pub async fn run(l: LinodeConfig, pool: PgPool, stop: CancellationToken) {
    let token = match l.token() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot poll Linode");
            super::registry::report(&pool, super::registry::LINODE, Err(e)).await;
            stop.cancelled().await;
            return;
        }
    };
    let rule = vigil_core::model::backend::FlapRule {
        changes: l.flap_changes,
        window: chrono::Duration::seconds(l.flap_window_secs as i64),
    };
    let client = client::LinodeClient::new(&l.api_url, &token, Duration::from_millis(l.timeout_ms));
    let mut poller = poller::Poller::new(
        client,
        pool,
        rule,
        Duration::from_secs(l.poll_secs),
        l.nodebalancers.clone(),
    );
    poller.stats_every = Duration::from_secs(l.stats_secs);
    poller.run(stop).await
}
