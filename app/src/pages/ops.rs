//! The internal dashboard. Every page here is behind the `/ops` guard on the server, and every
//! server function it calls checks the caller again.

use leptos::prelude::*;
use leptos_router::components::Outlet;

use crate::api::{audit_entries, get_status_summary, whoami, SetMonitorPaused};

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
                <a href="/ops/monitors">"Monitors"</a>
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

/// Every monitor with its state; admins can pause and resume them.
#[component]
pub fn MonitorsPage() -> impl IntoView {
    let toggle = ServerAction::<SetMonitorPaused>::new();
    let summary = Resource::new(move || toggle.version().get(), |_| get_status_summary());
    view! {
        <h1>"Monitors"</h1>
        {move || toggle.value().get().and_then(Result::err).map(|e| view! {
            <p class="form-error" role="alert">{e.to_string()}</p>
        })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || summary.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(s) => view! {
                    <table class="table" data-testid="monitors-table">
                        <thead><tr>
                            <th>"Monitor"</th><th>"Component"</th><th>"Kind"</th><th>"State"</th>
                            <th>"Since"</th><th>"Last check"</th><th>"Latency"</th><th>"Last error"</th><th></th>
                        </tr></thead>
                        <tbody>
                            {s.components.into_iter().flat_map(|c| {
                                let comp = c.name.clone();
                                c.monitors.into_iter().map(move |m| {
                                    let state = m.status.as_str();
                                    let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| "—".into());
                                    let testid = format!("monitor-{}", m.name);
                                    let form_name = m.name.clone();
                                    view! {
                                        <tr data-testid=testid>
                                            <td>{m.name.clone()}</td>
                                            <td>{comp.clone()}</td>
                                            <td>{m.kind.clone()}</td>
                                            <td><span class=format!("state state-{state}")>{state}</span></td>
                                            <td>{fmt(m.since)}</td>
                                            <td>{fmt(m.last_check_at)}</td>
                                            <td>{m.latency_ms.map(|l| format!("{l:.0} ms")).unwrap_or_else(|| "—".into())}</td>
                                            <td class="error-cell">{m.last_error.clone().unwrap_or_default()}</td>
                                            <td>
                                                <ActionForm action=toggle>
                                                    <input type="hidden" name="name" value=form_name/>
                                                    <input type="hidden" name="paused" value=(!m.paused).to_string()/>
                                                    <button type="submit">{if m.paused { "Resume" } else { "Pause" }}</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }
                                }).collect::<Vec<_>>()
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}
