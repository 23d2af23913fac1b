//! `/ops/reliability`: are incidents getting rarer and shorter? Figures computed from what Vigil
//! recorded — per component and month: incidents, time to detect, acknowledge and resolve,
//! minutes per state — follow-up completion, and the post-mortems by component and contributing
//! factor. Filters are plain links and a GET form (no script needed).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use vigil_core::model::reliability::{Figures, FACTORS};

use crate::api::get_reliability;

/// Seconds as people read durations: "45 s", "6 min", "1 h 20 min".
pub fn duration(secs: Option<f64>) -> String {
    let Some(s) = secs else {
        return "—".into();
    };
    let s = s.round() as i64;
    match s {
        s if s < 90 => format!("{s} s"),
        s if s < 3600 => format!("{} min", (s + 30) / 60),
        s => format!("{} h {} min", s / 3600, (s % 3600 + 30) / 60),
    }
}

fn minutes(f: &Figures) -> String {
    if f.minutes_by_state.is_empty() {
        return "—".into();
    }
    f.minutes_by_state
        .iter()
        .map(|(state, m)| format!("{}: {m:.0} min", state.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
pub fn ReliabilityPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        (q.get("from"), q.get("to"), q.get("component"), q.get("tag"))
    });
    let data = Resource::new(
        move || filter.get(),
        |(from, to, component, tag)| get_reliability(from, to, component, tag),
    );
    view! {
        <h1>"Reliability"</h1>
        <p class="muted">"Computed from the record: detection runs from the first failing signal (a monitor down or degraded, or evidence attached) to the incident's opening; acknowledgement to the first update by a person; resolution to its end. Scripts use GET /api/v1/reliability."</p>
        <form method="get" class="inline" data-testid="reliability-filter">
            <label>"From " <input type="date" name="from" value=move || query.read().get("from").unwrap_or_default()/></label>
            <label>" to " <input type="date" name="to" value=move || query.read().get("to").unwrap_or_default()/></label>
            <label>" component " <input name="component" size="10" value=move || query.read().get("component").unwrap_or_default()/></label>
            <button type="submit">"Show"</button>
        </form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(rel) => {
                    let f = rel.follow_ups.clone();
                    view! {
                        <p class="muted">{format!("{} to {} (exclusive){}", rel.from, rel.to, rel.component.as_ref().map(|c| format!(", component {c}")).unwrap_or_default())}</p>
                        <dl class="facts" data-testid="reliability-overall">
                            <dt>"Incidents"</dt><dd>{rel.overall.incidents}{(rel.overall.unresolved > 0).then(|| format!(" ({} open)", rel.overall.unresolved))}</dd>
                            <dt>"Mean time to detect"</dt><dd data-testid="mttd">{duration(rel.overall.time_to_detect_secs)}</dd>
                            <dt>"Mean time to acknowledge"</dt><dd data-testid="mtta">{duration(rel.overall.time_to_acknowledge_secs)}</dd>
                            <dt>"Mean time to resolve"</dt><dd data-testid="mttr">{duration(rel.overall.time_to_resolve_secs)}</dd>
                            <dt>"Customer-facing"</dt><dd>{minutes(&rel.overall)}</dd>
                            <dt>"Follow-ups handled"</dt><dd data-testid="follow-up-rate">{match f.completion_rate {
                                Some(r) => format!("{:.0} % ({} done, {} won't do, {} open, {} overdue)", r * 100.0, f.done, f.wont_do, f.open, f.overdue),
                                None => "none yet".to_string(),
                            }}</dd>
                        </dl>
                        <h2>"By component and month"</h2>
                        {if rel.months.is_empty() {
                            view! { <p class="muted">"No incidents in this period."</p> }.into_any()
                        } else {
                            view! {
                                <table class="table" data-testid="reliability-months">
                                    <thead><tr><th>"Month"</th><th>"Component"</th><th>"Incidents"</th><th>"Detect"</th><th>"Acknowledge"</th><th>"Resolve"</th><th>"Customer-facing"</th></tr></thead>
                                    <tbody>
                                        {rel.months.into_iter().map(|m| view! {
                                            <tr data-testid=format!("month-{}-{}", m.month.format("%Y-%m"), m.component_id)>
                                                <td>{m.month.format("%B %Y").to_string()}</td>
                                                <td><a href=format!("?component={}", m.component_id)>{m.component.clone()}</a></td>
                                                <td>{m.incident_ids.iter().map(|id| view! { <a href=format!("/ops/incidents/{id}")>{format!("#{id}")}</a>" " }).collect_view()}</td>
                                                <td>{duration(m.figures.time_to_detect_secs)}</td>
                                                <td>{duration(m.figures.time_to_acknowledge_secs)}</td>
                                                <td>{duration(m.figures.time_to_resolve_secs)}</td>
                                                <td>{minutes(&m.figures)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                        <h2>"Post-mortems"</h2>
                        <nav class="ranges" aria-label="Contributing factor">
                            <a href="?">"All"</a>
                            {FACTORS.into_iter().map(|t| view! { <a href=format!("?tag={t}")>{t}</a> }).collect_view()}
                        </nav>
                        {if rel.postmortems.is_empty() {
                            view! { <p class="muted">"None match."</p> }.into_any()
                        } else {
                            view! {
                                <table class="table" data-testid="reliability-postmortems">
                                    <thead><tr><th>"Post-mortem"</th><th>"Components"</th><th>"Contributing factors"</th><th>"Published"</th></tr></thead>
                                    <tbody>
                                        {rel.postmortems.into_iter().map(|p| view! {
                                            <tr>
                                                <td><a href=format!("/ops/postmortems/{}", p.id)>{p.title.clone()}</a></td>
                                                <td>{p.components.join(", ")}</td>
                                                <td>{p.tags.join(", ")}</td>
                                                <td>{p.published_at.map(super::when).unwrap_or_else(|| "draft".into())}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                    }.into_any()
                }
            })}
        </Transition>
    }
}
