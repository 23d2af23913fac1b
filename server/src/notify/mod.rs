//! Notifications through the transactional outbox: channels from `[[notify]]`, a worker that
//! delivers each channel's queue in order, at least once, honouring rate limits.

pub mod render;
pub mod worker;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::store::{notifications, StoreError};

use crate::config::Config;

/// Syncs the configured channels and starts the delivery worker.
pub async fn start(
    config: &Config,
    pool: PgPool,
    events: crate::wake::Events,
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
    let worker = worker::Worker::new(pool, config.server.public_url.clone());
    tokio::spawn(worker.run(events, shutdown));
    Ok(())
}
