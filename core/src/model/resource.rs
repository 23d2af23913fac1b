//! Node resources: the metrics Vigil keeps, counter rates, threshold alerts with a duration, and
//! which rollup a graph of a given range reads.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Memory,
    Cpu,
    MemoryPressure,
    CpuPressure,
    Load,
    /// Pods' requests over the node's allocatable, the scarcer of CPU and memory (from a
    /// `[[kubernetes]]` source); above 1 the node is over-scheduled.
    RequestsRatio,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::Memory,
        Metric::Cpu,
        Metric::MemoryPressure,
        Metric::CpuPressure,
        Metric::Load,
        Metric::RequestsRatio,
    ];

    /// What a node's exporter (directly or through Prometheus) measures.
    pub const EXPORTED: [Metric; 5] = [
        Metric::Memory,
        Metric::Cpu,
        Metric::MemoryPressure,
        Metric::CpuPressure,
        Metric::Load,
    ];

    /// The number stored in the database.
    pub fn id(self) -> i16 {
        match self {
            Metric::Memory => 1,
            Metric::Cpu => 2,
            Metric::MemoryPressure => 3,
            Metric::CpuPressure => 4,
            Metric::Load => 5,
            Metric::RequestsRatio => 6,
        }
    }

    pub fn from_id(id: i16) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.id() == id)
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Memory => "memory",
            Metric::Cpu => "cpu",
            Metric::MemoryPressure => "memory_pressure",
            Metric::CpuPressure => "cpu_pressure",
            Metric::Load => "load",
            Metric::RequestsRatio => "requests_ratio",
        }
    }

    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Metric::Memory => "Memory used",
            Metric::Cpu => "CPU busy",
            Metric::MemoryPressure => "Memory pressure (stalled s/s)",
            Metric::CpuPressure => "CPU pressure (stalled s/s)",
            Metric::Load => "Load per core",
            Metric::RequestsRatio => "Pod requests / allocatable",
        }
    }

    /// Ratios are shown as percentages and drawn on a 0–100 % axis.
    pub fn is_ratio(self) -> bool {
        matches!(self, Metric::Memory | Metric::Cpu | Metric::RequestsRatio)
    }

    /// Ratios that can pass 100 % (requests beyond allocatable): their axis grows to fit.
    pub fn can_exceed_one(self) -> bool {
        self == Metric::RequestsRatio
    }

    pub fn format(self, v: f64) -> String {
        if self.is_ratio() {
            format!("{:.1} %", v * 100.0)
        } else {
            format!("{v:.2}")
        }
    }

    /// The PromQL Vigil asks a Prometheus scraping node_exporter, unless configured otherwise.
    pub fn default_query(self) -> &'static str {
        match self {
            Metric::Memory => "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
            Metric::Cpu => {
                r#"1 - avg without (cpu) (sum without (mode) (rate(node_cpu_seconds_total{mode=~"idle|iowait|steal"}[5m])))"#
            }
            Metric::MemoryPressure => "rate(node_pressure_memory_waiting_seconds_total[5m])",
            Metric::CpuPressure => "rate(node_pressure_cpu_waiting_seconds_total[5m])",
            Metric::Load => {
                r#"node_load1 / count without (cpu, mode) (node_cpu_seconds_total{mode="idle"})"#
            }
            // kube-state-metrics' figures, for a Prometheus that scrapes it; Vigil's own
            // `[[kubernetes]]` source computes the same from the API.
            Metric::RequestsRatio => {
                r#"max by (node) (sum by (node, resource) (kube_pod_container_resource_requests{resource=~"cpu|memory"}) / sum by (node, resource) (kube_node_status_allocatable{resource=~"cpu|memory"}))"#
            }
        }
    }
}

/// Per-second rate between two readings of a counter. A counter that went down was reset (the
/// exporter restarted): like Prometheus, count the new value as what accrued since the reset.
/// None when time did not move forward.
pub fn counter_rate(prev: (f64, DateTime<Utc>), cur: (f64, DateTime<Utc>)) -> Option<f64> {
    let secs = (cur.1 - prev.1).num_milliseconds() as f64 / 1000.0;
    if secs <= 0.0 || !prev.0.is_finite() || !cur.0.is_finite() {
        return None;
    }
    let increase = if cur.0 >= prev.0 {
        cur.0 - prev.0
    } else {
        cur.0
    };
    Some(increase / secs)
}

