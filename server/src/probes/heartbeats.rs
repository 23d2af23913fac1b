//! Heartbeat monitors: the check is whether a ping arrived in time.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};
use vigil_core::model::monitor::{CheckResult, ErrorClass};

/// The last heartbeat of each heartbeat monitor.
#[derive(Default)]
pub struct Heartbeats(Mutex<HashMap<i64, DateTime<Utc>>>);

impl Heartbeats {
    /// Records a beat at `at`, unless a later one is known (pings arrive through several
    /// replicas and the database, not always in order).
    pub fn beat(&self, id: i64, at: DateTime<Utc>) {
        let mut beats = self.0.lock().expect("heartbeats poisoned");
        let last = beats.entry(id).or_insert(at);
        *last = (*last).max(at);
    }

    pub fn last(&self, id: i64) -> Option<DateTime<Utc>> {
        self.0
            .lock()
            .expect("heartbeats poisoned")
            .get(&id)
            .copied()
    }

    /// Down when no beat arrived within `window` (counting from start-up when none ever did).
    pub fn check(&self, id: i64, window: Duration, now: DateTime<Utc>) -> CheckResult {
        let since = self.last(id);
        match since {
            Some(t) if now - t <= chrono::Duration::from_std(window).unwrap_or_default() => {
                CheckResult::ok(now, Duration::ZERO)
            }
            Some(t) => CheckResult::failed(
                now,
                Duration::ZERO,
                ErrorClass::Missed,
                format!("no heartbeat since {}", t.format("%Y-%m-%d %H:%M:%S UTC")),
            ),
            None => CheckResult::failed(
                now,
                Duration::ZERO,
                ErrorClass::Missed,
                "no heartbeat received yet",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_go_missing_after_their_window() {
        let hb = Heartbeats::default();
        let now = Utc::now();
        assert!(hb.check(1, Duration::from_secs(60), now).error.is_some());
        hb.beat(1, now - chrono::Duration::seconds(30));
        assert!(hb.check(1, Duration::from_secs(60), now).error.is_none());
        let late = hb.check(1, Duration::from_secs(10), now);
        assert_eq!(late.error.unwrap().0, ErrorClass::Missed);
    }
}
