//! What objectives are computed from: good and total checks per monitor since given times, with
//! and without the buckets a maintenance of the monitor's component overlapped; and the state of
//! their burn-rate alerts, changed together with the event that says so.

use std::collections::HashMap;

use chrono::{DateTime, DurationRound, NaiveDate, Utc};

use super::{events, PgPool, StoreError};
use crate::model::{
    event::EventData,
    objective::{BudgetUse, Counts, Maintenance, Objective, Scope, Sli, SloView, Span},
};

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
    /// Checks that did not fail, or (for a latency slot) that answered within its bound.
    pub good: i64,
    /// The same, leaving out buckets that a maintenance of the component overlapped.
    pub checks_outside: i64,
    pub good_outside: i64,
}

/// What counts as a good check: one that did not fail, or one that answered within
/// `LATENCY_BOUNDS_MS[slot]` (rollups without a histogram are left out then).
fn slot_of(sli: &Sli) -> Option<i32> {
    match sli {
        Sli::Latency { slot, .. } => Some(*slot as i32 + 1),
        _ => None,
    }
}

/// A stretch of time counted: `[from, until)`, buckets by their start.
pub type Interval = (DateTime<Utc>, DateTime<Utc>);

/// Checks of `monitors` in rollups of `resolution` within each of `intervals`, by day counted
/// from the interval's start (its index is `since`): a window's total and its burn-down, or
/// the pieces of alert windows. One statement; each interval reads only its own buckets (an
/// index range each: `OFFSET 0` keeps the planner from folding the intervals into one scan of
/// every bucket, measured 9 s instead of 0.2 s for 1,000 monitors' minutes).
pub async fn days_within(
    pool: &PgPool,
    resolution: Resolution,
    monitors: &[i64],
    intervals: &[Interval],
    sli: &Sli,
) -> Result<Vec<DayCounts>, StoreError> {
    let Some(earliest) = intervals.iter().map(|(f, _)| *f).min() else {
        return Ok(Vec::new());
    };
    let (froms, untils): (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) =
        intervals.iter().copied().unzip();
    let rows = sqlx::query!(
        "WITH held AS ( \
           SELECT ic.component_id, i.started_at AS from_at, COALESCE(i.resolved_at, 'infinity') AS until_at \
           FROM incidents i JOIN incident_components ic ON ic.incident_id = i.id \
           WHERE i.kind = 'maintenance' AND i.status IN ('in_progress', 'verifying', 'completed') \
             AND COALESCE(i.resolved_at, now()) > $4), \
         counted AS ( \
           SELECT s.i, s.from_at, r.monitor_id, r.bucket, r.checks, \
             CASE WHEN $7::int4 IS NULL THEN r.checks - r.failures ELSE COALESCE(r.latency_le[$7], 0) END AS good, \
             EXISTS ( \
               SELECT 1 FROM held h WHERE h.component_id = m.component_id \
                 AND h.from_at < r.bucket + make_interval(secs => $5) AND h.until_at > r.bucket) AS in_maintenance \
           FROM unnest($3::timestamptz[], $6::timestamptz[]) WITH ORDINALITY AS s(from_at, until_at, i) \
           CROSS JOIN LATERAL ( \
             SELECT * FROM check_rollups r WHERE r.resolution = $1 AND r.monitor_id = ANY($2) \
               AND r.bucket >= s.from_at AND r.bucket < s.until_at \
               AND ($7::int4 IS NULL OR cardinality(r.latency_le) > 0) \
             OFFSET 0) r \
           JOIN monitors m ON m.id = r.monitor_id) \
         SELECT c.monitor_id AS \"monitor_id!\", c.i AS \"since!\", \
           floor(date_part('epoch', c.bucket - c.from_at) / 86400)::int4 AS \"day!\", \
           sum(c.checks)::int8 AS \"checks!\", sum(c.good)::int8 AS \"good!\", \
           COALESCE(sum(c.checks) FILTER (WHERE NOT c.in_maintenance), 0)::int8 AS \"checks_outside!\", \
           COALESCE(sum(c.good) FILTER (WHERE NOT c.in_maintenance), 0)::int8 AS \"good_outside!\" \
         FROM counted c GROUP BY 1, 2, 3",
        resolution.code(),
        monitors,
        &froms,
        earliest,
        resolution.secs(),
        &untils,
        slot_of(sli)
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
            good: r.good,
            checks_outside: r.checks_outside,
            good_outside: r.good_outside,
        })
        .collect())
}

/// The same, each of `froms` counted until `until`.
pub async fn days_since(
    pool: &PgPool,
    resolution: Resolution,
    monitors: &[i64],
    froms: &[DateTime<Utc>],
    until: DateTime<Utc>,
    sli: &Sli,
) -> Result<Vec<DayCounts>, StoreError> {
    let intervals: Vec<Interval> = froms.iter().map(|f| (*f, until)).collect();
    days_within(pool, resolution, monitors, &intervals, sli).await
}

