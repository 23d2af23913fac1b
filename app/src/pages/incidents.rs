//! Incidents: the public history and incident pages, and the editors' pages under `/ops`. Every
//! form is a plain HTML form posting to a server function, so it works without JavaScript; text
//! people type is rendered as text (escaped), never as markup.

use chrono::Utc;
use leptos::prelude::*;

use super::when;
use leptos_router::hooks::use_params_map;
use vigil_core::model::incident::{
    Impact, IncidentKind, IncidentStatus, IncidentView, MaintenanceStatus,
};

use crate::api::{
    get_deliveries, get_history, get_incident, get_ops_incidents, postmortems::DraftPostmortem,
    ChangeIncident, CreateIncident, PostIncidentUpdate, ScheduleMaintenance,
};

fn status_words(s: &str) -> String {
    let mut w = s.replace('_', " ");
    if let Some(first) = w.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    w
}

/// An incident as a panel: status, components, and its public timeline.
#[component]
pub fn IncidentCard(incident: IncidentView, #[prop(optional)] link: bool) -> impl IntoView {
    let title = incident.name.clone();
    let href = format!("/incidents/{}", incident.id);
    let kind_class = format!(
        "incident incident-{} impact-{}",
        incident.status, incident.impact
    );
    let components = incident
        .components
        .iter()
        .map(|c| c.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let schedule = incident
        .scheduled_for
        .zip(incident.scheduled_until)
        .map(|(f, u)| format!("Scheduled {} – {}", when(f), when(u)));
    // The incident's own page says all of it: impact, when, how long, each component as it is.
    let facts = (!link).then(|| incident_facts(&incident));
    view! {
        <article class=kind_class data-testid="incident">
            <h3>
                {if link { view! { <a href=href>{title}</a> }.into_any() } else { view! { <span>{title}</span> }.into_any() }}
                <span class=format!("badge badge-{}", incident.status)>{incident.status.label()}</span>
            </h3>
            {schedule.map(|s| view! { <p class="muted">{s}</p> })}
            {facts}
            {(link && !components.is_empty()).then(|| view! { <p class="muted">"Affects: " {components}</p> })}
            {(!link).then(|| view! {
                <p><a href=format!("/incidents/{}/feed.atom", incident.id) data-testid="incident-feed">"Follow this incident (Atom feed)"</a></p>
            })}
            {incident.postmortem.as_ref().filter(|p| p.published_at.is_some()).map(|p| view! {
                <p><a href=format!("/postmortems/{}", p.id) data-testid="postmortem-link">"Read the post-mortem"</a></p>
            })}
            <ol class="timeline">
                {incident.updates.into_iter().filter(|u| !u.internal).map(|u| view! {
                    <li>
                        <strong>{status_words(&u.status)}</strong>
                        " — "
                        <span class="update-body">{u.body}</span>
                        <time class="muted" datetime=u.created_at.to_rfc3339()>{format!(" {}", when(u.created_at))}</time>
                    </li>
                }).collect_view()}
            </ol>
        </article>
    }
}

/// An incident's impact, times and components, for its own page. The impact is said in words
/// beside its colour; each component's state too.
fn incident_facts(i: &IncidentView) -> AnyView {
    let maintenance = i.kind == IncidentKind::Maintenance;
    let impact = (!maintenance).then(|| {
        let words = match i.impact {
            Impact::None => "None",
            Impact::Minor => "Minor",
            Impact::Major => "Major",
            Impact::Critical => "Critical",
        };
        view! {
            <dt>"Impact"</dt>
            <dd><span class=format!("impact impact-{}", i.impact) data-testid="incident-impact">{words}</span></dd>
        }
    });
    let start = if maintenance {
        i.scheduled_for.unwrap_or(i.started_at)
    } else {
        i.started_at
    };
    let end = i.resolved_at;
    let lasted = end
        .map(|e| duration_words(e - start))
        .unwrap_or_else(|| format!("{} so far", duration_words(Utc::now() - start)));
    let components = i.components.clone();
    view! {
        <dl class="facts incident-facts" data-testid="incident-facts">
            {impact}
            <dt>{if maintenance { "Starts" } else { "Started" }}</dt>
            <dd><time datetime=start.to_rfc3339()>{when(start)}</time></dd>
            {end.map(|e| view! {
                <dt>{if maintenance { "Completed" } else { "Resolved" }}</dt>
                <dd><time datetime=e.to_rfc3339()>{when(e)}</time></dd>
            })}
            <dt>"Duration"</dt>
            <dd data-testid="incident-duration">{lasted}</dd>
        </dl>
        {(!components.is_empty()).then(|| view! {
            <h4>"Affected components"</h4>
            <ul class="components affected" data-testid="affected-components">
                {components.into_iter().map(|c| view! {
                    <li class="component">
                        <div class="component-head">
                            <span class="component-name">{c.name}</span>
                            <span class=format!("state state-{}", c.status)>{status_words(&c.status)}</span>
                        </div>
                    </li>
                }).collect_view()}
            </ul>
        })}
    }
    // Erased: the card's type is deep enough for the browser build's type checker already.
    .into_any()
}

/// "2 h 5 min", "38 min", "under a minute".
fn duration_words(d: chrono::Duration) -> String {
    let minutes = d.num_minutes().max(0);
    match (minutes / 1440, minutes / 60 % 24, minutes % 60) {
        (0, 0, 0) => "under a minute".into(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// `/history`: incidents of the last year by month.
#[component]
pub fn HistoryPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_history());
    view! {
        <crate::PageTitle text="Incident history"/>
        <header class="site-header">
            <a class="brand" href="/">{crate::site_title()}</a>
            <span class="tagline">"Incident history"</span>
        </header>
        <main class="page">
            <p><a href="/history.atom">"Atom feed"</a>" · "<a href="/history.rss">"RSS feed"</a></p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-history">"No incidents in the last year."</p> }.into_any(),
                    Ok(list) => {
                        let mut months: Vec<(String, Vec<IncidentView>)> = Vec::new();
                        for i in list {
                            let m = i.started_at.format("%B %Y").to_string();
                            match months.last_mut() {
                                Some((name, items)) if *name == m => items.push(i),
                                _ => months.push((m, vec![i])),
                            }
                        }
                        months.into_iter().map(|(m, items)| view! {
                            <section class="panel">
                                <h2>{m}</h2>
                                {items.into_iter().map(|i| view! { <IncidentCard incident=i link=true/> }).collect_view()}
                            </section>
                        }).collect_view().into_any()
                    }
                })}
            </Suspense>
        </main>
    }
}

