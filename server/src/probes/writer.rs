//! Collects check results, folds each into its monitor's state, and writes them in batches: raw
//! results, rollups, states and state-change events in one transaction.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::monitor::{
        combine, outvoted, CheckResult, MonitorSpec, MonitorState, MonitorStatus, Outcome,
        Thresholds, LOCAL,
    },
    store::checks::{self, Change, StateUpdate},
};

/// Results kept in memory while the database cannot be written (about 10 MB); past it the oldest
/// go, counted in `probe_results_dropped_total`.
pub const MAX_BUFFERED: usize = 100_000;

/// Requests the writer serves besides results, so only it ever changes a monitor's state.
pub enum Command {
    Pause(i64, bool),
}

pub struct Writer {
    pub pool: PgPool,
    /// The monitors as the world is now: a result for a monitor deleted meanwhile is dropped,
    /// one for a monitor just created is counted.
    pub live: crate::world::follow::Live,
    pub states: HashMap<i64, (MonitorState, Option<chrono::DateTime<Utc>>)>,
    pub thresholds: Thresholds,
    pub batch_max: usize,
    pub flush_every: Duration,
    /// When the scheduler's freshness was last recorded (at most every few seconds).
    pub reported_at: Option<std::time::Instant>,
    /// For monitors checked from several regions: each region's own state, and when it last
    /// reported. The monitor's state is their combination (`monitor::combine`).
    pub regional: HashMap<i64, BTreeMap<String, (MonitorState, DateTime<Utc>)>>,
}

/// A region's verdict counts while its newest result is younger than this many intervals: an
/// agent that stopped reporting sees nothing, rather than what it saw last.
const CURRENT_FOR_INTERVALS: u32 = 3;

impl Writer {
    pub async fn run(
        mut self,
        mut results: mpsc::Receiver<(i64, CheckResult)>,
        mut commands: mpsc::Receiver<Command>,
        shutdown: CancellationToken,
    ) {
        let mut batch: Vec<(i64, CheckResult)> = Vec::new();
        let mut pending_changes: Vec<Change> = Vec::new();
        let mut touched: HashMap<i64, CheckResult> = HashMap::new();
        let mut tick = tokio::time::interval(self.flush_every);
        loop {
            let flush = tokio::select! {
                r = results.recv() => match r {
                    Some((id, result)) => {
                        if batch.is_empty() {
                            // A batch is written at most `flush_every` after its first result.
                            tick.reset();
                        }
                        let mut result = result;
                        self.fold(id, &mut result, &mut pending_changes);
                        touched.insert(id, result.clone());
                        batch.push((id, result));
                        batch.len() >= self.batch_max
                    }
                    None => true,
                },
                Some(Command::Pause(id, paused)) = commands.recv() => {
                    self.pause(id, paused, &mut pending_changes);
                    true
                }
                // Nothing to write, nothing to wake up for.
                _ = tick.tick(), if !batch.is_empty() || !pending_changes.is_empty() => true,
                _ = shutdown.cancelled() => {
                    // Whatever arrived is written before stopping.
                    while let Ok((id, mut result)) = results.try_recv() {
                        self.fold(id, &mut result, &mut pending_changes);
                        touched.insert(id, result.clone());
                        batch.push((id, result));
                    }
                    self.flush(&mut batch, &mut touched, &mut pending_changes).await;
                    return;
                }
            };
            if flush {
                self.flush(&mut batch, &mut touched, &mut pending_changes)
                    .await;
            }
        }
    }

    fn spec(&self, id: i64) -> Option<Arc<MonitorSpec>> {
        self.live.borrow().by_id.get(&id).cloned()
    }

    fn fold(&mut self, id: i64, result: &mut CheckResult, changes: &mut Vec<Change>) {
        let Some(spec) = self.spec(id) else {
            return;
        };
        let (state, last_ok) = self
            .states
            .entry(id)
            .or_insert_with(|| (MonitorState::new(result.at), None));
        if result.outcome != Outcome::Failed {
            *last_ok = Some(result.at);
        }
        let transition = if spec.is_regional() {
            let region = result.region.as_deref().unwrap_or(LOCAL);
            let regions = self.regional.entry(id).or_default();
            let (regional, seen_at) = regions
                .entry(region.to_string())
                .or_insert_with(|| (MonitorState::new(result.at), result.at));
            regional.apply(result, self.thresholds);
            *seen_at = result.at;
            let current = spec.interval * CURRENT_FOR_INTERVALS;
            let recent = chrono::Duration::from_std(current).unwrap_or_default();
            let failing_now = regions
                .values()
                .filter(|(s, at)| result.at - *at <= recent && s.failures_in_a_row > 0)
                .count();
            result.outvoted = outvoted(result.outcome, failing_now, spec.quorum);
            let seen = current_verdicts(regions, result.at, current);
            let (status, cause) = combine(&spec.regions, spec.quorum, &seen);
            state.conclude(status, result.at, cause)
        } else {
            state.apply(result, self.thresholds)
        };
        if let Some(t) = transition {
            tracing::info!(monitor = %spec.name, from = ?t.from, to = ?t.to, cause = %t.cause, "monitor state changed");
            changes.push(Change {
                monitor_id: id,
                monitor: spec.name.clone(),
                component: spec.component.clone(),
                transition: t,
            });
        }
    }

