//! What objectives are computed from: good and total checks per monitor since given times, with
//! and without the buckets a maintenance of the monitor's component overlapped; and the state of
//! their burn-rate alerts, changed together with the event that says so.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{events, PgPool, StoreError};
use crate::model::{
    event::EventData,
    objective::{
        burn_down, burn_rate, Budget, BudgetUse, BurnDownPoint, Counts, Maintenance, Objective,
        RuleView, Scope, SloView, Span,
    },
};

/// The span "burning now" is judged over.
pub const NOW_SPAN: Span = Span::hours(1);

/// Rollups to count from: minutes (kept eight days, for alert windows) or hours (kept 400
/// days, for objective windows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    Minute,
    Hour,
}

impl Resolution {
    fn code(self) -> i8 {
        match self {
            Resolution::Minute => b'm' as i8,
            Resolution::Hour => b'h' as i8,
        }
    }

    fn secs(self) -> f64 {
        match self {
            Resolution::Minute => 60.0,
            Resolution::Hour => 3600.0,
        }
    }
}

/// One monitor's checks in one day counted from `froms[since]` (day 0 starts there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCounts {
    pub monitor_id: i64,
    pub since: usize,
    pub day: i32,
    pub checks: i64,
    pub failures: i64,
    /// The same, leaving out buckets that a maintenance of the component overlapped.
    pub checks_outside: i64,
    pub failures_outside: i64,
}

/// Checks of `monitors` in rollups of `resolution` from each of `froms` on, by day counted
/// from it: a window's total and its burn-down, or an alert window's total, in one pass over
/// the rollups from the earliest start (a bucket counts for every start it is after).
pub async fn days_since(
    pool: &PgPool,
    resolution: Resolution,
    monitors: &[i64],
    froms: &[DateTime<Utc>],
    until: DateTime<Utc>,
) -> Result<Vec<DayCounts>, StoreError> {
    let Some(earliest) = froms.iter().min().copied() else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query!(
        "WITH held AS ( \
           SELECT ic.component_id, i.started_at AS from_at, COALESCE(i.resolved_at, 'infinity') AS until_at \
           FROM incidents i JOIN incident_components ic ON ic.incident_id = i.id \
           WHERE i.kind = 'maintenance' AND i.status IN ('in_progress', 'verifying', 'completed') \
             AND COALESCE(i.resolved_at, now()) > $4), \
         counted AS ( \
           SELECT r.monitor_id, r.bucket, r.checks, r.failures, EXISTS ( \
               SELECT 1 FROM held h WHERE h.component_id = m.component_id \
                 AND h.from_at < r.bucket + make_interval(secs => $5) AND h.until_at > r.bucket) AS in_maintenance \
           FROM check_rollups r JOIN monitors m ON m.id = r.monitor_id \
           WHERE r.resolution = $1 AND r.monitor_id = ANY($2) AND r.bucket >= $4 AND r.bucket < $6) \
         SELECT c.monitor_id AS \"monitor_id!\", s.i AS \"since!\", \
           floor(extract(epoch FROM c.bucket - s.from_at) / 86400)::int4 AS \"day!\", \
           sum(c.checks)::int8 AS \"checks!\", sum(c.failures)::int8 AS \"failures!\", \
           COALESCE(sum(c.checks) FILTER (WHERE NOT c.in_maintenance), 0)::int8 AS \"checks_outside!\", \
           COALESCE(sum(c.failures) FILTER (WHERE NOT c.in_maintenance), 0)::int8 AS \"failures_outside!\" \
         FROM counted c JOIN unnest($3::timestamptz[]) WITH ORDINALITY AS s(from_at, i) ON c.bucket >= s.from_at \
         GROUP BY 1, 2, 3",
        resolution.code(),
        monitors,
        froms,
        earliest,
        resolution.secs(),
        until
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DayCounts {
            monitor_id: r.monitor_id,
            since: (r.since - 1) as usize,
            day: r.day,
            checks: r.checks,
            failures: r.failures,
            checks_outside: r.checks_outside,
            failures_outside: r.failures_outside,
        })
        .collect())
}

/// Every non-retired monitor: id, name, component.
pub async fn monitors(pool: &PgPool) -> Result<Vec<(i64, String, String)>, StoreError> {
    Ok(
        sqlx::query!("SELECT id, name, component_id FROM monitors WHERE NOT retired ORDER BY id")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name, r.component_id))
            .collect(),
    )
}

/// The monitors whose checks `o` counts.
fn counted_by(o: &Objective, monitors: &[(i64, String, String)]) -> Vec<i64> {
    monitors
        .iter()
        .filter(|(_, name, component)| match &o.scope {
            Scope::Component(c) => c == component,
            Scope::Monitor(m) => m == name,
        })
        .map(|(id, _, _)| *id)
        .collect()
}

