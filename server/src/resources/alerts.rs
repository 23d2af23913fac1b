//! Resource alert rules applied to every node's samples as they arrive, remembered across
//! restarts through the events they wrote.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use vigil_core::model::{
    event::ResourceAlert,
    resource::{AlertChange, AlertRule, AlertState, AlertTracker, Metric},
};

/// An alert raised or cleared, ready to append as a `resource.alert` event.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertEvent {
    pub subject: String,
    pub alert: ResourceAlert,
}

pub struct Alerts {
    rules: Vec<AlertRule>,
    /// (node, rule index) → tracker and the newest sample time it has seen.
    trackers: HashMap<(String, usize), (AlertTracker, DateTime<Utc>)>,
}

pub fn subject(node: &str, rule: &AlertRule) -> String {
    format!("node:{node}:{}", rule.metric.name())
}

impl Alerts {
    pub fn new(rules: Vec<AlertRule>) -> Self {
        Alerts {
            rules,
            trackers: HashMap::new(),
        }
    }

    /// The rules changed (a revision of the world): a rule kept keeps its trackers (a firing
    /// alert is not raised again), a removed rule's are dropped, a new rule starts afresh.
    pub fn set_rules(&mut self, rules: Vec<AlertRule>) {
        let moved: HashMap<usize, usize> = self
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, old)| rules.iter().position(|r| r == old).map(|j| (i, j)))
            .collect();
        self.trackers = std::mem::take(&mut self.trackers)
            .into_iter()
            .filter_map(|((node, i), t)| moved.get(&i).map(|j| ((node, *j), t)))
            .collect();
        self.rules = rules;
    }

    /// Resumes alerts that were firing when Vigil stopped, so they are not raised twice.
    pub fn restore_firing(&mut self, firing: &[(String, Metric, DateTime<Utc>)]) {
        for (node, metric, since) in firing {
            for (i, rule) in self.rules.iter().enumerate() {
                if rule.metric == *metric {
                    let mut t = AlertTracker::new(rule.clone());
                    t.state = AlertState::Firing(*since);
                    self.trackers.insert((node.clone(), i), (t, *since));
                }
            }
        }
    }

    /// Feeds one sample; samples older than what a tracker has seen (a backfill) are ignored.
    pub fn observe(
        &mut self,
        node: &str,
        metric: Metric,
        at: DateTime<Utc>,
        value: f64,
    ) -> Vec<AlertEvent> {
        let mut out = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.metric != metric {
                continue;
            }
            let (tracker, seen) = self
                .trackers
                .entry((node.to_string(), i))
                .or_insert_with(|| (AlertTracker::new(rule.clone()), DateTime::<Utc>::MIN_UTC));
            if at <= *seen {
                continue;
            }
            *seen = at;
            let Some(change) = tracker.observe(value, at) else {
                continue;
            };
            let (firing, since) = match change {
                AlertChange::Raised { since } => (true, Some(since)),
                AlertChange::Cleared => (false, None),
            };
            let message = if firing {
                format!("{node}: {}", rule.describe())
            } else {
                format!(
                    "{node}: {} back to {}",
                    rule.metric.label(),
                    metric.format(value)
                )
            };
            out.push(AlertEvent {
                subject: subject(node, rule),
                alert: ResourceAlert {
                    node: node.to_string(),
                    metric: metric.name().to_string(),
                    value,
                    above: rule.above,
                    for_secs: rule.for_secs,
                    firing,
                    since,
                    message,
                },
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn memory_rule() -> AlertRule {
        AlertRule {
            metric: Metric::Memory,
            above: 0.9,
            for_secs: 60,
        }
    }

    #[test]
    fn raises_once_per_node_and_clears() {
        let mut a = Alerts::new(vec![memory_rule()]);
        assert!(a.observe("b", Metric::Memory, t(0), 0.95).is_empty());
        assert!(a.observe("a", Metric::Memory, t(0), 0.5).is_empty());
        assert!(a.observe("b", Metric::Cpu, t(60), 0.99).is_empty());
        let raised = a.observe("b", Metric::Memory, t(60), 0.96);
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].subject, "node:b:memory");
        assert!(raised[0].alert.firing);
        assert!(raised[0].alert.message.contains("above 90.0 % for 1 min"));
        // A backfilled older sample changes nothing.
        assert!(a.observe("b", Metric::Memory, t(30), 0.1).is_empty());
        let cleared = a.observe("b", Metric::Memory, t(90), 0.4);
        assert!(!cleared[0].alert.firing);
    }

    #[test]
    fn restored_alerts_are_not_raised_again() {
        let mut a = Alerts::new(vec![memory_rule()]);
        a.restore_firing(&[("b".into(), Metric::Memory, t(0))]);
        assert!(a.observe("b", Metric::Memory, t(100), 0.97).is_empty());
        assert_eq!(a.observe("b", Metric::Memory, t(200), 0.2).len(), 1);
    }
}
