//! Follows the event stream (from a stored cursor, so a restart resumes where it stopped) and
//! applies the rules in `vigil_core::model::incident`: monitors going down open an incident or
//! join the open one, evidence (flapping backends, resource alerts, stale sources) is attached,
//! recovery moves it to monitoring and a quiet period resolves it — unless a person took it over.
//! Monitors of components under maintenance are held back.

use std::{collections::BTreeSet, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::{
        event::EventData,
        incident::{
            component_news, component_text, decide, Action, AutoRules, ComponentNews, Impact,
            IncidentStatus, OpenAuto, Signal,
        },
        monitor::MonitorStatus,
    },
    store::{
        events::{self, Event},
        incidents, StoreError,
    },
};

const CURSOR: &str = "incident-engine";
/// How Vigil signs what it writes on incidents (the burn-rate alerts sign the same way).
pub(crate) const AUTHOR: &str = "Vigil";

pub struct Engine {
    pool: PgPool,
    rules: AutoRules,
    /// `incidents.opened_text`: the public first update.
    opened_text: String,
    /// Components that join or leave the open incident are announced this long after the
    /// first of them: a cascade is one update, not one per component.
    announce_after: chrono::Duration,
    open: Option<OpenAuto>,
    cursor: i64,
}

/// What an event means to the engine, if anything.
fn signal(e: &Event) -> Option<Signal> {
    match &e.data {
        EventData::MonitorState(m) if m.to == MonitorStatus::Down => Some(Signal::Down {
            monitor: m.monitor.clone(),
            component: m.component.clone(),
            at: e.at,
        }),
        EventData::MonitorState(m)
            if m.from == MonitorStatus::Down && m.to == MonitorStatus::Up =>
        {
            Some(Signal::Up {
                monitor: m.monitor.clone(),
                component: m.component.clone(),
                at: e.at,
            })
        }
        data if data.is_evidence() => Some(Signal::Evidence { at: e.at }),
        _ => None,
    }
}

/// "Website is unavailable", "Website and Grafana are unavailable", "Website, Grafana and 2 other
/// services are unavailable".
pub fn outage_title(names: &[String]) -> String {
    match names {
        [] => "Services are unavailable".into(),
        [one] => format!("{one} is unavailable"),
        [a, b] => format!("{a} and {b} are unavailable"),
        [a, b, c] => format!("{a}, {b} and {c} are unavailable"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} other services are unavailable", rest.len()),
    }
}

impl Engine {
    pub fn new(
        pool: PgPool,
        rules: AutoRules,
        opened_text: String,
        announce_after: Duration,
    ) -> Self {
        Engine {
            pool,
            rules,
            opened_text,
            announce_after: chrono::Duration::from_std(announce_after)
                .unwrap_or(chrono::Duration::MAX),
            open: None,
            cursor: 0,
        }
    }

    /// Resumes: the stored cursor (or the stream's end on a first start: history is not
    /// replayed into incidents), and the open automatic incident with the monitors still down.
    pub async fn restore(&mut self) -> Result<(), StoreError> {
        self.cursor = match incidents::cursor(&self.pool, CURSOR).await? {
            Some(c) => c,
            None => {
                let latest = vigil_core::store::events::latest_id(&self.pool).await?;
                incidents::set_cursor(&self.pool, CURSOR, latest).await?;
                latest
            }
        };
        self.refresh().await
    }

    /// Re-reads the open automatic incident: a person may have taken it over or resolved it.
    async fn refresh(&mut self) -> Result<(), StoreError> {
        let Some(incidents::OpenAutomatic {
            id,
            status,
            taken_over,
            updated_at,
        }) = incidents::open_automatic(&self.pool).await?
        else {
            self.open = None;
            return Ok(());
        };
        let status = IncidentStatus::parse(&status).unwrap_or(IncidentStatus::Investigating);
        match &mut self.open {
            Some(o) if o.id == id => {
                o.status = status;
                o.taken_over = taken_over;
            }
            _ => {
                let failing: BTreeSet<String> = incidents::failing_monitors(&self.pool, id)
                    .await?
                    .into_iter()
                    .collect();
                // Taken up again (a restart): what the probes say from now on decides. The quiet
                // period counts from now, not from before Vigil stopped, when nobody watched.
                self.open = Some(OpenAuto {
                    id,
                    status,
                    taken_over,
                    last_failure_at: updated_at,
                    recovered_at: failing.is_empty().then(Utc::now),
                    failing,
                });
            }
        }
        Ok(())
    }

    /// Steps whenever events arrive; while an incident is open also every second, since its
    /// quiet period ends with time alone.
    pub async fn run(mut self, mut events: crate::wake::Events, shutdown: CancellationToken) {
        if let Err(e) = self.restore().await {
            tracing::error!(error = %e, "the incident engine cannot start; retrying each second");
        }
        loop {
            let wait = if self.open.is_some() {
                Duration::from_secs(1)
            } else {
                crate::wake::FALLBACK
            };
            if !events.rest(&shutdown, wait).await {
                return;
            }
            if let Err(e) = self.step().await {
                tracing::warn!(error = %e, "incident engine step failed; retrying");
                // What was half-applied is forgotten: the next step rebuilds the open incident
                // from the database and replays the events after the stored cursor.
                self.open = None;
                self.cursor = incidents::cursor(&self.pool, CURSOR)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(self.cursor);
            }
        }
    }

