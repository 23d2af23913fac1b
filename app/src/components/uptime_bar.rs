//! Ninety days in one row: a cell a day, coloured by how that day went, with the numbers in words
//! on hover and keyboard focus.

use leptos::prelude::*;
use vigil_core::model::status::DaySummary;

#[component]
pub fn UptimeBar(
    days: Vec<DaySummary>,
    uptime: Option<f64>,
    /// Over the last 30 days: a phone shows 30 cells, and the figure beside them says so.
    uptime_30d: Option<f64>,
) -> impl IntoView {
    let over = |uptime: Option<f64>, days: u32| match uptime {
        Some(u) => format!("{} uptime over {days} days", percent(u)),
        None => format!("No data for the last {days} days"),
    };
    let summary = over(uptime, 90);
    let summary_30 = over(uptime_30d, 30);
    view! {
        <div class="uptime">
            <ol class="uptime-bar" aria-label=summary.clone()>
                {days.into_iter().map(|d| {
                    let class = d.status.map(|s| s.as_str()).unwrap_or("unknown");
                    let words = d.status.map(|s| s.label()).unwrap_or("No data");
                    let mut tip = match d.uptime {
                        Some(u) => format!("{}: {} ({} uptime)", d.date.format("%b %-d, %Y"), words, percent(u)),
                        None => format!("{}: no data", d.date.format("%b %-d, %Y")),
                    };
                    if !d.incidents.is_empty() {
                        tip.push_str(&format!(". Incidents: {}", d.incidents.join("; ")));
                    }
                    // The tooltip is drawn by CSS from the label, so the text is sent once.
                    view! { <li class=format!("day day-{class}") tabindex="0" aria-label=tip></li> }
                }).collect_view()}
            </ol>
            <div class="uptime-legend">
                <span class="span-90">"90 days ago"</span>
                <span class="span-30">"30 days ago"</span>
                <span class="span-90" data-testid="uptime">{summary}</span>
                <span class="span-30" data-testid="uptime-30">{summary_30}</span>
                <span>"Today"</span>
            </div>
        </div>
    }
}

pub fn percent(u: f64) -> String {
    let p = u * 100.0;
    if p >= 99.995 {
        "100%".into()
    } else {
        format!("{p:.2}%")
    }
}
