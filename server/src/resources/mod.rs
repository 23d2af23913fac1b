//! Node resource graphs Vigil keeps itself, and the collectors of every data source the world
//! names: the sink that stores samples and evaluates alert rules, the supervisor that starts
//! and stops collectors as the world changes, source freshness, and retention.

pub mod alerts;
pub mod sink;

use std::{collections::HashMap, sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{config::Config, world::settings::Source};

/// Runs the data sources the live world names — Prometheus, node_exporter, Kubernetes, Linode,
/// upstream providers — on whichever replica holds the `resources` lease, with the staleness
/// watcher and retention. A revision that changes the sources restarts only the collectors
/// whose settings changed; the others keep their rhythm.
pub async fn start(
    config: &Config,
    pool: PgPool,
    live: crate::world::follow::Live,
    cluster: &crate::cluster::Cluster,
    shutdown: CancellationToken,
) -> Result<(), vigil_core::store::StoreError> {
    // Declared at once on every replica, so /ops lists them before any collector reports.
    let now = live.borrow().clone();
    let registered =
        crate::sources::registry::register_all(&effective(config, &now), &now.monitors, &pool)
            .await?;
    let revision = now.revision;
    tracing::info!(sources = registered.count, "data sources registered");
    let config = config.clone();
    let watch_every = registered.watch_every;
    cluster.run_exclusive("resources", shutdown, move |held| {
        supervise(
            config.clone(),
            pool.clone(),
            live.clone(),
            (revision, watch_every),
            held,
        )
    });
    Ok(())
}

/// The configuration with the live world's sources and alert rules in place of the file's: what
/// the registry and the collectors are built from.
pub fn effective(base: &Config, live: &crate::world::follow::LiveWorld) -> Config {
    let w = &live.settings;
    let mut c = base.clone();
    c.prometheus = w.prometheus.clone();
    c.node_exporters = w.node_exporters.clone();
    c.kubernetes = w.kubernetes.clone();
    c.linode = w.linode.clone().unwrap_or_default();
    c.upstreams = w.upstreams.clone();
    c.resources.alerts = w.alerts.clone();
    c
}

/// One running collector: what it was started from, and how to stop it.
struct Running {
    source: Source,
    stop: CancellationToken,
}

/// Follows the live world until `held` is cancelled (the lease lost, or shutdown). `registered`
/// is the revision whose sources were registered at start, and how often their freshness is
/// judged: registered again only when the world moves on.
async fn supervise(
    base: Config,
    pool: PgPool,
    mut live: crate::world::follow::Live,
    registered: (i64, Option<Duration>),
    held: CancellationToken,
) {
    let sink = loop {
        let rules = effective(&base, &live.borrow()).resources.rules();
        match sink::Sink::new(pool.clone(), rules).await {
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
    spawn_retention(&base, pool.clone(), held.clone());
    let mut running: HashMap<String, Running> = HashMap::new();
    let (mut registered_at, first_every) = registered;
    let mut watcher: Option<(Duration, CancellationToken)> = None;
    let watch = |every: Option<Duration>, watcher: &mut Option<(Duration, CancellationToken)>| {
        if watcher.as_ref().map(|(e, _)| *e) == every {
            return;
        }
        if let Some((_, stop)) = watcher.take() {
            stop.cancel();
        }
        if let Some(every) = every {
            let stop = held.child_token();
            tokio::spawn(crate::sources::registry::watch(
                pool.clone(),
                every,
                stop.clone(),
            ));
            *watcher = Some((every, stop));
        }
    };
    watch(first_every, &mut watcher);
    // The settings last reconciled: the follower hands the same value on while they do not
    // change, so a revision that touches only monitors restarts, writes and sets nothing here.
    let mut reconciled: Option<Arc<crate::world::World>> = None;
    loop {
        let now = live.borrow_and_update().clone();
        let config = effective(&base, &now);
        if registered_at != now.revision {
            registered_at = now.revision;
            match crate::sources::registry::register_all(&config, &now.monitors, &pool).await {
                Ok(registered) => watch(registered.watch_every, &mut watcher),
                Err(e) => tracing::warn!(error = %e, "cannot register the data sources"),
            }
        }
        if !reconciled
            .as_ref()
            .is_some_and(|r| Arc::ptr_eq(r, &now.settings))
        {
            sink.set_rules(config.resources.rules());
            reconcile(&config, &now.settings, &sink, &pool, &held, &mut running).await;
            reconciled = Some(now.settings.clone());
        }
        tokio::select! {
            _ = held.cancelled() => break,
            changed = live.changed() => if changed.is_err() { break },
        }
    }
    for r in running.into_values() {
        r.stop.cancel();
    }
}

/// Stops the collectors of sources removed or changed, starts those of sources added or
/// changed; the rest run on untouched.
async fn reconcile(
    config: &Config,
    world: &crate::world::World,
    sink: &Arc<sink::Sink>,
    pool: &PgPool,
    held: &CancellationToken,
    running: &mut HashMap<String, Running>,
) {
    let wanted: HashMap<String, Source> =
        world.sources().into_iter().map(|s| (s.id(), s)).collect();
    running.retain(|key, r| {
        let keep = wanted.get(key) == Some(&r.source);
        if !keep {
            tracing::info!(source = %key, "stopping a data source's collector (changed or removed)");
            r.stop.cancel();
        }
        keep
    });
    let clusters: Vec<String> = world.kubernetes.iter().map(|k| k.name.clone()).collect();
    if let Err(e) = vigil_core::store::kubernetes::sync(pool, &clusters).await {
        tracing::warn!(error = %e, "cannot record the watched clusters");
    }
    let providers: Vec<(String, bool)> = world
        .upstreams
        .iter()
        .map(|u| (u.name.clone(), u.public))
        .collect();
    if let Err(e) = vigil_core::store::upstream::sync(pool, &providers).await {
        tracing::warn!(error = %e, "cannot record the upstream providers");
    }
    for (key, source) in wanted {
        if running.contains_key(&key) {
            continue;
        }
        let stop = held.child_token();
        let (sink, pool, token) = (sink.clone(), pool.clone(), stop.clone());
        match source.clone() {
            Source::Prometheus(p) => {
                let collector = crate::sources::prometheus::Collector::new(p, sink, pool);
                tokio::spawn(collector.run(token));
            }
            Source::NodeExporter(e) => {
                let collector = crate::sources::node_exporter::Collector::new(e, sink, pool);
                tokio::spawn(collector.run(token));
            }
            Source::Kubernetes(k) => {
                tokio::spawn(crate::sources::kubernetes::run(
                    k,
                    config.probes.clone(),
                    sink,
                    pool,
                    token,
                ));
            }
            Source::Linode(l) if l.enabled => {
                tokio::spawn(crate::sources::linode::run(l, pool, token));
            }
            Source::Linode(_) => {}
            Source::Upstream(u) => {
                tokio::spawn(crate::sources::upstream::watch(u, pool, token));
            }
        }
        tracing::info!(source = %key, "starting a data source's collector");
        running.insert(key, Running { source, stop });
    }
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
