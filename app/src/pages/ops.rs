//! The internal dashboard. Every page here is behind the `/ops` guard on the server, and every
//! server function it calls checks the caller again.

use leptos::prelude::*;
use leptos_router::components::Outlet;

use crate::{
    api::{
        audit_entries, get_correlation, get_lb_connections, get_load_balancers, get_nodes,
        get_status_summary, whoami, SetMonitorPaused,
    },
    components::{live_panel::LivePanel, time_stack::TimeStack},
};

/// The frame around every `/ops` page: navigation, who is signed in, sign out.
#[component]
pub fn OpsLayout() -> impl IntoView {
    let me = Resource::new(|| (), |_| whoami());
    view! {
        <crate::PageTitle text="Operations"/>
        <div class="ops">
            <header class="ops-header">
                <a class="brand" href="/ops">"Vigil ops"</a>
                <Suspense fallback=|| ()>
                    {move || me.get().and_then(Result::ok).map(|me| view! {
                        <span class="whoami" data-testid="whoami">{me.label()}</span>
                    })}
                </Suspense>
                <form method="post" action="/logout" class="inline">
                    <button type="submit" data-testid="logout">"Sign out"</button>
                </form>
            </header>
            <nav class="ops-nav" aria-label="Ops">
                <a href="/ops">"Correlation"</a>
                <a href="/ops/incidents">"Incidents"</a>
                <a href="/ops/postmortems">"Post-mortems"</a>
                <a href="/ops/follow-ups">"Follow-ups"</a>
                <a href="/ops/reliability">"Reliability"</a>
                <a href="/ops/slos">"Objectives"</a>
                <a href="/ops/nodes">"Nodes"</a>
                <a href="/ops/monitors">"Monitors"</a>
                <a href="/ops/settings">"Settings"</a>
                <a href="/ops/load-balancers">"Load balancers"</a>
                <a href="/ops/dependencies">"Dependencies"</a>
                <a href="/ops/audit">"Audit log"</a>
                <a href="/ops/replicas">"Replicas"</a>
                <a href="/ops/upstream">"Providers"</a>
                <a href="/ops/notifications">"Notifications"</a>
                <a href="/ops/subscribers">"Subscribers"</a>
                <a href="/">"Public page"</a>
            </nav>
            <main class="ops-main">
                <Outlet/>
                // Vigil's own health: for operators, not for visitors of the public page.
                <LivePanel/>
            </main>
        </div>
    }
}

/// `range`, `from` and `to` from the query string.
type WindowQuery = (
    Memo<Option<String>>,
    Memo<Option<String>>,
    Memo<Option<String>>,
);

/// The page's window from its query: `?range=6h`, or `?from=…&to=…` (links from incidents).
fn window_query() -> WindowQuery {
    let query = leptos_router::hooks::use_query_map();
    (
        Memo::new(move |_| query.read().get("range")),
        Memo::new(move |_| query.read().get("from")),
        Memo::new(move |_| query.read().get("to")),
    )
}

/// Links to each named range; the current one is marked.
#[component]
fn RangeNav(current: Memo<Option<String>>, default: &'static str) -> impl IntoView {
    view! {
        <nav class="ranges" aria-label="Time range">
            {vigil_core::model::window::RANGES.iter().map(|(name, _)| {
                let is = move || current.get().as_deref().unwrap_or(default) == *name;
                view! {
                    <a href=format!("?range={name}") aria-current=move || is().then_some("page")>{*name}</a>
                }
            }).collect_view()}
        </nav>
    }
}

/// The main page of `/ops`: probes, NodeBalancer backends, node resources and events stacked on
/// one time axis for the chosen window.
#[component]
pub fn OpsOverview() -> impl IntoView {
    let (range, from, to) = window_query();
    // A window ending "now" follows the live feed: when events are recorded (at most every 5 s
    // of server time, however busy an outage gets), and every 15 s for the samples in between. A
    // fixed window (a link from an incident) stays put.
    let freshness = crate::components::live_feed::freshness(move || from.get().is_some());
    // The pointer's place outlives each refresh of the stack.
    let cursor = RwSignal::new(None::<f64>);
    let data = Resource::new(
        move || (range.get(), from.get(), to.get(), freshness.get()),
        |(r, f, t, _)| get_correlation(r.or_else(|| f.is_none().then(|| "1h".into())), f, t),
    );
    view! {
        <h1>"Correlation"</h1>
        <p class="muted">"Probe states, load-balancer backends and node resources on one time axis: cause and effect side by side."</p>
        <RangeNav current=range default="1h"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(stack) => view! { <TimeStack stack cursor/> }.into_any(),
            })}
        </Transition>
    }
}

