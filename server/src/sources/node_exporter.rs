//! Scrapes one node's node_exporter directly (the text exposition format, parsed with
//! `prometheus-parse`) and derives the same metrics the Prometheus queries give: memory used,
//! CPU busy and pressure-stall rates from counters (surviving resets), load per core.

use std::{collections::HashMap, sync::Arc, time::Duration};

/// The largest metrics page read (node_exporter's is a few hundred KB on a busy host).
const MAX_SCRAPE: usize = 8 << 20;

use chrono::{DateTime, Utc};
use prometheus_parse::{Scrape, Value};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::model::resource::{counter_rate, Metric};

use crate::config::resources::NodeExporterConfig;
use crate::resources::sink::{Reading, Sink};

/// The counters a rate is derived from, as read at one scrape.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    /// Seconds all CPUs spent idle, in iowait or stolen.
    pub cpu_idle: f64,
    pub cpus: f64,
    pub memory_waiting: Option<f64>,
    pub cpu_waiting: Option<f64>,
}

/// What one scrape says directly (gauges) and the counters to difference.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scraped {
    pub memory: Option<f64>,
    pub load1: Option<f64>,
    pub counters: Counters,
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Counter(x) | Value::Gauge(x) | Value::Untyped(x) => Some(*x),
        _ => None,
    }
}

/// Reads the metrics Vigil needs from an exposition.
pub fn read(text: &str) -> Result<Scraped, String> {
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .map_err(|e| format!("not the text exposition format: {e}"))?;
    let mut gauges: HashMap<&str, f64> = HashMap::new();
    let mut out = Scraped::default();
    let mut cpus = std::collections::HashSet::new();
    for s in &scrape.samples {
        let Some(v) = number(&s.value) else { continue };
        match s.metric.as_str() {
            "node_cpu_seconds_total" => {
                if let Some(cpu) = s.labels.get("cpu") {
                    cpus.insert(cpu.to_string());
                }
                if matches!(s.labels.get("mode"), Some("idle" | "iowait" | "steal")) {
                    out.counters.cpu_idle += v;
                }
            }
            "node_pressure_memory_waiting_seconds_total" => out.counters.memory_waiting = Some(v),
            "node_pressure_cpu_waiting_seconds_total" => out.counters.cpu_waiting = Some(v),
            m
            @ ("node_memory_MemAvailable_bytes" | "node_memory_MemTotal_bytes" | "node_load1") => {
                gauges.insert(m, v);
            }
            _ => {}
        }
    }
    if scrape.samples.is_empty() {
        return Err("the exposition has no samples".into());
    }
    out.counters.cpus = cpus.len() as f64;
    out.memory = match (
        gauges.get("node_memory_MemAvailable_bytes"),
        gauges.get("node_memory_MemTotal_bytes"),
    ) {
        (Some(avail), Some(total)) if *total > 0.0 => Some(1.0 - avail / total),
        _ => None,
    };
    out.load1 = gauges.get("node_load1").copied();
    Ok(out)
}

/// Readings from this scrape, with rates against the previous one.
pub fn readings(
    node: &str,
    now: (Scraped, DateTime<Utc>),
    prev: Option<(Counters, DateTime<Utc>)>,
) -> Vec<Reading> {
    let (s, at) = now;
    let mut out = Vec::new();
    let mut push = |metric, value: Option<f64>| {
        if let Some(value) = value {
            out.push(Reading {
                node: node.to_string(),
                metric,
                at,
                value,
            });
        }
    };
    push(Metric::Memory, s.memory);
    let cpus = s.counters.cpus.max(1.0);
    push(Metric::Load, s.load1.map(|l| l / cpus));
    if let Some((p, then)) = prev {
        // Idle seconds per second across all CPUs; busy is what is left.
        let idle = counter_rate((p.cpu_idle, then), (s.counters.cpu_idle, at));
        push(Metric::Cpu, idle.map(|r| (1.0 - r / cpus).clamp(0.0, 1.0)));
        let rate = |a: Option<f64>, b: Option<f64>| counter_rate((a?, then), (b?, at));
        push(
            Metric::MemoryPressure,
            rate(p.memory_waiting, s.counters.memory_waiting),
        );
        push(
            Metric::CpuPressure,
            rate(p.cpu_waiting, s.counters.cpu_waiting),
        );
    }
    out
}

pub struct Collector {
    cfg: NodeExporterConfig,
    http: reqwest::Client,
    sink: Arc<Sink>,
    pool: PgPool,
    interval: Duration,
    timeout: Duration,
    prev: Option<(Counters, DateTime<Utc>)>,
}

