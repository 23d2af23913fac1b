#![recursion_limit = "256"]
//! Vigil's user interface. The same components render on the server (feature `ssr`) and hydrate in
//! the browser (feature `hydrate`); server functions in `api` are the only way pages read data.

pub mod api;
pub mod components;
pub mod pages;

use leptos::{nonce::use_nonce, prelude::*};
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    ParamSegment, SsrMode, StaticSegment,
};

/// The script public pages load instead of the app's WebAssembly: it follows the live feed and
/// swaps in the server's fresh rendering when something changes. The server serves it under a
/// name carrying its content hash and provides that path here.
#[derive(Clone, Copy, Debug)]
pub struct PublicScript(pub &'static str);

/// What a page loads besides its HTML and stylesheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageScripts {
    /// The whole app in the browser: operators' pages (forms that act in place, editors, the
    /// correlation cursor).
    App,
    /// [`PublicScript`] only: public pages showing status, which stay current by themselves. A
    /// visitor downloads a few kilobytes instead of the app.
    Follow,
    /// Nothing: pages complete as sent that must not change under the reader (the sign-in form,
    /// "not found").
    None,
}

pub fn scripts_for(path: &str) -> PageScripts {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    };
    if path == "/ops" || path.starts_with("/ops/") {
        PageScripts::App
    } else if path == "/" || path == "/history" || under("/incidents/") || under("/postmortems/") {
        PageScripts::Follow
    } else {
        PageScripts::None
    }
}

#[cfg(feature = "ssr")]
fn request_path() -> Option<String> {
    use_context::<http::request::Parts>().map(|p| p.uri.path().to_owned())
}

#[cfg(not(feature = "ssr"))]
fn request_path() -> Option<String> {
    None
}

/// The status version this rendering reflects (at least): the public script refreshes the page
/// when the live feed reports a newer one, including a change between rendering and connecting.
#[cfg(feature = "ssr")]
fn rendered_status_version() -> Option<i64> {
    use vigil_core::model::live::LiveStatus;
    use_context::<tokio::sync::watch::Receiver<LiveStatus>>().map(|r| r.borrow().status_version)
}

#[cfg(not(feature = "ssr"))]
fn rendered_status_version() -> Option<i64> {
    None
}

/// The HTML document around the app: the server renders it once per request.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let scripts = match request_path().map_or(PageScripts::App, |p| scripts_for(&p)) {
        PageScripts::App => view! { <HydrationScripts options=options.clone()/> }.into_any(),
        PageScripts::Follow => use_context::<PublicScript>()
            .map(|s| view! { <script type="module" src=s.0 nonce=use_nonce()></script> })
            .into_any(),
        PageScripts::None => ().into_any(),
    };
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                // The stylesheet under its content-hashed name when the build has one.
                <HashedStylesheet id="vigil" options=options.clone()/>
                {scripts}
                <MetaTags/>
            </head>
            <body data-status-version=rendered_status_version()>
                <App/>
            </body>
        </html>
    }
}

/// The status page's name (`status_page.title`), as the server was configured.
pub fn site_title() -> String {
    use_context::<vigil_core::model::status::PageTitle>()
        .map(|t| t.0)
        .unwrap_or_else(|| "Vigil".into())
}

/// This page's `<title>`: "Incident history — Example Org status"; the status page's own name
/// alone when `text` is empty. The same component on both sides, so hydration finds what the
/// server rendered; in the browser the context naming the site does not exist, and the title
/// the server sent stays.
#[component]
pub fn PageTitle(#[prop(into)] text: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let full = {
        let site = site_title();
        if text.is_empty() {
            site
        } else {
            format!("{text} — {site}")
        }
    };
    #[cfg(not(feature = "ssr"))]
    let full = {
        let _ = text;
        document().title()
    };
    view! { <Title text=full/> }
}