/// The clusters' own account of their nodes: conditions that are bad now, and the pods'
/// requests against what each node can allocate (over 100 %: over-scheduled).
#[component]
fn KubernetesNodes(nodes: Vec<vigil_core::model::kubernetes::NodeView>) -> impl IntoView {
    use vigil_core::model::kubernetes::{format_bytes, format_cpu};
    if nodes.is_empty() {
        return ().into_any();
    }
    let share = |requests: String, alloc: Option<String>, ratio: Option<f64>| match (alloc, ratio) {
        (Some(a), Some(r)) => format!("{requests} of {a} ({:.0} %)", r * 100.0),
        _ => requests,
    };
    view! {
        <h2>"Kubernetes"</h2>
        <table class="table" data-testid="k8s-nodes">
            <thead><tr><th>"Cluster"</th><th>"Node"</th><th>"Conditions"</th><th>"Pods"</th>
                <th>"CPU requests"</th><th>"Memory requests"</th><th>"Read"</th></tr></thead>
            <tbody>
                {nodes.into_iter().map(|n| {
                    let troubles: Vec<String> = n.troubles().map(|c| {
                        let what = if c.kind == "Ready" { format!("not ready ({})", c.status) } else { c.kind.clone() };
                        match c.since { Some(t) => format!("{what} since {}", t.format("%H:%M:%S")), None => what }
                    }).collect();
                    let healthy = troubles.is_empty();
                    let over = [n.memory_requests_ratio, n.cpu_requests_ratio].into_iter().flatten().any(|r| r > 1.0);
                    view! {
                        <tr data-testid=format!("k8s-node-{}", n.node) data-over-scheduled=over.to_string()>
                            <td>{n.cluster.clone()}</td>
                            <td>{n.node.clone()}</td>
                            <td><span class=if healthy { "state state-up" } else { "state state-down" }>
                                {if healthy { "ready, no pressure".to_string() } else { troubles.join(", ") }}
                            </span></td>
                            <td>{n.pods}</td>
                            <td class=if n.cpu_requests_ratio.is_some_and(|r| r > 1.0) { "state state-down" } else { "" }>
                                {share(format_cpu(n.cpu_requests_millis), n.cpu_allocatable_millis.map(format_cpu), n.cpu_requests_ratio)}
                            </td>
                            <td class=if n.memory_requests_ratio.is_some_and(|r| r > 1.0) { "state state-down" } else { "" }>
                                {share(format_bytes(n.memory_requests_bytes), n.memory_allocatable_bytes.map(format_bytes), n.memory_requests_ratio)}
                            </td>
                            <td>{n.updated_at.format("%H:%M:%S").to_string()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Nodes with their newest values and graphs, and the freshness of every data source.
#[component]
pub fn NodesPage() -> impl IntoView {
    let (range, _, _) = window_query();
    let data = Resource::new(
        move || range.get(),
        |r| get_nodes(r.or_else(|| Some("6h".into()))),
    );
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "never".into())
    };
    view! {
        <h1>"Nodes"</h1>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(page) => view! {
                    <h2>"Data sources"</h2>
                    <table class="table" data-testid="sources-table">
                        <thead><tr><th>"Source"</th><th>"Kind"</th><th>"State"</th><th>"Last success"</th><th>"Last error"</th></tr></thead>
                        <tbody>
                            {page.sources.into_iter().map(|s| {
                                let state = s.state();
                                let word = match state {
                                    "stale" => format!("no data since {}", when(s.last_success)),
                                    "never" => "not heard from yet".to_string(),
                                    _ => "fresh".to_string(),
                                };
                                let class = match state { "fresh" => "state state-up", "stale" => "state state-down", _ => "state state-unknown" };
                                let err = s.last_error.clone().map(|e| format!("{}: {e}", when(s.last_error_at))).unwrap_or_default();
                                view! {
                                    <tr data-testid=format!("source-{}", s.name) data-state=state>
                                        <td>{s.name.clone()}</td>
                                        <td>{s.kind.clone()}</td>
                                        <td><span class=class>{word}</span></td>
                                        <td>{when(s.last_success)}</td>
                                        <td class="error-cell">{err}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    <h2>"Nodes"</h2>
                    {if page.nodes.is_empty() {
                        view! { <p class="muted">"No node samples yet. Add a [[prometheus]] or [[node_exporter]] section to the configuration."</p> }.into_any()
                    } else {
                        view! {
                            <table class="table" data-testid="nodes-table">
                                <thead><tr><th>"Node"</th><th>"Memory"</th><th>"CPU"</th><th>"Memory pressure"</th><th>"Sampled"</th></tr></thead>
                                <tbody>
                                    {page.nodes.into_iter().map(|n| {
                                        let pct = |v: Option<f64>| v.map(|v| format!("{:.1} %", v * 100.0)).unwrap_or_else(|| "—".into());
                                        let sampled = if n.stale { format!("no data since {}", when(n.sampled_at)) } else { when(n.sampled_at) };
                                        view! {
                                            <tr data-testid=format!("node-{}", n.name) data-stale=n.stale.to_string()>
                                                <td>{n.name.clone()}</td>
                                                <td>{if n.stale { "—".into() } else { pct(n.memory) }}</td>
                                                <td>{if n.stale { "—".into() } else { pct(n.cpu) }}</td>
                                                <td>{if n.stale { "—".into() } else { n.memory_pressure.map(|v| format!("{v:.2} s/s")).unwrap_or_else(|| "—".into()) }}</td>
                                                <td class=if n.stale { "state state-down" } else { "" }>{sampled}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
                    <KubernetesNodes nodes=page.kubernetes/>
                    <h2>"Graphs"</h2>
                    <RangeNav current=range default="6h"/>
                    <TimeStack stack=page.stack/>
                }.into_any(),
            })}
        </Transition>
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

/// The `vigil serve` processes sharing the database, and which work each runs: the probes, the
/// pollers, the incident engine and the outbox each run on exactly one of them.
#[component]
pub fn ReplicasPage() -> impl IntoView {
    let replicas = Resource::new(|| (), |_| crate::api::get_replicas());
    view! {
        <h1>"Replicas"</h1>
        <p class="muted">"Every replica serves every page. Work that must run once is held by one replica at a time and taken over when it stops answering."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || replicas.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(list) => view! {
                    <table class="table" data-testid="replicas">
                        <thead><tr><th>"Replica"</th><th>"Address"</th><th>"Version"</th><th>"Up since (UTC)"</th><th>"Last seen"</th><th>"Holds"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|r| view! {
                                <tr data-replica=r.id.clone()>
                                    <td>{r.id.clone()}</td>
                                    <td>{r.addr}</td>
                                    <td>{r.version}</td>
                                    <td>{r.started_at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                    <td>{r.last_seen.format("%H:%M:%S").to_string()}</td>
                                    <td>
                                        {if r.leases.is_empty() { Some("nothing (standing by)") } else { None }}
                                        {r.leases.into_iter().map(|l| view! {
                                            <span class="badge" data-lease=l.name.clone() title=format!("since {}", l.since.format("%Y-%m-%d %H:%M:%S UTC"))>
                                                {format!("{} since {}", l.name, l.since.format("%H:%M:%S"))}
                                            </span>" "
                                        }).collect_view()}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Suspense>
    }
}

/// The providers Vigil depends on, as their own status pages say: overall state, the followed
/// components, open incidents with their latest words.
#[component]
pub fn UpstreamPage() -> impl IntoView {
    let providers = Resource::new(|| (), |_| crate::api::get_upstreams());
    view! {
        <h1>"Upstream providers"</h1>
        <p class="muted">"Read from each provider's public status page ([[upstream]] in the configuration). Their incidents are marked in the correlation view and attached to Vigil's incidents as evidence."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || providers.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="muted">"No provider configured, or none read yet."</p> }.into_any(),
                Ok(list) => list.into_iter().map(|p| {
                    let s = p.snapshot;
                    view! {
                        <section class="panel" data-testid="provider">
                            <h2>{p.name.clone()}</h2>
                            <p>
                                <span class=format!("state state-{}", s.indicator)>{s.description.clone()}</span>
                                <span class="muted">{format!(" · read {}", p.fetched_at.format("%Y-%m-%d %H:%M:%S UTC"))}</span>
                                {p.public.then_some(" · shown on the public page")}
                            </p>
                            <ul>
                                {s.components.into_iter().map(|c| view! {
                                    <li>{c.name}" — "<span class=format!("state state-{}", c.status)>{c.status.replace('_', " ")}</span></li>
                                }).collect_view()}
                            </ul>
                            {s.incidents.into_iter().map(|i| {
                                // A provider's link is shown only if it is a web address.
                                let link = i.shortlink.filter(|l| l.starts_with("https://") || l.starts_with("http://"));
                                view! {
                                    <article class="incident" data-testid="provider-incident">
                                        <h3>{i.name}" "<span class="badge">{i.status}</span></h3>
                                        <p>{i.body}</p>
                                        {link.map(|l| view! { <a href=l rel="noopener noreferrer nofollow">"On the provider's page"</a> })}
                                    </article>
                                }
                            }).collect_view()}
                        </section>
                    }
                }).collect_view().into_any(),
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
                                            <td>
                                                <span class=format!("state state-{state}")>{state}</span>
                                                // Checked from several regions: what each sees.
                                                {(!m.regions.is_empty()).then(|| view! {
                                                    <div class="muted regions" data-testid="monitor-regions">
                                                        {m.regions.iter().map(|(r, st)| format!("{r}: {}", st.as_str())).collect::<Vec<_>>().join(" · ")}
                                                    </div>
                                                })}
                                            </td>
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
    let connections = Resource::new(hours, get_lb_connections);
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
        <Transition fallback=|| ()>
            {move || connections.get().and_then(Result::ok).filter(|s| s.sections.iter().any(|x| !x.rows.is_empty())).map(|stack| view! {
                <h2>"Connections"</h2>
                <p class="muted">"5-minute averages from the NodeBalancer stats endpoint."</p>
                <TimeStack stack/>
            })}
        </Transition>
        <ConfigHistory/>
    }
}

/// Each port's configuration history: first reading, changes field by field, and re-applies
/// (the cluster posting the very same configuration again).
#[component]
fn ConfigHistory() -> impl IntoView {
    let history = Resource::new(|| (), |_| crate::api::get_lb_config_history());
    view! {
        <Transition fallback=|| ()>
            {move || history.get().and_then(Result::ok).filter(|h| !h.is_empty()).map(|list| view! {
                <h2>"Configuration history"</h2>
                <p class="muted">"Read from Linode at every poll; a re-apply is the same settings posted again."</p>
                <table class="table" data-testid="lb-config-history">
                    <thead><tr><th>"When (UTC)"</th><th>"NodeBalancer"</th><th>"Port"</th><th>"What"</th><th>"Details"</th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|e| {
                            use vigil_core::model::lb_config::ConfigChange;
                            let what = match e.change {
                                ConfigChange::Initial => "first read",
                                ConfigChange::Changed => "changed",
                                ConfigChange::Reapplied => "re-applied, no change",
                            };
                            let details = match e.change {
                                ConfigChange::Changed => e.changes.iter().map(|c| c.describe()).collect::<Vec<_>>().join("; "),
                                _ => e.settings.iter()
                                    .filter(|(k, _)| k.starts_with("check"))
                                    .map(|(k, v)| format!("{k}={v}"))
                                    .collect::<Vec<_>>()
                                    .join(" "),
                            };
                            view! {
                                <tr data-change=e.change.as_str()>
                                    <td>{e.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                    <td>{e.nodebalancer}</td>
                                    <td>{e.port}</td>
                                    <td>{what}</td>
                                    <td class="mono">{details}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
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
