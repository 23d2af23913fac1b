//! Load-balancer backends: what the balancer's health checks say of each node, and when a node
//! that keeps changing its mind counts as flapping — the signal that explained the seed incident.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BackendStatus {
    Up,
    Down,
    Unknown,
}

impl BackendStatus {
    /// Linode's spelling: "UP", "DOWN", "unknown".
    pub fn from_linode(s: &str) -> BackendStatus {
        match s {
            "UP" => BackendStatus::Up,
            "DOWN" => BackendStatus::Down,
            _ => BackendStatus::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> BackendStatus {
        s.parse().unwrap_or(BackendStatus::Unknown)
    }
}

/// A backend is flapping when its status changed at least `changes` times within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlapRule {
    pub changes: usize,
    pub window: Duration,
}

impl Default for FlapRule {
    fn default() -> Self {
        FlapRule {
            changes: 4,
            window: Duration::minutes(10),
        }
    }
}

/// What one observation changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The status changed: (from, to).
    pub changed: Option<(BackendStatus, BackendStatus)>,
    /// Flapping started (true) or stopped (false).
    pub flapping_changed: Option<bool>,
}

/// One backend's recent history, enough to judge flapping.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendHistory {
    pub status: BackendStatus,
    pub since: DateTime<Utc>,
    pub flapping: bool,
    changes: VecDeque<DateTime<Utc>>,
}

impl BackendHistory {
    pub fn new(status: BackendStatus, at: DateTime<Utc>) -> Self {
        BackendHistory {
            status,
            since: at,
            flapping: false,
            changes: VecDeque::new(),
        }
    }

    /// Restores a history from stored change times.
    pub fn restore(
        status: BackendStatus,
        since: DateTime<Utc>,
        flapping: bool,
        changes: Vec<DateTime<Utc>>,
    ) -> Self {
        BackendHistory {
            status,
            since,
            flapping,
            changes: changes.into(),
        }
    }

    pub fn observe(
        &mut self,
        status: BackendStatus,
        at: DateTime<Utc>,
        rule: FlapRule,
    ) -> Observed {
        let mut out = Observed::default();
        if status != self.status {
            out.changed = Some((self.status, status));
            self.status = status;
            self.since = at;
            self.changes.push_back(at);
        }
        while self.changes.front().is_some_and(|t| at - *t > rule.window) {
            self.changes.pop_front();
        }
        let flapping = self.changes.len() >= rule.changes.max(1);
        if flapping != self.flapping {
            self.flapping = flapping;
            out.flapping_changed = Some(flapping);
        }
        out
    }
}

/// A port's traffic cannot get in when every backend is down or flapping.
pub fn ingress_broken(backends: &[(BackendStatus, bool)]) -> bool {
    !backends.is_empty()
        && backends
            .iter()
            .all(|(s, flapping)| *s == BackendStatus::Down || *flapping)
}

#[cfg(test)]
mod tests {
    use super::*;
    use BackendStatus::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_612_017_000 + secs, 0).unwrap()
    }

    #[test]
    fn k_changes_within_the_window_is_flapping() {
        let rule = FlapRule {
            changes: 4,
            window: Duration::seconds(60),
        };
        let mut h = BackendHistory::new(Up, t(0));
        let seq = [Down, Up, Down];
        for (i, s) in seq.iter().enumerate() {
            let o = h.observe(*s, t(10 * (i as i64 + 1)), rule);
            assert!(o.changed.is_some());
            assert_eq!(
                o.flapping_changed, None,
                "three changes are not yet flapping"
            );
        }
        let o = h.observe(Up, t(40), rule);
        assert_eq!(o.changed, Some((Down, Up)));
        assert_eq!(o.flapping_changed, Some(true));
        assert!(h.flapping);
        // Quiet for longer than the window: no longer flapping.
        let o = h.observe(Up, t(105), rule);
        assert_eq!(o.changed, None);
        assert_eq!(o.flapping_changed, Some(false));
    }

    #[test]
    fn slow_changes_are_not_flapping() {
        let rule = FlapRule {
            changes: 3,
            window: Duration::seconds(60),
        };
        let mut h = BackendHistory::new(Up, t(0));
        for (i, s) in [Down, Up, Down, Up].iter().enumerate() {
            h.observe(*s, t(45 * (i as i64 + 1)), rule);
            assert!(!h.flapping);
        }
    }

    #[test]
    fn ingress_breaks_when_no_backend_is_steadily_up() {
        assert!(!ingress_broken(&[(Up, false), (Down, false)]));
        assert!(ingress_broken(&[(Down, false), (Down, false)]));
        assert!(ingress_broken(&[(Up, true), (Down, false)]));
        assert!(!ingress_broken(&[]));
    }

    #[test]
    fn linode_spellings_map() {
        assert_eq!(BackendStatus::from_linode("UP"), Up);
        assert_eq!(BackendStatus::from_linode("DOWN"), Down);
        assert_eq!(BackendStatus::from_linode("unknown"), Unknown);
    }
}

/// One stretch of a backend's history at one status, for the UP/DOWN strip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub status: BackendStatus,
}

/// Cuts `[start, end)` into stretches from the changes (time, from, to) in it, oldest first, given
/// the status at `end`. Before the first change the backend was in that change's `from` status.
pub fn segments(
    current: BackendStatus,
    changes: &[(DateTime<Utc>, BackendStatus, BackendStatus)],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut cursor = start;
    let mut status = changes.first().map(|c| c.1).unwrap_or(current);
    for (at, _, to) in changes.iter().filter(|c| c.0 > start && c.0 < end) {
        out.push(Segment {
            from: cursor,
            to: *at,
            status,
        });
        cursor = *at;
        status = *to;
    }
    out.push(Segment {
        from: cursor,
        to: end,
        status,
    });
    out
}

/// A backend as the ops dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendView {
    pub nodebalancer: String,
    pub port: i32,
    pub protocol: String,
    pub label: String,
    pub address: String,
    pub status: BackendStatus,
    pub flapping: bool,
    pub since: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
    pub history: Vec<Segment>,
}

#[cfg(test)]
mod segment_tests {
    use super::*;
    use BackendStatus::*;

    #[test]
    fn changes_cut_the_range_into_stretches() {
        let t = |s: i64| DateTime::from_timestamp(1_612_017_000 + s, 0).unwrap();
        let segs = segments(Up, &[(t(10), Up, Down), (t(20), Down, Up)], t(0), t(30));
        assert_eq!(
            segs.iter()
                .map(|s| (s.status, (s.to - s.from).num_seconds()))
                .collect::<Vec<_>>(),
            vec![(Up, 10), (Down, 10), (Up, 10)]
        );
        assert_eq!(
            segments(Down, &[], t(0), t(30)),
            vec![Segment {
                from: t(0),
                to: t(30),
                status: Down
            }]
        );
    }
}