/// A number from the route (`/incidents/{id}`), `None` when it is not one.
pub fn int_param(name: &'static str) -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get(name).and_then(|s| s.parse().ok()))
}

/// A public page below the history: the site header with the way back, then the content.
#[component]
pub fn HistoryFrame(children: Children) -> impl IntoView {
    view! {
        <header class="site-header">
            <a class="brand" href="/">{crate::site_title()}</a>
            <a class="tagline" href="/history">"Incident history"</a>
        </header>
        <main class="page">
            {children()}
            <p class="back"><a href="/" data-testid="back-to-status">"← Current status"</a></p>
        </main>
    }
}

/// `/incidents/{id}`: one incident, public.
#[component]
pub fn IncidentPage() -> impl IntoView {
    let id = int_param("id");
    let data = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_incident(id, false).await,
                None => Ok(None),
            }
        },
    );
    view! {
        <crate::PageTitle text="Incident"/>
        <HistoryFrame>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(Some(i)) => view! { <IncidentCard incident=i/> }.into_any(),
                    Ok(None) => view! { <p data-testid="not-found">"There is no such incident."</p> }.into_any(),
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </HistoryFrame>
    }
}

/// Options for a status select of `kind`.
fn status_options(kind: IncidentKind, current: &str, allow_keep: bool) -> impl IntoView {
    let names: Vec<&'static str> = if kind == IncidentKind::Maintenance {
        MaintenanceStatus::ALL.iter().map(|s| s.as_str()).collect()
    } else {
        IncidentStatus::ALL.iter().map(|s| s.as_str()).collect()
    };
    let current = current.to_string();
    view! {
        {allow_keep.then(|| view! { <option value="">"(keep status)"</option> })}
        {names.into_iter().map(|n| {
            let selected = !allow_keep && n == current;
            view! { <option value=n selected=selected>{status_words(n)}</option> }
        }).collect_view()}
    }
}

fn impact_options(current: &str) -> impl IntoView {
    let current = current.to_string();
    Impact::ALL
        .iter()
        .map(|i| {
            let n = i.as_str();
            view! { <option value=n selected={n == current}>{status_words(n)}</option> }
        })
        .collect_view()
}

fn component_boxes(choices: &[(String, String)], chosen: &[String]) -> impl IntoView {
    choices
        .iter()
        .map(|(id, name)| {
            let checked = chosen.contains(id);
            view! {
                <label class="check">
                    <input type="checkbox" name="components[]" value=id.clone() checked=checked/>
                    {name.clone()}
                </label>
            }
        })
        .collect_view()
}

