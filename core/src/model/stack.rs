//! Signals stacked on one time axis: state strips (probes, backends), graphs (node resources,
//! connections) and event marks — what the correlation view and the node page draw, and what
//! their shared cursor reads at any instant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::resource::Point;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateSegment {
    /// Unix ms.
    pub from: i64,
    pub to: i64,
    /// up, down, degraded, unknown, paused, flapping…
    pub state: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// 0..1, drawn 0–100 %.
    Ratio,
    Number,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Ratio => format!("{:.1} %", v * 100.0),
            Unit::Number if v.abs() >= 100.0 => format!("{v:.0}"),
            Unit::Number => format!("{v:.2}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub name: String,
    /// Points further apart than this (ms) are not joined.
    pub gap_ms: i64,
    pub points: Vec<Point>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Row {
    States {
        label: String,
        segments: Vec<StateSegment>,
    },
    Graph {
        label: String,
        unit: Unit,
        lines: Vec<Line>,
        threshold: Option<f64>,
        /// Top of the y axis.
        max: f64,
    },
}

impl Row {
    pub fn label(&self) -> &str {
        match self {
            Row::States { label, .. } | Row::Graph { label, .. } => label,
        }
    }

    /// What the row says at `t` (unix ms), for the shared cursor.
    pub fn read_at(&self, t: i64) -> String {
        match self {
            Row::States { segments, .. } => segments
                .iter()
                .find(|s| s.from <= t && t < s.to)
                .map(|s| s.state.clone())
                .unwrap_or_else(|| "no data".into()),
            Row::Graph { unit, lines, .. } => {
                let parts: Vec<String> = lines
                    .iter()
                    .filter_map(|l| {
                        let i = l.points.partition_point(|p| p.t < t);
                        let near = [i.checked_sub(1), Some(i)]
                            .into_iter()
                            .flatten()
                            .filter_map(|i| l.points.get(i))
                            .min_by_key(|p| (p.t - t).abs())?;
                        ((near.t - t).abs() <= l.gap_ms)
                            .then(|| format!("{} {}", l.name, unit.format(near.v)))
                    })
                    .collect();
                if parts.is_empty() {
                    "no data".into()
                } else {
                    parts.join(" · ")
                }
            }
        }
    }
}

/// A time on an axis: `HH:MM` for spans up to two days, else `MM-DD HH:MM`.
pub fn fmt_time(ms: i64, span_ms: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    if span_ms <= 2 * 86_400_000 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%m-%d %H:%M").to_string()
    }
}

/// The SVG path of a line in a `w`×`h` box, broken wherever points are further apart than its
/// gap.
pub fn line_path(line: &Line, start: i64, span: f64, max: f64, w: f64, h: f64) -> String {
    let mut d = String::new();
    let mut prev: Option<i64> = None;
    for p in &line.points {
        let x = (p.t - start) as f64 / span * w;
        let y = h - (p.v / max).clamp(0.0, 1.0) * h;
        let gap = prev.is_none_or(|t| p.t - t > line.gap_ms);
        if gap {
            // A lone point still shows: a tiny stroke that the round cap turns into a dot.
            d.push_str(&format!("M{x:.1},{y:.1} l0.01,0 "));
        } else {
            d.push_str(&format!("L{x:.1},{y:.1} "));
        }
        prev = Some(p.t);
    }
    d
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
}

/// An event drawn as a mark across the stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub t: i64,
    pub kind: String,
    /// "bad", "good" or "info": the mark's colour.
    pub tone: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub sections: Vec<Section>,
    pub marks: Vec<Mark>,
}

/// Cuts `[start, end)` (ms) into stretches from `changes` (time, from, to), given the state at
/// `end`. Before the first change the state was that change's `from`.
pub fn segments(
    current: &str,
    changes: &[(i64, String, String)],
    start: i64,
    end: i64,
) -> Vec<StateSegment> {
    let mut out = Vec::new();
    let mut cursor = start;
    let mut state = changes
        .first()
        .map(|c| c.1.clone())
        .unwrap_or_else(|| current.to_string());
    for (at, _, to) in changes.iter().filter(|c| c.0 > start && c.0 < end) {
        out.push(StateSegment {
            from: cursor,
            to: *at,
            state: state.clone(),
        });
        cursor = *at;
        state = to.clone();
    }
    out.push(StateSegment {
        from: cursor,
        to: end,
        state,
    });
    out
}

/// At most `max` points: neighbours averaged into buckets, each keeping its highest value, so a
/// spike survives the thinning.
pub fn thin(points: &[Point], max: usize) -> Vec<Point> {
    if points.len() <= max || max == 0 {
        return points.to_vec();
    }
    let per = points.len().div_ceil(max);
    points
        .chunks(per)
        .map(|c| Point {
            t: c[c.len() / 2].t,
            v: c.iter().map(|p| p.v).sum::<f64>() / c.len() as f64,
            max: c.iter().map(|p| p.max).fold(f64::MIN, f64::max),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: i64, v: f64) -> Point {
        Point { t, v, max: v }
    }

    #[test]
    fn segments_cover_the_window() {
        let s = segments(
            "up",
            &[
                (50, "up".into(), "down".into()),
                (80, "down".into(), "up".into()),
            ],
            0,
            100,
        );
        let states: Vec<_> = s.iter().map(|s| (s.from, s.to, s.state.as_str())).collect();
        assert_eq!(
            states,
            vec![(0, 50, "up"), (50, 80, "down"), (80, 100, "up")]
        );
    }

    #[test]
    fn the_cursor_reads_states_and_nearest_points_within_the_gap() {
        let strip = Row::States {
            label: "x".into(),
            segments: segments("down", &[(10, "up".into(), "down".into())], 0, 20),
        };
        assert_eq!(strip.read_at(5), "up");
        assert_eq!(strip.read_at(15), "down");
        assert_eq!(strip.read_at(25), "no data");
        let graph = Row::Graph {
            label: "Memory".into(),
            unit: Unit::Ratio,
            lines: vec![Line {
                name: "a".into(),
                gap_ms: 10,
                points: vec![p(0, 0.5), p(10, 0.9), p(100, 0.1)],
            }],
            threshold: Some(0.9),
            max: 1.0,
        };
        assert_eq!(graph.read_at(9), "a 90.0 %");
        assert_eq!(graph.read_at(50), "no data");
    }

    #[test]
    fn thinning_keeps_spikes() {
        let pts: Vec<Point> = (0..1000)
            .map(|i| p(i, if i == 500 { 9.0 } else { 1.0 }))
            .collect();
        let t = thin(&pts, 100);
        assert_eq!(t.len(), 100);
        assert!(t.iter().any(|p| p.max == 9.0));
    }
}
