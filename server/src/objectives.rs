//! Objectives judged: their burn-rate alerts, said once each through the event stream
//! (channels hear `slo.burn`). One replica judges (the `objectives` lease); the figures
//! themselves (`vigil_core::store::objectives::assess`) are what the API and `/ops/slos` show.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::{
        event::{EventData, SloBurn},
        objective::{
            months_met, AlertMove, Counts, Judges, Month, Objective, PublicSla, Sli, SloReport,
            SloView,
        },
        world::Pending,
    },
    store::{objectives as store, StoreError},
};

use crate::{
    config::resources::PrometheusConfig,
    sources::prometheus::Events,
    world::{follow::Live, World},
};

/// The objectives of `world` that check (the world is validated when written; one that no
/// longer reads is left out rather than judged wrongly).
pub fn objectives_of(world: &World) -> Vec<Objective> {
    world
        .objectives
        .iter()
        .filter_map(|spec| spec.check().ok())
        .collect()
}

/// Every objective's figures at `now`, in the order given: those counted from checks in one
/// pass of the store, Prometheus ones from their source (one that does not answer makes its
/// objective unreadable, said on it, not the others).
pub async fn assess(
    pool: &PgPool,
    sources: &[PrometheusConfig],
    objectives: &[Objective],
    now: DateTime<Utc>,
) -> Result<Vec<SloView>, StoreError> {
    let checked: Vec<Objective> = objectives
        .iter()
        .filter(|o| o.sli.from_checks())
        .cloned()
        .collect();
    let mut from_checks = store::assess(pool, &checked, now).await?.into_iter();
    let mut states = None;
    let mut out = Vec::with_capacity(objectives.len());
    for o in objectives {
        let view = if o.sli.from_checks() {
            from_checks.next().expect("one view per objective asked")
        } else {
            if states.is_none() {
                states = Some(store::alert_states(pool).await?);
            }
            let states = states.as_deref().unwrap_or_default();
            // A Prometheus objective counts no monitor: no list needed.
            match Counter::of(pool, &[], sources, o) {
                Err(e) => o.unreadable(now, e),
                Ok(counter) => counter_view(o, &counter, states, now)
                    .await
                    .unwrap_or_else(|e| o.unreadable(now, e)),
            }
        };
        out.push(view);
    }
    Ok(out)
}

/// An objective's figures read through its counter: its window day by day, and each span
/// back from now (what the store does in one pass for objectives counted from checks).
async fn counter_view(
    o: &Objective,
    counter: &Counter<'_>,
    states: &[store::AlertState],
    now: DateTime<Utc>,
) -> Result<SloView, String> {
    let start = o.window.bounds(now).0;
    let days = counter.by_day(o, start, now).await?;
    let mut spans = Vec::new();
    for s in o.spans() {
        spans.push((s, counter.between(o, now - s.duration(), now).await?));
    }
    Ok(o.view(
        now,
        &days,
        |s| {
            spans
                .iter()
                .find(|(x, _)| *x == s)
                .map(|(_, c)| *c)
                .unwrap_or_default()
        },
        |rule| {
            states
                .iter()
                .find(|a| a.objective == o.id && a.rule == rule)
                .map(|a| (a.firing, a.since))
        },
    ))
}

/// Judges every rule of every objective once: fires and clears, each said once (the store
/// changes the state and appends the event together). Returns how many were said.
pub async fn judge(
    pool: &PgPool,
    sources: &[PrometheusConfig],
    objectives: &[Objective],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut said = 0;
    let mut keep = Vec::new();
    let mut monitors = None;
    for (o, slo) in objectives
        .iter()
        .zip(assess(pool, sources, objectives, now).await?)
    {
        if slo.error.is_some() {
            // Unreadable figures neither fire nor clear an alert: it stays as it was.
            keep.extend(o.alerts.iter().map(|r| (o.id.clone(), r.id())));
            continue;
        }
        for (rule, view) in o.alerts.iter().zip(&slo.alerts) {
            keep.push((slo.id.clone(), view.id.clone()));
            let firing = match rule.judge(view.firing, view.long_rate, view.short_rate) {
                AlertMove::Fire => true,
                AlertMove::Clear => false,
                // Recorded quietly the first time, so that its "since" starts.
                AlertMove::Stay if view.since.is_none() => false,
                AlertMove::Stay => continue,
            };
            // Opened (or joined) before the alert is stored as firing: should Vigil stop in
            // between, the next judgement fires again and joins it; it is never lost.
            if firing && rule.incident {
                if monitors.is_none() {
                    monitors = Some(store::monitors(pool).await?);
                }
                let component = store::component_of(o, monitors.as_deref().unwrap_or_default());
                if let Some(component) = component {
                    if let Err(e) = open_or_join(pool, &component, &slo, view).await {
                        tracing::warn!(objective = %o.id, error = %e, "cannot open an incident for a burn; trying again");
                        continue;
                    }
                }
            }
            let event = EventData::SloBurn(SloBurn {
                objective: slo.id.clone(),
                name: slo.name.clone(),
                rule: view.id.clone(),
                severity: rule.severity.as_str().into(),
                firing,
                long_rate: view.long_rate,
                short_rate: view.short_rate,
                budget_remaining: slo.remaining,
                at: now,
            });
            if store::move_alert(pool, &slo.id, &view.id, firing, &event).await? {
                said += 1;
            }
        }
    }
    store::forget_alerts_except(pool, &keep).await?;
    Ok(said)
}

