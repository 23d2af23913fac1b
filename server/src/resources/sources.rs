//! Registering the configured data sources and judging their freshness.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::store::{sources, StoreError};

use crate::config::{resources::stale_after, Config};

/// The source name of the probe scheduler.
pub const SCHEDULER: &str = "scheduler";
/// The source name of the Linode API poller.
pub const LINODE: &str = "linode:api";

/// Declares every source the configuration names and retires the rest. Returns how many.
pub async fn register_all(config: &Config, pool: &PgPool) -> Result<usize, StoreError> {
    let mut names = Vec::new();
    for p in &config.prometheus {
        let name = p.source_name();
        sources::register(
            pool,
            &name,
            "prometheus",
            &p.url,
            stale_after(p.stale_after_secs, p.interval_secs) as u32,
        )
        .await?;
        names.push(name);
    }
    for e in &config.node_exporters {
        let name = e.source_name();
        sources::register(
            pool,
            &name,
            "node_exporter",
            &e.url,
            stale_after(e.stale_after_secs, e.interval_secs) as u32,
        )
        .await?;
        names.push(name);
    }
    if config.linode.enabled {
        let l = &config.linode;
        sources::register(
            pool,
            LINODE,
            "linode",
            &l.api_url,
            stale_after(l.stale_after_secs, l.poll_secs) as u32,
        )
        .await?;
        names.push(LINODE.to_string());
    }
    if !config.monitor_specs.is_empty() {
        // The scheduler writes a batch at least every few seconds while any monitor is due.
        let shortest = config
            .monitor_specs
            .iter()
            .map(|m| m.interval.as_secs())
            .min()
            .unwrap_or(60);
        sources::register(
            pool,
            SCHEDULER,
            "scheduler",
            "probe scheduler",
            (shortest * 4).max(60) as u32,
        )
        .await?;
        names.push(SCHEDULER.to_string());
    }
    sources::retire_others(pool, &names).await?;
    Ok(names.len())
}

/// Reports an attempt's outcome; a storage error here is logged, never fatal to the collector.
pub async fn report(pool: &PgPool, name: &str, outcome: Result<(), String>) {
    let now = chrono::Utc::now();
    let r = match &outcome {
        Ok(()) => sources::success(pool, name, now).await,
        Err(e) => sources::failure(pool, name, now, e).await,
    };
    if let Err(e) = r {
        tracing::warn!(source = name, error = %e, "could not record source freshness");
    }
}

/// Marks sources stale every few seconds until shutdown.
pub async fn watch(pool: PgPool, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        match sources::mark_stale(&pool, chrono::Utc::now()).await {
            Ok(gone) => {
                for name in gone {
                    tracing::warn!(source = %name, "data source is stale");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not judge source freshness"),
        }
    }
}
