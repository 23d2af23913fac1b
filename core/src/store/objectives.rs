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

/// Rollups to count from: minutes (kept eight days, for alert windows), hours (kept 400 days)
/// or days (kept for good, written with the others: a window's whole days are one row each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    Minute,
    Hour,
    Day,
}

impl Resolution {
    fn code(self) -> i8 {
        match self {
            Resolution::Minute => b'm' as i8,
            Resolution::Hour => b'h' as i8,
            Resolution::Day => b'd' as i8,
        }
    }
}

/// A stretch of time counted: `[from, until)`, buckets by their start.
pub type Interval = (DateTime<Utc>, DateTime<Utc>);

/// A stretch read at one resolution.
pub type Piece = (Resolution, Interval);

/// One monitor's checks in one day (UTC) of `pieces[piece]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCounts {
    pub monitor_id: i64,
    pub piece: usize,
    pub day: NaiveDate,
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

/// Checks of `monitors` in each of `pieces`, by UTC day: a window's total and its burn-down,
/// or the pieces of alert windows. One statement; each piece reads only its own buckets (an
/// index range each: `OFFSET 0` keeps the planner from folding the pieces into one scan of
/// every bucket, measured 9 s instead of 0.2 s for 1,000 monitors' minutes).
///
/// With maintenance left out, a bucket a maintenance of the monitor's component overlapped is
/// left out; a day so touched is counted by its hours instead, so that an hour's maintenance
/// does not take the rest of the day's failures with it.
pub async fn days_within(
    pool: &PgPool,
    monitors: &[i64],
    pieces: &[Piece],
    sli: &Sli,
) -> Result<Vec<DayCounts>, StoreError> {
    let Some(earliest) = pieces.iter().map(|(_, (f, _))| *f).min() else {
        return Ok(Vec::new());
    };
    let resolutions: Vec<i8> = pieces.iter().map(|(r, _)| r.code()).collect();
    let (froms, untils): (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) =
        pieces.iter().map(|(_, i)| *i).unzip();
    // A maintenance is a multirange per component (joined once, not looked up per bucket: that
    // was two index probes per bucket, 1.6 M for a window of 1,000 monitors). One completed
    // before its planned start covers nothing (and would not make a range).
    let rows = sqlx::query!(
        "WITH held AS ( \
           SELECT ic.component_id, \
             range_agg(tstzrange(i.started_at, COALESCE(i.resolved_at, 'infinity'))) AS spans \
           FROM incidents i JOIN incident_components ic ON ic.incident_id = i.id \
           WHERE i.kind = 'maintenance' AND i.status IN ('in_progress', 'verifying', 'completed') \
             AND COALESCE(i.resolved_at, now()) > $4 \
             AND COALESCE(i.resolved_at, 'infinity') >= i.started_at \
           GROUP BY ic.component_id), \
         read AS MATERIALIZED ( \
           SELECT s.i, s.res, r.monitor_id, r.bucket, r.checks, \
             CASE WHEN $6::int4 IS NULL THEN r.checks - r.failures ELSE COALESCE(r.latency_le[$6], 0) END AS good, \
             h.spans \
           FROM unnest($1::\"char\"[], $3::timestamptz[], $5::timestamptz[]) WITH ORDINALITY AS s(res, from_at, until_at, i) \
           CROSS JOIN LATERAL ( \
             SELECT * FROM check_rollups r WHERE r.resolution = s.res AND r.monitor_id = ANY($2) \
               AND r.bucket >= s.from_at AND r.bucket < s.until_at \
               AND ($6::int4 IS NULL OR cardinality(r.latency_le) > 0) \
             OFFSET 0) r \
           JOIN monitors m ON m.id = r.monitor_id \
           LEFT JOIN held h ON h.component_id = m.component_id), \
         counted AS ( \
           SELECT i, monitor_id, bucket, checks, good, \
             COALESCE(spans && tstzrange(bucket, bucket + CASE res WHEN 'm' THEN interval '1 minute' \
               WHEN 'h' THEN interval '1 hour' ELSE interval '1 day' END), false) AS in_maintenance \
           FROM read WHERE res <> 'd' OR NOT COALESCE(spans && tstzrange(bucket, bucket + interval '1 day'), false) \
           UNION ALL \
           SELECT d.i, r.monitor_id, r.bucket, r.checks, \
             CASE WHEN $6::int4 IS NULL THEN r.checks - r.failures ELSE COALESCE(r.latency_le[$6], 0) END, \
             d.spans && tstzrange(r.bucket, r.bucket + interval '1 hour') \
           FROM read d JOIN check_rollups r ON r.monitor_id = d.monitor_id AND r.resolution = 'h' \
             AND r.bucket >= d.bucket AND r.bucket < d.bucket + interval '1 day' \
             AND ($6::int4 IS NULL OR cardinality(r.latency_le) > 0) \
           WHERE d.res = 'd' AND d.spans && tstzrange(d.bucket, d.bucket + interval '1 day')) \
         SELECT c.monitor_id AS \"monitor_id!\", c.i AS \"piece!\", \
           (c.bucket AT TIME ZONE 'UTC')::date AS \"day!\", \
           sum(c.checks)::int8 AS \"checks!\", sum(c.good)::int8 AS \"good!\", \
           COALESCE(sum(c.checks) FILTER (WHERE NOT c.in_maintenance), 0)::int8 AS \"checks_outside!\", \
           COALESCE(sum(c.good) FILTER (WHERE NOT c.in_maintenance), 0)::int8 AS \"good_outside!\" \
         FROM counted c GROUP BY 1, 2, 3",
        &resolutions,
        monitors,
        &froms,
        earliest,
        &untils,
        slot_of(sli)
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DayCounts {
            monitor_id: r.monitor_id,
            piece: (r.piece - 1) as usize,
            day: r.day,
            checks: r.checks,
            good: r.good,
            checks_outside: r.checks_outside,
            good_outside: r.good_outside,
        })
        .collect())
}

