//! Kubernetes evidence: node conditions and their transitions, pod troubles (evictions,
//! `OOMKilled` containers), and each node's pod requests against what it can allocate — the
//! "over-scheduling" the seed post-mortem warns about. Parsed from what the API server sends;
//! knows no client library.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The node conditions Vigil follows.
pub const CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// One condition of one node as the kubelet reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeCondition {
    /// `Ready`, `MemoryPressure`, `DiskPressure` or `PIDPressure`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
    /// `lastTransitionTime`.
    pub since: Option<DateTime<Utc>>,
}

impl NodeCondition {
    /// Bad news: a pressure that is on (or unknown), or a node that is not ready.
    pub fn is_bad(&self) -> bool {
        if self.kind == "Ready" {
            self.status != "True"
        } else {
            self.status != "False"
        }
    }

    /// "MemoryPressure" → "memory pressure".
    pub fn label(&self) -> String {
        match self.kind.as_str() {
            "MemoryPressure" => "memory pressure".into(),
            "DiskPressure" => "disk pressure".into(),
            "PIDPressure" => "PID pressure".into(),
            "Ready" => "ready".into(),
            other => other.to_string(),
        }
    }
}

/// The conditions that changed between two readings of a node. On first sight (`before` is
/// None) only bad ones count: a healthy node appearing is not news, a node under pressure is.
pub fn condition_changes(
    before: Option<&[NodeCondition]>,
    after: &[NodeCondition],
) -> Vec<NodeCondition> {
    after
        .iter()
        .filter(|c| CONDITIONS.contains(&c.kind.as_str()))
        .filter(|c| match before {
            None => c.is_bad(),
            Some(before) => match before.iter().find(|b| b.kind == c.kind) {
                Some(b) => b.status != c.status,
                None => c.is_bad(),
            },
        })
        .cloned()
        .collect()
}

/// What happened to a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PodTroubleKind {
    /// The kubelet evicted it (node under pressure).
    Evicted,
    /// A container was killed for running out of memory.
    OomKilled,
}

/// A requests-to-allocatable reading of one node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Requests {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub pods: i32,
}

/// One node as `GET /api/v1/kubernetes/nodes` and /ops show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeView {
    /// The `[[kubernetes]]` source's name.
    pub cluster: String,
    pub node: String,
    pub conditions: Vec<NodeCondition>,
    pub cpu_allocatable_millis: Option<i64>,
    pub memory_allocatable_bytes: Option<i64>,
    /// Summed requests of the pods scheduled there that have not finished.
    pub cpu_requests_millis: i64,
    pub memory_requests_bytes: i64,
    pub pods: i32,
    /// Requests over allocatable; above 1 the node is over-scheduled.
    pub cpu_requests_ratio: Option<f64>,
    pub memory_requests_ratio: Option<f64>,
    /// When Vigil last read the node.
    pub updated_at: DateTime<Utc>,
}

impl NodeView {
    /// The conditions that are bad right now.
    pub fn troubles(&self) -> impl Iterator<Item = &NodeCondition> {
        self.conditions.iter().filter(|c| c.is_bad())
    }
}

/// requests / allocatable, None when nothing is allocatable (unknown or zero).
pub fn ratio(requests: i64, allocatable: Option<i64>) -> Option<f64> {
    allocatable
        .filter(|a| *a > 0)
        .map(|a| requests as f64 / a as f64)
}

/// The node's over-scheduling figure: the scarcer resource's requests over allocatable.
pub fn requests_ratio(cpu: Option<f64>, memory: Option<f64>) -> Option<f64> {
    match (cpu, memory) {
        (Some(c), Some(m)) => Some(c.max(m)),
        (c, m) => c.or(m),
    }
}

/// A Kubernetes quantity as a number: `"250m"` → 0.25, `"1Gi"` → 1073741824, `"129e6"`,
/// `"7901312Ki"`, `"0.5"`. None for anything else (never guessed).
pub fn quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    if number.is_empty() {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    let v = n * scale;
    v.is_finite().then_some(v)
}

/// CPU in millicores (rounded up, as the scheduler does).
pub fn cpu_millis(s: &str) -> Option<i64> {
    quantity(s).map(|v| (v * 1000.0).ceil() as i64)
}

/// Memory in bytes.
pub fn bytes(s: &str) -> Option<i64> {
    quantity(s).map(|v| v.ceil() as i64)
}

/// "3.9 GiB", "512 MiB".
pub fn format_bytes(b: i64) -> String {
    let b = b as f64;
    let gib = 1024f64.powi(3);
    if b >= gib {
        format!("{:.1} GiB", b / gib)
    } else {
        format!("{:.0} MiB", b / 1024f64.powi(2))
    }
}

/// "1.5 cores", "250m".
pub fn format_cpu(millis: i64) -> String {
    if millis >= 1000 {
        format!("{:.2} cores", millis as f64 / 1000.0)
    } else {
        format!("{millis}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(kind: &str, status: &str) -> NodeCondition {
        NodeCondition {
            kind: kind.into(),
            status: status.into(),
            reason: String::new(),
            message: String::new(),
            since: None,
        }
    }

    #[test]
    fn quantities_in_every_spelling() {
        assert_eq!(cpu_millis("250m"), Some(250));
        assert_eq!(cpu_millis("2"), Some(2000));
        assert_eq!(cpu_millis("0.5"), Some(500));
        assert_eq!(cpu_millis("3920m"), Some(3920));
        assert_eq!(bytes("128974848"), Some(128_974_848));
        assert_eq!(bytes("129e6"), Some(129_000_000));
        assert_eq!(bytes("123Mi"), Some(123 * 1024 * 1024));
        assert_eq!(bytes("1Gi"), Some(1 << 30));
        assert_eq!(bytes("7901312Ki"), Some(7_901_312 * 1024));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("12Qi"), None);
        assert_eq!(bytes("Mi"), None);
        assert_eq!(bytes(""), None);
        assert_eq!(bytes("1e999"), None);
    }

    #[test]
    fn first_sight_reports_only_bad_conditions_then_every_transition() {
        let healthy = vec![cond("Ready", "True"), cond("MemoryPressure", "False")];
        assert!(condition_changes(None, &healthy).is_empty());
        let pressed = vec![cond("Ready", "True"), cond("MemoryPressure", "True")];
        let first = condition_changes(None, &pressed);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].kind, "MemoryPressure");
        assert!(condition_changes(Some(&pressed), &pressed).is_empty());
        let back = condition_changes(Some(&pressed), &healthy);
        assert_eq!(back, vec![cond("MemoryPressure", "False")]);
        assert!(!back[0].is_bad());
        let unknown = vec![cond("Ready", "Unknown"), cond("NetworkUnavailable", "True")];
        let changed = condition_changes(Some(&healthy), &unknown);
        assert_eq!(changed, vec![cond("Ready", "Unknown")]);
        assert!(changed[0].is_bad());
    }

    #[test]
    fn over_scheduling_is_the_scarcer_resource() {
        let mem = ratio(9 << 30, Some(8 << 30));
        assert_eq!(mem, Some(1.125));
        assert_eq!(ratio(5, Some(0)), None);
        assert_eq!(requests_ratio(Some(0.4), mem), Some(1.125));
        assert_eq!(requests_ratio(None, Some(0.3)), Some(0.3));
        assert_eq!(requests_ratio(None, None), None);
        assert_eq!(format_bytes(3 << 29), "1.5 GiB");
        assert_eq!(format_cpu(250), "250m");
    }
}
