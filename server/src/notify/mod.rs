//! Notifications through the transactional outbox: channels from `[[notify]]`, a worker that
//! delivers each channel's queue in order, at least once, honouring rate limits.

pub mod render;
pub mod worker;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::store::{notifications, StoreError};

use crate::config::Config;

/// Syncs the configured channels and delivers on whichever replica holds the `outbox:channels`
/// lease.
pub async fn start(
    config: &Config,
    pool: PgPool,
    events: crate::wake::Events,
    cluster: &crate::cluster::Cluster,
    causes: crate::incidents::causes::Explainer,
    shutdown: CancellationToken,
) -> Result<(), StoreError> {
    let specs: Vec<notifications::ChannelSpec> = config
        .notify
        .iter()
        .map(|c| notifications::ChannelSpec {
            name: c.name.clone(),
            kind: c.kind.clone(),
            // Validated at start-up.
            url: c.resolve_url().unwrap_or_default(),
            patterns: c.patterns(),
        })
        .collect();
    notifications::sync_channels(&pool, &specs).await?;
    // One replica delivers at a time: each channel's queue stays in order, and a notification
    // is marked delivered by the replica that sent it.
    let public_url = config.server.public_url.clone();
    cluster.run_exclusive("outbox:channels", shutdown, move |held| {
        let lane = worker::Channels::new(pool.clone(), public_url.clone(), Some(causes.clone()));
        crate::outbox::worker::run(lane, events.clone(), held)
    });
    Ok(())
}
