//! A snapshot as one standalone SVG file, for the Markdown export: the same rows on the same time
//! axis as the ops pages draw, with its colours inside, readable in any viewer or Git host.

use crate::model::stack::{fmt_time, line_path, Row, Stack};

const LABEL_W: f64 = 220.0;
const PLOT_W: f64 = 760.0;
const STRIP_H: f64 = 14.0;
const GRAPH_H: f64 = 80.0;
const GAP: f64 = 10.0;
const LINE_COLOURS: [&str; 6] = [
    "#1971c2", "#9c36b5", "#0c8599", "#e8590c", "#5c940d", "#c2255c",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn state_colour(state: &str) -> &'static str {
    match state.to_lowercase().as_str() {
        "up" => "#2f9e44",
        "down" => "#e03131",
        "degraded" | "flapping" => "#f59f00",
        "paused" => "#1971c2",
        _ => "#868e96",
    }
}

fn tone_colour(tone: &str) -> &'static str {
    match tone {
        "bad" => "#e03131",
        "good" => "#2f9e44",
        _ => "#1971c2",
    }
}

/// The stack as an SVG document, titled with `caption`.
pub fn stack_svg(stack: &Stack, caption: &str) -> String {
    let start = stack.from.timestamp_millis();
    let span_ms = (stack.to.timestamp_millis() - start).max(1);
    let span = span_ms as f64;
    let x_of = |t: i64| LABEL_W + ((t - start) as f64 / span).clamp(0.0, 1.0) * PLOT_W;
    let mut body = String::new();
    let mut y = 40.0;
    // The time axis.
    for i in 0..=6 {
        let t = start + span_ms * i / 6;
        body.push_str(&format!(
            r##"<text x="{:.1}" y="{y:.1}" class="tick" text-anchor="middle">{}</text>"##,
            x_of(t),
            fmt_time(t, span_ms)
        ));
    }
    y += 8.0;
    for section in &stack.sections {
        y += 18.0;
        body.push_str(&format!(
            r#"<text x="0" y="{y:.1}" class="section">{}</text>"#,
            esc(&section.title)
        ));
        y += 6.0;
        for row in &section.rows {
            match row {
                Row::States { label, segments } => {
                    body.push_str(&format!(
                        r#"<text x="0" y="{:.1}" class="label">{}</text>"#,
                        y + 11.0,
                        esc(label)
                    ));
                    for s in segments {
                        let (x0, x1) = (x_of(s.from), x_of(s.to));
                        body.push_str(&format!(
                            r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{STRIP_H}" fill="{}"><title>{}: {} – {}</title></rect>"#,
                            (x1 - x0).max(0.5),
                            state_colour(&s.state),
                            esc(&s.state),
                            fmt_time(s.from, 0),
                            fmt_time(s.to, 0)
                        ));
                    }
                    y += STRIP_H + GAP;
                }
                Row::Graph {
                    label,
                    unit,
                    lines,
                    threshold,
                    max,
                } => {
                    body.push_str(&format!(
                        r#"<text x="0" y="{:.1}" class="label">{}</text><text x="0" y="{:.1}" class="tick">0 – {}</text>"#,
                        y + 12.0,
                        esc(label),
                        y + 26.0,
                        esc(&unit.format(*max))
                    ));
                    body.push_str(&format!(
                        r##"<g transform="translate({LABEL_W},{y:.1})"><rect width="{PLOT_W}" height="{GRAPH_H}" fill="#f8f9fa"/>"##
                    ));
                    if let Some(th) = threshold {
                        let ty = GRAPH_H - (th / max).clamp(0.0, 1.0) * GRAPH_H;
                        body.push_str(&format!(
                            r##"<line x1="0" x2="{PLOT_W}" y1="{ty:.1}" y2="{ty:.1}" stroke="#e03131" stroke-dasharray="4 3"/>"##
                        ));
                    }
                    for (i, l) in lines.iter().enumerate() {
                        body.push_str(&format!(
                            r#"<path d="{}" fill="none" stroke="{}" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round"><title>{}</title></path>"#,
                            line_path(l, start, span, *max, PLOT_W, GRAPH_H),
                            LINE_COLOURS[i % LINE_COLOURS.len()],
                            esc(&l.name)
                        ));
                    }
                    body.push_str("</g>");
                    // The legend under the label: which colour is which line.
                    for (i, l) in lines.iter().enumerate().take(3) {
                        body.push_str(&format!(
                            r#"<text x="0" y="{:.1}" class="tick" fill="{}">— {}</text>"#,
                            y + 40.0 + 12.0 * i as f64,
                            LINE_COLOURS[i % LINE_COLOURS.len()],
                            esc(&l.name)
                        ));
                    }
                    y += GRAPH_H + GAP;
                }
            }
        }
    }
    y += 6.0;
    body.push_str(&format!(
        r#"<text x="0" y="{:.1}" class="label">Events ({})</text>"#,
        y + 11.0,
        stack.marks.len()
    ));
    for m in &stack.marks {
        body.push_str(&format!(
            r#"<rect x="{:.1}" y="{y:.1}" width="3" height="{STRIP_H}" fill="{}"><title>{} {}</title></rect>"#,
            x_of(m.t) - 1.5,
            tone_colour(&m.tone),
            fmt_time(m.t, 0),
            esc(&m.message)
        ));
    }
    y += STRIP_H + GAP;
    let width = LABEL_W + PLOT_W + 20.0;
    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y:.0}" viewBox="0 0 {width} {y:.0}" font-family="system-ui, sans-serif">