fn floor(t: DateTime<Utc>, step: chrono::Duration) -> DateTime<Utc> {
    t.duration_trunc(step).unwrap_or(t)
}

fn ceil(t: DateTime<Utc>, step: chrono::Duration) -> DateTime<Utc> {
    let down = floor(t, step);
    if down == t {
        t
    } else {
        down + step
    }
}

/// Where a span back from `now` is counted: its whole hours from hourly rollups, its ragged
/// ends from minute rollups — the total minutes alone would give, reading at most two hours
/// of minutes per monitor however long the span (a 3-day window read by minutes is 4,320 rows
/// a monitor). `until` closes the last piece (the running minute counts).
pub fn pieces(now: DateTime<Utc>, span: Span, until: DateTime<Utc>) -> Vec<Piece> {
    let from = now - span.duration();
    let hour = chrono::Duration::hours(1);
    let this_hour = floor(now, hour);
    let first_whole = ceil(from, hour);
    if first_whole >= this_hour {
        return vec![(Resolution::Minute, (from, until))];
    }
    let mut out = Vec::with_capacity(3);
    if from < first_whole {
        out.push((Resolution::Minute, (from, first_whole)));
    }
    out.push((Resolution::Hour, (first_whole, this_hour)));
    out.push((Resolution::Minute, (this_hour, until)));
    out
}

