//! The HTTP surface: the Leptos app, health and metrics endpoints, the live event stream, sign-in,
//! and the JSON API.

pub mod api;
pub mod assets;
pub mod conditional;
pub mod endpoint;
pub mod groups;
pub mod health;
pub mod metrics;
pub mod ops;
pub mod public;
pub mod security;
pub mod state;

pub use state::AppState;

use endpoint::Endpoint;
use groups::{Group, Site};
use leptos::prelude::*;
use leptos_axum::generate_route_list;
use vigil_app::{shell, PageScripts};
use vigil_core::model::status::PageTitle;

use crate::{auth, auth::session_store::PgSessions};

/// What every rendering of the app is given: the request's nonce, the status, the pool, the
/// settings pages show, and which scripts this group's pages load.
fn render_context(
    state: &AppState,
    scripts: PageScripts,
) -> impl Fn() + Clone + Send + Sync + 'static {
    let live = state.live.clone();
    let pool = state.pool.clone();
    let status = state.status.clone();
    // The page's title and header follow the world (read at each rendering).
    let page = state.clone();
    let pauses = state.probes.pause_requests();
    let desk = state.world.desk.clone();
    let causes: std::sync::Arc<dyn vigil_core::model::causes::Explains> =
        std::sync::Arc::new(crate::incidents::causes::Desk {
            pool: state.pool.clone(),
            explainer: state.causes.clone(),
        });
    let judges: std::sync::Arc<dyn vigil_core::model::objective::Judges> =
        std::sync::Arc::new(state.world.judge.clone());
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
        provide_context(scripts);
        provide_context(vigil_app::PublicScript(assets::PUBLIC_SCRIPT.as_str()));
        provide_context(page.graph_settings());
        provide_context(review);
        provide_context(live.clone());
        provide_context(pool.clone());
        provide_context(status.clone());
        provide_context(PageTitle(page.page_title()));
        provide_context(vigil_core::model::status::PublicUrl(
            page.public_url.clone(),
        ));
        provide_context(page.page_header());
        provide_context(pauses.clone());
        provide_context(desk.clone());
        provide_context(causes.clone());
        provide_context(judges.clone());
        provide_context(offer.clone());
    }
}

/// The app's pages of one section, each rendered whole on the server.
fn pages<IV: IntoView + 'static>(
    state: &AppState,
    group: Group,
    section: fn() -> IV,
) -> Vec<Endpoint> {
    let scripts = group.policy().scripts.unwrap_or(PageScripts::App);
    let context = render_context(state, scripts);
    let options = state.leptos_options.clone();
    let render = move || shell(options.clone());
    generate_route_list(section)
        .into_iter()
        .flat_map(|listing| {
            let path = listing.path().to_owned();
            methods_of(&listing)
                .into_iter()
                .map(|method| {
                    let handler =
                        leptos_axum::render_app_async_with_context(context.clone(), render.clone());
                    endpoint::on(&path, method, handler)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The methods a page answers, as HTTP names them.
fn methods_of(listing: &leptos_axum::AxumRouteListing) -> Vec<axum::http::Method> {
    use axum::http::Method;
    listing
        .methods()
        .map(|m| match m {
            leptos_router::Method::Get => Method::GET,
            leptos_router::Method::Post => Method::POST,
            leptos_router::Method::Put => Method::PUT,
            leptos_router::Method::Delete => Method::DELETE,
            leptos_router::Method::Patch => Method::PATCH,
        })
        .collect()
}

/// The server functions the pages call (`/api/…`), each with the rendering context.
fn server_functions(state: &AppState) -> Vec<Endpoint> {
    let context = render_context(state, PageScripts::App);
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| {
            let context = context.clone();
            let handler = move |req: axum::extract::Request| async move {
                leptos_axum::handle_server_fns_with_context(context, req).await
            };
            endpoint::on(path, method, handler)
        })
        .collect()
}

/// The whole HTTP surface, by route group ([`groups`]), and its route table.
pub fn site(state: AppState, sessions: PgSessions) -> groups::Site {
    use vigil_app::sections;
    let api = api::openapi::api();
    let not_found = {
        let context = render_context(&state, PageScripts::None);
        leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell)
    };
    let site_root = std::path::PathBuf::from(state.leptos_options.site_root.as_ref());
    Site::new(groups::Layers {
        state: state.clone(),
        sessions,
    })
    .add(
        Group::StatusPages,
        pages(&state, Group::StatusPages, sections::status)
            .into_iter()
            // The status page itself also speaks Markdown and plain text.
            .map(|e| match e.path.as_str() {
                "/" => public::text::offer_text(e, &state),
                _ => e,
            }),
    )
    .add(
        Group::Reports,
        pages(&state, Group::Reports, sections::reports),
    )
    .add(Group::PublicData, public::status::endpoints())
    .add(Group::PublicData, public::incidents::endpoints())
    .add(Group::PublicData, public::text::endpoints())
    .add(Group::PublicData, public::embed::endpoints())
    .add(
        Group::PublicForms,
        pages(&state, Group::PublicForms, sections::subscribe)
            .into_iter()
            .map(|e| e.page(public::cache::Page::SUBSCRIBE)),
    )
    .add(Group::PublicForms, public::subscriptions::form_endpoints())
    .add(Group::Links, pages(&state, Group::Links, sections::links))
    .add(Group::Links, public::subscriptions::link_endpoints())
    .add(Group::Links, public::status::heartbeat_endpoints())
    .add(
        Group::SignIn,
        pages(&state, Group::SignIn, sections::sign_in),
    )
    .add(
        Group::SignIn,
        [
            endpoint::post("/login", auth::login::login),
            endpoint::post("/logout", auth::login::logout),
        ],
    )
    .add(Group::Ops, pages(&state, Group::Ops, sections::ops))
    // Anything else under the operators' section is not found, for signed-in readers only.
    .add(
        Group::Ops,
        [endpoint::get("/ops/{*rest}", not_found.clone())],
    )
    .add(Group::Admin, pages(&state, Group::Admin, sections::admin))
    .add(Group::ServerFns, server_functions(&state))
    .add_router(Group::Api, api.scripts, api.scripts_table)
    .add_router(Group::Agents, api.agents, api.agents_table)
    .add(Group::Webhooks, api::github_webhook::endpoints())
    .add(Group::Live, public::live::endpoints())
    .add(Group::Metrics, metrics::endpoints())
    .add(Group::Health, health::endpoints())
    .add_router(Group::Assets, assets::router(&site_root), assets::table())
    .fallback(Group::Assets, axum::routing::any(not_found))
}
