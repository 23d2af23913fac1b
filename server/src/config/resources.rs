//! Where node resource graphs come from (`[[prometheus]]`, `[[node_exporter]]`), how long Vigil
//! keeps them, and the alert rules on them (`[[resources.alert]]`).

use super::problem::Problem;
use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use vigil_core::model::resource::{AlertRule, Metric};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourcesConfig {
    /// Raw samples are kept this many days; graphs of longer ranges read rollups.
    pub raw_retention_days: u32,
    pub minute_retention_days: u32,
    pub hour_retention_days: u32,
    /// A node with no sample for this long is shown as "no data since …".
    pub node_stale_secs: u64,
    /// Threshold-for-a-duration rules; these replace the defaults when given.
    #[serde(rename = "alert")]
    pub alerts: Vec<AlertConfig>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// How the rule is named in the settings and the API; `memory-above-0.9` when unnamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// memory, cpu, memory_pressure, cpu_pressure, load or requests_ratio.
    pub metric: String,
    /// Raise when the value is above this (ratios are 0..1: 0.9 is 90 %).
    pub above: f64,
    /// ...for at least this long.
    #[serde(default)]
    pub for_secs: u64,
}

impl Default for ResourcesConfig {
    fn default() -> Self {
        ResourcesConfig {
            raw_retention_days: 8,
            minute_retention_days: 35,
            hour_retention_days: 400,
            node_stale_secs: 120,
            // The rules the seed's team ran after the incident, as defaults.
            alerts: vec![
                AlertConfig {
                    name: None,
                    metric: "memory".into(),
                    above: 0.9,
                    for_secs: 300,
                },
                AlertConfig {
                    name: None,
                    metric: "cpu".into(),
                    above: 0.8,
                    for_secs: 300,
                },
                // Pods requesting more than the node can allocate (needs [[kubernetes]]).
                AlertConfig {
                    name: None,
                    metric: "requests_ratio".into(),
                    above: 1.0,
                    for_secs: 300,
                },
            ],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    pub name: String,
    /// e.g. http://prometheus:9090 (the API is under /api/v1).
    pub url: String,
    #[serde(default = "fifteen")]
    pub interval_secs: u64,
    #[serde(default = "five_thousand")]
    pub timeout_ms: u64,
    /// No answer for this long makes the source stale (default: 4 intervals, at least 60 s).
    pub stale_after_secs: Option<u64>,
    /// The label that names the node in query results; a `:port` suffix is dropped.
    #[serde(default = "instance")]
    pub node_label: String,
    /// On start and after an outage, fetch up to this many hours Vigil missed with query_range.
    #[serde(default = "six")]
    pub backfill_hours: u64,
    /// PromQL per metric, replacing the node_exporter defaults.
    #[serde(default)]
    pub queries: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeExporterConfig {
    /// The node's name, as graphs and alerts show it.
    pub node: String,
    /// e.g. http://10.0.0.5:9100/metrics
    pub url: String,
    #[serde(default = "fifteen")]
    pub interval_secs: u64,
    #[serde(default = "five_thousand")]
    pub timeout_ms: u64,
    pub stale_after_secs: Option<u64>,
}

fn fifteen() -> u64 {
    15
}
fn five_thousand() -> u64 {
    5000
}
fn six() -> u64 {
    6
}
fn instance() -> String {
    "instance".into()
}

/// Default stale-after for a source polled every `interval` seconds.
pub fn stale_after(configured: Option<u64>, interval: u64) -> u64 {
    configured.unwrap_or((interval * 4).max(60))
}

impl PrometheusConfig {
    /// The query for each metric: configured, else the default. `requests_ratio` only when
    /// configured (it needs kube-state-metrics, which a plain node Prometheus lacks).
    pub fn queries(&self) -> Vec<(Metric, String)> {
        Metric::ALL
            .into_iter()
            .filter_map(|m| match self.queries.get(m.name()) {
                Some(q) => Some((m, q.clone())),
                None if Metric::EXPORTED.contains(&m) => Some((m, m.default_query().to_string())),
                None => None,
            })
            .collect()
    }

    pub fn source_name(&self) -> String {
        format!("prometheus:{}", self.name)
    }
}

impl NodeExporterConfig {
    pub fn source_name(&self) -> String {
        format!("node_exporter:{}", self.node)
    }
}

impl ResourcesConfig {
    pub fn rules(&self) -> Vec<AlertRule> {
        self.alerts
            .iter()
            .filter_map(|a| {
                Some(AlertRule {
                    metric: Metric::parse(&a.metric)?,
                    above: a.above,
                    for_secs: a.for_secs,
                })
            })
            .collect()
    }
}

/// Checks the resource sections.
pub fn validate(
    resources: &ResourcesConfig,
    prometheus: &[PrometheusConfig],
    exporters: &[NodeExporterConfig],
) -> Result<(), Problem> {
    let metric_names = || {
        Metric::ALL
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (i, a) in resources.alerts.iter().enumerate() {
        let key = format!("resources.alert[{i}]");
        if Metric::parse(&a.metric).is_none() {
            return Err(Problem::new(
                format!("{key}.metric"),
                format!("`{}` is not one of {}", a.metric, metric_names()),
            ));
        }
        if !a.above.is_finite() {
            return Err(Problem::new(format!("{key}.above"), "must be a number"));
        }
    }
    if resources.raw_retention_days == 0 || resources.minute_retention_days == 0 {
        return Err(Problem::new(
            "resources.raw_retention_days",
            "retention must be at least 1 day",
        ));
    }
    let mut names = HashSet::new();
    for (i, p) in prometheus.iter().enumerate() {
        let key = format!("prometheus[{i}]");
        check_source(
            &key,
            ("name", &p.name),
            &p.url,
            p.interval_secs,
            5,
            &mut names,
        )?;
        for m in p.queries.keys() {
            if Metric::parse(m).is_none() {
                return Err(Problem::new(
                    format!("{key}.queries.{m}"),
                    format!("not a metric; use one of {}", metric_names()),
                ));
            }
        }
    }
    let mut nodes = HashSet::new();
    for (i, e) in exporters.iter().enumerate() {
        let key = format!("node_exporter[{i}]");
        check_source(
            &key,
            ("node", &e.node),
            &e.url,
            e.interval_secs,
            1,
            &mut nodes,
        )?;
    }
    Ok(())
}

/// The checks every collector's section shares: a unique name, an http(s) URL, an interval.
fn check_source(
    key: &str,
    (name_key, name): (&str, &str),
    url: &str,
    interval_secs: u64,
    min_interval: u64,
    seen: &mut HashSet<String>,
) -> Result<(), Problem> {
    if name.trim().is_empty() || !seen.insert(name.to_string()) {
        return Err(Problem::new(
            format!("{key}.{name_key}"),
            format!("`{name}` is empty or used twice"),
        ));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Problem::new(
            format!("{key}.url"),
            "must start with http:// or https://",
        ));
    }
    if interval_secs < min_interval {
        return Err(Problem::new(
            format!("{key}.interval_secs"),
            format!("must be at least {min_interval}"),
        ));
    }
    Ok(())
}
