//! Runs every monitor on its interval, each at its own offset within the interval (no thundering
//! herd), with a bound on checks in flight, and reports how late each check started.
//!
//! The loop that keeps time runs on a thread of its own; the checks it starts run on the
//! server's runtime. Everything else a replica does shares that runtime's two workers — a
//! change of the world read and diffed, ten thousand verdicts decoded, a page rendered — and a
//! due check used to wait behind it (20 ms at p99 while a hundred changes applied to ten
//! thousand monitors, against 2.5 ms with none).

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap, HashSet},
    hash::{Hash, Hasher},
    sync::{Arc, RwLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::{
    runtime::Handle,
    sync::{mpsc, oneshot, Semaphore},
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

    /// What to change to have exactly `now` paused: `(id, paused)`, resumptions first.
    pub fn changes_to(&self, now: &[i64]) -> Vec<(i64, bool)> {
        let set = self.0.read().expect("paused set poisoned");
        let now: HashSet<i64> = now.iter().copied().collect();
        let mut changes: Vec<(i64, bool)> = set
            .iter()
            .filter(|id| !now.contains(id))
            .map(|id| (*id, false))
            .collect();
        changes.sort_unstable();
        let mut paused: Vec<(i64, bool)> = now
            .iter()
            .filter(|id| !set.contains(id))
            .map(|id| (*id, true))
            .collect();
        paused.sort_unstable();
        changes.extend(paused);
        changes
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
    /// The world: the monitors to check from here are those listing `local`. When it changes,
    /// only the monitors that changed are re-timed.
    pub live: crate::world::follow::Live,
    /// The region checked from here: `local` on a server, an agent's own region.
    pub region: String,
    pub probers: Arc<Probers>,
    pub paused: Arc<Paused>,
    pub max_concurrency: usize,
    /// When each monitor was last checked (before this scheduler): its first check is then one
    /// interval after that — at once when overdue — so a replica taking over keeps the rhythm
    /// and no monitor waits longer than its interval plus the takeover.
    pub last_checked: HashMap<i64, DateTime<Utc>>,
}

/// The first moment after `after` at which a monitor runs when it keeps to its own place in
/// its interval ([`offset`], counted from `start`).
fn next_in_place(start: Instant, spec: &MonitorSpec, after: Instant) -> Instant {
    let first = start + offset(&spec.name, spec.interval);
    if after < first {
        return first;
    }
    let interval = spec.interval.as_nanos().max(1);
    let rounds = (after - first).as_nanos() / interval + 1;
    first + Duration::from_nanos((interval * rounds).min(u64::MAX as u128) as u64)
}

/// One monitor as the scheduler runs it. `generation` moves when it is re-timed: its older
/// entries in the queue are then skipped.
struct Slot {
    spec: Arc<MonitorSpec>,
    generation: u64,
    last_run: Option<Instant>,
    /// Added while running: checked at once, then moved to its own place in the interval, so
    /// that a thousand monitors added in one revision do not run together for ever after.
    to_place: bool,
}

type Queue = BinaryHeap<Reverse<(Instant, i64, u64)>>;

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

    /// The monitors checked from here, as the world is now.
    fn local(&mut self) -> HashMap<i64, Arc<MonitorSpec>> {
        let region = self.region.clone();
        self.live
            .borrow_and_update()
            .monitors
            .iter()
            .filter(|(_, s)| s.runs_in(&region))
            .cloned()
            .collect()
    }

    /// Brings the slots to the world's new revision: a new monitor is checked at once, a
    /// removed one never again, one whose interval changed keeps its last check and moves its
    /// next; every other monitor keeps its slot (a changed URL or threshold is used from its
    /// next check on).
    ///
    /// When the world's log of changes reaches back to `seen` (the revision last reconciled),
    /// only the monitors changed since are looked at: a change to one of ten thousand costs one
    /// slot, not ten thousand, and the checks due meanwhile are not held up.
    fn reconcile(&mut self, seen: &mut i64, slots: &mut HashMap<i64, Slot>, queue: &mut Queue) {
        let live = self.live.borrow_and_update().clone();
        let changed = live.changed_since(*seen);
        *seen = live.revision;
        let wanted: HashMap<i64, Arc<MonitorSpec>> = match changed {
            Some(ids) => {
                for id in &ids {
                    let still = live.by_id.get(id).is_some_and(|s| s.runs_in(&self.region));
                    if !still {
                        slots.remove(id);
                    }
                }
                ids.iter()
                    .filter_map(|id| Some((*id, live.by_id.get(id)?.clone())))
                    .filter(|(_, s)| s.runs_in(&self.region))
                    .collect()
            }
            None => {
                drop(live);
                let wanted = self.local();
                slots.retain(|id, _| wanted.contains_key(id));
                wanted
            }
        };
        let now = Instant::now();
        for (id, spec) in wanted {
            match slots.get_mut(&id) {
                None => {
                    slots.insert(
                        id,
                        Slot {
                            spec,
                            generation: 0,
                            last_run: None,
                            to_place: true,
                        },
                    );
                    queue.push(Reverse((now, id, 0)));
                }
                Some(slot) if slot.spec.interval != spec.interval => {
                    slot.generation += 1;
                    let next = slot
                        .last_run
                        .map_or(now, |last| (last + spec.interval).max(now));
                    slot.spec = spec;
                    queue.push(Reverse((next, id, slot.generation)));
                }
                Some(slot) => slot.spec = spec,
            }
        }
    }

    /// Starts the scheduler on its own thread, its checks on the current runtime; results go to
    /// `results`. The receiver hears when it has stopped, after `shutdown`.
    pub fn start(
        self,
        results: mpsc::Sender<(i64, CheckResult)>,
        shutdown: CancellationToken,
    ) -> oneshot::Receiver<()> {
        let checks = Handle::current();
        let (stopped, stopped_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("vigil-scheduler".into())
            .spawn(move || {
                ahead_of_other_work();
                // A timer and nothing else: the checks' sockets live on `checks`.
                let clock = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .expect("a timer for the scheduler");
                clock.block_on(self.run(checks, results, shutdown));
                let _ = stopped.send(());
            })
            .expect("a thread for the scheduler");
        stopped_rx
    }

    /// Runs until `shutdown`, starting each check on `checks`.
    async fn run(
        mut self,
        checks: Handle,
        results: mpsc::Sender<(i64, CheckResult)>,
        shutdown: CancellationToken,
    ) {
        let limit = Arc::new(Semaphore::new(self.max_concurrency));
        let (start, now) = (Instant::now(), Utc::now());
        let mut slots: HashMap<i64, Slot> = HashMap::new();
        let mut queue: Queue = BinaryHeap::new();
        let mut seen = self.live.borrow().revision;
        for (id, spec) in self.local() {
            queue.push(Reverse((self.first_due(id, &spec, start, now), id, 0)));
            slots.insert(
                id,
                Slot {
                    spec,
                    generation: 0,
                    last_run: None,
                    // One taken over from another replica keeps that one's rhythm for its
                    // first check, then takes its own place (a herd started elsewhere ends).
                    to_place: true,
                },
            );
        }
        let mut live = self.live.clone();
        let mut following = true;
        loop {
            let next = queue.peek().map(|Reverse(entry)| entry.0);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                changed = live.changed(), if following => {
                    // Nobody sends changes any more: keep checking what there is.
                    following = changed.is_ok();
                    if following {
                        self.reconcile(&mut seen, &mut slots, &mut queue);
                    }
                    continue;
                }
                _ = sleep_until_or_forever(next) => {}
            }
            let Some(Reverse((due, id, generation))) = queue.pop() else {
                continue;
            };
            let Some(slot) = slots.get_mut(&id) else {
                continue; // removed from the world
            };
            if slot.generation != generation {
                continue; // re-timed: a newer entry stands for it
            }
            let spec = slot.spec.clone();
            // The next run keeps its slot; a check that starts late does not shift later ones.
            let mut next = if slot.to_place {
                slot.to_place = false;
                next_in_place(start, &spec, due)
            } else {
                due + spec.interval
            };
            let now = Instant::now();
            while next <= now {
                next += spec.interval;
            }
            slot.last_run = Some(due);
            queue.push(Reverse((next, id, generation)));
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
            checks.spawn(async move {
                let result = probers.check(id, &spec).await;
                metrics::counter!("probe_checks_total", "kind" => spec.check.kind()).increment(1);
                drop(permit);
                let _ = tx.send((id, result)).await;
            });
        }
    }
}

/// Asks the kernel to run this thread before ordinary work: `SCHED_FIFO` at the lowest real-time
/// priority. On its own thread the loop no longer waits behind the replica's other tasks, but it
/// still waited for a core: on two cores shared with PostgreSQL and two more replicas, a due
/// check started 8.4 ms late at p99 while a hundred changes applied, 2.5 ms with this (the same
/// as with no change at all). The loop only pops timers and hands checks to the runtime, so it
/// takes little of the core it is given; the kernel's real-time throttling bounds even a bug's
/// share. Allowed with `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` of at least 1 (`LimitRTPRIO=1` in
/// the shipped unit); without either, the thread stays ordinary and says so once.
fn ahead_of_other_work() {
    static SAID: std::sync::Once = std::sync::Once::new();
    #[cfg(target_os = "linux")]
    let refused = {
        let param = libc::sched_param { sched_priority: 1 };
        // SAFETY: pid 0 is the calling thread; `param` lives across the call.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
        (rc != 0).then(std::io::Error::last_os_error)
    };
    #[cfg(not(target_os = "linux"))]
    let refused = Some(std::io::Error::from(std::io::ErrorKind::Unsupported));
    SAID.call_once(|| match refused {
        None => tracing::debug!("the probes' scheduler runs at real-time priority 1"),
        Some(e) => tracing::info!(
            error = %e,
            "the probes' scheduler runs at ordinary priority (real-time priority 1 needs CAP_SYS_NICE or LimitRTPRIO=1): checks may start a few milliseconds late while the machine is busy"
        ),
    });
}

/// Sleeps until `at`, or for ever when nothing is due (an empty world waits for a change).
async fn sleep_until_or_forever(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paused_set_moves_to_what_the_database_says_and_only_that() {
        let paused = Paused::default();
        paused.set(1, true);
        paused.set(2, true);
        assert_eq!(paused.changes_to(&[2, 3]), vec![(1, false), (3, true)]);
        assert_eq!(paused.changes_to(&[1, 2]), Vec::new());
        assert_eq!(paused.changes_to(&[]), vec![(1, false), (2, false)]);
    }

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

    fn spec(name: &str, secs: u64) -> MonitorSpec {
        MonitorSpec {
            name: name.into(),
            component: "c".into(),
            interval: Duration::from_secs(secs),
            timeout: Duration::from_secs(1),
            check: vigil_core::model::monitor::Check::Heartbeat {
                secret: "s".into(),
                window: Duration::from_secs(secs),
            },
            regions: vec!["local".into()],
            quorum: 1,
            via: Vec::new(),
        }
    }

    #[test]
    fn monitors_added_together_take_their_own_places_after_their_first_check() {
        let start = Instant::now();
        let interval = Duration::from_secs(30);
        // A thousand monitors added in one revision, all checked at once, 100 s in.
        let added = start + Duration::from_secs(100);
        let next: Vec<Instant> = (0..1000)
            .map(|i| next_in_place(start, &spec(&format!("m{i}"), 30), added))
            .collect();
        for n in &next {
            assert!(*n > added && *n <= added + interval, "within one interval");
            // On the monitor's own grid: start + offset + k × interval.
            let since = (*n - start).as_millis() % interval.as_millis();
            assert!(since < interval.as_millis());
        }
        for slice in 0..10 {
            let from = added + Duration::from_secs(slice * 3);
            let n = next
                .iter()
                .filter(|t| **t > from && **t <= from + Duration::from_secs(3))
                .count();
            assert!((50..=150).contains(&n), "slice {slice}: {n} (no herd)");
        }
        // One already in its place stays there: the next run is one interval on.
        let s = spec("site", 30);
        let placed = start + offset("site", interval) + interval * 4;
        assert_eq!(next_in_place(start, &s, placed), placed + interval);
        assert_eq!(
            next_in_place(start, &s, start),
            start + offset("site", interval)
        );
    }
}