/// Opens an incident on `component` for a burn-rate alert, or notes it on the one open there.
/// The public text speaks of the component; the figures go in an internal note.
async fn open_or_join(
    pool: &PgPool,
    component: &str,
    slo: &SloView,
    rule: &vigil_core::model::objective::RuleView,
) -> Result<i64, vigil_core::store::incident_commands::CommandError> {
    use vigil_core::{
        model::incident::{Impact, IncidentKind},
        store::incident_commands::{self as commands, IncidentInput, UpdateInput},
    };
    let id = match store::open_incident_on(pool, component).await? {
        Some(id) => id,
        None => {
            commands::create(
                pool,
                IncidentKind::Incident,
                &IncidentInput {
                    name: Some(format!("Elevated errors: {}", slo.name)),
                    impact: Some(Impact::Minor),
                    body: Some("We are investigating a higher rate of errors than usual.".into()),
                    component_ids: Some(vec![component.to_string()]),
                    ..Default::default()
                },
                crate::incidents::engine::AUTHOR,
            )
            .await?
        }
    };
    let rate = |r: Option<f64>| r.map_or("no checks".to_string(), |r| format!("{r:.1}x"));
    commands::post_update(
        pool,
        id,
        &UpdateInput {
            body: format!(
                "Error budget of {} burning: rule {} ({}) fires — {} over {}, {} over {}; {:.0} % of the budget left.",
                slo.name,
                rule.id,
                rule.severity,
                rate(rule.long_rate),
                rule.long,
                rate(rule.short_rate),
                rule.short,
                slo.remaining * 100.0
            ),
            status: None,
            internal: true,
        },
        crate::incidents::engine::AUTHOR,
    )
    .await?;
    Ok(id)
}

/// The client Prometheus objectives are read with, made the first time one is: a Vigil
/// without them builds none (idle memory is a figure the benchmarks watch).
fn prometheus_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(crate::workers::http_client).clone()
}

/// Judges the live world's objectives every `every` on the replica holding the lease; with
/// none, it only waits for the world to change (an idle Vigil without objectives pays nothing).
pub fn start(
    pool: PgPool,
    live: Live,
    cluster: &crate::cluster::Cluster,
    every: Duration,
    shutdown: CancellationToken,
) {
    cluster.run_exclusive("objectives", shutdown, move |held| {
        run(pool.clone(), live.clone(), every, held)
    });
}

async fn run(pool: PgPool, mut live: Live, every: Duration, held: CancellationToken) {
    loop {
        let (objectives, sources) = {
            let world = &live.borrow_and_update().settings;
            (objectives_of(world), world.prometheus.clone())
        };
        let wait = if objectives.is_empty() {
            None
        } else {
            if let Err(e) = judge(&pool, &sources, &objectives, Utc::now()).await {
                tracing::warn!(error = %e, "cannot judge the objectives; trying again");
            }
            Some(every)
        };
        let next = async {
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = held.cancelled() => return,
            changed = live.changed() => if changed.is_err() { return },
            _ = next => {}
        }
    }
}

/// The live world's objectives judged now, for the API and the app's pages.
#[derive(Clone)]
pub struct Judge {
    pub pool: PgPool,
    pub live: Live,
}

impl Judge {
    pub fn new(pool: PgPool, live: Live) -> Judge {
        Judge { pool, live }
    }

    /// Every objective, or only `id`'s.
    pub async fn slos(&self, id: Option<&str>) -> Result<Vec<SloView>, StoreError> {
        let (objectives, sources) = self.world(id);
        assess(&self.pool, &sources, &objectives, Utc::now()).await
    }

    /// The live world's objectives (or only `id`'s) and its Prometheus sources.
    pub fn world(&self, id: Option<&str>) -> (Vec<Objective>, Vec<PrometheusConfig>) {
        let world = &self.live.borrow().settings;
        let objectives = objectives_of(world)
            .into_iter()
            .filter(|o| id.is_none_or(|id| o.id == id))
            .collect();
        (objectives, world.prometheus.clone())
    }
}

/// Where an objective's counts come from: Vigil's checks, or a Prometheus.
enum Counter<'a> {
    /// The pool, and every monitor (id, name, component) read once by the caller.
    Checks(&'a PgPool, &'a [(i64, String, String)]),
    Prometheus(Events, &'a str, &'a str),
}

