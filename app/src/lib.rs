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
    MatchNestedRoutes, ParamSegment, SsrMode, StaticSegment,
};

/// The script public pages load instead of the app's WebAssembly: it follows the live feed and
/// swaps in the server's fresh rendering when something changes. The server serves it under a
/// name carrying its content hash and provides that path here.
#[derive(Clone, Copy, Debug)]
pub struct PublicScript(pub &'static str);

/// What a page loads besides its HTML and stylesheet. The server provides it with each route
/// group's rendering context (a page's group decides it, never its path); without one, a page gets
/// the whole app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageScripts {
    /// The whole app in the browser: operators' pages (forms that act in place, editors, the
    /// correlation cursor).
    App,
    /// [`PublicScript`] only: public pages showing status, which stay current by themselves. A
    /// visitor downloads a few kilobytes instead of the app.
    Follow,
    /// Nothing: pages complete as sent that must not change under the reader (the sign-in form,
    /// the subscribe form, "not found").
    None,
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
    let scripts = match use_context::<PageScripts>().unwrap_or(PageScripts::App) {
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
    // The same on both sides: hydration walks what the server rendered.
    let share = (!text.is_empty()).then(|| view! { <ShareMeta title=full.clone()/> });
    view! {
        <Title text=full/>
        {share}
    }
}

/// A public page, rendered for anyone: it carries what a shared link previews.
#[derive(Clone, Copy, Debug)]
struct PublicPage;

/// What a link to a public page previews in chat and social apps (OpenGraph, Twitter's card),
/// and the page's canonical address. Only public pages carry it: they never hydrate, so the
/// browser never has to find these tags again.
#[component]
pub fn ShareMeta(#[prop(into)] title: String) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        use leptos_meta::{Link, Meta};
        use vigil_core::model::status::{PageHeader, PublicUrl};
        if use_context::<PublicPage>().is_none() {
            return ().into_any();
        }
        let site = site_title();
        let description = use_context::<PageHeader>()
            .and_then(|h| h.description)
            .unwrap_or_else(|| format!("Current status and incident history of {site}."));
        let base = use_context::<PublicUrl>().map(|u| u.0).unwrap_or_default();
        let path = leptos_router::hooks::use_location()
            .pathname
            .get_untracked();
        let url = format!("{}{path}", base.trim_end_matches('/'));
        view! {
            <Link rel="canonical" href=url.clone()/>
            <Meta property="og:type" content="website"/>
            <Meta property="og:site_name" content=site/>
            <Meta property="og:title" content=title.clone()/>
            <Meta property="og:description" content=description.clone()/>
            <Meta property="og:url" content=url/>
            <Meta name="twitter:card" content="summary"/>
            <Meta name="twitter:title" content=title/>
            <Meta name="twitter:description" content=description/>
        }
        .into_any()
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = title;
        ().into_any()
    }
}

/// A public page: it never hydrates (it loads the small follow script, not the app), so what it
/// fetched is not serialized into it for a browser to pick up — no hydration data at all.
fn public<V: IntoView + 'static>(page: fn() -> V) -> V {
    Owner::with_no_hydration(move || {
        provide_context(PublicPage);
        page()
    })
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                // Async: the server waits for the data and sends one complete document, so the page
                // is whole for readers without JavaScript (streamed chunks need a script to land).
                <StatusPages/>
                <ReportPages/>
                <SubscribePages/>
                <LinkPages/>
                <SignInPages/>
                <ParentRoute path=OPS view=pages::ops::OpsLayout ssr=SsrMode::Async>
                    <OpsPages/>
                    <AdminPages/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

// The pages, by audience. The server registers each group's pages behind that group's policy
// (who may see them, CSRF, caching, framing; `server/src/http/groups.rs`), listing them from the
// sections below: a page's place in this tree is its access, never its path.

/// The operators' section: every page under it has [`pages::ops::OpsLayout`] around it.
const OPS: StaticSegment<&'static str> = StaticSegment("ops");

/// The status pages anyone may read, kept current by [`PageScripts::Follow`].
#[component(transparent)]
fn StatusPages() -> impl MatchNestedRoutes + Clone {
    // Async: the server waits for the data and sends one complete document, so the page is whole
    // for readers without JavaScript (streamed chunks need a script to land).
    view! {
        <Route path=StaticSegment("") view=|| public(pages::status::StatusPage) ssr=SsrMode::Async/>
        <Route path=StaticSegment("history") view=|| public(pages::incidents::HistoryPage) ssr=SsrMode::Async/>
        <Route path=(StaticSegment("incidents"), ParamSegment("id")) view=|| public(pages::incidents::IncidentPage) ssr=SsrMode::Async/>
        <Route path=(StaticSegment("postmortems"), ParamSegment("id")) view=|| public(pages::postmortems::PublicPostmortemPage) ssr=SsrMode::Async/>
    }
    .into_inner()
}

/// Reports anyone may read, complete as sent (monthly uptime).
#[component(transparent)]
fn ReportPages() -> impl MatchNestedRoutes + Clone {
    view! {
        <Route path=StaticSegment("uptime") view=|| public(pages::uptime::UptimePage) ssr=SsrMode::Async/>
    }
    .into_inner()
}

