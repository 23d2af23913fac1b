//! `/uptime`: every component's uptime month by month over the last year, like Statuspage's
//! uptime page — maintenance hours left out (and said so), the incidents behind each dip linked.
//! Complete without JavaScript; served from memory like the other public pages.

use leptos::prelude::*;

use crate::api::{get_public_slas, get_uptime};

/// The colour class of a month: the same steps as the 90-day bars.
fn class(uptime: Option<f64>) -> &'static str {
    match uptime {
        None => "unknown",
        Some(u) if u >= 0.999 => "operational",
        Some(u) if u >= 0.99 => "degraded_performance",
        Some(u) if u >= 0.95 => "partial_outage",
        Some(_) => "major_outage",
    }
}

fn percent(uptime: Option<f64>) -> String {
    match uptime {
        None => "no data".into(),
        Some(u) if u >= 1.0 => "100%".into(),
        Some(u) => format!("{:.2}%", (u * 100.0).min(99.99)),
    }
}

#[component]
pub fn UptimePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_uptime());
    let slas = Resource::new(|| (), |_| get_public_slas());
    view! {
        <crate::PageTitle text="Uptime"/>
        <header class="site-header">
            <a class="brand" href="/">{crate::site_title()}</a>
            <span class="tagline">"Uptime"</span>
        </header>
        <main class="page">
            <p class="muted">"The share of successful checks of each component, month by month (UTC). Scheduled maintenance is left out of the figures; each month says how many hours of it there were."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No components yet."</p> }.into_any(),
                    Ok(list) => list.into_iter().map(|c| view! {
                        <section class="panel" data-testid=format!("uptime-{}", c.id)>
                            <h2>{c.name}</h2>
                            <ol class="months">
                                {c.months.into_iter().map(|m| {
                                    let label = m.month.format("%B %Y").to_string();
                                    view! {
                                        <li class=format!("month state-{}", class(m.uptime)) data-month=m.month.format("%Y-%m").to_string()>
                                            <span class="month-name">{label}</span>
                                            <strong class="month-uptime">{percent(m.uptime)}</strong>
                                            {(m.maintenance_hours > 0).then(|| view! {
                                                <span class="muted">{format!(" · {} h maintenance excluded", m.maintenance_hours)}</span>
                                            })}
                                            {(!m.incidents.is_empty()).then(|| view! {
                                                <ul class="month-incidents">
                                                    {m.incidents.into_iter().map(|(id, name)| view! {
                                                        <li><a href=format!("/incidents/{id}")>{name}</a></li>
                                                    }).collect_view()}
                                                </ul>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                        </section>
                    }).collect_view().into_any(),
                })}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || slas.get().and_then(Result::ok).filter(|l| !l.is_empty()).map(|list| view! {
                    <section class="panel" data-testid="public-slas">
                        <h2>"Service level objectives"</h2>
                        <p class="muted">"Each objective the owner publishes, and whether each month (UTC) met it."</p>
                        {list.into_iter().map(|o| {
                            let target = format!("{:.3}", o.target);
                            let target = target.trim_end_matches('0').trim_end_matches('.').to_string();
                            view! {
                                <h3>{format!("{} — {} ({target} %)", o.name, o.component)}</h3>
                                <ol class="sla-months">
                                    {o.months.into_iter().map(|m| {
                                        let (class, word) = match m.met {
                                            Some(true) => ("sla-met", "met"),
                                            Some(false) => ("sla-missed", "missed"),
                                            None => ("sla-none", "no data"),
                                        };
                                        let achieved = m.achieved.map(|a| format!(" ({a:.3} %)")).unwrap_or_default();
                                        let month = m.month.clone();
                                        view! {
                                            <li class=class data-month=m.month>
                                                <span class="month-name">{month}</span>" "
                                                <strong>{word}</strong>{achieved}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ol>
                            }
                        }).collect_view()}
                    </section>
                })}
            </Suspense>
        </main>
        <footer class="site-footer">
            <a href="/">"Current status"</a>
            <span>" · "</span>
            <a href="/history">"Incident history"</a>
        </footer>
    }
}
