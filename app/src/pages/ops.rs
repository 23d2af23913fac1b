//! The internal dashboard. Every page here is behind the `/ops` guard on the server, and every
//! server function it calls checks the caller again.

use leptos::prelude::*;
use leptos_router::components::Outlet;

use crate::api::{audit_entries, get_load_balancers, get_status_summary, whoami, SetMonitorPaused};

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
                <a href="/ops/load-balancers">"Load balancers"</a>
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

const RANGES: [(&str, i64); 4] = [("1h", 1), ("6h", 6), ("24h", 24), ("7d", 168)];

/// Each NodeBalancer's backends by port, with their current status and an UP/DOWN strip.
#[component]
pub fn LoadBalancersPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let hours = move || {
        let r = query.read().get("range").unwrap_or_else(|| "6h".into());
        RANGES
            .iter()
            .find(|(name, _)| *name == r)
            .map(|(_, h)| *h)
            .unwrap_or(6)
    };
    let data = Resource::new(hours, get_load_balancers);
    view! {
        <h1>"Load balancers"</h1>
        <nav class="ranges" aria-label="Time range">
            {RANGES.iter().map(|(name, h)| {
                let current = move || hours() == *h;
                view! {
                    <a href=format!("?range={name}") aria-current=move || current().then_some("page")>{*name}</a>
                }
            }).collect_view()}
        </nav>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <p class="muted">"No backends yet. Enable [linode] in the configuration to poll your NodeBalancers."</p>
                }.into_any(),
                Ok(list) => view! {
                    <table class="table" data-testid="lb-table">
                        <thead><tr>
                            <th>"NodeBalancer"</th><th>"Port"</th><th>"Backend"</th><th>"Address"</th>
                            <th>"Status"</th><th>"Since"</th><th>"History"</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|b| {
                                let status = b.status.as_str();
                                let word = if b.flapping { format!("{status}, flapping") } else { status.to_string() };
                                let class = if b.flapping { "state state-degraded".to_string() } else { format!("state state-{status}") };
                                let testid = format!("backend-{}-{}", b.port, b.label);
                                view! {
                                    <tr data-testid=testid data-flapping=b.flapping.to_string()>
                                        <td>{b.nodebalancer.clone()}</td>
                                        <td>{format!("{} ({})", b.port, b.protocol)}</td>
                                        <td>{b.label.clone()}</td>
                                        <td>{b.address.clone()}</td>
                                        <td><span class=class>{word}</span></td>
                                        <td>{b.since.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                        <td><Strip history=b.history.clone()/></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Strip(history: Vec<vigil_core::model::backend::Segment>) -> impl IntoView {
    let (Some(first), Some(last)) = (history.first(), history.last()) else {
        return ().into_any();
    };
    let (start, end) = (first.from, last.to);
    let span = (end - start).num_milliseconds().max(1) as f64;
    let label = format!("{} changes in range", history.len() - 1);
    view! {
        <svg class="strip" viewBox="0 0 300 12" preserveAspectRatio="none" role="img" aria-label=label>
            {history.into_iter().map(|s| {
                let x = (s.from - start).num_milliseconds() as f64 / span * 300.0;
                let w = ((s.to - s.from).num_milliseconds() as f64 / span * 300.0).max(0.5);
                let title = format!("{}: {} – {}", s.status.as_str(), s.from.format("%H:%M:%S"), s.to.format("%H:%M:%S"));
                view! {
                    <rect class=format!("seg seg-{}", s.status.as_str()) x=x y="0" width=w height="12">
                        <title>{title}</title>
                    </rect>
                }
            }).collect_view()}
        </svg>
    }
    .into_any()
}
