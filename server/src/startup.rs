//! Building the application from a config, and running it until a shutdown signal.

use std::{future::Future, net::SocketAddr, time::Duration};

use crate::auth::session_store::PgSessions;
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_sessions::ExpiredDeletion;

use crate::{
    config::Config,
    db::{Database, DbError},
    http::{self, AppState},
    live,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {source}\n  is another Vigil (or anything else) using that port? set server.addr or VIGIL_SERVER__ADDR")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
    #[error("cannot set up mail to subscribers: {0}\n  check [smtp]")]
    Smtp(anyhow::Error),
    #[error(
        "cannot seal monitors' secrets: {0}\n  check [world] secret_key_file or $VIGIL_SECRET_KEY"
    )]
    Seal(#[from] crate::world::seal::SealError),
}

/// A bound, migrated, ready-to-run Vigil.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    db: Database,
    state: AppState,
    site: axum::Router,
    routes: Vec<http::groups::Route>,
    shutdown: CancellationToken,
    grace: Duration,
}

impl Application {
    pub async fn build(config: &Config) -> Result<Application, StartupError> {
        crate::http::metrics::handle();
        crate::world::seal::install(crate::world::seal::Sealer::configured(&config.world)?);
        let db = Database::open(&config.database).await?;
        db.migrate().await?;
        crate::world::seal::seal_stored(&db.pool)
            .await
            .map_err(DbError::from)?;
        crate::sources::registry::note_absence(&db.pool).await;
        let sessions = PgSessions::new(db.pool.clone());
        let listener = TcpListener::bind(config.server.addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: config.server.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.server.addr,
            source,
        })?;
        // The world the configuration declares goes into the database first (as a revision,
        // when it changes anything); from then on every replica follows the database's world.
        // A world the database refuses (another file manages those objects) is reported, and
        // Vigil serves what the database holds.
        if let Err(e) = crate::world::file::seed(&db.pool, config).await {
            tracing::error!(error = %e, "the configuration file's components and monitors were not applied");
        }
        let world = crate::world::follow::load(&db.pool)
            .await
            .map_err(DbError::from)?;
        let config = &{
            let mut c = config.clone();
            c.server.public_url = crate::config::public_url_of(&c.server.public_url, addr);
            c
        };
        let shutdown = CancellationToken::new();
        let leptos_options = LeptosOptions::builder()
            .output_name("vigil")
            .site_root(config.server.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .hash_files(crate::http::assets::hashed_build())
            .build();
        let events = crate::wake::spawn(db.pool.clone(), shutdown.clone());
        let cluster = crate::cluster::Cluster::new(db.pool.clone(), &config.cluster);
        cluster.spawn_keeper(addr.to_string(), shutdown.clone());
        let first_version = vigil_core::store::events::latest_id(&db.pool)
            .await
            .map_err(DbError::from)?;
        let (live, publisher) = live::spawn(
            db.pool.clone(),
            events.clone(),
            first_version,
            shutdown.clone(),
        );
        let world =
            crate::world::follow::spawn(db.pool.clone(), world, events.clone(), shutdown.clone());
        crate::world::file::follow(db.pool.clone(), config, shutdown.clone());
        let state = AppState {
            leptos_options,
            pool: db.pool.clone(),
            live,
            publisher,
            auth: config.auth.clone(),
            probes: crate::probes::registry::start(
                db.pool.clone(),
                &config.probes,
                world.clone(),
                &cluster,
                events.clone(),
                shutdown.clone(),
            ),
            causes: crate::incidents::causes::Explainer {
                live: world.clone(),
                settings: std::sync::Arc::new(
                    crate::incidents::causes::CauseSettings::from_config(config),
                ),
            },
            world: std::sync::Arc::new(crate::http::state::WorldSettings {
                judge: crate::objectives::Judge::new(db.pool.clone(), world.clone()),
                live: world,
                probes: config.probes.clone(),
                desk: std::sync::Arc::new(crate::world::desk::Desk::new(
                    db.pool.clone(),
                    config.probes.clone(),
                )),
            }),
            cluster: cluster.clone(),
            status: std::sync::Arc::new(vigil_core::store::status::StatusCache::new(
                config.status_page.refresh(),
            )),
            public: std::sync::Arc::new(http::public::cache::PublicCache::new(
                &config.status_page.cache_control,
                config.status_page.refresh(),
            )),
            title: config.status_page.title.clone(),
            subscriptions: std::sync::Arc::new(crate::subscribers::Subscriptions::new(
                config,
                db.pool.clone(),
            )),
            public_url: config.server.public_url.clone(),
            graphs: std::sync::Arc::new(config.graph_settings()),
            review: config.postmortems.rules(),
            framing: std::sync::Arc::new(http::security::Framing(
                config.server.frame_ancestors.clone(),
            )),
            // Validated at load: the variable is set.
            metrics_token: config
                .server
                .metrics_token_env
                .as_ref()
                .and_then(|var| std::env::var(var).ok())
                .map(|t| t.trim().into()),
            limits: std::sync::Arc::new(crate::limits::Limits::new(
                config.auth.login_attempts_per_minute,
                config.server.live_streams_per_client,
            )),
            github: config
                .github
                .enabled()
                .then(|| std::sync::Arc::new(config.github.clone())),
        };
        spawn_session_cleanup(sessions.clone(), shutdown.clone());
        warm_status(&state, shutdown.clone());
        crate::footprint::release_start_up_pages_later(shutdown.clone());
        crate::resources::start(
            config,
            db.pool.clone(),
            state.world.live.clone(),
            &cluster,
            shutdown.clone(),
        )
        .await
        .map_err(DbError::from)?;
        crate::objectives::start(
            db.pool.clone(),
            state.world.live.clone(),
            &cluster,
            Duration::from_secs(config.slo.evaluate_every_secs),
            shutdown.clone(),
        );
        crate::notify::start(
            config,
            db.pool.clone(),
            state.world.live.clone(),
            events.clone(),
            &cluster,
            state.causes.clone(),
            shutdown.clone(),
        )
        .await
        .map_err(DbError::from)?;
        crate::subscribers::start(
            config,
            db.pool.clone(),
            events.clone(),
            &cluster,
            shutdown.clone(),
        )
        .map_err(StartupError::Smtp)?;
        crate::sources::github::start(
            &config.github,
            &config.server.public_url,
            db.pool.clone(),
            &cluster,
            shutdown.clone(),
        );
        crate::incidents::components::start(
            db.pool.clone(),
            events.clone(),
            &cluster,
            shutdown.clone(),
        );
        if config.incidents.automatic {
            let (pool, rules, text, announce_after) = (
                db.pool.clone(),
                config.incidents.rules(),
                config.incidents.opened_text.clone(),
                Duration::from_secs(config.incidents.announce_after_secs),
            );
            let events = events.clone();
            cluster.run_exclusive("incidents", shutdown.clone(), move |held| {
                let engine = crate::incidents::engine::Engine::new(
                    pool.clone(),
                    rules,
                    text.clone(),
                    announce_after,
                );
                engine.run(events.clone(), held)
            });
        }
        let (site, routes) = http::site(state.clone(), sessions).into_parts();
        Ok(Application {
            listener,
            addr,
            db,
            state,
            site,
            routes,
            shutdown,
            grace: Duration::from_secs(config.server.shutdown_grace_secs),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every route with its group (see `http::groups`).
    pub fn routes(&self) -> &[http::groups::Route] {
        &self.routes
    }

    pub fn pool(&self) -> &sqlx::PgPool {
        &self.db.pool
    }

    /// Serves until `signal` completes, then lets in-flight requests finish (up to the grace
    /// period), closes the pool and stops the embedded database if this process started it.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let Application {
            listener,
            addr,
            db,
            state,
            site,
            routes: _,
            shutdown,
            grace,
        } = self;
        tracing::info!(%addr, "Vigil is listening on http://{addr}");
        let cluster = state.cluster.clone();
        let app = site.into_make_service_with_connect_info::<SocketAddr>();
        let on_signal = {
            let shutdown = shutdown.clone();
            async move {
                signal.await;
                tracing::info!("shutting down: finishing in-flight requests");
                shutdown.cancel();
            }
        };
        let server = axum::serve(listener, app).with_graceful_shutdown(on_signal);
        let served = tokio::select! {
            r = server => r.map_err(StartupError::Serve),
            _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still open after the grace period; closing them");
                Ok(())
            }
        };
        cluster.leave(grace).await;
        db.close().await?;
        tracing::info!("stopped");
        served
    }
}

/// Reads the status once at start-up (retrying until the database answers), so that every
/// replica holds a state to answer the public with should PostgreSQL become unreachable before
/// anybody has asked this one.
fn warm_status(state: &AppState, shutdown: CancellationToken) {
    let (status, pool, title) = (state.status.clone(), state.pool.clone(), state.page_title());
    let live = state.live.clone();
    tokio::spawn(async move {
        loop {
            let version = live.borrow().status_version;
            if status.get(&pool, &title, version).await.is_ok() && status.holds_a_state() {
                return;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    });
}

/// Deletes expired sessions hourly until shutdown.
fn spawn_session_cleanup(store: PgSessions, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut every = crate::workers::ticker(Duration::from_secs(3600));
        while crate::workers::next_tick(&mut every, &shutdown).await {
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
        }
    });
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed by this call, not when the
/// future is first polled, so a signal that arrives while Vigil is still starting is not lost (nor
/// does it kill the process outright, leaving the embedded database running).
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