    /// What each region sees now, as stored with the monitor's state (regional monitors only).
    fn regions_of(&self, id: i64) -> Option<serde_json::Value> {
        let spec = self.spec(id)?;
        let regions = self.regional.get(&id)?;
        let now = Utc::now();
        let seen = current_verdicts(regions, now, spec.interval * CURRENT_FOR_INTERVALS);
        Some(serde_json::json!(seen
            .iter()
            .map(|(r, s)| (r.clone(), s.as_str()))
            .collect::<BTreeMap<_, _>>()))
    }

    fn pause(&mut self, id: i64, paused: bool, changes: &mut Vec<Change>) {
        let Some(spec) = self.spec(id) else {
            return;
        };
        let now = Utc::now();
        let (state, _) = self
            .states
            .entry(id)
            .or_insert_with(|| (MonitorState::new(now), None));
        let t = if paused {
            state.pause(now)
        } else {
            state.resume(now)
        };
        if let Some(t) = t {
            changes.push(Change {
                monitor_id: id,
                monitor: spec.name.clone(),
                component: spec.component.clone(),
                transition: t,
            });
        }
    }

    async fn flush(
        &mut self,
        batch: &mut Vec<(i64, CheckResult)>,
        touched: &mut HashMap<i64, CheckResult>,
        changes: &mut Vec<Change>,
    ) {
        if batch.is_empty() && changes.is_empty() {
            return;
        }
        let mut updates: Vec<StateUpdate> = touched
            .drain()
            .filter_map(|(id, last)| {
                self.states.get(&id).map(|(state, last_ok)| StateUpdate {
                    monitor_id: id,
                    state: state.clone(),
                    last,
                    last_ok_at: *last_ok,
                    regions: self.regions_of(id),
                })
            })
            .collect();
        // Paused/resumed monitors with no new result still need their state stored.
        for c in changes.iter() {
            if !updates.iter().any(|u| u.monitor_id == c.monitor_id) {
                if let Some((state, last_ok)) = self.states.get(&c.monitor_id) {
                    updates.push(StateUpdate {
                        monitor_id: c.monitor_id,
                        state: state.clone(),
                        last: CheckResult::ok(c.transition.at, Duration::ZERO),
                        last_ok_at: *last_ok,
                        regions: self.regions_of(c.monitor_id),
                    });
                }
            }
        }
        let started = std::time::Instant::now();
        match checks::write_batch(&self.pool, batch, &updates, changes).await {
            Ok(()) => {
                if !batch.is_empty()
                    && self
                        .reported_at
                        .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
                {
                    self.reported_at = Some(std::time::Instant::now());
                    let pool = self.pool.clone();
                    tokio::spawn(async move {
                        crate::sources::registry::report(
                            &pool,
                            crate::sources::registry::SCHEDULER,
                            Ok(()),
                        )
                        .await
                    });
                }
                metrics::counter!("probe_results_written_total").increment(batch.len() as u64);
                metrics::histogram!("probe_batch_write_seconds")
                    .record(started.elapsed().as_secs_f64());
                batch.clear();
                changes.clear();
            }
            Err(e) => {
                // Keep them and try again at the next flush; a short outage loses nothing. A long
                // one would grow without bound, so past a limit the oldest raw results go.
                tracing::error!(error = %e, pending = batch.len(), "could not store check results; will retry");
                if batch.len() > MAX_BUFFERED {
                    let excess = batch.len() - MAX_BUFFERED;
                    batch.drain(..excess);
                    metrics::counter!("probe_results_dropped_total").increment(excess as u64);
                    tracing::warn!(
                        dropped = excess,
                        "the result buffer is full: dropped the oldest results"
                    );
                }
                for u in updates {
                    touched.insert(u.monitor_id, u.last);
                }
            }
        }
    }
}

/// Each region's verdict, for regions that reported within `current` of `now`.
fn current_verdicts(
    regions: &BTreeMap<String, (MonitorState, DateTime<Utc>)>,
    now: DateTime<Utc>,
    current: Duration,
) -> BTreeMap<String, MonitorStatus> {
    let current = chrono::Duration::from_std(current).unwrap_or_default();
    regions
        .iter()
        .filter(|(_, (_, at))| now - *at <= current)
        .map(|(r, (state, _))| (r.clone(), state.status))
        .collect()
}
