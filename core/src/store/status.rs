//! The public status, read for the page and the JSON alike, so the two can never disagree.

use crate::model::status::ComponentStatus;
use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::model::{
    monitor::MonitorStatus,
    status::{
        component_status, day_status, page_status, ComponentSummary, DaySummary, MonitorSummary,
        StatusSummary,
    },
};

use super::{PgPool, StoreError};

/// The summary, recomputed when the event stream moves (or after a few seconds, for the latency
/// chart), so a burst of readers costs one set of queries.
pub struct StatusCache {
    /// Readers take this (briefly) and clone the Arc; only a refresh writes it.
    current: std::sync::RwLock<Option<CacheEntry>>,
    /// Serialises refreshes, so a burst of readers after a change runs the queries once.
    refresh: tokio::sync::Mutex<()>,
    /// When the last refresh failed (the database unreachable), until one succeeds.
    failed_at: std::sync::Mutex<Option<std::time::Instant>>,
    /// Recomputed after this long even when no event moved (`status_page.refresh_secs`).
    max_age: std::time::Duration,
}

#[derive(Clone)]
struct CacheEntry {
    version: i64,
    at: std::time::Instant,
    summary: std::sync::Arc<StatusSummary>,
    /// The same, marked as the last state known, once the database has failed to answer.
    stale: Option<std::sync::Arc<StatusSummary>>,
}

/// How long a summary stands when no event moved, unless configured: the latency chart's
/// 24 hours move on, and a monitor's first verdict changes a component without one.
pub const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(5);
/// While the database fails, readers get the last state at once; one of them tries again this
/// often (each attempt may wait for the pool's connect timeout).
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

impl StatusCache {
    /// A cache whose summaries stand `max_age` when no event moved.
    pub fn new(max_age: std::time::Duration) -> StatusCache {
        StatusCache {
            current: std::sync::RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            failed_at: std::sync::Mutex::new(None),
            max_age,
        }
    }

    fn fresh(&self, version: i64) -> Option<std::sync::Arc<StatusSummary>> {
        let guard = self.current.read().expect("status cache poisoned");
        guard
            .as_ref()
            .filter(|e| e.version == version && e.at.elapsed() < self.max_age)
            .map(|e| e.summary.clone())
    }

    /// The last state known, marked stale: what readers get while the database is unreachable.
    fn last_known(&self) -> Option<std::sync::Arc<StatusSummary>> {
        let mut guard = self.current.write().expect("status cache poisoned");
        let entry = guard.as_mut()?;
        Some(
            entry
                .stale
                .get_or_insert_with(|| {
                    std::sync::Arc::new(StatusSummary {
                        stale: true,
                        ..(*entry.summary).clone()
                    })
                })
                .clone(),
        )
    }

    fn failing(&self) -> bool {
        self.failed_at
            .lock()
            .expect("status cache poisoned")
            .is_some_and(|t| t.elapsed() < RETRY_AFTER)
    }

    /// `version` is the newest event id the caller knows of. When the database cannot be read,
    /// the last state known is returned (marked `stale`) if there is one: the public side keeps
    /// answering through an outage of PostgreSQL.
    pub async fn get(
        &self,
        pool: &PgPool,
        title: &str,
        version: i64,
    ) -> Result<std::sync::Arc<StatusSummary>, StoreError> {
        if let Some(s) = self.fresh(version) {
            return Ok(s);
        }
        if self.failing() {
            if let Some(s) = self.last_known() {
                return Ok(s);
            }
        }
        let _refreshing = self.refresh.lock().await;
        // Someone else may have refreshed (or failed to) while this reader waited.
        if let Some(s) = self.fresh(version) {
            return Ok(s);
        }
        if self.failing() {
            if let Some(s) = self.last_known() {
                return Ok(s);
            }
        }
        match summary(pool, title).await {
            Ok(summary) => {
                let summary = std::sync::Arc::new(summary);
                *self.failed_at.lock().expect("status cache poisoned") = None;
                *self.current.write().expect("status cache poisoned") = Some(CacheEntry {
                    version,
                    at: std::time::Instant::now(),
                    summary: summary.clone(),
                    stale: None,
                });
                Ok(summary)
            }
            Err(e) => {
                *self.failed_at.lock().expect("status cache poisoned") =
                    Some(std::time::Instant::now());
                self.last_known().ok_or(e)
            }
        }
    }

    /// Whether a state is held to answer with (`/readyz` is ready with one, even without the
    /// database).
    pub fn holds_a_state(&self) -> bool {
        self.current
            .read()
            .expect("status cache poisoned")
            .is_some()
    }

