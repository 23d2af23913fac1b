//! `/ops/slos`: each objective's target and what it achieved over its window, the error budget
//! left (a burn-down over the window), how fast it burns now and when it would run out, and its
//! burn-rate alerts. Maintenance left out or counted is said beside every figure.

use leptos::prelude::*;
use vigil_core::model::objective::{BurnDownPoint, ReportDay, SloReport, SloView};

use crate::api::{get_slo_reports, get_slos};
use crate::pages::reliability::duration;

/// A percentage with the precision objectives are written in: 99.95 %, 100 %.
fn percent(p: f64) -> String {
    let s = format!("{p:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} %")
}

fn rate(r: Option<f64>) -> String {
    r.map_or("no checks".into(), |r| format!("{r:.1}x"))
}

/// The budget left at the end of each day, as a line from 100 % down (below the axis once it
/// is exceeded). Drawn on the server: the page needs no script.
#[component]
fn BurnDown(points: Vec<BurnDownPoint>, days: i64) -> impl IntoView {
    let (w, h) = (300.0_f64, 80.0_f64);
    // From +100 % at the top to -50 % at the bottom; further below is drawn at the bottom.
    let y = move |r: f64| (1.0 - r.clamp(-0.5, 1.0)) / 1.5 * h;
    let x = move |i: usize| (i as f64 + 1.0) / days.max(1) as f64 * w;
    let mut path = format!("M0,{:.1}", y(1.0));
    for (i, p) in points.iter().enumerate() {
        path.push_str(&format!(" L{:.1},{:.1}", x(i), y(p.remaining)));
    }
    let last = points.last().map(|p| p.remaining).unwrap_or(1.0);
    let label = format!(
        "Error budget left, day by day: {} at the end of {}",
        percent(last * 100.0),
        points
            .last()
            .map(|p| p.day.to_string())
            .unwrap_or_else(|| "the first day".into())
    );
    let title = label.clone();
    view! {
        <svg class="burn-down" viewBox=format!("0 0 {w} {h}") width="300" height="80" role="img" aria-label=label data-testid="burn-down">
            <title>{title}</title>
            <line class="burn-down-zero" x1="0" x2=w.to_string() y1=format!("{:.1}", y(0.0)) y2=format!("{:.1}", y(0.0))/>
            <path class=if last < 0.0 { "burn-down-line over" } else { "burn-down-line" } d=path fill="none"/>
        </svg>
    }
}