    /// Reads new events, applies them, then lets time pass. Public for tests.
    pub async fn step(&mut self) -> Result<(), StoreError> {
        if self.cursor == 0 && incidents::cursor(&self.pool, CURSOR).await?.is_none() {
            self.restore().await?;
        }
        self.refresh().await?;
        let batch: Vec<Event> = events::after(&self.pool, self.cursor, 500).await?;
        let held = incidents::components_in_maintenance(&self.pool).await?;
        for e in &batch {
            if let Some(sig) = signal(e) {
                let held_back =
                    matches!(&sig, Signal::Down { component, .. } if held.contains(component));
                if !held_back {
                    self.apply(&sig, Some(e)).await?;
                }
            }
            self.cursor = e.id;
        }
        if let Some(last) = batch.last() {
            incidents::set_cursor(&self.pool, CURSOR, last.id).await?;
        }
        self.apply(&Signal::Tick { now: Utc::now() }, None).await?;
        self.announce_components().await
    }

    /// Says which components joined or left the open incident since its updates last named
    /// them, once the first of those changes is `announce_after` old: its title names them at
    /// once, its updates catch up, and subscribers hear it.
    async fn announce_components(&mut self) -> Result<(), StoreError> {
        let Some(o) = &self.open else { return Ok(()) };
        if o.taken_over {
            return Ok(());
        }
        let pending = incidents::unannounced(&self.pool, o.id).await?;
        let Some(first) = pending.iter().map(|p| p.since).min() else {
            return Ok(());
        };
        if Utc::now() - first < self.announce_after {
            return Ok(());
        }
        let news: Vec<ComponentNews> = pending
            .iter()
            .map(|p| ComponentNews {
                name: p.name.clone(),
                status: p.status.clone(),
                announced: p.announced.clone(),
            })
            .collect();
        let words = component_news(&news, o.status == IncidentStatus::Monitoring);
        let said: Vec<(String, String)> = pending
            .into_iter()
            .map(|p| (p.component, p.status))
            .collect();
        incidents::announce_components(&self.pool, o.id, words.as_deref(), AUTHOR, &said).await
    }

    async fn apply(&mut self, sig: &Signal, event: Option<&Event>) -> Result<(), StoreError> {
        for action in decide(self.open.as_ref(), sig, self.rules) {
            self.act(action, sig, event).await?;
        }
        Ok(())
    }

    /// One decided action, applied. Each is its own step below.
    async fn act(
        &mut self,
        action: Action,
        sig: &Signal,
        event: Option<&Event>,
    ) -> Result<(), StoreError> {
        let at = match sig {
            Signal::Down { at, .. } | Signal::Up { at, .. } | Signal::Evidence { at } => *at,
            Signal::Tick { now } => *now,
        };
        let evidence = event.map(|e| e.id);
        match action {
            Action::Open { monitor, component } => {
                self.open_incident(monitor, component, at, evidence).await
            }
            Action::Join { monitor, component } => {
                self.join(monitor, component, at, evidence).await
            }
            Action::Relapse => {
                let words = "Checks are failing again. We are investigating.";
                self.move_open_to(IncidentStatus::Investigating, words)
                    .await?;
                // Back to investigating puts every component back in the outage; those whose
                // checks all pass are not in it.
                let Some(id) = self.open.as_ref().map(|o| o.id) else {
                    return Ok(());
                };
                for component in incidents::affected_components(&self.pool, id).await? {
                    if incidents::monitors_down(&self.pool, &component).await? == 0 {
                        incidents::set_component_state(&self.pool, id, &component, "operational")
                            .await?;
                    }
                }
                Ok(())
            }
            Action::Recovered { component } => {
                let monitor = match sig {
                    Signal::Up { monitor, .. } => Some(monitor.as_str()),
                    _ => None,
                };
                self.recovered(monitor, &component, at, evidence).await
            }
            Action::Monitoring => {
                let words = "Every affected check is passing again. We are monitoring.";
                self.move_open_to(IncidentStatus::Monitoring, words).await
            }
            Action::Resolve => self.resolve().await,
            Action::Attach => match (&self.open, evidence) {
                (Some(o), Some(e)) => incidents::attach_evidence(&self.pool, o.id, e).await,
                _ => Ok(()),
            },
        }
    }