    /// Whether the last attempt to read the database failed.
    pub fn database_failing(&self) -> bool {
        self.failed_at
            .lock()
            .expect("status cache poisoned")
            .is_some()
    }
}

impl Default for StatusCache {
    fn default() -> Self {
        StatusCache::new(MAX_AGE)
    }
}

pub const DAYS: i64 = 90;

struct ComponentRow {
    id: String,
    name: String,
    group_name: Option<String>,
    description: Option<String>,
    position: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

struct MonitorRow {
    id: i64,
    name: String,
    kind: String,
    component_id: String,
    interval_secs: i32,
    paused: bool,
    status: Option<String>,
    since: Option<DateTime<Utc>>,
    last_check_at: Option<DateTime<Utc>>,
    last_latency_ms: Option<f32>,
    last_error: Option<String>,
    regions: Option<serde_json::Value>,
}

pub async fn summary(pool: &PgPool, title: &str) -> Result<StatusSummary, StoreError> {
    // One snapshot: a component's state, the incident that declares it and the incidents listed
    // below come from separate queries and must agree with each other.
    let mut tx = pool.begin().await?;
    super::read_only_snapshot(&mut tx).await?;
    let now = Utc::now();
    let first_day = (now - Duration::days(DAYS - 1)).date_naive();
    let components: Vec<ComponentRow> = sqlx::query_as!(
        ComponentRow,
        "SELECT id, name, group_name, description, position, created_at, updated_at \
         FROM components WHERE NOT retired ORDER BY position"
    )
    .fetch_all(&mut *tx)
    .await?;
    let (mut by_component, latest_change) = monitors_by_component(&mut *tx).await?;
    let mut history = History {
        first_day,
        checks: daily_checks(&mut *tx, first_day).await?,
        incidents: incidents_by_day(&mut *tx, first_day).await?,
    };
    let mut latency = latency_24h(&mut *tx, now).await?;
    let declared = super::incidents::declared_component_states(&mut *tx).await?;
    let updated_at = components
        .iter()
        .map(|c| c.updated_at)
        .chain(latest_change)
        .max()
        .unwrap_or(now);
    let mut out = Vec::with_capacity(components.len());
    for c in components {
        let (id, comp_updated) = (c.id, c.updated_at);
        let monitors = by_component.remove(&id).unwrap_or_default();
        let statuses: Vec<MonitorStatus> = monitors.iter().map(|m| m.status).collect();
        let since = monitors.iter().filter_map(|m| m.since).max();
        let (days, uptime_90d, uptime_30d) = history.days_of(&id);
        let mut summary = ComponentSummary {
            status: shown_status(&declared, &id, &statuses),
            latency_24h: latency.remove(&id).unwrap_or_default(),
            id,
            name: c.name,
            group: c.group_name,
            description: c.description,
            position: c.position,
            created_at: c.created_at,
            updated_at: since.map_or(comp_updated, |s| s.max(comp_updated)),
            uptime_90d,
            uptime_30d,
            days,
            monitors,
            regions: None,
        };
        summary.regions = summary.regions_note();
        out.push(summary);
    }
    let counted: Vec<_> = out.iter().filter_map(|c| c.status).collect();
    let (indicator, description) = page_status(&counted);
    Ok(StatusSummary {
        title: title.to_string(),
        generated_at: now,
        updated_at,
        indicator,
        description: description.to_string(),
        components: out,
        incidents: super::incidents::list_in(&mut tx, super::incidents::Filter::Unresolved, false)
            .await?,
        maintenances: super::incidents::list_in(
            &mut tx,
            super::incidents::Filter::OpenMaintenances,
            false,
        )
        .await?,
        stale: false,
        third_party: third_party(&mut *tx).await?,
    })
}

/// Compares what each component shows the public now with what it last showed, and records each
/// difference as a `component.status` event (with the subscribers' deliveries it queues) in the
/// same transaction as the new stored state, so a change is announced once — across restarts
/// and replicas. A component whose monitors have no verdict yet keeps what it last showed; one
/// never announced counts as `operational`, where Statuspage's components start, so
/// Vigil starting on a healthy page says nothing and one starting mid-outage says so.
pub async fn announce_component_changes(
    pool: &PgPool,
) -> Result<Vec<super::events::Event>, StoreError> {
    use crate::model::event::{ComponentChanged, EventData};
    let (mut by_component, _) = monitors_by_component(pool).await?;
    let declared = super::incidents::declared_component_states(pool).await?;
    let mut tx = pool.begin().await?;
    // Locked, so two holders of a lease in handover cannot both announce one change.
    let rows = sqlx::query!(
        "SELECT id, name, shown_status FROM components WHERE NOT retired ORDER BY position \
         FOR UPDATE"
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut announced = Vec::new();
    for row in rows {
        let statuses: Vec<MonitorStatus> = by_component
            .remove(&row.id)
            .unwrap_or_default()
            .iter()
            .map(|m| m.status)
            .collect();
        // A component without monitors is run by hand: operational unless an incident or a
        // maintenance says otherwise. One whose monitors have no verdict yet keeps its state.
        let Some(now) = shown_status(&declared, &row.id, &statuses)
            .or(statuses.is_empty().then_some(ComponentStatus::Operational))
        else {
            continue;
        };
        let before = row
            .shown_status
            .as_deref()
            .and_then(ComponentStatus::parse)
            .unwrap_or(ComponentStatus::Operational);
        if row.shown_status.is_some() && before == now {
            continue;
        }
        sqlx::query!(
            "UPDATE components SET shown_status = $2, shown_since = now() WHERE id = $1",
            row.id,
            now.as_str()
        )
        .execute(&mut *tx)
        .await?;
        if before != now {
            let change = EventData::ComponentStatus(ComponentChanged {
                component_id: row.id.clone(),
                name: row.name,
                from: before,
                to: now,
            });
            announced.push(super::events::append_in(&mut tx, &row.id, &change).await?);
        }
    }
    tx.commit().await?;
    Ok(announced)
}

/// The followed components of providers shown publicly.
async fn third_party(
    db: impl sqlx::PgExecutor<'_>,
) -> Result<Vec<crate::model::status::ThirdParty>, StoreError> {
    Ok(super::upstream::all(db)
        .await?
        .into_iter()
        .filter(|p| p.public)
        .flat_map(|p| {
            let provider = p.name;
            p.snapshot
                .components
                .into_iter()
                .map(move |c| crate::model::status::ThirdParty {
                    provider: provider.clone(),
                    status: ComponentStatus::parse(&c.status),
                    component: c.name,
                })
        })
        .collect())
}

/// What a component shows: maintenance wins; otherwise the worse of what its monitors see and
/// what open incidents (people or the engine) declare.
fn shown_status(
    declared: &[(String, String)],
    id: &str,
    statuses: &[MonitorStatus],
) -> Option<ComponentStatus> {
    let mine: Vec<ComponentStatus> = declared
        .iter()
        .filter(|(c, _)| c == id)
        .filter_map(|(_, s)| ComponentStatus::parse(s))
        .collect();
    let in_maintenance = mine.contains(&ComponentStatus::UnderMaintenance);
    match component_status(statuses, in_maintenance) {
        Some(ComponentStatus::UnderMaintenance) => Some(ComponentStatus::UnderMaintenance),
        monitored => mine
            .iter()
            .copied()
            .chain(monitored)
            .reduce(ComponentStatus::worst),
    }
}

/// Every live monitor's summary, by component; and the newest state change among them.
async fn monitors_by_component(
    db: impl sqlx::PgExecutor<'_>,
) -> Result<(HashMap<String, Vec<MonitorSummary>>, Option<DateTime<Utc>>), StoreError> {
    let monitors: Vec<MonitorRow> = sqlx::query_as!(
        MonitorRow,
        "SELECT m.id AS \"id!\", m.name AS \"name!\", m.kind AS \"kind!\", \
         m.component_id AS \"component_id!\", m.interval_secs AS \"interval_secs!\", \
         m.paused AS \"paused!\", s.status AS \"status?\", s.since AS \"since?\", \
         s.last_check_at AS \"last_check_at?\", s.last_latency_ms AS \"last_latency_ms?\", \
         s.last_error AS \"last_error?\", s.regions AS \"regions?\" \
         FROM monitors m LEFT JOIN monitor_state s ON s.monitor_id = m.id \
         WHERE NOT m.retired ORDER BY m.name"
    )
    .fetch_all(db)
    .await?;
    let mut by_component: HashMap<String, Vec<MonitorSummary>> = HashMap::new();
    let mut latest = None;
    for m in monitors {
        let (paused, status, since) = (m.paused, m.status, m.since);
        latest = latest.max(since);
        let status = if paused {
            MonitorStatus::Paused
        } else {
            status
                .as_deref()
                .map(MonitorStatus::parse)
                .unwrap_or(MonitorStatus::Unknown)
        };
        by_component
            .entry(m.component_id)
            .or_default()
            .push(MonitorSummary {
                id: m.id,
                name: m.name,
                kind: m.kind,
                status,
                since,
                last_check_at: m.last_check_at,
                latency_ms: m.last_latency_ms,
                last_error: m.last_error,
                interval_secs: m.interval_secs,
                paused,
                regions: m
                    .regions
                    .and_then(|r| serde_json::from_value(r).ok())
                    .unwrap_or_default(),
            });
    }
    Ok((by_component, latest))
}

type DayKey = (String, NaiveDate);

/// Checks and failures per component and day, from the daily rollups.
async fn daily_checks(
    db: impl sqlx::PgExecutor<'_>,
    first_day: NaiveDate,
) -> Result<HashMap<DayKey, (i64, i64)>, StoreError> {
    let days = sqlx::query!(
        "SELECT m.component_id, r.bucket, sum(r.checks)::int8 AS \"checks!\", \
         sum(r.failures)::int8 AS \"failures!\" \
         FROM check_rollups r JOIN monitors m ON m.id = r.monitor_id \
         WHERE r.resolution = 'd' AND r.bucket >= $1 AND NOT m.retired GROUP BY 1, 2",
        midnight(first_day)
    )
    .fetch_all(db)
    .await?;
    Ok(days
        .into_iter()
        .map(|d| {
            let day = (d.component_id, d.bucket.date_naive());
            (day, (d.checks, d.failures))
        })
        .collect())
}

/// Incidents per component and day, for the 90-day bar's tooltips.
async fn incidents_by_day(
    db: impl sqlx::PgExecutor<'_>,
    first_day: NaiveDate,
) -> Result<HashMap<DayKey, Vec<String>>, StoreError> {
    let rows = sqlx::query!(
        "SELECT ic.component_id, i.started_at, i.name FROM incidents i \
         JOIN incident_components ic ON ic.incident_id = i.id \
         WHERE i.kind = 'incident' AND i.started_at >= $1 ORDER BY i.started_at",
        midnight(first_day)
    )
    .fetch_all(db)
    .await?;
    let mut by_day: HashMap<DayKey, Vec<String>> = HashMap::new();
    for r in rows {
        let day = (r.component_id, r.started_at.date_naive());
        by_day.entry(day).or_default().push(r.name);
    }
    Ok(by_day)
}

/// Mean latency per component in 10-minute bins over the last 24 hours.
async fn latency_24h(
    db: impl sqlx::PgExecutor<'_>,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Vec<(DateTime<Utc>, f64)>>, StoreError> {
    let rows = sqlx::query!(
        "SELECT m.component_id, date_bin('10 minutes', r.bucket, 'epoch'::timestamptz) AS \"bin!\", \
         sum(r.latency_sum) / greatest(sum(r.checks), 1) AS \"ms!\" \
         FROM check_rollups r JOIN monitors m ON m.id = r.monitor_id \
         WHERE r.resolution = 'm' AND r.bucket >= $1 AND NOT m.retired GROUP BY 1, 2 ORDER BY 2",
        now - Duration::hours(24)
    )
    .fetch_all(db)
    .await?;
    let mut by_component: HashMap<String, Vec<(DateTime<Utc>, f64)>> = HashMap::new();
    for r in rows {
        by_component
            .entry(r.component_id)
            .or_default()
            .push((r.bin, r.ms));
    }
    Ok(by_component)
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

/// The days of the uptime bar, from the rollups and the incidents that started on each.
struct History {
    first_day: NaiveDate,
    checks: HashMap<DayKey, (i64, i64)>,
    incidents: HashMap<DayKey, Vec<String>>,
}

impl History {
    /// A component's days, oldest first, and its uptime over all of them (None without checks).
    /// The days of component `id`, oldest first, with its uptime over all of them and over the
    /// last 30 (what a phone's bar shows).
    fn days_of(&mut self, id: &str) -> (Vec<DaySummary>, Option<f64>, Option<f64>) {
        let mut counted: Vec<(i64, i64)> = Vec::with_capacity(DAYS as usize);
        let days = (0..DAYS)
            .map(|i| {
                let date = self.first_day + Duration::days(i);
                let key = (id.to_string(), date);
                let (checks, failures) = self.checks.get(&key).copied().unwrap_or((0, 0));
                counted.push((checks, failures));
                DaySummary {
                    date,
                    status: day_status(checks, failures),
                    uptime: (checks > 0).then(|| 1.0 - failures as f64 / checks as f64),
                    incidents: self.incidents.remove(&key).unwrap_or_default(),
                }
            })
            .collect();
        let uptime = |days: &[(i64, i64)]| {
            let (checks, failures) = days
                .iter()
                .fold((0, 0), |(c, f), (dc, df)| (c + dc, f + df));
            (checks > 0).then(|| 1.0 - failures as f64 / checks as f64)
        };
        let last_30 = &counted[counted.len().saturating_sub(30)..];
        (days, uptime(&counted), uptime(last_30))
    }
}
