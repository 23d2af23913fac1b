//! The internal dashboard. Every page here is behind the `/ops` guard on the server, and every
//! server function it calls checks the caller again.

use leptos::prelude::*;
use leptos_router::components::Outlet;

use crate::api::{audit_entries, whoami};

/// The frame around every `/ops` page: navigation, who is signed in, sign out.
#[component]
pub fn OpsLayout() -> impl IntoView {
    let me = Resource::new(|| (), |_| whoami());
    view! {
        <div class="ops">
            <header class="ops-header">
                <a class="brand" href="/ops">"Vigil ops"</a>
                <Suspense fallback=|| ()>
                    {move || me.get().and_then(Result::ok).map(|me| view! {
                        <span class="whoami" data-testid="whoami">{format!("{} ({})", me.name, me.role)}</span>
                    })}
                </Suspense>
                <form method="post" action="/logout" class="inline">
                    <button type="submit" data-testid="logout">"Sign out"</button>
                </form>
            </header>
            <nav class="ops-nav" aria-label="Ops">
                <a href="/ops">"Overview"</a>
                <a href="/ops/audit">"Audit log"</a>
                <a href="/">"Public page"</a>
            </nav>
            <main class="ops-main">
                <Outlet/>
            </main>
        </div>
    }
}

#[component]
pub fn OpsOverview() -> impl IntoView {
    view! {
        <h1>"Overview"</h1>
        <p>"Probes, load balancers and node resources will appear here on one time axis."</p>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let entries = Resource::new(|| (), |_| audit_entries());
    view! {
        <h1>"Audit log"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || entries.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(list) => view! {
                    <table class="table" data-testid="audit-table">
                        <thead><tr><th>"When (UTC)"</th><th>"Who"</th><th>"Did"</th><th>"To"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|e| view! {
                                <tr>
                                    <td>{e.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                    <td>{e.actor}</td>
                                    <td>{e.action}</td>
                                    <td>{e.target}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Suspense>
    }
}
