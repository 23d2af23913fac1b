//! The world a configuration file declares. With `[world] managed_by = "file"` (the default for a
//! file that declares components or monitors) the file is authoritative for what it declares:
//! it is applied at start, on SIGHUP and whenever the file changes, and what it no longer
//! declares is removed — but only what it declared; objects created in the browser or through
//! the API are left alone. With `managed_by = "database"` the file seeds the first revision and
//! the browser, the API and `vigil world apply` decide from then on.

use std::{
    path::Path,
    time::{Duration, SystemTime},
};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{
    apply::{self, Applied, Edit, WorldError},
    plan::ObjectKind,
    Actor, World,
};
use crate::config::{Config, ManagedBy};

/// The world `config` declares: its components and monitors, its sources and channels, its
/// alert rules (the defaults when it names none) and, when it has `[status_page]`, the page.
pub fn declared(config: &Config) -> World {
    World {
        components: config.components.clone(),
        monitors: config.monitors.clone(),
        prometheus: config.prometheus.clone(),
        node_exporters: config.node_exporters.clone(),
        kubernetes: config.kubernetes.clone(),
        linode: config.linode.enabled.then(|| config.linode.clone()),
        upstreams: config.upstreams.clone(),
        notify: config.notify.clone(),
        alerts: config.resources.alerts.clone(),
        objectives: config.objectives.clone(),
        page: config.declares_page.then(|| super::settings::PageConfig {
            title: config.status_page.title.clone(),
            description: None,
            links: Vec::new(),
        }),
    }
}

fn shown(path: Option<&Path>) -> String {
    path.map_or_else(
        || "the built-in defaults".into(),
        |p| p.display().to_string(),
    )
}

/// Brings the database's world in line with the configuration at start.
pub async fn seed(pool: &PgPool, config: &Config) -> Result<(), WorldError> {
    let world = declared(config);
    match config.world_managed_by() {
        ManagedBy::File => {
            apply_managed(pool, config, world).await?;
        }
        ManagedBy::Database => {
            if world == World::default() {
                return Ok(());
            }
            let path = shown(config.path.as_deref());
            let mut edit = Edit::by(Actor::Cli(format!("first revision from {path}")));
            // Only into an empty history: afterwards the database decides.
            edit.expect_revision = Some(0);
            let settings = world.settings();
            match apply::change(pool, &config.probes, edit, |_, w| {
                *w = world;
                Ok(())
            })
            .await
            {
                Ok(_) => {}
                // A database whose world predates settings takes the file's, once.
                Err(WorldError::Moved { .. }) => {
                    if settings.is_empty()
                        || vigil_core::store::world::ever_had_settings(pool).await?
                    {
                        return Ok(());
                    }
                    let edit = Edit::by(Actor::Cli(format!("settings from {path}")));
                    apply::change(pool, &config.probes, edit, |_, w| {
                        w.set_settings(settings).map_err(WorldError::Invalid)
                    })
                    .await?;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Applies what a managing file declares: its objects as written, in its order, first; what it
/// declared before and no longer does, removed; everything else kept.
pub async fn apply_managed(
    pool: &PgPool,
    config: &Config,
    declared: World,
) -> Result<Applied, WorldError> {
    let actor = Actor::File(shown(config.path.as_deref()));
    let mark = actor.manages();
    apply::change(
        pool,
        &config.probes,
        Edit::by(actor),
        move |current, wanted| {
            let ours = |kind: ObjectKind, id: &str| {
                current.managed.get(&(kind, id.to_string())) == mark.as_ref()
            };
            let mut components = declared.components.clone();
            components.extend(
                current
                    .world
                    .components
                    .iter()
                    .filter(|c| {
                        declared.component(&c.id).is_none() && !ours(ObjectKind::Component, &c.id)
                    })
                    .cloned(),
            );
            let mut monitors = declared.monitors.clone();
            monitors.extend(
                current
                    .world
                    .monitors
                    .iter()
                    .filter(|m| {
                        declared.monitor(&m.name).is_none() && !ours(ObjectKind::Monitor, &m.name)
                    })
                    .cloned(),
            );
            let mut settings = declared.settings();
            let named: std::collections::HashSet<(ObjectKind, String)> =
                settings.iter().map(|s| (s.kind, s.id.clone())).collect();
            settings.extend(
                current
                    .world
                    .settings()
                    .into_iter()
                    .filter(|s| !named.contains(&(s.kind, s.id.clone())) && !ours(s.kind, &s.id)),
            );
            wanted.components = components;
            wanted.monitors = monitors;
            wanted.set_settings(settings).map_err(WorldError::Invalid)?;
            Ok(())
        },
    )
    .await
}

/// While a file manages the world: re-applies it on SIGHUP, and when its modification time
/// changes (a ConfigMap updated, a `git pull`), checked every few seconds. A file that no longer
/// reads or validates is reported and the world left as it is.
pub fn follow(pool: PgPool, config: &Config, shutdown: CancellationToken) {
    if config.world_managed_by() != ManagedBy::File {
        return;
    }
    let Some(path) = config.path.clone() else {
        return;
    };
    let base = config.clone();
    tokio::spawn(async move {
        let mut hangups = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::hangup(),
        ) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; the file is re-read when it changes");
                None
            }
        };
        let mut seen = modified(&path);
        let mut every = crate::workers::ticker(FILE_CHECK);
        loop {
            let asked = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = async { match hangups.as_mut() { Some(h) => { h.recv().await; } None => std::future::pending().await } } => true,
                _ = every.tick() => false,
            };
            let now = modified(&path);
            if !asked && now == seen {
                continue;
            }
            seen = now;
            reapply(&pool, &base, &path).await;
        }
    });
}

/// How often a managing file's modification time is looked at.
const FILE_CHECK: Duration = Duration::from_secs(15);

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

async fn reapply(pool: &PgPool, base: &Config, path: &Path) {
    let config = match Config::load(Some(path)) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(file = %path.display(), error = %e, "the configuration file does not read or validate; the world is left as it is");
            return;
        }
    };
    // The world is what is re-applied; the server's own settings need a restart.
    let mut config = Config {
        path: base.path.clone(),
        ..config
    };
    config.probes = base.probes.clone();
    let world = declared(&config);
    match apply_managed(pool, &config, world).await {
        Ok(a) if a.revised => {
            tracing::info!(revision = a.revision, file = %path.display(), "configuration file re-applied")
        }
        Ok(_) => tracing::debug!(file = %path.display(), "configuration file re-read: no change"),
        Err(e) => {
            tracing::error!(file = %path.display(), error = %e, "the configuration file's world was refused; the world is left as it is")
        }
    }
}
