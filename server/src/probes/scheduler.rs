//! Runs every monitor on its interval, each at its own offset within the interval (no thundering
//! herd), with a bound on checks in flight, and reports how late each check started.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap, HashSet},
    hash::{Hash, Hasher},
    sync::{Arc, RwLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::{
    sync::{mpsc, Semaphore},
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use vigil_core::model::monitor::{CheckResult, MonitorSpec};

use super::check::Probers;

/// Monitors an admin has paused; the scheduler skips them.
#[derive(Default)]
pub struct Paused(RwLock<HashSet<i64>>);

impl Paused {
    pub fn set(&self, id: i64, paused: bool) {
        let mut set = self.0.write().expect("paused set poisoned");
        if paused {
            set.insert(id);
        } else {
            set.remove(&id);
        }
    }
    pub fn contains(&self, id: i64) -> bool {
        self.0.read().expect("paused set poisoned").contains(&id)
    }
}

/// Where in its interval a monitor runs: stable across restarts, spread evenly by name.
pub fn offset(name: &str, interval: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    let ms = interval.as_millis().max(1) as u64;
    Duration::from_millis(h.finish() % ms)
}

pub struct Scheduler {
    pub monitors: Vec<(i64, Arc<MonitorSpec>)>,
    pub probers: Arc<Probers>,
    pub paused: Arc<Paused>,
    pub max_concurrency: usize,
    /// When each monitor was last checked (before this scheduler): its first check is then one
    /// interval after that — at once when overdue — so a replica taking over keeps the rhythm
    /// and no monitor waits longer than its interval plus the takeover.
    pub last_checked: HashMap<i64, DateTime<Utc>>,
}

impl Scheduler {
    /// When monitor `id` is first due, counting from `start` (= `now` on the wall clock).
    fn first_due(
        &self,
        id: i64,
        spec: &MonitorSpec,
        start: Instant,
        now: DateTime<Utc>,
    ) -> Instant {
        match self.last_checked.get(&id) {
            Some(last) => {
                let due = *last + chrono::Duration::from_std(spec.interval).unwrap_or_default();
                start + (due - now).to_std().unwrap_or_default().min(spec.interval)
            }
            None => start + offset(&spec.name, spec.interval),
        }
    }
}

impl Scheduler {
    /// Runs until `shutdown`; results go to `results`.
    pub async fn run(self, results: mpsc::Sender<(i64, CheckResult)>, shutdown: CancellationToken) {
        let limit = Arc::new(Semaphore::new(self.max_concurrency));
        let (start, now) = (Instant::now(), Utc::now());
        let mut queue: BinaryHeap<Reverse<(Instant, usize)>> = self
            .monitors
            .iter()
            .enumerate()
            .map(|(i, (id, spec))| Reverse((self.first_due(*id, spec, start, now), i)))
            .collect();
        while let Some(Reverse((due, i))) = queue.pop() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(due) => {}
            }
            let (id, spec) = self.monitors[i].clone();
            // The next run keeps its slot; a check that starts late does not shift later ones.
            let mut next = due + spec.interval;
            let now = Instant::now();
            while next <= now {
                next += spec.interval;
            }
            queue.push(Reverse((next, i)));
            if self.paused.contains(id) {
                continue;
            }
            let permit = tokio::select! {
                _ = shutdown.cancelled() => return,
                p = limit.clone().acquire_owned() => p.expect("semaphore never closed"),
            };
            let lag = Instant::now().saturating_duration_since(due);
            metrics::histogram!("probe_schedule_lag_seconds").record(lag.as_secs_f64());
            let probers = self.probers.clone();
            let tx = results.clone();
            tokio::spawn(async move {
                let result = probers.check(id, &spec).await;
                metrics::counter!("probe_checks_total", "kind" => spec.check.kind()).increment(1);
                drop(permit);
                let _ = tx.send((id, result)).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_stay_inside_the_interval_and_spread_out() {
        let interval = Duration::from_secs(30);
        let offsets: Vec<Duration> = (0..1000)
            .map(|i| offset(&format!("m{i}"), interval))
            .collect();
        assert!(offsets.iter().all(|o| *o < interval));
        // Each of ten 3-second slices gets a fair share (no herd at t=0).
        for slice in 0..10 {
            let n = offsets.iter().filter(|o| o.as_secs() / 3 == slice).count();
            assert!((50..=150).contains(&n), "slice {slice}: {n}");
        }
        assert_eq!(offset("site", interval), offset("site", interval));
    }
}