/// What an incident over `[start, end)` touching `components` cost each objective that counts
/// one of their checks: its failed checks then, against the budget of the window it ended in.
pub async fn budget_used(
    pool: &PgPool,
    objectives: &[Objective],
    components: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<BudgetUse>, StoreError> {
    let monitors = monitors(pool).await?;
    let mut out = Vec::new();
    for o in objectives {
        let ids = counted_by(o, &monitors);
        let touched = monitors
            .iter()
            .any(|(id, _, c)| ids.contains(id) && components.contains(c));
        if !touched {
            continue;
        }
        // Minutes while they are kept, for an incident's exact span; hours after.
        let resolution = if start > Utc::now() - chrono::Duration::days(7) {
            Resolution::Minute
        } else {
            Resolution::Hour
        };
        let during = Table::new(days_since(pool, resolution, &ids, &[start], end).await?).counts(
            &ids,
            0,
            o.maintenance,
        );
        if during.bad() == 0 {
            continue;
        }
        let (from, to) = o.window.bounds(end);
        let window =
            Table::new(days_since(pool, Resolution::Hour, &ids, &[from], to.max(end)).await?)
                .counts(&ids, 0, o.maintenance);
        let allowed = window.total as f64 * o.target.budget();
        out.push(BudgetUse {
            name: o.name.clone(),
            target: o.target,
            window: o.window,
            bad: during.bad(),
            used: if allowed > 0.0 {
                during.bad() as f64 / allowed
            } else {
                f64::INFINITY
            },
            maintenance: o.maintenance,
        });
    }
    Ok(out)
}

/// Counts by (monitor, start index, day).
struct Table(HashMap<(i64, usize), Vec<DayCounts>>);

impl Table {
    fn new(rows: Vec<DayCounts>) -> Table {
        let mut by: HashMap<(i64, usize), Vec<DayCounts>> = HashMap::new();
        for r in rows {
            by.entry((r.monitor_id, r.since)).or_default().push(r);
        }
        Table(by)
    }

    /// Each day's counts of `monitors` from start `since`, maintenance in or out.
    fn days(&self, monitors: &[i64], since: usize, maintenance: Maintenance) -> Vec<(i32, Counts)> {
        let mut days: std::collections::BTreeMap<i32, Counts> = Default::default();
        for r in monitors
            .iter()
            .filter_map(|m| self.0.get(&(*m, since)))
            .flatten()
        {
            let (checks, failures) = match maintenance {
                Maintenance::Excluded => (r.checks_outside, r.failures_outside),
                Maintenance::Included => (r.checks, r.failures),
            };
            let day = days.entry(r.day).or_default();
            *day = *day
                + Counts {
                    good: checks - failures,
                    total: checks,
                };
        }
        days.into_iter().collect()
    }

    fn counts(&self, monitors: &[i64], since: usize, maintenance: Maintenance) -> Counts {
        self.days(monitors, since, maintenance)
            .into_iter()
            .map(|(_, c)| c)
            .sum()
    }
}

/// The index of `x` in `list`, added when missing.
fn index_of<T: PartialEq>(list: &mut Vec<T>, x: T) -> usize {
    match list.iter().position(|y| *y == x) {
        Some(i) => i,
        None => {
            list.push(x);
            list.len() - 1
        }
    }
}

/// Every objective's figures at `now`: two passes over the rollups (hours for the windows and
/// their burn-down, minutes for the alert windows), however many objectives there are.
pub async fn assess(
    pool: &PgPool,
    objectives: &[Objective],
    now: DateTime<Utc>,
) -> Result<Vec<SloView>, StoreError> {
    if objectives.is_empty() {
        return Ok(Vec::new());
    }
    let monitors = monitors(pool).await?;
    let counted: Vec<Vec<i64>> = objectives
        .iter()
        .map(|o| counted_by(o, &monitors))
        .collect();
    let mut ids: Vec<i64> = counted.iter().flatten().copied().collect();
    ids.sort_unstable();
    ids.dedup();
    // Distinct starts, each asked for once.
    let mut window_starts = Vec::new();
    let mut spans = vec![NOW_SPAN];
    for o in objectives {
        index_of(&mut window_starts, o.window.bounds(now).0);
        for r in &o.alerts {
            index_of(&mut spans, r.long);
            index_of(&mut spans, r.short);
        }
    }
    let span_starts: Vec<DateTime<Utc>> = spans.iter().map(|s| now - s.duration()).collect();
    // Buckets are stamped with their start: the one running now counts.
    let until = now + chrono::Duration::hours(1);
    let hours = Table::new(days_since(pool, Resolution::Hour, &ids, &window_starts, until).await?);
    let minutes =
        Table::new(days_since(pool, Resolution::Minute, &ids, &span_starts, until).await?);
    let states: HashMap<(String, String), AlertState> = alert_states(pool)
        .await?
        .into_iter()
        .map(|s| ((s.objective.clone(), s.rule.clone()), s))
        .collect();

    Ok(objectives
        .iter()
        .zip(&counted)
        .map(|(o, monitors)| {
            let (start, end) = o.window.bounds(now);
            let w = window_starts
                .iter()
                .position(|s| *s == start)
                .expect("asked for");
            let days = hours.days(monitors, w, o.maintenance);
            let c: Counts = days.iter().map(|(_, c)| *c).sum();
            let length = o.window.length(now);
            let budget = Budget::of(c, o.target, length);
            let rate = |s: Span| {
                let i = spans.iter().position(|x| *x == s).expect("asked for");
                burn_rate(minutes.counts(monitors, i, o.maintenance), o.target)
            };
            let burn_now = rate(NOW_SPAN);
            let dated: Vec<_> = days
                .iter()
                .map(|(d, c)| ((start + chrono::Duration::days(*d as i64)).date_naive(), *c))
                .collect();
            let (component, monitor) = match &o.scope {
                Scope::Component(c) => (Some(c.clone()), None),
                Scope::Monitor(m) => (None, Some(m.clone())),
            };
            SloView {
                id: o.id.clone(),
                name: o.name.clone(),
                component,
                monitor,
                sli: "availability".into(),
                target: o.target.percent(),
                window: o.window.to_string(),
                window_start: start,
                window_end: end,
                maintenance_excluded: o.maintenance == Maintenance::Excluded,
                good: c.good,
                total: c.total,
                achieved: c.ratio().map(|r| r * 100.0),
                met: c.ratio().is_none_or(|r| r >= o.target.fraction()),
                allowed_bad: budget.allowed_bad,
                bad: budget.bad,
                spent: budget.spent,
                remaining: budget.remaining,
                remaining_minutes: budget.remaining_minutes,
                burn_rate_now: burn_now,
                burn_rate_window: burn_rate(c, o.target),
                exhausted_in_secs: burn_now
                    .and_then(|r| budget.time_left(r, length))
                    .map(|d| d.num_seconds()),
                alerts: o
                    .alerts
                    .iter()
                    .map(|r| {
                        let state = states.get(&(o.id.clone(), r.id()));
                        RuleView {
                            id: r.id(),
                            long: r.long.to_string(),
                            short: r.short.to_string(),
                            burn_rate: r.burn_rate,
                            severity: r.severity.as_str().into(),
                            long_rate: rate(r.long),
                            short_rate: rate(r.short),
                            firing: state.is_some_and(|s| s.firing),
                            since: state.map(|s| s.since),
                        }
                    })
                    .collect(),
                burn_down: burn_down(&dated, o.target)
                    .into_iter()
                    .map(|(day, remaining)| BurnDownPoint { day, remaining })
                    .collect(),
            }
        })
        .collect())
}

/// A burn-rate alert's stored state.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertState {
    pub objective: String,
    pub rule: String,
    pub firing: bool,
    pub since: DateTime<Utc>,
}

