//! Response time over the last 24 hours: SVG drawn on the server, readable without JavaScript.
//! Missing data is drawn as a gap, never interpolated.

use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;

const W: f64 = 600.0;
const H: f64 = 120.0;
const PAD_L: f64 = 44.0;
const PAD_B: f64 = 18.0;
const PAD_T: f64 = 6.0;

/// A named line: (time, milliseconds) points, oldest first.
pub type Series = (String, Vec<(DateTime<Utc>, f64)>);

/// One line per series, with a legend.
#[component]
pub fn LatencyChart(series: Vec<Series>, now: DateTime<Utc>) -> impl IntoView {
    let start = now - Duration::hours(24);
    let max = series
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|p| p.1))
        .fold(1.0_f64, f64::max)
        * 1.1;
    let x =
        move |t: DateTime<Utc>| PAD_L + (t - start).num_seconds() as f64 / 86_400.0 * (W - PAD_L);
    let y = move |ms: f64| PAD_T + (1.0 - ms / max) * (H - PAD_T - PAD_B);
    let step = Duration::minutes(10);
    let paths: Vec<(String, String, usize)> = series
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| {
            let mut d = String::new();
            let mut prev: Option<DateTime<Utc>> = None;
            let mut run = 0;
            for (t, ms) in pts.iter().filter(|(t, _)| *t >= start) {
                let gap = prev.is_none_or(|p| *t - p > step + step);
                if gap && run == 1 {
                    // A lone point between gaps: a short stroke, drawn as a dot by the round cap.
                    d.push_str("l0.01,0 ");
                }
                run = if gap { 1 } else { run + 1 };
                d.push_str(&format!(
                    "{}{:.1},{:.1} ",
                    if gap { "M" } else { "L" },
                    x(*t),
                    y(*ms)
                ));
                prev = Some(*t);
            }
            if run == 1 {
                d.push_str("l0.01,0 ");
            }
            (name.clone(), d, i % 6)
        })
        .collect();
    let empty = paths.iter().all(|(_, d, _)| d.is_empty());
    let ticks: Vec<(f64, String, &str)> = (0..=4)
        .map(|i| {
            let t = start + Duration::hours(i * 6);
            let anchor = if i == 4 { "end" } else { "middle" };
            (x(t), t.format("%H:%M").to_string(), anchor)
        })
        .collect();
    view! {
        // Focusable: on a phone it scrolls sideways, and a keyboard must be able to scroll it.
        <figure class="chart" tabindex="0">
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label="Response time over the last 24 hours, in milliseconds">
                <line class="axis" x1=PAD_L y1=H - PAD_B x2=W y2=H - PAD_B/>
                <text class="tick" x=PAD_L - 4.0 y=PAD_T + 8.0 text-anchor="end">{format!("{:.0} ms", max)}</text>
                <text class="tick" x=PAD_L - 4.0 y=H - PAD_B text-anchor="end">"0"</text>
                {ticks.into_iter().map(|(tx, label, anchor)| view! {
                    <text class="tick" x=tx y=H - 4.0 text-anchor=anchor>{label}</text>
                }).collect_view()}
                {paths.iter().map(|(_, d, i)| view! {
                    <path class=format!("line line-{i}") d=d.clone() fill="none" stroke-linecap="round" stroke-linejoin="round"/>
                }).collect_view()}
                {empty.then(|| view! {
                    <text class="tick" x=W / 2.0 y=H / 2.0 text-anchor="middle">"No measurements yet"</text>
                })}
            </svg>
            <figcaption class="legend">
                {paths.into_iter().map(|(name, _, i)| view! {
                    <span class=format!("key key-{i}")>{name}</span>
                }).collect_view()}
                <span class="muted">" Times in UTC"</span>
            </figcaption>
        </figure>
    }
}