/// Where `[from, until)` is counted for a window or a report: its whole UTC days from daily
/// rollups, the hours before the first and after the last from hourly ones (an hour begun
/// before `from` is left out, as always). Thirty days of a monitor are then about 30 rows and up to 47
/// more, not 720.
pub fn spread(from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Piece> {
    let day = chrono::Duration::days(1);
    let (first_day, last_day) = (ceil(from, day), floor(until, day));
    if first_day >= last_day {
        return vec![(Resolution::Hour, (from, until))];
    }
    let mut out = Vec::with_capacity(3);
    if from < first_day {
        out.push((Resolution::Hour, (from, first_day)));
    }
    out.push((Resolution::Day, (first_day, last_day)));
    if last_day < until {
        out.push((Resolution::Hour, (last_day, until)));
    }
    out
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

/// Counts by (monitor, piece).
struct Table(HashMap<(i64, usize), Vec<DayCounts>>);

impl Table {
    fn new(rows: Vec<DayCounts>) -> Table {
        let mut by: HashMap<(i64, usize), Vec<DayCounts>> = HashMap::new();
        for r in rows {
            by.entry((r.monitor_id, r.piece)).or_default().push(r);
        }
        Table(by)
    }

    /// Each day's counts of `monitors` over `pieces`, maintenance in or out.
    fn days(
        &self,
        monitors: &[i64],
        pieces: &[usize],
        maintenance: Maintenance,
    ) -> Vec<(NaiveDate, Counts)> {
        let mut days: std::collections::BTreeMap<NaiveDate, Counts> = Default::default();
        for r in monitors
            .iter()
            .flat_map(|m| pieces.iter().filter_map(|p| self.0.get(&(*m, *p))))
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

    fn counts(&self, monitors: &[i64], pieces: &[usize], maintenance: Maintenance) -> Counts {
        self.days(monitors, pieces, maintenance)
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

/// The figures at `now` of objectives counted from checks: one pass over the rollups per kind
/// of good check (availability, each latency bound in use), however many objectives there
/// are. Answers in the order asked.
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
    // Distinct pieces, each read once: the windows (whole days, the hours at their start) and
    // each alert span (whole hours, minutes at its ragged ends). Buckets are stamped with their
    // start: the running day, hour and minute count.
    let mut all: Vec<Piece> = Vec::new();
    let today_ends = floor(now, chrono::Duration::days(1)) + chrono::Duration::days(1);
    let windows: Vec<Vec<usize>> = objectives
        .iter()
        .map(|o| {
            spread(o.window.bounds(now).0, today_ends)
                .into_iter()
                .map(|p| index_of(&mut all, p))
                .collect()
        })
        .collect();
    let until = now + chrono::Duration::hours(1);
    let mut spans: Vec<(Span, Vec<usize>)> = Vec::new();
    for s in objectives.iter().flat_map(|o| o.spans()) {
        if !spans.iter().any(|(x, _)| *x == s) {
            let at = pieces(now, s, until)
                .into_iter()
                .map(|p| index_of(&mut all, p))
                .collect();
            spans.push((s, at));
        }
    }
    let mut tables: HashMap<Option<i32>, Table> = HashMap::new();
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
        tables.insert(
            slot,
            Table::new(days_within(pool, &ids, &all, &o.sli).await?),
        );
    }
    let states: HashMap<(String, String), AlertState> = alert_states(pool)
        .await?
        .into_iter()
        .map(|s| ((s.objective.clone(), s.rule.clone()), s))
        .collect();

    Ok(objectives
        .iter()
        .zip(&counted)
        .zip(&windows)
        .map(|((o, monitors), window)| {
            let table = &tables[&slot_of(&o.sli)];
            let days = table.days(monitors, window, o.maintenance);
            o.view(
                now,
                &days,
                |s| {
                    let (_, at) = spans.iter().find(|(x, _)| *x == s).expect("asked for");
                    table.counts(monitors, at, o.maintenance)
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
/// the public page's twelve months. Days, and hours at ragged ends (kept 400 days).
pub async fn by_day(
    pool: &PgPool,
    o: &Objective,
    monitors: &[(i64, String, String)],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(NaiveDate, Counts)>, StoreError> {
    days_over(pool, o, monitors, &spread(from, until)).await
}

/// `o`'s checks in `pieces`, day by day (UTC).
async fn days_over(
    pool: &PgPool,
    o: &Objective,
    monitors: &[(i64, String, String)],
    pieces: &[Piece],
) -> Result<Vec<(NaiveDate, Counts)>, StoreError> {
    let ids = counted_by(o, monitors);
    let all: Vec<usize> = (0..pieces.len()).collect();
    Ok(Table::new(days_within(pool, &ids, pieces, &o.sli).await?).days(&ids, &all, o.maintenance))
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
    let pieces = if from > Utc::now() - chrono::Duration::days(7) {
        vec![(Resolution::Minute, (from, until))]
    } else {
        spread(from, until)
    };
    Ok(days_over(pool, o, monitors, &pieces)
        .await?
        .into_iter()
        .map(|(_, c)| c)
        .sum())
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

    use Resolution::{Day, Hour, Minute};

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap()
    }

    /// Pieces cover `[from, until)` once, in order, without gaps.
    fn covers(pieces: &[Piece], from: DateTime<Utc>, until: DateTime<Utc>) {
        let mut all: Vec<Interval> = pieces.iter().map(|(_, i)| *i).collect();
        all.sort();
        assert_eq!(all.first().unwrap().0, from, "{pieces:?}");
        assert!(all.windows(2).all(|w| w[0].1 == w[1].0), "{pieces:?}");
        assert_eq!(all.last().unwrap().1, until, "{pieces:?}");
    }

    #[test]
    fn a_span_is_whole_hours_between_two_ragged_ends_of_minutes() {
        let now = at(7, 18, 25);
        let until = at(7, 19, 25);
        // Three days back: 18:25 to 19:00 on the 4th in minutes, whole hours until 18:00
        // today, minutes since.
        assert_eq!(
            pieces(now, Span::days(3), until),
            [
                (Minute, (at(4, 18, 25), at(4, 19, 0))),
                (Hour, (at(4, 19, 0), at(7, 18, 0))),
                (Minute, (at(7, 18, 0), until)),
            ]
        );
        // Within this hour and the last: minutes only.
        assert_eq!(
            pieces(now, Span::hours(1), until),
            [(Minute, (at(7, 17, 25), until))]
        );
        assert_eq!(
            pieces(now, Span::minutes(5), until),
            [(Minute, (at(7, 18, 20), until))]
        );
        // Starting on the hour: no leading piece.
        assert_eq!(
            pieces(at(7, 18, 0), Span::hours(6), until),
            [
                (Hour, (at(7, 12, 0), at(7, 18, 0))),
                (Minute, (at(7, 18, 0), until))
            ]
        );
        covers(&pieces(now, Span::hours(6), until), at(7, 12, 25), until);
    }

    #[test]
    fn a_window_is_whole_days_between_hours() {
        // A rolling 30 days at 18:25 on the 31st: the hours left of the 1st, whole days to
        // the end of today (the running day counts).
        let start = at(1, 18, 25);
        let end = at(31, 0, 0) + chrono::Duration::days(1);
        assert_eq!(
            spread(start, end),
            [(Hour, (start, at(2, 0, 0))), (Day, (at(2, 0, 0), end))]
        );
        // A month: days only.
        assert_eq!(spread(at(1, 0, 0), end), [(Day, (at(1, 0, 0), end))]);
        // An afternoon: hours only; a stretch ending mid-day reads that day by its hours.
        assert_eq!(
            spread(at(3, 12, 0), at(3, 18, 0)),
            [(Hour, (at(3, 12, 0), at(3, 18, 0)))]
        );
        let pieces = spread(at(3, 12, 0), at(6, 9, 30));
        assert_eq!(
            pieces,
            [
                (Hour, (at(3, 12, 0), at(4, 0, 0))),
                (Day, (at(4, 0, 0), at(6, 0, 0))),
                (Hour, (at(6, 0, 0), at(6, 9, 30)))
            ]
        );
        covers(&pieces, at(3, 12, 0), at(6, 9, 30));
    }
}
