//! The public status page: the first thing people open during an outage. Complete as sent, and
//! never hydrated: the server's `live.js` keeps an open page current (it follows the live feed and
//! swaps in a fresh rendering, marking `data-live`).

use leptos::prelude::*;
use vigil_core::model::{
    incident::IncidentView,
    status::{ComponentSummary, StatusSummary},
};

use crate::{
    api::{get_recent_incidents, get_status_summary},
    components::{latency_chart::LatencyChart, uptime_bar::UptimeBar},
    pages::incidents::IncidentCard,
};

#[component]
pub fn StatusPage() -> impl IntoView {
    let summary = Resource::new(|| (), |_| get_status_summary());
    let recent = Resource::new(|| (), |_| get_recent_incidents(PAST_DAYS));
    // Given by the server (the world's page settings); this page is never hydrated.
    let header = use_context::<vigil_core::model::status::PageHeader>().unwrap_or_default();

    view! {
        <crate::PageTitle text=""/>
        <header class="site-header">
            <a class="brand" href="/">{crate::site_title()}</a>
            <span class="tagline">"Service status"</span>
            <nav class="owner-links" aria-label="Links">
                {header.links.into_iter().map(|(name, url)| view! {
                    <a href=url rel="noopener" data-testid="owner-link">{name}</a>
                }).collect_view()}
            </nav>
            <a class="signin" href="/login">"Sign in"</a>
        </header>
        {header.description.map(|d| view! { <p class="page-description" data-testid="page-description">{d}</p> })}
        // `data-live`: "static" as sent; `live.js` marks it "live" while it follows the feed.
        <main class="page" data-live="static">
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || summary.get().map(|r| match r {
                    Ok(s) => view! { <Status summary=s/> }.into_any(),
                    Err(_) => view! {
                        <section class="banner banner-unknown" role="status" data-testid="banner">
                            <strong>"Status temporarily unavailable"</strong>
                            <span>" — Vigil cannot read its database right now."</span>
                        </section>
                    }.into_any(),
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || recent.get().map(|r| match r {
                    Ok(list) => view! { <PastIncidents list/> }.into_any(),
                    Err(_) => view! { <p class="muted" data-testid="past-unavailable">"Past incidents cannot be read right now."</p> }.into_any(),
                })}
            </Transition>
        </main>
        <footer class="site-footer">
            <a href="/history">"Incident history"</a>
            <span>" · "</span>
            <a href="/uptime">"Uptime"</a>
            <span>" · "</span>
            <a href="/subscribe" data-testid="subscribe-link">"Subscribe to updates"</a>
            <span>" · Feeds: "</span>
            <a href="/history.atom">"Atom"</a>
            <span>" / "</span>
            <a href="/history.rss">"RSS"</a>
            <span>" · "</span>
            <a href="/api/v2/summary.json">"JSON API"</a>
            <span>" · Powered by Vigil"</span>
        </footer>
    }
}

/// Days of past incidents under the components.
const PAST_DAYS: i64 = 7;

/// The last days, newest first, each with the incidents that started on it (or a word that there
/// were none), linking to each incident and its published post-mortem.
#[component]
fn PastIncidents(list: Vec<IncidentView>) -> impl IntoView {
    let today = chrono::Utc::now().date_naive();
    let days = (0..PAST_DAYS)
        .map(|back| {
            let day = today - chrono::Duration::days(back);
            let on_day: Vec<IncidentView> = list
                .iter()
                .filter(|i| i.started_at.date_naive() == day)
                .cloned()
                .collect();
            view! {
                <li>
                    <h3>{day.format("%b %-d, %Y").to_string()}</h3>
                    {if on_day.is_empty() {
                        view! { <p class="muted">"No incidents reported."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="plain-list">
                                {on_day.into_iter().map(|i| {
                                    let state = match i.resolved_at {
                                        Some(t) => format!(" — resolved {}", t.format("%H:%M UTC")),
                                        None => format!(" — {}", i.status.as_str().replace('_', " ")),
                                    };
                                    view! {
                                        <li class=format!("impact-{}", i.impact)>
                                            <a href=format!("/incidents/{}", i.id)>{i.name.clone()}</a>
                                            <span class="muted">{state}</span>
                                            {i.postmortem.as_ref().filter(|p| p.published_at.is_some()).map(|p| view! {
                                                " · " <a href=format!("/postmortems/{}", p.id)>"Post-mortem"</a>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="panel past" aria-labelledby="past-heading" data-testid="past-incidents">
            <h2 id="past-heading">"Past incidents"</h2>
            <ol class="plain-list days">{days}</ol>
            <p><a href="/history">"Incident history"</a></p>
        </section>
    }
}

#[component]
fn Status(summary: StatusSummary) -> impl IntoView {
    let banner_class = format!("banner banner-{}", summary.indicator.as_str());
    if summary.components.is_empty() {
        return view! {
            <section class="banner banner-unknown" role="status" data-testid="banner">
                <strong>"No monitors configured yet"</strong>
                <span>" — add [[component]] and [[monitor]] entries to the configuration file to publish their status here."</span>
            </section>
        }
        .into_any();
    }
    let mut groups: Vec<(Option<String>, Vec<ComponentSummary>)> = Vec::new();
    for c in summary.components.iter().cloned() {
        match groups.iter_mut().find(|(g, _)| *g == c.group) {
            Some((_, members)) => members.push(c),
            None => groups.push((c.group.clone(), vec![c])),
        }
    }
    let series: Vec<_> = summary
        .components
        .iter()
        .filter(|c| !c.latency_24h.is_empty())
        .map(|c| (c.name.clone(), c.latency_24h.clone()))
        .collect();
    // The database is out of reach: what follows is the last state Vigil knew, and says so.
    let as_of = summary.stale.then(|| {
        let at = summary.generated_at;
        view! {
            <p class="notice" role="status" data-testid="stale">
                "As of "<time datetime=at.to_rfc3339()>{at.format("%H:%M UTC").to_string()}</time>
                " — Vigil cannot reach its database right now; this is the last state it knew. "
                "It refreshes by itself when the database is back."
            </p>
        }
    });
    // A link shared during an incident previews "Example Org status — Partial System Outage".
    let shared = format!("{} — {}", crate::site_title(), summary.description);
    view! {
        <crate::ShareMeta title=shared/>
        {as_of}
        <section class=banner_class role="status" aria-live="polite" data-testid="banner">
            <strong>{summary.description.clone()}</strong>
            <span class="checked">
                " Updated "
                <time datetime=summary.generated_at.to_rfc3339()>{summary.generated_at.format("%H:%M:%S UTC").to_string()}</time>
            </span>
        </section>
        <section class="panel" aria-labelledby="incidents-heading" data-testid="active-incidents">
            <h2 id="incidents-heading">"Active incidents"</h2>
            {if summary.incidents.is_empty() {
                view! { <p class="muted" data-testid="no-incidents">"No incidents reported."</p> }.into_any()
            } else {
                summary.incidents.iter().cloned().map(|i| view! { <IncidentCard incident=i link=true/> }).collect_view().into_any()
            }}
        </section>
        {(!summary.maintenances.is_empty()).then(|| view! {
            <section class="panel" aria-labelledby="maintenance-heading" data-testid="maintenances">
                <h2 id="maintenance-heading">"Scheduled maintenance"</h2>
                {summary.maintenances.iter().cloned().map(|i| view! { <IncidentCard incident=i link=true/> }).collect_view()}
            </section>
        })}
        {groups.into_iter().map(|(group, members)| {
            let label = group.clone().unwrap_or_else(|| "Components".into());
            view! {
            <section class="panel group" aria-label=label>
                {group.map(|g| view! { <h2>{g}</h2> })}
                <ul class="components">
                    {members.into_iter().map(|c| view! { <Component c=c/> }).collect_view()}
                </ul>
            </section>
            }
        }).collect_view()}
        {(!summary.third_party.is_empty()).then(|| view! {
            <section class="panel group" aria-labelledby="third-party-heading" data-testid="third-party">
                <h2 id="third-party-heading">"Third-party services"</h2>
                <p class="muted">"As the providers' own status pages report them."</p>
                <ul class="components">
                    {summary.third_party.into_iter().map(|t| {
                        let (class, label) = match t.status {
                            Some(s) => (s.as_str(), s.label()),
                            None => ("unknown", "No data"),
                        };
                        view! {
                            <li class="component">
                                <div class="component-head">
                                    <span class="component-name">{format!("{} · {}", t.provider, t.component)}</span>
                                    <span class=format!("state state-{class}") data-testid="third-party-state">{label}</span>
                                </div>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        })}
        <section class="panel" aria-labelledby="latency-heading">
            <h2 id="latency-heading">"Response time, last 24 hours"</h2>
            <LatencyChart series=series now=summary.generated_at/>
        </section>
    }
    .into_any()
}

#[component]
fn Component(c: ComponentSummary) -> impl IntoView {
    let class = c.class();
    view! {
        <li class="component" data-testid=format!("component-{}", c.id) data-status=class>
            <div class="component-head">
                <span class="component-name">{c.name.clone()}</span>
                {c.description.clone().map(|d| view! { <span class="muted description">{d}</span> })}
                <span class=format!("state state-{class}") data-testid="component-state">{c.label()}</span>
                {c.regions.clone().map(|note| view! { <span class="muted regions" data-testid="component-regions">{note}</span> })}
            </div>
            <UptimeBar days=c.days.clone() uptime=c.uptime_90d uptime_30d=c.uptime_30d/>
        </li>
    }
}
