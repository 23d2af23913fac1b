//! The registry of data sources: registering the configured ones and judging their freshness.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::monitor::MonitorSpec,
    store::{sources, StoreError},
};

use crate::{
    config::{resources::stale_after, Config},
    redact,
};

/// The source name of the probe scheduler.
pub const SCHEDULER: &str = "scheduler";
/// The source name of the Linode API poller.
pub const LINODE: &str = "linode:api";
/// The source name of the GitHub issue sync.
pub const GITHUB: &str = "github";

/// The source name of the probe agents of `region`.
pub fn agent_source(region: &str) -> String {
    format!("agent:{region}")
}

/// Declares every source the configuration names and retires the rest. Returns how many.
// Targets are stored as shown: no credentials or query (the API and /ops list them).
// `monitors` are the live world's: the scheduler's and each agent region's freshness follow them.
pub async fn register_all(
    config: &Config,
    monitors: &[(i64, std::sync::Arc<MonitorSpec>)],
    pool: &PgPool,
) -> Result<Registered, StoreError> {
    // (name, kind, target, stale after seconds) of every configured source.
    let mut all: Vec<(String, &str, String, u64)> = Vec::new();
    for p in &config.prometheus {
        let stale = stale_after(p.stale_after_secs, p.interval_secs);
        all.push((p.source_name(), "prometheus", redact::url(&p.url), stale));
    }
    for e in &config.node_exporters {
        let stale = stale_after(e.stale_after_secs, e.interval_secs);
        all.push((e.source_name(), "node_exporter", redact::url(&e.url), stale));
    }
    if config.linode.enabled {
        let l = &config.linode;
        let stale = stale_after(l.stale_after_secs, l.poll_secs);
        all.push((LINODE.into(), "linode", redact::url(&l.api_url), stale));
    }
    if let Some(shortest) = monitors.iter().map(|(_, m)| m.interval.as_secs()).min() {
        // The scheduler writes a batch at least every few seconds while any monitor is due.
        let stale = (shortest * 4).max(60);
        all.push((
            SCHEDULER.into(),
            "scheduler",
            "probe scheduler".into(),
            stale,
        ));
    }
    for u in &config.upstreams {
        let stale = stale_after(None, u.interval_secs).max(300);
        all.push((u.source_name(), "upstream", redact::url(&u.url), stale));
    }
    for k in &config.kubernetes {
        let stale = stale_after(k.stale_after_secs, k.interval_secs);
        all.push((k.source_name(), "kubernetes", redact::url(&k.url), stale));
    }
    if config.github.enabled() {
        let g = &config.github;
        let stale = (g.poll_secs * 3).max(60);
        let target = format!("{} ({})", g.repository, redact::url(&g.api_url));
        all.push((GITHUB.into(), "github", target, stale));
    }
    // Each probe agent's region: stale when its agent stops reporting (never green instead).
    let mut regions: std::collections::BTreeMap<&str, u64> = Default::default();
    for (_, m) in monitors {
        for r in m
            .regions
            .iter()
            .filter(|r| *r != vigil_core::model::monitor::LOCAL)
        {
            let shortest = regions.entry(r).or_insert(u64::MAX);
            *shortest = (*shortest).min(m.interval.as_secs());
        }
    }
    for (region, shortest) in regions {
        all.push((
            agent_source(region),
            "agent",
            format!("probe agent in {region}"),
            (shortest * 4).max(60),
        ));
    }
    let mut names = Vec::new();
    let shortest = all.iter().map(|(_, _, _, stale)| *stale).min();
    for (name, kind, target, stale) in all {
        sources::register(pool, &name, kind, &target, stale as u32).await?;
        names.push(name);
    }
    sources::retire_others(pool, &names).await?;
    Ok(Registered {
        count: names.len(),
        // Staleness is noticed within a quarter of the shortest limit: no sooner than needed.
        watch_every: shortest.map(|s| Duration::from_secs((s / 4).clamp(2, 30))),
    })
}

/// What [`register_all`] registered: how many sources, and how often their freshness needs
/// judging (none: no source to judge).
pub struct Registered {
    pub count: usize,
    pub watch_every: Option<Duration>,
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

/// Marks sources stale every `every` until shutdown.
pub async fn watch(pool: PgPool, every: Duration, shutdown: CancellationToken) {
    let watching_since = chrono::Utc::now();
    let mut every = crate::workers::ticker(every);
    while crate::workers::next_tick(&mut every, &shutdown).await {
        match sources::mark_stale(&pool, chrono::Utc::now(), watching_since).await {
            Ok(gone) => {
                for name in gone {
                    tracing::warn!(source = %name, "data source is stale");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not judge source freshness"),
        }
    }
}

/// At start-up, before any collector runs: says once if no replica was running for a while.
pub async fn note_absence(pool: &PgPool) {
    // Nothing heard from any source for this long means no replica was running.
    let gap = chrono::Duration::minutes(2);
    match sources::record_absence(pool, chrono::Utc::now(), gap).await {
        Ok(Some(a)) => tracing::warn!("{}", a.message()),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not look for a gap in Vigil's watch"),
    }
}