pub async fn alert_states(pool: &PgPool) -> Result<Vec<AlertState>, StoreError> {
    Ok(sqlx::query_as!(
        AlertState,
        "SELECT objective_id AS objective, rule, firing, since FROM objective_alerts ORDER BY 1, 2"
    )
    .fetch_all(pool)
    .await?)
}

/// Records that `objective`'s `rule` fires (or no longer does) and appends `event` saying so, in
/// one transaction, and only if the stored state was the other one: said once, however many
/// times it is judged. Returns whether it changed.
pub async fn move_alert(
    pool: &PgPool,
    objective: &str,
    rule: &str,
    firing: bool,
    event: &EventData,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    // None: nothing changed; Some(true): the rule's first state; Some(false): it moved.
    let inserted = sqlx::query_scalar!(
        "INSERT INTO objective_alerts (objective_id, rule, firing, since) VALUES ($1, $2, $3, now()) \
         ON CONFLICT (objective_id, rule) DO UPDATE SET firing = EXCLUDED.firing, since = now() \
           WHERE objective_alerts.firing <> EXCLUDED.firing \
         RETURNING (xmax = 0) AS \"inserted!\"",
        objective,
        rule,
        firing
    )
    .fetch_optional(&mut *tx)
    .await?;
    // A rule first judged quiet is recorded quietly.
    let said = match inserted {
        None => false,
        Some(first) => firing || !first,
    };
    if said {
        events::append_in(&mut tx, &format!("slo:{objective}"), event).await?;
    }
    tx.commit().await?;
    Ok(said)
}

/// Forgets the alerts of objectives and rules no longer in the world.
pub async fn forget_alerts_except(
    pool: &PgPool,
    keep: &[(String, String)],
) -> Result<u64, StoreError> {
    let (objectives, rules): (Vec<String>, Vec<String>) = keep.iter().cloned().unzip();
    Ok(sqlx::query!(
        "DELETE FROM objective_alerts a WHERE NOT EXISTS ( \
           SELECT 1 FROM unnest($1::text[], $2::text[]) AS k(o, r) \
           WHERE k.o = a.objective_id AND k.r = a.rule)",
        &objectives,
        &rules
    )
    .execute(pool)
    .await?
    .rows_affected())
}