    /// A monitor went down with no incident open: open one, named for its component.
    async fn open_incident(
        &mut self,
        monitor: String,
        component: String,
        at: DateTime<Utc>,
        evidence: Option<i64>,
    ) -> Result<(), StoreError> {
        let name = incidents::component_name(&self.pool, &component).await?;
        let id = incidents::create(
            &self.pool,
            incidents::NewIncident {
                kind: vigil_core::model::incident::IncidentKind::Incident,
                name: outage_title(std::slice::from_ref(&name)),
                status: "investigating".into(),
                impact: Impact::Major,
                // Public: components only. The failing monitor and its error are the
                // incident's evidence, which only /ops shows.
                body: component_text(&self.opened_text, std::slice::from_ref(&name)),
                components: vec![component],
                automatic: true,
                author: AUTHOR.into(),
                scheduled_for: None,
                scheduled_until: None,
            },
        )
        .await?;
        if let Some(e) = evidence {
            incidents::attach_evidence(&self.pool, id, e).await?;
        }
        // A provider we depend on already says something is wrong: that is evidence too.
        for e in vigil_core::store::upstream::open_incident_events(&self.pool).await? {
            incidents::attach_evidence(&self.pool, id, e).await?;
        }
        tracing::info!(incident = id, %monitor, "opened an incident");
        self.open = Some(OpenAuto {
            id,
            status: IncidentStatus::Investigating,
            taken_over: false,
            last_failure_at: at,
            failing: BTreeSet::from([monitor]),
            recovered_at: None,
        });
        Ok(())
    }

    /// Another monitor went down while the incident is open: its component joins (or, if it
    /// had recovered, is marked failing again), and the title follows what is affected.
    async fn join(
        &mut self,
        monitor: String,
        component: String,
        at: DateTime<Utc>,
        evidence: Option<i64>,
    ) -> Result<(), StoreError> {
        let Some(o) = self.open.as_mut() else {
            return Ok(());
        };
        let id = o.id;
        o.failing.insert(monitor);
        o.last_failure_at = at;
        o.recovered_at = None;
        let taken_over = o.taken_over;
        let known = incidents::affected_components(&self.pool, id).await?;
        if known.contains(&component) {
            // Failing again after it had recovered.
            let impact = incidents::impact_of(&self.pool, id).await?;
            let state = vigil_core::model::incident::component_status_for(impact);
            incidents::set_component_state(&self.pool, id, &component, state).await?;
        } else {
            let mut all = known;
            all.push(component);
            // The title follows what is affected until a person takes the incident over.
            let name = if taken_over {
                None
            } else {
                let names = incidents::component_names(&self.pool, &all).await?;
                Some(outage_title(&names))
            };
            let patch = incidents::Patch {
                name,
                components: Some(all),
                ..Default::default()
            };
            incidents::patch(&self.pool, id, patch, false).await?;
        }
        if let Some(e) = evidence {
            incidents::attach_evidence(&self.pool, id, e).await?;
        }
        Ok(())
    }

    /// Moves the open incident to `status` with Vigil's words: back to investigating when checks
    /// fail again while monitoring, to monitoring once every affected check passes.
    async fn move_open_to(
        &mut self,
        status: IncidentStatus,
        words: &str,
    ) -> Result<(), StoreError> {
        let Some(o) = self.open.as_mut() else {
            return Ok(());
        };
        o.status = status;
        let id = o.id;
        self.post(id, words, status.as_str()).await
    }

    /// A failing monitor is up again: its component is operational once none of its monitors
    /// is down, even while the incident goes on for others.
    async fn recovered(
        &mut self,
        monitor: Option<&str>,
        component: &str,
        at: DateTime<Utc>,
        evidence: Option<i64>,
    ) -> Result<(), StoreError> {
        let Some(o) = self.open.as_mut() else {
            return Ok(());
        };
        if let Some(m) = monitor {
            o.failing.remove(m);
        }
        if o.failing.is_empty() {
            o.recovered_at = Some(at);
        }
        let id = o.id;
        if incidents::monitors_down(&self.pool, component).await? == 0 {
            incidents::set_component_state(&self.pool, id, component, "operational").await?;
        }
        if let Some(e) = evidence {
            incidents::attach_evidence(&self.pool, id, e).await?;
        }
        Ok(())
    }

    /// Quiet for the whole quiet period: resolved.
    async fn resolve(&mut self) -> Result<(), StoreError> {
        let Some(o) = self.open.take() else {
            return Ok(());
        };
        // Honest about when: the last failure Vigil saw, not "N minutes" that may span a time
        // Vigil was not running.
        let words = format!(
            "Resolved: no failures since {} UTC.",
            o.last_failure_at.format("%H:%M")
        );
        self.post(o.id, &words, "resolved").await?;
        tracing::info!(
            incident = o.id,
            "resolved an incident after the quiet period"
        );
        Ok(())
    }

    /// A public update by Vigil that moves the incident to `status`.
    async fn post(&self, id: i64, body: &str, status: &str) -> Result<(), StoreError> {
        incidents::add_update(
            &self.pool,
            id,
            body,
            Some(status.into()),
            false,
            AUTHOR,
            false,
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::outage_title;

    #[test]
    fn titles_name_what_is_affected() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(outage_title(&n(&["Website"])), "Website is unavailable");
        assert_eq!(
            outage_title(&n(&["Website", "Grafana"])),
            "Website and Grafana are unavailable"
        );
        assert_eq!(
            outage_title(&n(&["Website", "Grafana", "Bitwarden", "Prometheus"])),
            "Website, Grafana and 2 other services are unavailable"
        );
    }
}