/// "metric above a threshold for a duration", like the team's Prometheus alert rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    pub metric: Metric,
    pub above: f64,
    pub for_secs: u64,
}

impl AlertRule {
    pub fn describe(&self) -> String {
        format!(
            "{} above {} for {}",
            self.metric.label(),
            self.metric.format(self.above),
            human_secs(self.for_secs)
        )
    }
}

pub fn human_secs(s: u64) -> String {
    match s {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AlertState {
    Ok,
    /// Over the threshold since then, not yet for long enough.
    Pending(DateTime<Utc>),
    Firing(DateTime<Utc>),
}

/// What an observation changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AlertChange {
    Raised { since: DateTime<Utc> },
    Cleared,
}

/// One rule's state for one node.
#[derive(Clone, Debug)]
pub struct AlertTracker {
    pub rule: AlertRule,
    pub state: AlertState,
}

impl AlertTracker {
    pub fn new(rule: AlertRule) -> Self {
        AlertTracker {
            rule,
            state: AlertState::Ok,
        }
    }

    /// Feeds one sample. NaN is "no data" and changes nothing: a broken exporter neither raises
    /// nor clears an alert.
    pub fn observe(&mut self, value: f64, at: DateTime<Utc>) -> Option<AlertChange> {
        if value.is_nan() {
            return None;
        }
        let over = value > self.rule.above;
        let hold = Duration::seconds(self.rule.for_secs as i64);
        match (self.state, over) {
            (AlertState::Ok, true) if hold.is_zero() => {
                self.state = AlertState::Firing(at);
                Some(AlertChange::Raised { since: at })
            }
            (AlertState::Ok, true) => {
                self.state = AlertState::Pending(at);
                None
            }
            (AlertState::Pending(since), true) if at - since >= hold => {
                self.state = AlertState::Firing(since);
                Some(AlertChange::Raised { since })
            }
            (AlertState::Pending(_), false) => {
                self.state = AlertState::Ok;
                None
            }
            (AlertState::Firing(_), false) => {
                self.state = AlertState::Ok;
                Some(AlertChange::Cleared)
            }
            _ => None,
        }
    }

    pub fn firing(&self) -> bool {
        matches!(self.state, AlertState::Firing(_))
    }
}

/// Where a graph's points come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Raw,
    Minute,
    FiveMinutes,
    Hour,
}

impl Resolution {
    /// Enough points for a graph a screen wide, never the raw rows of a long range.
    pub fn for_range(span: Duration) -> Resolution {
        if span <= Duration::hours(6) {
            Resolution::Raw
        } else if span <= Duration::hours(12) {
            Resolution::Minute
        } else if span <= Duration::days(3) {
            Resolution::FiveMinutes
        } else {
            Resolution::Hour
        }
    }

    /// Points further apart than this leave a gap in the line.
    pub fn gap_after(self, sample_secs: u64) -> Duration {
        match self {
            Resolution::Raw => Duration::seconds((sample_secs as i64 * 3).max(45)),
            Resolution::Minute => Duration::minutes(3),
            Resolution::FiveMinutes => Duration::minutes(15),
            Resolution::Hour => Duration::hours(3),
        }
    }
}

/// One point of a graph: time (unix ms), mean, and the highest value in the bucket.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub t: i64,
    pub v: f64,
    pub max: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub node: String,
    pub metric: Metric,
    pub resolution: Resolution,
    /// Points further apart than this (ms) are drawn with a gap between them.
    pub gap_ms: i64,
    pub points: Vec<Point>,
}

/// A node as the API and the dashboard list it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeSummary {
    pub name: String,
    pub source: String,
    pub memory: Option<f64>,
    pub cpu: Option<f64>,
    pub memory_pressure: Option<f64>,
    /// Time of the newest sample.
    pub sampled_at: Option<DateTime<Utc>>,
    /// No sample for longer than its source's stale-after: shown as "no data since …".
    pub stale: bool,
}

/// A data source's freshness, for `/api/v1/sources` and the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceView {
    pub name: String,
    pub kind: String,
    pub target: String,
    pub stale_after_secs: i32,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub stale: bool,
    pub stale_since: Option<DateTime<Utc>>,
}