<title>{title}</title>
<style>.tick{{font-size:10px;fill:#495057}}.label{{font-size:12px;fill:#212529}}.section{{font-size:13px;font-weight:600;fill:#212529}}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="0" y="16" class="section">{title}</text>
<text x="0" y="30" class="tick">{from} – {to} (UTC)</text>
{body}
</svg>
"##,
        title = esc(caption),
        from = stack.from.format("%Y-%m-%d %H:%M"),
        to = stack.to.format("%Y-%m-%d %H:%M"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        resource::Point,
        stack::{Line, Mark, Section, StateSegment, Unit},
    };

    #[test]
    fn a_snapshot_is_one_well_formed_svg_with_every_row_and_mark() {
        let from = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let to = from + chrono::Duration::hours(1);
        let ms = from.timestamp_millis();
        let stack = Stack {
            from,
            to,
            sections: vec![Section {
                title: "Probes & <backends>".into(),
                rows: vec![
                    Row::States {
                        label: "web-1:443".into(),
                        segments: vec![StateSegment {
                            from: ms,
                            to: ms + 600_000,
                            state: "down".into(),
                        }],
                    },
                    Row::Graph {
                        label: "Memory".into(),
                        unit: Unit::Ratio,
                        lines: vec![Line {
                            name: "node-a".into(),
                            gap_ms: 120_000,
                            points: vec![
                                Point {
                                    t: ms,
                                    v: 0.5,
                                    max: 0.5,
                                },
                                Point {
                                    t: ms + 60_000,
                                    v: 0.9,
                                    max: 0.9,
                                },
                            ],
                        }],
                        threshold: Some(0.9),
                        max: 1.0,
                    },
                ],
            }],
            marks: vec![Mark {
                t: ms + 30_000,
                kind: "incident.opened".into(),
                tone: "bad".into(),
                message: "Incident \"x\" opened".into(),
            }],
        };
        let svg = stack_svg(&stack, "What Vigil recorded");
        assert!(svg.starts_with("<?xml"), "{svg}");
        assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
        assert!(
            svg.contains("Probes &amp; &lt;backends&gt;"),
            "escaped: {svg}"
        );
        assert!(svg.contains("web-1:443") && svg.contains("fill=\"#e03131\""));
        assert!(
            svg.contains("<path d=\"M0.0,40.0 l0.01,0 L12.7,8.0 "),
            "{svg}"
        );
        assert!(svg.contains("Incident &quot;x&quot; opened"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
    }
}