impl<'a> Counter<'a> {
    fn of(
        pool: &'a PgPool,
        monitors: &'a [(i64, String, String)],
        sources: &[PrometheusConfig],
        o: &'a Objective,
    ) -> Result<Counter<'a>, String> {
        match &o.sli {
            Sli::Prometheus {
                source,
                good,
                total,
            } => sources
                .iter()
                .find(|p| p.name == *source)
                .map(|cfg| Counter::Prometheus(Events::new(cfg, prometheus_client()), good, total))
                .ok_or_else(|| format!("no [[prometheus]] source is named `{source}`")),
            _ => Ok(Counter::Checks(pool, monitors)),
        }
    }

    async fn by_day(
        &self,
        o: &Objective,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(chrono::NaiveDate, Counts)>, String> {
        match self {
            Counter::Checks(pool, monitors) => store::by_day(pool, o, monitors, from, until)
                .await
                .map_err(|e| e.to_string()),
            Counter::Prometheus(events, good, total) => events
                .by_day(good, total, from, until)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    async fn between(
        &self,
        o: &Objective,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Counts, String> {
        match self {
            Counter::Checks(pool, monitors) => store::between(pool, o, monitors, from, until)
                .await
                .map_err(|e| e.to_string()),
            Counter::Prometheus(events, good, total) => events
                .counts(good, total, (until - from).num_seconds(), until)
                .await
                .map_err(|e| e.to_string()),
        }
    }
}

/// How far back reports and the public page can look: hourly rollups are kept 400 days.
const REPORTS_REACH_DAYS: i64 = 395;

/// Whether a report of `month` can be made at `now`: it has started, and its hours are kept.
pub fn reachable(month: Month, now: DateTime<Utc>) -> Result<(), String> {
    let from = month.bounds().0;
    if from > now {
        return Err(format!(
            "{month} has not started yet: ask for this month or an earlier one"
        ));
    }
    if from < now - chrono::Duration::days(REPORTS_REACH_DAYS) {
        return Err(format!(
            "{month} is older than the hourly counts Vigil keeps (400 days): ask for a later month"
        ));
    }
    Ok(())
}

impl Judge {
    /// The monthly report of every objective (or only `id`'s, or those of `component`): days,
    /// the month's figures, and the incidents that spent its budget.
    pub async fn reports(
        &self,
        id: Option<&str>,
        component: Option<&str>,
        month: Month,
    ) -> Result<Vec<SloReport>, String> {
        let now = Utc::now();
        // Asked of the page as well as of the API: the same bounds.
        reachable(month, now)?;
        let (from, end) = month.bounds();
        let until = end.min(now);
        let (objectives, sources) = self.world(id);
        let monitors = store::monitors(&self.pool)
            .await
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for o in &objectives {
            let c = store::component_of(o, &monitors);
            if component.is_some_and(|want| c.as_deref() != Some(want)) {
                continue;
            }
            let counter = Counter::of(&self.pool, &monitors, &sources, o)?;
            let days = counter.by_day(o, from, until).await?;
            let mut incidents = Vec::new();
            if let Some(c) = &c {
                for (iid, title, started, resolved) in
                    store::incidents_within(&self.pool, c, from, until)
                        .await
                        .map_err(|e| e.to_string())?
                {
                    let spent = counter
                        .between(o, started.max(from), resolved.unwrap_or(until).min(until))
                        .await?;
                    incidents.push(((iid, title, started, resolved), spent));
                }
            }
            out.push(SloReport::of(o, c, month, until, &days, incidents));
        }
        Ok(out)
    }

    /// The objectives the public page shows, each month of the last twelve met or missed,
    /// named by their component (never a monitor). One that cannot be read is left out.
    pub async fn public(&self) -> Vec<PublicSla> {
        let now = Utc::now();
        let from = Month::of(now - chrono::Duration::days(334)).bounds().0;
        let (objectives, sources) = self.world(None);
        let Ok(monitors) = store::monitors(&self.pool).await else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for o in objectives.iter().filter(|o| o.public) {
            let Some(component) = store::component_of(o, &monitors) else {
                continue;
            };
            let Ok(component) =
                vigil_core::store::incidents::component_name(&self.pool, &component).await
            else {
                continue;
            };
            let Ok(counter) = Counter::of(&self.pool, &monitors, &sources, o) else {
                continue;
            };
            match counter.by_day(o, from, now).await {
                Ok(days) => out.push(PublicSla {
                    name: o.name.clone(),
                    component,
                    target: o.target.percent(),
                    months: months_met(&days, o.target, now, 12),
                }),
                Err(e) => {
                    tracing::warn!(objective = %o.id, error = %e, "cannot count a public objective")
                }
            }
        }
        out
    }
}

impl Judges for Judge {
    fn slos(&self) -> Pending<'_, Result<Vec<SloView>, String>> {
        Box::pin(async move { Judge::slos(self, None).await.map_err(|e| e.to_string()) })
    }

    fn objectives(&self) -> Vec<Objective> {
        objectives_of(&self.live.borrow().settings)
    }

    fn reports(
        &self,
        component: Option<String>,
        month: Month,
    ) -> Pending<'_, Result<Vec<SloReport>, String>> {
        Box::pin(async move { Judge::reports(self, None, component.as_deref(), month).await })
    }

    fn public(&self) -> Pending<'_, Vec<PublicSla>> {
        Box::pin(Judge::public(self))
    }
}
