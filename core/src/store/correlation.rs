//! Builds the stacks the dashboard draws: every signal Vigil recorded over one window.

use chrono::{DateTime, Utc};

use crate::model::{
    event::EventData,
    resource::{GraphSettings, Metric},
    stack::{segments, thin, Line, Mark, Row, Section, Stack, StateSegment, Unit},
};

use super::{backends, events, resources, PgPool, StoreError};

/// Points per line: about one per horizontal pixel of a wide screen.
const MAX_POINTS: usize = 600;

/// Events marked on the time axis (backend changes are already visible in their strips).
fn marked(data: &EventData) -> bool {
    matches!(
        data,
        EventData::MonitorState(_)
            | EventData::BackendFlapping(_)
            | EventData::Ingress(_)
            | EventData::LbConfig(_)
            | EventData::UpstreamIncident(_)
            | EventData::UpstreamComponent(_)
            | EventData::ResourceAlert(_)
            | EventData::SloBurn(_)
            | EventData::K8sNode(_)
            | EventData::K8sPod(_)
            | EventData::SourceStale(_)
            | EventData::SourceFresh(_)
            | EventData::IncidentOpened(_)
            | EventData::IncidentResolved(_)
    )
}

/// Probes per component, NodeBalancer backends, node memory/CPU/pressure, connections, events.
pub async fn correlation(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    settings: &GraphSettings,
) -> Result<Stack, StoreError> {
    let start = from.timestamp_millis();
    let mut sections = vec![Section {
        title: "Probes".into(),
        rows: probe_rows(pool, from, to).await?,
    }];
    let lb: Vec<Row> = backends::views(pool, from, to)
        .await?
        .into_iter()
        .map(|b| Row::States {
            label: format!("{} :{} {}", b.nodebalancer, b.port, b.label),
            segments: b
                .history
                .iter()
                .map(|h| StateSegment {
                    from: h.from.timestamp_millis().max(start),
                    to: h.to.timestamp_millis(),
                    state: h.status.as_str().to_string(),
                })
                .collect(),
        })
        .collect();
    let mut lb_rows = lb;
    lb_rows.extend(connection_rows(pool, from, to).await?);
    if !lb_rows.is_empty() {
        sections.push(Section {
            title: "Load balancer".into(),
            rows: lb_rows,
        });
    }
    let node_rows = metric_rows(
        pool,
        from,
        to,
        settings,
        &[Metric::Memory, Metric::Cpu, Metric::MemoryPressure],
    )
    .await?;
    if !node_rows.is_empty() {
        sections.push(Section {
            title: "Nodes".into(),
            rows: node_rows,
        });
    }
    let marks = events::in_window(pool, from, to)
        .await?
        .into_iter()
        .filter(|e| marked(&e.data))
        .map(|e| mark(&e))
        .collect();
    Ok(Stack {
        from,
        to,
        sections,
        marks,
    })
}

/// One graph per NodeBalancer of its connection count (5-minute averages from `/stats`).
pub async fn connection_rows(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Row>, StoreError> {
    Ok(backends::connections(pool, from, to)
        .await?
        .into_iter()
        .map(|(label, points)| {
            let pts: Vec<_> = points
                .iter()
                .map(|(t, v)| crate::model::resource::Point {
                    t: t.timestamp_millis(),
                    v: *v,
                    max: *v,
                })
                .collect();
            let max = pts.iter().map(|p| p.v).fold(1.0, f64::max) * 1.1;
            Row::Graph {
                label: format!("{label} connections"),
                unit: Unit::Number,
                lines: vec![Line {
                    name: label,
                    gap_ms: 15 * 60 * 1000,
                    points: thin(&pts, MAX_POINTS),
                }],
                threshold: None,
                max,
            }
        })
        .collect())
}

/// One graph per metric with a line per node.
pub async fn metric_rows(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    settings: &GraphSettings,
    metrics: &[Metric],
) -> Result<Vec<Row>, StoreError> {
    let mut rows = Vec::new();
    for &metric in metrics {
        let series =
            resources::series(pool, None, metric, from, to, settings.sample_secs.max(1)).await?;
        if series.is_empty() {
            continue;
        }
        let threshold = settings.threshold(metric);
        let max = if metric.can_exceed_one() {
            series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.max))
                .chain(threshold)
                .fold(1.0, f64::max)
                * 1.05
        } else if metric.is_ratio() {
            1.0
        } else {
            series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.max))
                .chain(threshold)
                .fold(0.1, f64::max)
                * 1.1
        };
        rows.push(Row::Graph {
            label: metric.label().into(),
            unit: if metric.is_ratio() {
                Unit::Ratio
            } else {
                Unit::Number
            },
            lines: series
                .into_iter()
                .map(|s| Line {
                    name: s.node,
                    gap_ms: s.gap_ms,
                    points: thin(&s.points, MAX_POINTS),
                })
                .collect(),
            threshold,
            max,
        });
    }
    Ok(rows)
}

async fn probe_rows(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Row>, StoreError> {
    let monitors = sqlx::query!(
        "SELECT m.name AS \"monitor!\", c.name AS \"component!\", s.status AS \"status?\" FROM monitors m JOIN components c ON c.id = m.component_id \
         LEFT JOIN monitor_state s ON s.monitor_id = m.id WHERE NOT m.retired \
         ORDER BY c.position, m.name"
    )
    .fetch_all(pool)
    .await?;
    let changes = sqlx::query!(
        "SELECT payload->>'monitor' AS \"monitor!\", at, payload->>'from' AS \"from!\", \
         payload->>'to' AS \"to!\" FROM events \
         WHERE kind = 'monitor.state' AND at >= $1 AND at < $2 ORDER BY at, id",
        from,
        to
    )
    .fetch_all(pool)
    .await?;
    Ok(monitors
        .into_iter()
        .map(|m| {
            let (name, component, status) = (m.monitor, m.component, m.status);
            let mine: Vec<(i64, String, String)> = changes
                .iter()
                .filter(|c| c.monitor == name)
                .map(|c| (c.at.timestamp_millis(), c.from.clone(), c.to.clone()))
                .collect();
            Row::States {
                label: format!("{component} · {name}"),
                segments: segments(
                    status.as_deref().unwrap_or("unknown"),
                    &mine,
                    from.timestamp_millis(),
                    to.timestamp_millis(),
                ),
            }
        })
        .collect())
}

fn mark(e: &events::Event) -> Mark {
    Mark {
        t: e.at.timestamp_millis(),
        kind: e.kind(),
        tone: e.data.tone().as_str().into(),
        message: e.data.message(),
    }
}