/// The form to follow the page.
#[component(transparent)]
fn SubscribePages() -> impl MatchNestedRoutes + Clone {
    view! {
        <Route path=StaticSegment("subscribe") view=|| public(pages::subscribe::SubscribePage) ssr=SsrMode::Async/>
    }
    .into_inner()
}

/// Pages reached from a link that carries its own secret (confirming, unsubscribing).
#[component(transparent)]
fn LinkPages() -> impl MatchNestedRoutes + Clone {
    view! {
        <Route path=(StaticSegment("subscribe"), StaticSegment("confirm"), ParamSegment("token")) view=pages::subscribe::ConfirmPage ssr=SsrMode::Async/>
        <Route path=(StaticSegment("unsubscribe"), ParamSegment("token")) view=pages::subscribe::UnsubscribePage ssr=SsrMode::Async/>
    }
    .into_inner()
}

#[component(transparent)]
fn SignInPages() -> impl MatchNestedRoutes + Clone {
    view! {
        <Route path=StaticSegment("login") view=pages::login::LoginPage ssr=SsrMode::Async/>
    }
    .into_inner()
}

/// Operators' pages: for anyone signed in who may read.
#[component(transparent)]
fn OpsPages() -> impl MatchNestedRoutes + Clone {
    view! {
        <Route path=StaticSegment("") view=pages::ops::OpsOverview/>
        <Route path=StaticSegment("replicas") view=pages::ops::ReplicasPage/>
        <Route path=StaticSegment("upstream") view=pages::ops::UpstreamPage/>
        <Route path=StaticSegment("nodes") view=pages::ops::NodesPage/>
        <Route path=StaticSegment("incidents") view=pages::incidents::OpsIncidentsPage/>
        <Route path=(StaticSegment("incidents"), ParamSegment("id")) view=pages::incidents::OpsIncidentPage/>
        <Route path=StaticSegment("postmortems") view=pages::postmortems::PostmortemsPage/>
        <Route path=StaticSegment("follow-ups") view=pages::follow_ups::FollowUpsPage/>
        <Route path=StaticSegment("reliability") view=pages::reliability::ReliabilityPage/>
        <Route path=StaticSegment("slos") view=pages::slos::SlosPage/>
        <Route path=(StaticSegment("slos"), StaticSegment("report")) view=pages::slos::SloReportPage/>
        <Route path=(StaticSegment("postmortems"), ParamSegment("id")) view=pages::postmortems::PostmortemEditor/>
        <Route path=(StaticSegment("postmortems"), ParamSegment("id"), StaticSegment("revisions"), ParamSegment("n")) view=pages::postmortems::RevisionPage/>
        <Route path=StaticSegment("monitors") view=pages::ops::MonitorsPage/>
        <Route path=StaticSegment("settings") view=pages::settings::SettingsPage/>
        <Route path=(StaticSegment("settings"), StaticSegment("history")) view=pages::settings::WorldHistoryPage/>
        <Route path=(StaticSegment("settings"), StaticSegment("monitors"), ParamSegment("id")) view=pages::settings::MonitorSettingsPage/>
        <Route path=StaticSegment("load-balancers") view=pages::ops::LoadBalancersPage/>
        <Route path=StaticSegment("dependencies") view=pages::dependencies::DependenciesPage/>
    }
    .into_inner()
}

/// Operators' pages for admins only: the audit log, the deliveries (their receivers' answers name
/// the channels' addresses) and the subscribers (people's addresses).
#[component(transparent)]
fn AdminPages() -> impl MatchNestedRoutes + Clone {
    view! {
        <Route path=StaticSegment("audit") view=pages::ops::AuditPage/>
        <Route path=StaticSegment("subscribers") view=pages::subscribe::SubscribersPage/>
        <Route path=StaticSegment("notifications") view=pages::incidents::DeliveriesPage/>
    }
    .into_inner()
}

/// The app's pages in sections, each a router of its own pages only: what the server lists to
/// register one route group's pages.
#[cfg(feature = "ssr")]
pub mod sections {
    use super::*;

    pub fn status() -> impl IntoView {
        view! { <Router><Routes fallback=pages::not_found::NotFound><StatusPages/></Routes></Router> }
    }

    pub fn reports() -> impl IntoView {
        view! { <Router><Routes fallback=pages::not_found::NotFound><ReportPages/></Routes></Router> }
    }

    pub fn subscribe() -> impl IntoView {
        view! { <Router><Routes fallback=pages::not_found::NotFound><SubscribePages/></Routes></Router> }
    }

    pub fn links() -> impl IntoView {
        view! { <Router><Routes fallback=pages::not_found::NotFound><LinkPages/></Routes></Router> }
    }

    pub fn sign_in() -> impl IntoView {
        view! { <Router><Routes fallback=pages::not_found::NotFound><SignInPages/></Routes></Router> }
    }

    pub fn ops() -> impl IntoView {
        view! {
            <Router><Routes fallback=pages::not_found::NotFound>
                <ParentRoute path=OPS view=pages::ops::OpsLayout ssr=SsrMode::Async><OpsPages/></ParentRoute>
            </Routes></Router>
        }
    }

    pub fn admin() -> impl IntoView {
        view! {
            <Router><Routes fallback=pages::not_found::NotFound>
                <ParentRoute path=OPS view=pages::ops::OpsLayout ssr=SsrMode::Async><AdminPages/></ParentRoute>
            </Routes></Router>
        }
    }
}
