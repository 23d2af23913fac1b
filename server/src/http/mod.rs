//! The HTTP surface: the Leptos app, health and metrics endpoints, the live event stream, sign-in,
//! and the JSON API.

pub mod api_agents;
pub mod api_error;
pub mod api_evidence;
pub mod api_follow_ups;
pub mod api_incidents;
pub mod api_postmortems;
pub mod api_reliability;
pub mod api_resources;
pub mod api_reviews;
pub mod api_subscribers;
pub mod api_v1;
pub mod assets;
pub mod bodies;
pub mod github_webhook;
pub mod health;
pub mod incidents_public;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod ops_guard;
pub mod public;
pub mod public_cache;
pub mod security;
pub mod subscriptions;

use crate::auth::session_store::PgSessions;
use axum::{extract::FromRef, middleware, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use tokio::sync::watch;
use tower_http::{compression::CompressionLayer, trace::TraceLayer};
use vigil_app::{shell, App};
use vigil_core::{
    model::{live::LiveStatus, status::PageTitle},
    store::status::StatusCache,
};

use crate::{auth, config::AuthConfig, probes::registry::ProbeHandle};

/// What every handler may need; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub live: watch::Receiver<LiveStatus>,
    #[from_ref(skip)]
    pub publisher: crate::live::Publisher,
    #[from_ref(skip)]
    pub auth: AuthConfig,
    #[from_ref(skip)]
    pub probes: ProbeHandle,
    /// This replica, and what it holds.
    #[from_ref(skip)]
    pub cluster: crate::cluster::Cluster,
    #[from_ref(skip)]
    pub status: std::sync::Arc<StatusCache>,
    /// The public read side, rendered once per change and kept compressed.
    #[from_ref(skip)]
    pub public: std::sync::Arc<public_cache::PublicCache>,
    #[from_ref(skip)]
    pub title: String,
    /// Requests to follow the page.
    #[from_ref(skip)]
    pub subscriptions: std::sync::Arc<crate::subscribers::Subscriptions>,
    #[from_ref(skip)]
    pub public_url: String,
    #[from_ref(skip)]
    pub graphs: std::sync::Arc<vigil_core::model::resource::GraphSettings>,
    /// How many approvals publishing a post-mortem needs.
    #[from_ref(skip)]
    pub review: vigil_core::model::review::ReviewRules,
    pub framing: std::sync::Arc<security::Framing>,
    /// The bearer token `/metrics` requires, when `server.metrics_token_env` names one.
    #[from_ref(skip)]
    pub metrics_token: Option<std::sync::Arc<str>>,
    /// What one client may hold or repeat (live streams, sign-in attempts).
    #[from_ref(skip)]
    pub limits: std::sync::Arc<limits::Limits>,
    /// `[github]`, when follow-ups are tracked there.
    #[from_ref(skip)]
    pub github: Option<std::sync::Arc<crate::config::github::GithubConfig>>,
}

/// What sign-in and the credential resolver take from the server's state.
impl FromRef<AppState> for auth::AuthState {
    fn from_ref(state: &AppState) -> Self {
        auth::AuthState {
            pool: state.pool.clone(),
            config: state.auth.clone(),
            limits: state.limits.clone(),
        }
    }
}

/// The public read side — Statuspage-compatible JSON, badges and feeds — which any web page may
/// read cross-origin (an embedded status widget does exactly that).
fn public_read_side() -> Router<AppState> {
    public::router()
        .merge(incidents_public::router())
        .layer(security::public_cors())
}

pub fn router(state: AppState, sessions: PgSessions) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let live = state.live.clone();
        let pool = state.pool.clone();
        let status = state.status.clone();
        let title = PageTitle(state.title.clone());
        let pauses = state.probes.pause_requests();
        let graphs = state.graphs.clone();
        let review = state.review;
        let offer = vigil_core::model::subscriber::SubscribeOffer {
            enabled: state.subscriptions.enabled,
            email: state.subscriptions.offers_email(),
            components: Vec::new(),
        };
        move || {
            // The nonce the security headers announce, so the hydration scripts carry it.
            if let Some(nonce) = use_context::<axum::http::request::Parts>()
                .as_ref()
                .and_then(security::nonce_of)
            {
                provide_context(nonce);
            }
            provide_context(vigil_app::PublicScript(assets::PUBLIC_SCRIPT.as_str()));
            provide_context(graphs.clone());
            provide_context(review);
            provide_context(live.clone());
            provide_context(pool.clone());
            provide_context(status.clone());
            provide_context(title.clone());
            provide_context(pauses.clone());
            provide_context(offer.clone());
        }
    };
    let render = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    Router::new()
        .merge(health::router())
        .merge(metrics::router())
        .merge(live::router())
        .merge(auth::login::router())
        .merge(openapi::api().0)
        .merge(public_read_side())
        .merge(public::heartbeat_router())
        .merge(subscriptions::router())
        .merge(github_webhook::router())
        .merge(assets::router(std::path::Path::new(
            state.leptos_options.site_root.as_ref(),
        )))
        .leptos_routes_with_context(&state, routes, context.clone(), render)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        // Outermost last. A request meets: the public cache (anonymous reads of the public side
        // end there), tracing, compression (never for text/event-stream), security headers,
        // /pkg caching, the API's JSON errors, metrics (which see the matched route), cross-site
        // protection, the session, the resolver that turns credentials into `Auth`, the
        // catch-up after writes, then the /ops guard.
        .layer(middleware::from_fn(ops_guard::guard))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::live::catch_up_after_writes,
        ))
        .layer(middleware::from_fn_with_state(
            auth::AuthState::from_ref(&state),
            auth::resolve::resolve,
        ))
        .layer(auth::session::layer(sessions, &state.auth))
        .layer(middleware::from_fn(auth::csrf::protect))
        .layer(middleware::from_fn(metrics::track))
        .layer(middleware::from_fn(api_error::json_errors))
        .layer(middleware::from_fn(assets::cache_control))
        .layer(middleware::from_fn_with_state(
            state.framing.clone(),
            security::headers,
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        // Outermost: the public read side answers from memory before anything else runs.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            public_cache::serve,
        ))
        .with_state(state)
}
