#![recursion_limit = "256"]
//! Vigil's user interface. The same components render on the server (feature `ssr`) and hydrate in
//! the browser (feature `hydrate`); server functions in `api` are the only way pages read data.

pub mod api;
pub mod components;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    ParamSegment, SsrMode, StaticSegment,
};

/// The HTML document around the app: the server renders it once per request.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <AutoReload options=options.clone()/>
                // The stylesheet under its content-hashed name when the build has one.
                <HashedStylesheet id="vigil" options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title text="Vigil status"/>
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                // Async: the server waits for the data and sends one complete document, so the page
                // is whole for readers without JavaScript (streamed chunks need a script to land).
                <Route path=StaticSegment("") view=pages::status::StatusPage ssr=SsrMode::Async/>
                <Route path=StaticSegment("login") view=pages::login::LoginPage ssr=SsrMode::Async/>
                <Route path=StaticSegment("history") view=pages::incidents::HistoryPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("incidents"), ParamSegment("id")) view=pages::incidents::IncidentPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("postmortems"), ParamSegment("id")) view=pages::postmortems::PublicPostmortemPage ssr=SsrMode::Async/>
                <ParentRoute path=StaticSegment("ops") view=pages::ops::OpsLayout ssr=SsrMode::Async>
                    <Route path=StaticSegment("") view=pages::ops::OpsOverview/>
                    <Route path=StaticSegment("audit") view=pages::ops::AuditPage/>
                    <Route path=StaticSegment("nodes") view=pages::ops::NodesPage/>
                    <Route path=StaticSegment("incidents") view=pages::incidents::OpsIncidentsPage/>
                    <Route path=(StaticSegment("incidents"), ParamSegment("id")) view=pages::incidents::OpsIncidentPage/>
                    <Route path=StaticSegment("notifications") view=pages::incidents::DeliveriesPage/>
                    <Route path=StaticSegment("postmortems") view=pages::postmortems::PostmortemsPage/>
                    <Route path=(StaticSegment("postmortems"), ParamSegment("id")) view=pages::postmortems::PostmortemEditor/>
                    <Route path=(StaticSegment("postmortems"), ParamSegment("id"), StaticSegment("revisions"), ParamSegment("n")) view=pages::postmortems::RevisionPage/>
                    <Route path=StaticSegment("monitors") view=pages::ops::MonitorsPage/>
                    <Route path=StaticSegment("load-balancers") view=pages::ops::LoadBalancersPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