/// A public page: it never hydrates (it loads the small follow script, not the app), so what it
/// fetched is not serialized into it for a browser to pick up — no hydration data at all.
fn public<V: IntoView + 'static>(page: fn() -> V) -> V {
    Owner::with_no_hydration(page)
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                // Async: the server waits for the data and sends one complete document, so the page
                // is whole for readers without JavaScript (streamed chunks need a script to land).
                <Route path=StaticSegment("") view=|| public(pages::status::StatusPage) ssr=SsrMode::Async/>
                <Route path=StaticSegment("login") view=pages::login::LoginPage ssr=SsrMode::Async/>
                <Route path=StaticSegment("history") view=|| public(pages::incidents::HistoryPage) ssr=SsrMode::Async/>
                <Route path=StaticSegment("uptime") view=|| public(pages::uptime::UptimePage) ssr=SsrMode::Async/>
                <Route path=StaticSegment("subscribe") view=|| public(pages::subscribe::SubscribePage) ssr=SsrMode::Async/>
                <Route path=(StaticSegment("subscribe"), StaticSegment("confirm"), ParamSegment("token")) view=pages::subscribe::ConfirmPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("unsubscribe"), ParamSegment("token")) view=pages::subscribe::UnsubscribePage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("incidents"), ParamSegment("id")) view=|| public(pages::incidents::IncidentPage) ssr=SsrMode::Async/>
                <Route path=(StaticSegment("postmortems"), ParamSegment("id")) view=|| public(pages::postmortems::PublicPostmortemPage) ssr=SsrMode::Async/>
                <ParentRoute path=StaticSegment("ops") view=pages::ops::OpsLayout ssr=SsrMode::Async>
                    <Route path=StaticSegment("") view=pages::ops::OpsOverview/>
                    <Route path=StaticSegment("audit") view=pages::ops::AuditPage/>
                    <Route path=StaticSegment("replicas") view=pages::ops::ReplicasPage/>
                    <Route path=StaticSegment("upstream") view=pages::ops::UpstreamPage/>
                    <Route path=StaticSegment("nodes") view=pages::ops::NodesPage/>
                    <Route path=StaticSegment("incidents") view=pages::incidents::OpsIncidentsPage/>
                    <Route path=(StaticSegment("incidents"), ParamSegment("id")) view=pages::incidents::OpsIncidentPage/>
                    <Route path=StaticSegment("notifications") view=pages::incidents::DeliveriesPage/>
                    <Route path=StaticSegment("postmortems") view=pages::postmortems::PostmortemsPage/>
                    <Route path=StaticSegment("follow-ups") view=pages::follow_ups::FollowUpsPage/>
                    <Route path=StaticSegment("subscribers") view=pages::subscribe::SubscribersPage/>
                    <Route path=StaticSegment("reliability") view=pages::reliability::ReliabilityPage/>
                    <Route path=(StaticSegment("postmortems"), ParamSegment("id")) view=pages::postmortems::PostmortemEditor/>
                    <Route path=(StaticSegment("postmortems"), ParamSegment("id"), StaticSegment("revisions"), ParamSegment("n")) view=pages::postmortems::RevisionPage/>
                    <Route path=StaticSegment("monitors") view=pages::ops::MonitorsPage/>
                    <Route path=StaticSegment("load-balancers") view=pages::ops::LoadBalancersPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_operators_pages_load_the_app_and_only_status_pages_follow() {
        for p in ["/ops", "/ops/incidents/3", "/ops/postmortems/1/revisions/2"] {
            assert_eq!(scripts_for(p), PageScripts::App, "{p}");
        }
        for p in ["/", "/history", "/incidents/12", "/postmortems/4"] {
            assert_eq!(scripts_for(p), PageScripts::Follow, "{p}");
        }
        for p in [
            "/login",
            "/no/such",
            "/incidents/",
            "/incidents/1/x",
            "/opsx",
        ] {
            assert_eq!(scripts_for(p), PageScripts::None, "{p}");
        }
    }
}