#[component]
fn Objective(slo: SloView) -> impl IntoView {
    let days = (slo.window_end - slo.window_start).num_days();
    let scope = match (&slo.component, &slo.monitor) {
        (Some(c), _) => format!("component {c}"),
        (_, Some(m)) => format!("monitor {m}"),
        _ => String::new(),
    };
    let maintenance = if slo.maintenance_excluded {
        "maintenance left out"
    } else {
        "maintenance counted"
    };
    let achieved = slo
        .attained
        .achieved
        .map_or("no checks yet".into(), percent);
    let left = format!(
        "{} of the budget left ({:.0} min at full outage; {} of {:.1} allowed bad checks spent)",
        percent(slo.remaining * 100.0),
        slo.remaining_minutes.max(0.0),
        slo.attained.bad,
        slo.attained.allowed_bad
    );
    let runs_out = match slo.exhausted_in_secs {
        Some(0) => "spent".to_string(),
        Some(s) => format!("in {} at the last hour's rate", duration(Some(s as f64))),
        None => "not burning".to_string(),
    };
    let testid = format!("slo-{}", slo.id);
    let sli = match slo.threshold_ms {
        Some(ms) => format!("of checks within {ms} ms"),
        None => slo.sli.clone(),
    };
    view! {
        <section class="slo" data-testid=testid>
            <h2>{slo.name.clone()}</h2>
            <p class="muted">{format!("{} · {} {sli} over {} · {maintenance}{}", scope, percent(slo.target), slo.window, if slo.public { " · on the public page" } else { "" })}</p>
            {slo.error.clone().map(|e| view! { <p class="form-error" role="alert" data-testid="slo-error">{format!("Its figures cannot be read: {e}")}</p> })}
            <dl class="facts">
                <dt>"Achieved"</dt>
                <dd class=if slo.attained.met { "met" } else { "missed" } data-testid="achieved">{format!("{achieved} ({} of {} checks good)", slo.attained.good, slo.attained.total)}</dd>
                <dt>"Error budget"</dt><dd data-testid="budget">{left}</dd>
                <dt>"Burn rate"</dt><dd>{format!("{} over the last hour, {} over the window", rate(slo.burn_rate_now), rate(slo.burn_rate_window))}</dd>
                <dt>"Runs out"</dt><dd>{runs_out}</dd>
            </dl>
            <BurnDown points=slo.burn_down.clone() days=days/>
            <table class="table">
                <thead><tr><th>"Alert"</th><th>"Fires at"</th><th>"Long window"</th><th>"Short window"</th><th>"State"</th></tr></thead>
                <tbody>
                    {slo.alerts.into_iter().map(|a| {
                        let state = match (a.firing, a.since) {
                            (true, Some(t)) => format!("firing since {}", t.format("%Y-%m-%d %H:%M UTC")),
                            (true, None) => "firing".into(),
                            (false, _) => "quiet".into(),
                        };
                        view! {
                            <tr class=if a.firing { "firing" } else { "" }>
                                <td>{format!("{} ({})", a.id, a.severity)}</td>
                                <td>{format!("{}x", a.burn_rate)}</td>
                                <td>{format!("{}: {}", a.long, rate(a.long_rate))}</td>
                                <td>{format!("{}: {}", a.short, rate(a.short_rate))}</td>
                                <td>{state}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// `/ops/slos[?component=site]`: every objective, or one component's (its view of them).
#[component]
pub fn SlosPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_slos());
    let query = leptos_router::hooks::use_query_map();
    let component = Memo::new(move |_| query.read().get("component").filter(|c| !c.is_empty()));
    view! {
        <h1>"Objectives"</h1>
        <p class="muted">"Each objective's error budget: the share of checks its target allows to fail over its window. The alerts follow the SRE Workbook's multi-window burn rates; channels hear them as slo.burn. Scripts use GET /api/v1/slos; objectives are written like monitors (/api/v1/objectives, [[objective]] in a file)."</p>
        <p><a href="/ops/slos/report" data-testid="report-link">"Monthly report"</a>" — printable, one page per objective, with CSV."</p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(slos) if slos.is_empty() => view! {
                    <p class="muted" data-testid="no-slos">"No objectives yet. Add one in a file ([[objective]]) or through POST /api/v1/objectives."</p>
                }.into_any(),
                Ok(slos) => {
                    // Each component with objectives, as a link to its own view of them.
                    let mut components: Vec<String> = slos.iter().filter_map(|s| s.component.clone()).collect();
                    components.sort();
                    components.dedup();
                    let only = component.get();
                    view! {
                        <nav class="inline" data-testid="slo-components">"By component: "
                            <a href="/ops/slos" aria-current=only.is_none().then_some("page")>"all"</a>
                            {components.into_iter().map(|c| {
                                let current = (only.as_deref() == Some(c.as_str())).then_some("page");
                                view! { " · " <a href=format!("/ops/slos?component={c}") aria-current=current>{c.clone()}</a> }
                            }).collect_view()}
                        </nav>
                        {slos.into_iter()
                            .filter(|s| only.as_ref().is_none_or(|c| s.component.as_ref() == Some(c)))
                            .map(|slo| view! { <Objective slo=slo/> })
                            .collect_view()}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// Each day's SLI against the target, as bars: a day under the target is drawn red.
#[component]
fn DayBars(days: Vec<ReportDay>, target: f64) -> impl IntoView {
    let (w, h) = (620.0_f64, 90.0_f64);
    let n = days.len().max(28) as f64;
    let bar = w / n;
    // The axis spans from 2x the budget below the target up to 100 %.
    let floor = (100.0 - (100.0 - target) * 3.0).max(0.0);
    let y = move |p: f64| h - ((p - floor) / (100.0 - floor)).clamp(0.0, 1.0) * h;
    let label = format!(
        "Each day's result against the {} target: {} of {} days under it",
        percent(target),
        days.iter()
            .filter(|d| d.achieved.is_some_and(|a| a < target))
            .count(),
        days.len()
    );
    let title = label.clone();
    view! {
        <svg class="report-days" viewBox=format!("0 0 {w} {h}") width="620" height="90" role="img" aria-label=label data-testid="report-days">
            <title>{title}</title>
            <line class="report-target" x1="0" x2=w.to_string() y1=format!("{:.1}", y(target)) y2=format!("{:.1}", y(target))/>
            {days.into_iter().enumerate().filter_map(|(i, d)| {
                let a = d.achieved?;
                let top = y(a);
                Some(view! {
                    <rect class=if a < target { "day under" } else { "day" }
                        x=format!("{:.1}", i as f64 * bar + 1.0) width=format!("{:.1}", (bar - 2.0).max(1.0))
                        y=format!("{top:.1}") height=format!("{:.1}", (h - top).max(1.0))>
                        <title>{format!("{}: {} ({} of {})", d.day, percent(a), d.good, d.total)}</title>
                    </rect>
                })
            }).collect_view()}
        </svg>
    }
}

#[component]
fn Report(r: SloReport) -> impl IntoView {
    let csv = format!("/api/v1/slos/{}/report?month={}&format=csv", r.id, r.month);
    let what = match (r.sli.as_str(), r.threshold_ms) {
        ("latency", Some(ms)) => format!("checks answered within {ms} ms"),
        ("prometheus", _) => "good events over all events (Prometheus)".into(),
        _ => "checks that succeeded".into(),
    };
    let maintenance = if r.maintenance_excluded {
        "Maintenance left out of the counts."
    } else {
        "Maintenance counted."
    };
    let period = format!(
        "{} to {} UTC",
        r.from.format("%Y-%m-%d"),
        r.until.format("%Y-%m-%d %H:%M")
    );
    let testid = format!("report-{}", r.id);
    view! {
        <section class="report" data-testid=testid>
            <h2>{format!("{} — {}", r.name, r.month)}</h2>
            <p class="muted">{format!("{}{}. {period}. {maintenance}", what, r.component.as_ref().map(|c| format!(", component {c}")).unwrap_or_default())}</p>
            <dl class="facts">
                <dt>"Target"</dt><dd>{percent(r.target)}</dd>
                <dt>"Achieved"</dt>
                <dd class=if r.attained.met { "met" } else { "missed" } data-testid="report-achieved">{format!(
                    "{} — {} ({} of {} good)",
                    r.attained.achieved.map_or("no checks".into(), percent),
                    if r.attained.met { "met" } else { "missed" },
                    r.attained.good, r.attained.total
                )}</dd>
                <dt>"Budget spent"</dt><dd data-testid="report-spent">{format!("{} ({} bad of {:.1} allowed)", percent(r.attained.spent * 100.0), r.attained.bad, r.attained.allowed_bad)}</dd>
            </dl>
            <DayBars days=r.days.clone() target=r.target/>
            {if r.incidents.is_empty() {
                view! { <p class="muted">"No incident spent this month's budget."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="report-incidents">
                        <thead><tr><th>"Incident"</th><th>"Started"</th><th>"Resolved"</th><th>"Bad"</th><th>"Budget spent"</th></tr></thead>
                        <tbody>
                            {r.incidents.into_iter().map(|i| view! {
                                <tr>
                                    <td><a href=format!("/ops/incidents/{}", i.id)>{i.title}</a></td>
                                    <td>{i.started_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                    <td>{i.resolved_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "open".into())}</td>
                                    <td>{i.bad}</td>
                                    <td>{percent(i.spent * 100.0)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <p class="no-print"><a href=csv download data-testid="report-csv">"CSV"</a></p>
        </section>
    }
}

/// `/ops/slos/report?month=2026-11[&component=web]`: each objective over a calendar month, one
/// printed page each (the print stylesheet breaks between them).
#[component]
pub fn SloReportPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        (q.get("month"), q.get("component"))
    });
    let data = Resource::new(
        move || filter.get(),
        |(month, component)| get_slo_reports(month, component),
    );
    view! {
        <h1>"Objectives: monthly report"</h1>
        <form method="get" class="inline" data-testid="report-filter">
            <label>"Month " <input type="month" name="month" value=move || query.read().get("month").unwrap_or_default()/></label>
            <label>" component " <input name="component" size="10" value=move || query.read().get("component").unwrap_or_default()/></label>
            <button type="submit">"Show"</button>
        </form>
        <p class="print-hint muted">"Print this page (or save it as PDF) for one page per objective."</p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok((_, reports)) if reports.is_empty() => view! {
                    <p class="muted" data-testid="no-reports">"No objectives to report on."</p>
                }.into_any(),
                Ok((_, reports)) => reports.into_iter().map(|r| view! { <Report r=r/> }).collect_view().into_any(),
            })}
        </Transition>
    }
}
