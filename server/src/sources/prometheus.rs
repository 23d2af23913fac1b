//! Reads node metrics from a Prometheus over its HTTP API: instant queries every interval, and
//! `query_range` to fetch what Vigil missed (at start-up, and after Prometheus or Vigil was away).

use std::{sync::Arc, time::Duration};

/// The largest query answer read (one series per node over the graphs' window).
const MAX_ANSWER: usize = 16 << 20;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::model::{objective::Counts, resource::Metric};

use crate::config::resources::PrometheusConfig;
use crate::resources::sink::{Reading, Sink};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PromError {
    #[error("Prometheus answered HTTP {status} ({kind}): {message}")]
    Api {
        status: u16,
        kind: String,
        message: String,
    },
    #[error("Prometheus answered HTTP {status} without its JSON envelope: {body}")]
    Http { status: u16, body: String },
    #[error("Prometheus' answer is not the JSON expected: {0}")]
    Malformed(String),
    #[error("no answer from Prometheus within {0} ms")]
    Timeout(u128),
    #[error("cannot reach Prometheus: {0}")]
    Transport(String),
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<SeriesJson>,
}

#[derive(Deserialize)]
struct SeriesJson {
    metric: std::collections::HashMap<String, String>,
    value: Option<(f64, String)>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// A node name from a label value: `lke-node-a:9100` → `lke-node-a` (a numeric port is dropped).
pub fn node_name(label: &str) -> &str {
    match label.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => label,
    }
}

/// Prometheus writes values as strings: "0.5", "NaN", "+Inf".
fn value(s: &str) -> f64 {
    s.parse::<f64>().unwrap_or(f64::NAN)
}

fn time(secs: f64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis((secs * 1000.0).round() as i64).unwrap_or_default()
}

/// An API answer's data, or what went wrong.
fn envelope(body: &[u8], status: u16) -> Result<Data, PromError> {
    let env: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) if (200..300).contains(&status) => return Err(PromError::Malformed(e.to_string())),
        Err(_) => {
            return Err(PromError::Http {
                status,
                body: String::from_utf8_lossy(body).chars().take(120).collect(),
            })
        }
    };
    if env.status != "success" {
        return Err(PromError::Api {
            status,
            kind: env.error_type.unwrap_or_default(),
            message: env.error.unwrap_or_default(),
        });
    }
    env.data
        .ok_or_else(|| PromError::Malformed("no data".into()))
}

/// Turns an API answer into readings for `metric`, naming nodes by `node_label`.
pub fn parse(
    body: &[u8],
    status: u16,
    metric: Metric,
    node_label: &str,
) -> Result<Vec<Reading>, PromError> {
    let data = envelope(body, status)?;
    if data.result_type != "vector" && data.result_type != "matrix" {
        return Err(PromError::Malformed(format!(
            "the query returns a {}, not a vector per node",
            data.result_type
        )));
    }
    let mut out = Vec::new();
    for s in data.result {
        let Some(label) = s.metric.get(node_label) else {
            continue;
        };
        let node = node_name(label).to_string();
        for (t, v) in s.value.into_iter().chain(s.values) {
            out.push(Reading {
                node: node.clone(),
                metric,
                at: time(t),
                value: value(&v),
            });
        }
    }
    Ok(out)
}

pub struct Collector {
    cfg: PrometheusConfig,
    http: reqwest::Client,
    sink: Arc<Sink>,
    pool: PgPool,
    timeout: Duration,
    interval: Duration,
    /// Time of the last round that succeeded: a backfill starts there.
    last_ok: Option<DateTime<Utc>>,
}

impl Collector {
    pub fn new(cfg: PrometheusConfig, sink: Arc<Sink>, pool: PgPool) -> Self {
        let (interval, _, timeout) =
            super::timing(cfg.interval_secs, cfg.stale_after_secs, cfg.timeout_ms);
        Collector {
            http: crate::workers::http_client(),
            cfg,
            sink,
            pool,
            timeout,
            interval,
            last_ok: None,
        }
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        let name = self.cfg.source_name();
        self.last_ok = vigil_core::store::resources::newest_from(&self.pool, &name)
            .await
            .ok()
            .flatten();
        let mut every = crate::workers::ticker(self.interval);
        while crate::workers::next_tick(&mut every, &shutdown).await {
            let outcome = self.round().await.map(|_| ()).map_err(|e| e.to_string());
            if let Err(e) = &outcome {
                tracing::warn!(source = %name, error = %e, "Prometheus round failed");
            }
            crate::sources::registry::report(&self.pool, &name, outcome).await;
        }
    }