impl SourceView {
    /// "fresh", "stale" or "never" (configured, not heard from yet).
    pub fn state(&self) -> &'static str {
        match (self.stale, self.last_success) {
            (true, _) => "stale",
            (false, None) => "never",
            (false, Some(_)) => "fresh",
        }
    }
}

/// Whether a source last heard from at `last_success` (or started waiting at `since` if never)
/// is stale at `now`.
pub fn is_stale(
    last_success: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    stale_after: Duration,
) -> bool {
    now - last_success.unwrap_or(since) > stale_after
}

/// The alert raised when a source goes stale: "Prometheus not responding" is itself an alert.
pub fn stale_message(kind: &str, name: &str) -> String {
    match kind {
        "prometheus" => format!("Prometheus not responding ({name})"),
        "node_exporter" => format!("node_exporter not responding ({name})"),
        "linode" => format!("Linode API not answering ({name})"),
        "scheduler" => "The probe scheduler has stopped writing results".to_string(),
        _ => format!("{name} not responding"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn metrics_round_trip_through_ids_and_names() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_id(m.id()), Some(m));
            assert_eq!(Metric::parse(m.name()), Some(m));
        }
        assert_eq!(Metric::parse("disk"), None);
    }

    #[test]
    fn counter_rates_survive_resets() {
        assert_eq!(counter_rate((100.0, t(0)), (130.0, t(15))), Some(2.0));
        // The exporter restarted: 30 seconds' worth since zero, not a negative rate.
        assert_eq!(counter_rate((5000.0, t(0)), (30.0, t(15))), Some(2.0));
        assert_eq!(counter_rate((1.0, t(15)), (2.0, t(15))), None);
        assert_eq!(counter_rate((f64::NAN, t(0)), (2.0, t(15))), None);
    }

    #[test]
    fn an_alert_needs_its_duration_and_clears() {
        let mut a = AlertTracker::new(AlertRule {
            metric: Metric::Memory,
            above: 0.9,
            for_secs: 300,
        });
        assert_eq!(a.observe(0.95, t(0)), None);
        assert_eq!(a.observe(0.96, t(200)), None);
        assert_eq!(a.observe(f64::NAN, t(250)), None);
        assert_eq!(
            a.observe(0.97, t(300)),
            Some(AlertChange::Raised { since: t(0) })
        );
        assert!(a.firing());
        assert_eq!(a.observe(0.99, t(400)), None);
        assert_eq!(a.observe(0.5, t(500)), Some(AlertChange::Cleared));
        // A dip below the threshold restarts the clock.
        assert_eq!(a.observe(0.95, t(600)), None);
        assert_eq!(a.observe(0.5, t(700)), None);
        assert_eq!(a.observe(0.95, t(800)), None);
        assert_eq!(a.observe(0.95, t(1000)), None);
        assert!(a.observe(0.95, t(1100)).is_some());
    }

    #[test]
    fn long_ranges_read_rollups() {
        assert_eq!(Resolution::for_range(Duration::hours(1)), Resolution::Raw);
        assert_eq!(
            Resolution::for_range(Duration::hours(12)),
            Resolution::Minute
        );
        assert_eq!(
            Resolution::for_range(Duration::hours(24)),
            Resolution::FiveMinutes
        );
        assert_eq!(Resolution::for_range(Duration::days(30)), Resolution::Hour);
    }

    #[test]
    fn staleness_counts_from_start_when_never_heard() {
        let stale_after = Duration::seconds(60);
        assert!(!is_stale(None, t(0), t(30), stale_after));
        assert!(is_stale(None, t(0), t(90), stale_after));
        assert!(!is_stale(Some(t(80)), t(0), t(90), stale_after));
        assert_eq!(
            stale_message("prometheus", "main"),
            "Prometheus not responding (main)"
        );
    }
}

/// What the pages and the API need to know about resource collection.
#[derive(Clone, Debug, Default)]
pub struct GraphSettings {
    /// A node with no sample for this long is stale.
    pub node_stale_secs: u64,
    /// The shortest collection interval: raw points further apart than a few of these are a gap.
    pub sample_secs: u64,
    pub rules: Vec<AlertRule>,
}

impl GraphSettings {
    /// The threshold line to draw on a graph of `metric`, if a rule watches it.
    pub fn threshold(&self, metric: Metric) -> Option<f64> {
        self.rules
            .iter()
            .filter(|r| r.metric == metric)
            .map(|r| r.above)
            .reduce(f64::min)
    }
}
