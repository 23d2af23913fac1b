//! Node resource graphs Vigil keeps itself: collectors for Prometheus and node_exporter, the
//! sink that stores samples and evaluates alert rules, source freshness, and retention.

pub mod alerts;
pub mod sink;

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// Registers every source, then starts the collectors, the staleness watcher and retention.
pub async fn start(
    config: &Config,
    pool: PgPool,
    cluster: &crate::cluster::Cluster,
    shutdown: CancellationToken,
) -> Result<(), vigil_core::store::StoreError> {
    let registered = crate::sources::registry::register_all(config, &pool).await?;
    tracing::info!(sources = registered.count, "data sources registered");
    let watch_every = registered.watch_every;
    let clusters: Vec<String> = config.kubernetes.iter().map(|k| k.name.clone()).collect();
    vigil_core::store::kubernetes::sync(&pool, &clusters).await?;
    // The collectors, the staleness watcher and retention run on one replica at a time.
    let config = config.clone();
    cluster.run_exclusive("resources", shutdown, move |held| {
        collect(config.clone(), pool.clone(), watch_every, held)
    });
    Ok(())
}

/// Collects until `held` is cancelled (the lease lost, or shutdown).
async fn collect(
    config: Config,
    pool: PgPool,
    watch_every: Option<Duration>,
    held: CancellationToken,
) {
    let sink = loop {
        match sink::Sink::new(pool.clone(), config.resources.rules()).await {
            Ok(sink) => break Arc::new(sink),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the alert states; retrying");
                tokio::select! {
                    _ = held.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    for p in &config.prometheus {
        let collector =
            crate::sources::prometheus::Collector::new(p.clone(), sink.clone(), pool.clone());
        tasks.spawn(collector.run(held.clone()));
    }
    for e in &config.node_exporters {
        let collector =
            crate::sources::node_exporter::Collector::new(e.clone(), sink.clone(), pool.clone());
        tasks.spawn(collector.run(held.clone()));
    }
    for k in &config.kubernetes {
        tasks.spawn(crate::sources::kubernetes::run(
            k.clone(),
            config.probes.clone(),
            sink.clone(),
            pool.clone(),
            held.clone(),
        ));
    }
    if let Some(every) = watch_every {
        tasks.spawn(crate::sources::registry::watch(
            pool.clone(),
            every,
            held.clone(),
        ));
    }
    spawn_retention(&config, pool, held.clone());
    // Nothing to collect or judge: hold the lease (retention still runs) until it is given up.
    if tasks.is_empty() {
        held.cancelled().await;
    }
    tasks.join_all().await;
}

fn spawn_retention(config: &Config, pool: PgPool, shutdown: CancellationToken) {
    let r = config.resources.clone();
    tokio::spawn(async move {
        let mut every = crate::workers::ticker(Duration::from_secs(3600));
        while crate::workers::next_tick(&mut every, &shutdown).await {
            let now = chrono::Utc::now();
            let days = |d: u32| now - chrono::Duration::days(i64::from(d));
            match vigil_core::store::resources::expire(
                &pool,
                days(r.raw_retention_days),
                days(r.minute_retention_days),
                days(r.hour_retention_days),
            )
            .await
            {
                Ok(n) if n > 0 => tracing::info!(rows = n, "expired old resource samples"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "resource retention failed"),
            }
        }
    });
}