/// `/ops/incidents`: every incident and maintenance, and forms to open or schedule one.
#[component]
pub fn OpsIncidentsPage() -> impl IntoView {
    let create = ServerAction::<CreateIncident>::new();
    let schedule = ServerAction::<ScheduleMaintenance>::new();
    let data = Resource::new(
        move || (create.version().get(), schedule.version().get()),
        |_| get_ops_incidents(),
    );
    view! {
        <h1>"Incidents"</h1>
        {move || create.value().get().and_then(Result::err).or_else(|| schedule.value().get().and_then(Result::err)).map(|e| view! {
            <p class="form-error" role="alert">{e.to_string()}</p>
        })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(page) => {
                    let incident_boxes = component_boxes(&page.components, &[]);
                    let maintenance_boxes = component_boxes(&page.components, &[]);
                    view! {
                        <table class="table" data-testid="incidents-table">
                            <thead><tr><th>"Incident"</th><th>"Kind"</th><th>"Status"</th><th>"Impact"</th><th>"Started"</th><th>"By"</th></tr></thead>
                            <tbody>
                                {page.incidents.into_iter().map(|i| view! {
                                    <tr data-testid=format!("incident-{}", i.id)>
                                        <td><a href=format!("/ops/incidents/{}", i.id)>{i.name.clone()}</a></td>
                                        <td>{i.kind.as_str()}</td>
                                        <td><span class=format!("badge badge-{}", i.status)>{i.status.label()}</span></td>
                                        <td>{i.impact.as_str()}</td>
                                        <td>{when(i.started_at)}</td>
                                        <td>{if i.automatic { if i.taken_over { "Vigil, then a person" } else { "Vigil" } } else { "a person" }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <details class="panel" open=true>
                            <summary>"Open an incident"</summary>
                            <ActionForm action=create attr:class="stack-form" attr:data-testid="new-incident">
                                <label>"Title" <input name="name" required maxlength="200"/></label>
                                <label>"Status" <select name="status">{status_options(IncidentKind::Incident, "investigating", false)}</select></label>
                                <label>"Impact" <select name="impact">{impact_options("minor")}</select></label>
                                <fieldset><legend>"Affected components"</legend>{incident_boxes}</fieldset>
                                <label>"First update (public)" <textarea name="body" rows="3"></textarea></label>
                                <button type="submit">"Open incident"</button>
                            </ActionForm>
                        </details>
                        <details class="panel">
                            <summary>"Schedule a maintenance"</summary>
                            <ActionForm action=schedule attr:class="stack-form" attr:data-testid="new-maintenance">
                                <label>"Title" <input name="name" required maxlength="200"/></label>
                                <label>"From (UTC)" <input type="datetime-local" name="scheduled_for" required/></label>
                                <label>"Until (UTC)" <input type="datetime-local" name="scheduled_until" required/></label>
                                <fieldset><legend>"Components"</legend>{maintenance_boxes}</fieldset>
                                <label>"Details (public)" <textarea name="body" rows="3"></textarea></label>
                                <button type="submit">"Schedule"</button>
                            </ActionForm>
                        </details>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// `/ops/incidents/{id}`: the whole timeline with internal notes and evidence, and the forms to
/// post an update, change the status, impact or components, or resolve.
#[component]
pub fn OpsIncidentPage() -> impl IntoView {
    let id = int_param("id");
    let post = ServerAction::<PostIncidentUpdate>::new();
    let change = ServerAction::<ChangeIncident>::new();
    let draft = ServerAction::<DraftPostmortem>::new();
    let data = Resource::new(
        move || (id.get(), post.version().get(), change.version().get()),
        |(id, _, _)| async move {
            let page = get_ops_incidents().await?;
            let one = match id {
                Some(id) => get_incident(id, true).await?,
                None => None,
            };
            Ok::<_, ServerFnError>((one, page.components))
        },
    );
    view! {
        {move || post.value().get().and_then(Result::err).or_else(|| change.value().get().and_then(Result::err)).or_else(|| draft.value().get().and_then(Result::err)).map(|e| view! {
            <p class="form-error" role="alert">{e.to_string()}</p>
        })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok((None, _)) => view! { <p>"There is no such incident."</p> }.into_any(),
                Ok((Some(i), choices)) => {
                    let (from, to) = i.window(Utc::now());
                    let correlate = format!("/ops?from={}&to={}", from.to_rfc3339().replace('+', "%2B"), to.to_rfc3339().replace('+', "%2B"));
                    let chosen: Vec<String> = i.components.iter().map(|c| c.id.clone()).collect();
                    let kind = i.kind;
                    view! {
                        <h1 data-testid="incident-title">{i.name.clone()}</h1>
                        <p>
                            <span class=format!("badge badge-{}", i.status) data-testid="incident-status">{i.status.label()}</span>
                            {format!(" {} · impact {} · started {}", i.kind, i.impact, when(i.started_at))}
                            {i.resolved_at.map(|r| format!(" · resolved {}", when(r)))}
                            {i.automatic.then_some(if i.taken_over { " · opened by Vigil, now handled by a person" } else { " · opened by Vigil" })}
                        </p>
                        <p><a href=correlate data-testid="correlate">"See this window in the correlation view"</a>" · "<a href=format!("/incidents/{}", i.id)>"Public page"</a></p>
                        {(!i.is_maintenance()).then(|| match i.postmortem.as_ref() {
                            Some(p) => view! {
                                <p><a href=format!("/ops/postmortems/{}", p.id) data-testid="open-postmortem">
                                    {if p.published_at.is_some() { "Post-mortem (published)" } else { "Post-mortem (draft)" }}
                                </a></p>
                            }.into_any(),
                            None => view! {
                                <ActionForm action=draft attr:class="inline" attr:data-testid="draft-postmortem">
                                    <input type="hidden" name="incident_id" value=i.id.to_string()/>
                                    <button type="submit">"Draft the post-mortem from what Vigil recorded"</button>
                                </ActionForm>
                            }.into_any(),
                        })}
                        <h2>"Timeline"</h2>
                        <ol class="timeline" data-testid="timeline">
                            {i.updates.iter().cloned().map(|u| view! {
                                <li class:internal=u.internal>
                                    <strong>{if u.internal { "Internal note".to_string() } else { status_words(&u.status) }}</strong>
                                    " — "<span class="update-body">{u.body}</span>
                                    <span class="muted">{format!(" {} · {}", when(u.created_at), u.author)}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                        {(!i.is_maintenance()).then(|| view! {
                            <crate::components::causes::CausesPanel incident_id=i.id open=i.resolved_at.is_none()/>
                        })}
                        {(!i.evidence.is_empty()).then(|| view! {
                            <h2>"Evidence Vigil attached"</h2>
                            <ul class="evidence" data-testid="evidence">
                                {i.evidence.iter().cloned().map(|e| view! {
                                    <li><time>{when(e.at)}</time>" "<code>{e.kind}</code>" "{e.message}</li>
                                }).collect_view()}
                            </ul>
                        })}
                        <h2>"Post an update"</h2>
                        <ActionForm action=post attr:class="stack-form" attr:data-testid="post-update">
                            <input type="hidden" name="id" value=i.id.to_string()/>
                            <label>"Update" <textarea name="body" rows="3" required></textarea></label>
                            <label>"New status" <select name="status">{status_options(kind, i.status.as_str(), true)}</select></label>
                            <label class="check"><input type="checkbox" name="internal" value="on"/>"Internal note (never public)"</label>
                            <button type="submit">"Post"</button>
                        </ActionForm>
                        <h2>"Change"</h2>
                        <ActionForm action=change attr:class="stack-form" attr:data-testid="change-incident">
                            <input type="hidden" name="id" value=i.id.to_string()/>
                            <label>"Title" <input name="name" value=i.name.clone() required maxlength="200"/></label>
                            <label>"Impact" <select name="impact">{impact_options(i.impact.as_str())}</select></label>
                            <fieldset><legend>"Components"</legend>{component_boxes(&choices, &chosen)}</fieldset>
                            <button type="submit">"Save"</button>
                        </ActionForm>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// `/ops/notifications`: every delivery attempt's outcome. Admins.
#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_deliveries());
    view! {
        <h1>"Notification deliveries"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="muted">"Nothing sent yet. Add [[notify]] channels to the configuration."</p> }.into_any(),
                Ok(list) => view! {
                    <table class="table" data-testid="deliveries-table">
                        <thead><tr><th>"#"</th><th>"Channel"</th><th>"Event"</th><th>"State"</th><th>"Attempts"</th><th>"Last answer"</th><th>"Queued"</th><th>"Delivered"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|d| { let state = d.state.clone(); view! {
                                <tr data-state=state>
                                    <td>{d.id}</td>
                                    <td>{d.channel}</td>
                                    <td>{format!("{} {}", d.event_kind, d.subject)}</td>
                                    <td>{d.state}</td>
                                    <td>{d.attempts}</td>
                                    <td class="error-cell">{d.last_error.or_else(|| d.last_status.map(|s| format!("HTTP {s}"))).unwrap_or_default()}</td>
                                    <td>{when(d.created_at)}</td>
                                    <td>{d.delivered_at.map(when).unwrap_or_default()}</td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Suspense>
    }
}
