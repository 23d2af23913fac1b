//! Notifications through the transactional outbox: channels from `[[notify]]`, a worker that
//! delivers each channel's queue in order, at least once, honouring rate limits.

pub mod render;
pub mod worker;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::store::{notifications, StoreError};

use crate::config::Config;

/// Delivers on whichever replica holds the `outbox:channels` lease. That replica also keeps the
/// channels table in line with the live world's channels (their URLs resolved from its own
/// environment or files, and sealed), at once and at every revision that changes them.
pub async fn start(
    config: &Config,
    pool: PgPool,
    live: crate::world::follow::Live,
    events: crate::wake::Events,
    cluster: &crate::cluster::Cluster,
    causes: crate::incidents::causes::Explainer,
    shutdown: CancellationToken,
) -> Result<(), StoreError> {
    // Written once before anything is delivered, so no event finds the table behind the world.
    let first = live.borrow().settings.notify.clone();
    sync(&pool, &first).await?;
    // One replica delivers at a time: each channel's queue stays in order, and a notification
    // is marked delivered by the replica that sent it.
    let public_url = config.server.public_url.clone();
    cluster.run_exclusive("outbox:channels", shutdown, move |held| {
        tokio::spawn(follow_channels(pool.clone(), live.clone(), held.clone()));
        let lane = worker::Channels::new(pool.clone(), public_url.clone(), Some(causes.clone()));
        crate::outbox::worker::run(lane, events.clone(), held)
    });
    Ok(())
}

/// Writes the live world's channels into the channels table whenever they change, until `held`.
async fn follow_channels(
    pool: PgPool,
    mut live: crate::world::follow::Live,
    held: CancellationToken,
) {
    let mut synced: Option<Vec<crate::config::notify::NotifyConfig>> = None;
    loop {
        let channels = live.borrow_and_update().settings.notify.clone();
        if synced.as_ref() != Some(&channels) {
            match sync(&pool, &channels).await {
                Ok(()) => synced = Some(channels),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write the channels; trying again at the next revision")
                }
            }
        }
        tokio::select! {
            _ = held.cancelled() => return,
            changed = live.changed() => if changed.is_err() { return },
        }
    }
}

/// The channels as the delivering worker reads them: URLs resolved here and sealed.
async fn sync(
    pool: &PgPool,
    channels: &[crate::config::notify::NotifyConfig],
) -> Result<(), StoreError> {
    let sealer = crate::world::seal::sealer();
    let specs: Vec<notifications::ChannelSpec> = channels
        .iter()
        .filter_map(|c| match c.resolve_url() {
            Ok(url) => Some(notifications::ChannelSpec {
                name: c.name.clone(),
                kind: c.kind.clone(),
                url: sealer.seal_str(&url),
                patterns: c.patterns(),
            }),
            Err(e) => {
                tracing::error!(channel = %c.name, error = %e, "the channel's URL cannot be read here; nothing is sent to it");
                None
            }
        })
        .collect();
    notifications::sync_channels(pool, &specs).await
}
