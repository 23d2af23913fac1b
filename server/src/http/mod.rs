//! The HTTP surface: the Leptos app, health and metrics endpoints, and the live event stream.

pub mod health;
pub mod live;
pub mod metrics;

use axum::{extract::FromRef, middleware, routing::get, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use tokio::sync::watch;
use tower_http::{compression::CompressionLayer, trace::TraceLayer};
use vigil_app::{shell, App};
use vigil_core::model::live::LiveStatus;

/// What every handler may need; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub live: watch::Receiver<LiveStatus>,
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let live = state.live.clone();
        let pool = state.pool.clone();
        move || {
            provide_context(live.clone());
            provide_context(pool.clone());
        }
    };
    let render = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route(
            vigil_app::components::live_panel::LIVE_EVENTS_PATH,
            get(live::events),
        )
        .leptos_routes_with_context(&state, routes, context, render)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Order matters: metrics see the route the request matched; compression skips
        // text/event-stream by default, so live events are never held back in a buffer.
        .layer(middleware::from_fn(metrics::track))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