impl Collector {
    pub fn new(cfg: NodeExporterConfig, sink: Arc<Sink>, pool: PgPool) -> Self {
        let (interval, _, timeout) =
            super::timing(cfg.interval_secs, cfg.stale_after_secs, cfg.timeout_ms);
        Collector {
            http: crate::workers::http_client(),
            cfg,
            sink,
            pool,
            interval,
            timeout,
            prev: None,
        }
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        let name = self.cfg.source_name();
        let mut every = crate::workers::ticker(self.interval);
        while crate::workers::next_tick(&mut every, &shutdown).await {
            let outcome = self.scrape().await.map(|_| ());
            if let Err(e) = &outcome {
                tracing::warn!(source = %name, error = %e, "node_exporter scrape failed");
            }
            crate::sources::registry::report(&self.pool, &name, outcome).await;
        }
    }

    /// One scrape; returns how many samples were stored.
    pub async fn scrape(&mut self) -> Result<u64, String> {
        let resp = self
            .http
            .get(&self.cfg.url)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("no answer within {} ms", self.timeout.as_millis())
                } else {
                    format!(
                        "cannot reach {}: {}",
                        crate::redact::url(&self.cfg.url),
                        crate::redact::transport_error(&e)
                    )
                }
            })?;
        let status = resp.status();
        let body = crate::capped::read(resp, MAX_SCRAPE).await.map_err(|e| {
            format!(
                "reading the answer failed: {}",
                crate::redact::transport_error(&e)
            )
        })?;
        if body.truncated && status.is_success() {
            self.prev = None;
            return Err(format!(
                "the metrics page is larger than {MAX_SCRAPE} bytes"
            ));
        }
        let text = String::from_utf8_lossy(&body.bytes).into_owned();
        if !status.is_success() {
            // The counters' history is broken by the gap; rates restart after it.
            self.prev = None;
            return Err(format!(
                "HTTP {}: {}",
                status.as_u16(),
                text.trim().chars().take(120).collect::<String>()
            ));
        }
        let scraped = read(&text)?;
        let at = Utc::now();
        let counters = scraped.counters;
        let r = readings(&self.cfg.node, (scraped, at), self.prev);
        self.prev = Some((counters, at));
        self.sink
            .submit(&self.cfg.source_name(), r)
            .await
            .map_err(|e| format!("storing samples failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE node_memory_MemTotal_bytes gauge
node_memory_MemTotal_bytes 1000
node_memory_MemAvailable_bytes 250
node_load1 3
node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 100
node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 50
node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"} 100
node_cpu_seconds_total{cpu=\"1\",mode=\"iowait\"} 10
node_pressure_memory_waiting_seconds_total 7
";

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn reads_gauges_and_counters() {
        let s = read(TEXT).unwrap();
        assert_eq!(s.memory, Some(0.75));
        assert_eq!(s.counters.cpus, 2.0);
        assert_eq!(s.counters.cpu_idle, 210.0);
        assert_eq!(s.counters.memory_waiting, Some(7.0));
        assert_eq!(s.counters.cpu_waiting, None);
        assert!(read("").is_err());
    }

    #[test]
    fn rates_need_two_scrapes_and_survive_a_reset() {
        let first = read(TEXT).unwrap();
        let r = readings("a", (first.clone(), t(0)), None);
        let metrics: Vec<_> = r.iter().map(|r| r.metric).collect();
        assert_eq!(metrics, vec![Metric::Memory, Metric::Load]);
        assert_eq!(r[1].value, 1.5);
        // 10 s later both CPUs were idle 5 s each: 50 % busy; 2 s of memory waiting: 0.2/s.
        let mut second = first.clone();
        second.counters.cpu_idle += 10.0;
        second.counters.memory_waiting = Some(9.0);
        let r = readings("a", (second, t(10)), Some((first.counters, t(0))));
        let get = |m| r.iter().find(|x| x.metric == m).unwrap().value;
        assert_eq!(get(Metric::Cpu), 0.5);
        assert!((get(Metric::MemoryPressure) - 0.2).abs() < 1e-9);
        // The exporter restarted: counters near zero, the rate is still sane.
        let mut reset = first.clone();
        reset.counters.cpu_idle = 4.0;
        reset.counters.memory_waiting = Some(0.5);
        let r = readings("a", (reset, t(20)), Some((first.counters, t(10))));
        let get = |m| r.iter().find(|x| x.metric == m).unwrap().value;
        assert_eq!(get(Metric::Cpu), 0.8);
        assert!((get(Metric::MemoryPressure) - 0.05).abs() < 1e-9);
    }
}