    /// One round: backfill what was missed, then every metric now.
    pub async fn round(&mut self) -> Result<u64, PromError> {
        let now = Utc::now();
        let mut stored = 0;
        let gap_from = self
            .last_ok
            .unwrap_or(now - chrono::Duration::hours(self.cfg.backfill_hours as i64))
            .max(now - chrono::Duration::hours(self.cfg.backfill_hours as i64));
        let missed =
            now - gap_from > chrono::Duration::from_std(self.interval * 2).unwrap_or_default();
        for (metric, query) in self.cfg.queries() {
            let mut readings = Vec::new();
            if missed && self.cfg.backfill_hours > 0 {
                readings.extend(self.query_range(metric, &query, gap_from, now).await?);
            }
            readings.extend(self.query(metric, &query, now).await?);
            stored += self
                .sink
                .submit(&self.cfg.source_name(), readings)
                .await
                .map_err(|e| PromError::Transport(format!("storing samples failed: {e}")))?;
        }
        self.last_ok = Some(now);
        Ok(stored)
    }

    async fn query(
        &self,
        metric: Metric,
        q: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<Reading>, PromError> {
        let t = format!("{:.3}", at.timestamp_millis() as f64 / 1000.0);
        self.call("/api/v1/query", &[("query", q), ("time", &t)], metric)
            .await
    }

    async fn query_range(
        &self,
        metric: Metric,
        q: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Reading>, PromError> {
        let step = self.cfg.interval_secs.max(1);
        // Aligned to the step so a later backfill over the same range finds the same points.
        let start = (from.timestamp() / step as i64 + 1) * step as i64;
        let (start, end, step) = (
            start.to_string(),
            to.timestamp().to_string(),
            step.to_string(),
        );
        self.call(
            "/api/v1/query_range",
            &[
                ("query", q),
                ("start", &start),
                ("end", &end),
                ("step", &step),
            ],
            metric,
        )
        .await
    }

    async fn call(
        &self,
        path: &str,
        form: &[(&str, &str)],
        metric: Metric,
    ) -> Result<Vec<Reading>, PromError> {
        let url = format!("{}{path}", self.cfg.url.trim_end_matches('/'));
        let resp = self
            .http
            .post(url)
            .form(form)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let body = crate::capped::read(resp, MAX_ANSWER)
            .await
            .map_err(|e| self.transport(e))?;
        // A cut answer is not JSON: it reads as a malformed answer, never as a partial one.
        let body = body.bytes;
        parse(&body, status, metric, &self.cfg.node_label)
    }

    fn transport(&self, e: reqwest::Error) -> PromError {
        transport(e, self.timeout)
    }
}

/// Events counted by a Prometheus, for objectives: `sum(increase(<selector>[<span>]))` of a
/// good-events and a total-events counter.
pub struct Events {
    http: reqwest::Client,
    url: String,
    timeout: Duration,
}

/// `sum(increase(<selector>[<secs>s]))`: the events a counter selector counted over a span
/// (summed over its series; none when no series matched).
fn increase(selector: &str, secs: i64) -> String {
    format!("sum(increase({selector}[{secs}s]))")
}

impl Events {
    pub fn new(cfg: &PrometheusConfig, http: reqwest::Client) -> Events {
        Events {
            http,
            url: cfg.url.trim_end_matches('/').to_string(),
            timeout: Duration::from_millis(cfg.timeout_ms),
        }
    }

    /// Good and total events over the `secs` before `at`.
    pub async fn counts(
        &self,
        good: &str,
        total: &str,
        secs: i64,
        at: DateTime<Utc>,
    ) -> Result<Counts, PromError> {
        let t = (at.timestamp_millis() as f64 / 1000.0).to_string();
        let mut both = [0.0; 2];
        for (n, selector) in both.iter_mut().zip([good, total]) {
            let q = increase(selector, secs.max(1));
            let data = self
                .call("/api/v1/query", &[("query", &q), ("time", &t)])
                .await?;
            *n = data
                .result
                .first()
                .and_then(|s| s.value.as_ref())
                .map(|(_, v)| value(v))
                .filter(|v| v.is_finite())
                .unwrap_or(0.0);
        }
        Ok(events(both[0], both[1]))
    }

    /// Good and total events in each whole UTC day from `from` (a midnight) until `to`, and
    /// in the part of the day `to` falls in: one range query per counter.
    pub async fn by_day(
        &self,
        good: &str,
        total: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(chrono::NaiveDate, Counts)>, PromError> {
        const DAY: i64 = 86_400;
        let whole = (to - from).num_seconds().max(0) / DAY;
        let mut days: std::collections::BTreeMap<chrono::NaiveDate, [f64; 2]> = Default::default();
        if whole > 0 {
            // A point at the end of each whole day counts that day.
            let (start, end) = (
                (from.timestamp() + DAY).to_string(),
                (from.timestamp() + whole * DAY).to_string(),
            );
            for (i, selector) in [good, total].into_iter().enumerate() {
                let q = increase(selector, DAY);
                let data = self
                    .call(
                        "/api/v1/query_range",
                        &[
                            ("query", &q),
                            ("start", &start),
                            ("end", &end),
                            ("step", &DAY.to_string()),
                        ],
                    )
                    .await?;
                for (t, v) in data.result.iter().flat_map(|s| &s.values) {
                    let day = (time(*t) - chrono::Duration::days(1)).date_naive();
                    let v = value(v);
                    if v.is_finite() {
                        days.entry(day).or_default()[i] += v;
                    }
                }
            }
        }
        let last = from + chrono::Duration::days(whole);
        if to > last {
            let c = self
                .counts(good, total, (to - last).num_seconds(), to)
                .await?;
            days.insert(last.date_naive(), [c.good as f64, c.total as f64]);
        }
        Ok(days
            .into_iter()
            .map(|(d, [g, t])| (d, events(g, t)))
            .collect())
    }

    async fn call(&self, path: &str, form: &[(&str, &str)]) -> Result<Data, PromError> {
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .form(form)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout))?;
        let status = resp.status().as_u16();
        let body = crate::capped::read(resp, MAX_ANSWER)
            .await
            .map_err(|e| transport(e, self.timeout))?;
        envelope(&body.bytes, status)
    }
}

/// Counters extrapolated by `increase` are not whole: events are rounded, and good is never
/// more than total (two queries are two instants apart).
fn events(good: f64, total: f64) -> Counts {
    let total = total.round().max(0.0) as i64;
    Counts {
        good: (good.round().max(0.0) as i64).min(total),
        total,
    }
}

fn transport(e: reqwest::Error, timeout: Duration) -> PromError {
    if e.is_timeout() {
        PromError::Timeout(timeout.as_millis())
    } else {
        PromError::Transport(crate::redact::transport_error(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_drop_the_port_only() {
        assert_eq!(node_name("lke-node-a:9100"), "lke-node-a");
        assert_eq!(node_name("lke-node-a"), "lke-node-a");
        assert_eq!(node_name("host:metrics"), "host:metrics");
    }

    #[test]
    fn parses_vectors_matrices_nan_and_errors() {
        let v = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"instance":"a:9100"},"value":[1700000000.5,"0.25"]},
            {"metric":{"instance":"b:9100"},"value":[1700000000.5,"NaN"]},
            {"metric":{"job":"x"},"value":[1700000000.5,"1"]}]}}"#;
        let r = parse(v, 200, Metric::Memory, "instance").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].node, "a");
        assert_eq!(r[0].value, 0.25);
        assert_eq!(r[0].at.timestamp_millis(), 1_700_000_000_500);
        assert!(r[1].value.is_nan());
        let m = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"a:9100"},"values":[[1,"0.1"],[2,"+Inf"]]}]}}"#;
        let r = parse(m, 200, Metric::Cpu, "instance").unwrap();
        assert_eq!(r.len(), 2);
        assert!(r[1].value.is_infinite());
        let e = br#"{"status":"error","errorType":"execution","error":"too many samples"}"#;
        assert_eq!(
            parse(e, 422, Metric::Cpu, "instance")
                .unwrap_err()
                .to_string(),
            "Prometheus answered HTTP 422 (execution): too many samples"
        );
        assert!(matches!(
            parse(b"<html>503</html>", 503, Metric::Cpu, "instance"),
            Err(PromError::Http { status: 503, .. })
        ));
        assert!(matches!(
            parse(b"{\"status\":", 200, Metric::Cpu, "instance"),
            Err(PromError::Malformed(_))
        ));
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[]}}"#;
        assert!(parse(scalar, 200, Metric::Cpu, "instance").is_err());
    }
}
