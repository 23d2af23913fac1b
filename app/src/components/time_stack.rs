//! Signals stacked on one shared time axis. Drawn on the server as SVG (every strip segment and
//! event mark has a tooltip, so it reads without JavaScript); after hydration a cursor follows the
//! pointer across all rows at once and reads every row at that instant.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use vigil_core::model::stack::{Line, Row, Stack};

const W: f64 = 1000.0;
const GRAPH_H: f64 = 80.0;

use vigil_core::model::stack::{fmt_time, line_path};

fn path(line: &Line, start: i64, span: f64, max: f64) -> String {
    line_path(line, start, span, max, W, GRAPH_H)
}

/// `cursor`: where the pointer is, as a fraction of the width. A page that refreshes the stack
/// (the live correlation view) owns it, so the reading stays put while the data moves under it.
#[component]
pub fn TimeStack(
    stack: Stack,
    #[prop(optional)] cursor: Option<RwSignal<Option<f64>>>,
) -> impl IntoView {
    let start = stack.from.timestamp_millis();
    let end = stack.to.timestamp_millis();
    let span_ms = (end - start).max(1);
    let span = span_ms as f64;
    let pct = move |t: i64| ((t - start) as f64 / span * 100.0).clamp(0.0, 100.0);
    let rows: Vec<Row> = stack
        .sections
        .iter()
        .flat_map(|s| s.rows.iter().cloned())
        .collect();
    let cursor = cursor.unwrap_or_else(|| RwSignal::new(None::<f64>));
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let readout_rows = rows.clone();
    let readout = move || {
        cursor.get().map(|f| {
            let t = start + (f * span) as i64;
            let when = DateTime::<Utc>::from_timestamp_millis(t)
                .unwrap_or_default()
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string();
            view! {
                <strong>{when}</strong>
                <ul>
                    {readout_rows.iter().map(|r| {
                        let line = format!("{}: {}", r.label(), r.read_at(t));
                        view! { <li>{line}</li> }
                    }).collect_view()}
                </ul>
            }
        })
    };
    let ticks: Vec<(f64, String)> = (0..=6)
        .map(|i| {
            let t = start + span_ms * i / 6;
            (pct(t), fmt_time(t, span_ms))
        })
        .collect();
    let marks = stack.marks.clone();
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let el = event_target::<leptos::web_sys::HtmlElement>(&ev);
        let w = f64::from(el.client_width().max(1));
        cursor.set(Some((f64::from(ev.offset_x()) / w).clamp(0.0, 1.0)));
    };
    view! {
        <div class="stack" data-testid="time-stack">
            <div class="stack-axis">
                <span class="stack-label muted">"UTC"</span>
                <div class="stack-ticks">
                    {ticks.into_iter().map(|(x, label)| view! {
                        <span class="tick" style=format!("left:{x:.2}%")>{label}</span>
                    }).collect_view()}
                </div>
            </div>
            {stack.sections.into_iter().map(|section| view! {
                <h2 class="stack-section">{section.title}</h2>
                {section.rows.into_iter().map(|row| view! { <StackRow row start span/> }).collect_view()}
            }).collect_view()}
            <div class="stack-row stack-events">
                <span class="stack-label">{format!("Events ({})", marks.len())}</span>
                <svg class="events" viewBox=format!("0 0 {W} 14") preserveAspectRatio="none" role="img" aria-label="Events">
                    {marks.iter().map(|m| {
                        let x = pct(m.t) * W / 100.0;
                        let title = format!("{} {}", fmt_time(m.t, 0), m.message);
                        view! {
                            <rect class=format!("mark mark-{}", m.tone) x=x - 1.5 y="0" width="3" height="14">
                                <title>{title}</title>
                            </rect>
                        }
                    }).collect_view()}
                </svg>
            </div>
            <div class="stack-overlay" aria-hidden="true">
                {marks.iter().map(|m| view! {
                    <span class=format!("mark-line mark-{}", m.tone) style=format!("left:{:.2}%", pct(m.t))></span>
                }).collect_view()}
                {move || cursor.get().map(|f| view! {
                    <span class="cursor-line" style=format!("left:{:.2}%", f * 100.0)></span>
                })}
                {move || hydrated.get().then(|| view! {
                    <div class="stack-hit" data-testid="stack-hit"
                        on:mousemove=on_move
                        on:mouseleave=move |_| cursor.set(None)></div>
                })}
            </div>
        </div>
        <div class="stack-readout" data-testid="cursor-readout" aria-live="polite">
            {move || match readout() {
                Some(v) => v.into_any(),
                None => view! {
                    <span class="muted">"Point at the rows to read every signal at one instant."</span>
                }.into_any(),
            }}
        </div>
        <details class="stack-log">
            <summary>{format!("{} events in this window", stack.marks.len())}</summary>
            <table class="table" data-testid="events-table">
                <thead><tr><th>"When (UTC)"</th><th>"Event"</th><th>"What"</th></tr></thead>
                <tbody>
                    {stack.marks.into_iter().map(|m| view! {
                        <tr class=format!("tone-{}", m.tone)>
                            <td>{DateTime::<Utc>::from_timestamp_millis(m.t).unwrap_or_default().format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                            <td>{m.kind}</td>
                            <td>{m.message}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </details>
    }
}

#[component]
fn StackRow(row: Row, start: i64, span: f64) -> impl IntoView {
    match row {
        Row::States { label, segments } => view! {
            <div class="stack-row" data-testid="stack-states">
                <span class="stack-label" title=label.clone()>{label.clone()}</span>
                <svg class="strip" viewBox=format!("0 0 {W} 14") preserveAspectRatio="none" role="img" aria-label=label>
                    {segments.into_iter().map(|s| {
                        let x = (s.from - start) as f64 / span * W;
                        let w = ((s.to - s.from) as f64 / span * W).max(0.5);
                        let title = format!("{}: {} – {}", s.state, fmt_time(s.from, 0), fmt_time(s.to, 0));
                        view! {
                            <rect class=format!("seg seg-{}", s.state.to_lowercase()) x=x y="0" width=w height="14">
                                <title>{title}</title>
                            </rect>
                        }
                    }).collect_view()}
                </svg>
            </div>
        }
        .into_any(),
        Row::Graph { label, unit, lines, threshold, max } => {
            let top = unit.format(max);
            let paths: Vec<(String, String, usize)> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| (l.name.clone(), path(l, start, span, max), i % 6))
                .collect();
            let empty = lines.iter().all(|l| l.points.is_empty());
            view! {
                <div class="stack-row stack-graph" data-testid="stack-graph">
                    <div class="stack-label">
                        <span>{label.clone()}</span>
                        <span class="muted small">{format!("0 – {top}")}</span>
                        <span class="legend">
                            {paths.iter().map(|(name, _, i)| view! {
                                <span class=format!("key key-{i}")>{name.clone()}</span>
                            }).collect_view()}
                        </span>
                    </div>
                    <svg viewBox=format!("0 0 {W} {GRAPH_H}") preserveAspectRatio="none" role="img" aria-label=label>
                        {threshold.map(|th| {
                            let y = GRAPH_H - (th / max).clamp(0.0, 1.0) * GRAPH_H;
                            view! {
                                <line class="threshold" x1="0" x2=W y1=y y2=y vector-effect="non-scaling-stroke">
                                    <title>{format!("alert threshold {}", unit.format(th))}</title>
                                </line>
                            }
                        })}
                        {paths.into_iter().map(|(name, d, i)| view! {
                            <path class=format!("line line-{i}") d=d fill="none" vector-effect="non-scaling-stroke"
                                stroke-linecap="round" stroke-linejoin="round">
                                <title>{name}</title>
                            </path>
                        }).collect_view()}
                        {empty.then(|| view! {
                            <text class="tick" x=W / 2.0 y=GRAPH_H / 2.0 text-anchor="middle">"No data in this window"</text>
                        })}
                    </svg>
                </div>
            }
            .into_any()
        }
    }
}