/// Where a span back from `now` is counted: its whole hours from hourly rollups, its ragged
/// ends from minute rollups — the total minutes alone would give, reading at most two hours
/// of minutes per monitor however long the span (a 3-day window read by minutes is 4,320 rows
/// a monitor). `until` closes the last piece (the running minute counts).
pub fn pieces(
    now: DateTime<Utc>,
    span: Span,
    until: DateTime<Utc>,
) -> (Option<Interval>, Vec<Interval>) {
    let from = now - span.duration();
    let hour = chrono::Duration::hours(1);
    let this_hour = now.duration_trunc(hour).unwrap_or(now);
    let truncated = from.duration_trunc(hour).unwrap_or(from);
    let first_whole = if truncated == from {
        from
    } else {
        truncated + hour
    };
    if first_whole >= this_hour {
        return (None, vec![(from, until)]);
    }
    let mut minutes = vec![(this_hour, until)];
    if from < first_whole {
        minutes.insert(0, (from, first_whole));
    }
    (Some((first_whole, this_hour)), minutes)
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

/// What an incident over `[start, end)` touching `components` cost each objective counted from
/// checks of one of them: its bad checks then, against the budget of the window it ended in.
pub async fn budget_used(
    pool: &PgPool,
    objectives: &[Objective],
    components: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<BudgetUse>, StoreError> {
    let monitors = monitors(pool).await?;
    let mut out = Vec::new();
    for o in objectives.iter().filter(|o| o.sli.from_checks()) {
        let ids = counted_by(o, &monitors);
        let touched = monitors
            .iter()
            .any(|(id, _, c)| ids.contains(id) && components.contains(c));
        if !touched {
            continue;
        }
        let during = between(pool, o, &monitors, start, end).await?;
        if during.bad() == 0 {
            continue;
        }
        let (from, to) = o.window.bounds(end);
        let window: Counts = by_day(pool, o, &monitors, from, to.max(end))
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .sum();
        out.push(BudgetUse::of(o, during, window));
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
            let (good, total) = match maintenance {
                Maintenance::Excluded => (r.good_outside, r.checks_outside),
                Maintenance::Included => (r.good, r.checks),
            };
            let day = days.entry(r.day).or_default();
            *day = *day + Counts { good, total };
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

/// The figures at `now` of objectives counted from checks: two passes over the rollups per
/// kind of good check (hours for the windows and their burn-down, minutes for the alert
/// windows), however many objectives there are. Answers in the order asked.
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
    // Distinct intervals, each asked for once: the windows (hours, by day), and each alert
    // span's whole hours (hours) and ragged ends (minutes).
    // Buckets are stamped with their start: the one running now counts.
    let until = now + chrono::Duration::hours(1);
    let mut hour_intervals: Vec<Interval> = Vec::new();
    let mut minute_intervals: Vec<Interval> = Vec::new();
    let mut spans: Vec<(Span, Option<usize>, Vec<usize>)> = Vec::new();
    for o in objectives {
        index_of(&mut hour_intervals, (o.window.bounds(now).0, until));
        for s in o.spans() {
            if spans.iter().any(|(x, ..)| *x == s) {
                continue;
            }
            let (hours, minutes) = pieces(now, s, until);
            spans.push((
                s,
                hours.map(|h| index_of(&mut hour_intervals, h)),
                minutes
                    .into_iter()
                    .map(|m| index_of(&mut minute_intervals, m))
                    .collect(),
            ));
        }
    }
    // One pair of passes per kind of good check (availability, each latency bound in use).
    let mut tables: HashMap<Option<i32>, (Table, Table)> = HashMap::new();
    for o in objectives {
        let slot = slot_of(&o.sli);
        if tables.contains_key(&slot) {
            continue;
        }
        let mut ids: Vec<i64> = objectives
            .iter()
            .zip(&counted)
            .filter(|(o, _)| slot_of(&o.sli) == slot)
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let hours = days_within(pool, Resolution::Hour, &ids, &hour_intervals, &o.sli);
        let minutes = days_within(pool, Resolution::Minute, &ids, &minute_intervals, &o.sli);
        tables.insert(slot, (Table::new(hours.await?), Table::new(minutes.await?)));
    }
    let states: HashMap<(String, String), AlertState> = alert_states(pool)
        .await?
        .into_iter()
        .map(|s| ((s.objective.clone(), s.rule.clone()), s))
        .collect();

    Ok(objectives
        .iter()
        .zip(&counted)
        .map(|(o, monitors)| {
            let (hours, minutes) = &tables[&slot_of(&o.sli)];
            let start = o.window.bounds(now).0;
            let w = hour_intervals
                .iter()
                .position(|i| *i == (start, until))
                .expect("asked for");
            let days: Vec<(NaiveDate, Counts)> = hours
                .days(monitors, w, o.maintenance)
                .into_iter()
                .map(|(d, c)| ((start + chrono::Duration::days(d as i64)).date_naive(), c))
                .collect();
            o.view(
                now,
                &days,
                |s| {
                    let (_, h, ms) = spans.iter().find(|(x, ..)| *x == s).expect("asked for");
                    let whole = h.map(|h| hours.counts(monitors, h, o.maintenance));
                    ms.iter()
                        .map(|m| minutes.counts(monitors, *m, o.maintenance))
                        .chain(whole)
                        .sum()
                },
                |rule| {
                    states
                        .get(&(o.id.clone(), rule.to_string()))
                        .map(|s| (s.firing, s.since))
                },
            )
        })
        .collect())
}

/// An objective counted from checks, day by day (UTC) over `[from, until)`: a report's month,
/// the public page's twelve months. Hours, kept 400 days.
pub async fn by_day(
    pool: &PgPool,
    o: &Objective,
    monitors: &[(i64, String, String)],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(NaiveDate, Counts)>, StoreError> {
    let ids = counted_by(o, monitors);
    let day0 = from.date_naive();
    Ok(
        Table::new(days_since(pool, Resolution::Hour, &ids, &[from], until, &o.sli).await?)
            .days(&ids, 0, o.maintenance)
            .into_iter()
            .map(|(d, c)| (day0 + chrono::Duration::days(d as i64), c))
            .collect(),
    )
}

/// An objective's checks over `[from, until)`: minutes while they are kept (an incident's
/// exact span), hours after.
pub async fn between(
    pool: &PgPool,
    o: &Objective,
    monitors: &[(i64, String, String)],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Counts, StoreError> {
    let ids = counted_by(o, monitors);
    let resolution = if from > Utc::now() - chrono::Duration::days(7) {
        Resolution::Minute
    } else {
        Resolution::Hour
    };
    Ok(
        Table::new(days_since(pool, resolution, &ids, &[from], until, &o.sli).await?).counts(
            &ids,
            0,
            o.maintenance,
        ),
    )
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

/// The component an objective's checks belong to: its own, or its monitor's.
pub fn component_of(o: &Objective, monitors: &[(i64, String, String)]) -> Option<String> {
    match &o.scope {
        Scope::Component(c) => Some(c.clone()),
        Scope::Monitor(m) => monitors
            .iter()
            .find(|(_, name, _)| name == m)
            .map(|(_, _, c)| c.clone()),
    }
}

pub use crate::model::objective::IncidentSpan;

/// The incidents (not maintenance) on `component` that were open at some time in
/// `[from, until)`, oldest first.
pub async fn incidents_within(
    pool: &PgPool,
    component: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<IncidentSpan>, StoreError> {
    Ok(sqlx::query!(
        "SELECT i.id, i.name AS title, i.started_at, i.resolved_at FROM incidents i \
         WHERE i.kind = 'incident' AND i.started_at < $3 AND COALESCE(i.resolved_at, 'infinity') > $2 \
           AND EXISTS (SELECT 1 FROM incident_components ic WHERE ic.incident_id = i.id AND ic.component_id = $1) \
         ORDER BY i.started_at, i.id",
        component,
        from,
        until
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.id, r.title, r.started_at, r.resolved_at))
    .collect())
}

/// The newest open incident (not maintenance) on `component`, if any: a burn-rate alert that
/// opens incidents joins it instead.
pub async fn open_incident_on(pool: &PgPool, component: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT i.id FROM incidents i JOIN incident_components ic ON ic.incident_id = i.id \
         WHERE i.kind = 'incident' AND i.resolved_at IS NULL AND ic.component_id = $1 \
         ORDER BY i.started_at DESC, i.id DESC LIMIT 1",
        component
    )
    .fetch_optional(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_span_is_whole_hours_between_two_ragged_ends_of_minutes() {
        let at = |h, m| Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap();
        let now = at(18, 25);
        let until = at(19, 25);
        // Three days back: 18:25 to 19:00 on the 4th in minutes, whole hours until 18:00
        // today, minutes since.
        let (hours, minutes) = pieces(now, Span::days(3), until);
        let start = now - chrono::Duration::days(3);
        assert_eq!(
            hours,
            Some((start + chrono::Duration::minutes(35), at(18, 0)))
        );
        assert_eq!(
            minutes,
            [
                (start, start + chrono::Duration::minutes(35)),
                (at(18, 0), until)
            ]
        );
        // Within this hour and the last: minutes only.
        assert_eq!(
            pieces(now, Span::hours(1), until),
            (None, vec![(at(17, 25), until)])
        );
        assert_eq!(
            pieces(now, Span::minutes(5), until),
            (None, vec![(at(18, 20), until)])
        );
        // Starting on the hour: no leading piece.
        let (hours, minutes) = pieces(at(18, 0), Span::hours(6), until);
        assert_eq!(hours, Some((at(12, 0), at(18, 0))));
        assert_eq!(minutes, [(at(18, 0), until)]);
        // Every piece together covers the span once, without gaps.
        let (hours, minutes) = pieces(now, Span::hours(6), until);
        let mut all: Vec<Interval> = minutes.into_iter().chain(hours).collect();
        all.sort();
        assert_eq!(all.first().unwrap().0, at(12, 25));
        assert!(all.windows(2).all(|w| w[0].1 == w[1].0), "{all:?}");
        assert_eq!(all.last().unwrap().1, until);
    }
}
