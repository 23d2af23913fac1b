//! What happened, as Vigil records it in its event stream: one enum, built from typed values
//! where events are produced and parsed once where they are read (the incident engine, the
//! notifications, the correlation view). Stored as a kind and a JSON payload — the table, the
//! webhook body and rows written by older versions keep that shape — and a row whose kind or
//! payload this version does not know is kept as [`EventData::Other`], never dropped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{backend::BackendStatus, monitor::MonitorStatus, status::ComponentStatus};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum EventData {
    /// A monitor changed state (the probes' verdict).
    #[serde(rename = "monitor.state")]
    MonitorState(MonitorChanged),
    /// A data source answers again after being stale.
    #[serde(rename = "source.fresh")]
    SourceFresh(SourceFresh),
    /// A data source has not answered for longer than its limit.
    #[serde(rename = "source.stale")]
    SourceStale(SourceStale),
    /// A NodeBalancer backend went UP or DOWN.
    #[serde(rename = "lb.backend")]
    BackendChanged(BackendChanged),
    /// A backend started or stopped flapping.
    #[serde(rename = "lb.flapping")]
    BackendFlapping(BackendFlapping),
    /// A port's ingress broke (no backend steadily up) or recovered.
    #[serde(rename = "lb.ingress")]
    Ingress(IngressChanged),
    /// A port's configuration changed, or was posted again unchanged ("re-applied").
    #[serde(rename = "lb.config")]
    LbConfig(LbConfigChanged),
    /// An upstream provider's incident opened, moved on or was resolved (its own status page).
    #[serde(rename = "upstream.incident")]
    UpstreamIncident(UpstreamIncident),
    /// A followed component on a provider's status page changed state.
    #[serde(rename = "upstream.component")]
    UpstreamComponent(UpstreamComponent),
    /// A Kubernetes node condition (memory, disk or PID pressure, readiness) changed.
    #[serde(rename = "k8s.node")]
    K8sNode(K8sNodeCondition),
    /// A pod was evicted or one of its containers was killed for running out of memory.
    #[serde(rename = "k8s.pod")]
    K8sPod(K8sPodTrouble),
    /// A resource alert rule (memory, CPU, pressure) fired or cleared.
    #[serde(rename = "resource.alert")]
    ResourceAlert(ResourceAlert),
    /// An objective's burn-rate alert fired or cleared: its error budget burns (or no longer
    /// burns) fast enough to spend too much of it.
    #[serde(rename = "slo.burn")]
    SloBurn(SloBurn),
    #[serde(rename = "incident.opened")]
    IncidentOpened(IncidentNews),
    #[serde(rename = "incident.updated")]
    IncidentUpdated(IncidentNews),
    #[serde(rename = "incident.resolved")]
    IncidentResolved(IncidentNews),
    #[serde(rename = "maintenance.scheduled")]
    MaintenanceScheduled(IncidentNews),
    #[serde(rename = "maintenance.started")]
    MaintenanceStarted(IncidentNews),
    #[serde(rename = "maintenance.completed")]
    MaintenanceCompleted(IncidentNews),
    #[serde(rename = "maintenance.updated")]
    MaintenanceUpdated(IncidentNews),
    /// A scheduled maintenance starts soon (`[subscribers] reminder_minutes`): subscribers hear.
    #[serde(rename = "maintenance.reminder")]
    MaintenanceReminder(IncidentNews),
    /// An internal note on an incident (its text stays in the incident, never in the stream).
    #[serde(rename = "note.added")]
    NoteAdded(NoteAdded),
    #[serde(rename = "postmortem.published")]
    PostmortemPublished(PostmortemNews),
    #[serde(rename = "postmortem.unpublished")]
    PostmortemUnpublished(PostmortemNews),
    /// A post-mortem's review moved: reviewers were asked, or one approved a revision. For the
    /// team's channels (`postmortem.*`); never for subscribers.
    #[serde(rename = "postmortem.review")]
    PostmortemReview(ReviewNews),
    /// A follow-up is past its due date and still open: said once a day until it is handled.
    #[serde(rename = "followup.overdue")]
    FollowUpOverdue(FollowUpOverdue),
    /// What a component shows the public changed (its monitors, an incident or a maintenance):
    /// Statuspage's `component_update` to webhook subscribers.
    #[serde(rename = "component.status")]
    ComponentStatus(ComponentChanged),
    /// No replica of Vigil was running for a while: said once when one starts again, instead of
    /// every source going stale and answering again as if each had failed.
    #[serde(rename = "vigil.absent")]
    VigilAbsent(VigilAbsent),
    /// The world (components, monitors) changed: revision `revision`, by whom, how much. Every
    /// replica applies it when it hears of it; the team's channels may follow changes with it.
    #[serde(rename = "world.revised")]
    WorldRevised(WorldRevised),
    /// Past incidents were brought over from another status page: history, never news (no
    /// channel or subscriber hears of them; the pages showing history render anew).
    #[serde(rename = "history.imported")]
    IncidentsImported(IncidentsImported),
    /// A stored event this version does not understand, kept as it is.
    #[serde(skip)]
    Other {
        kind: String,
        payload: serde_json::Value,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorChanged {
    pub monitor_id: i64,
    pub monitor: String,
    pub component: String,
    pub from: MonitorStatus,
    pub to: MonitorStatus,
    pub cause: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceFresh {
    pub source: String,
    /// The source's kind: `prometheus`, `node_exporter`, `linode`, `scheduler`.
    pub kind: String,
    pub stale_since: Option<DateTime<Utc>>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceStale {
    pub source: String,
    pub kind: String,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendChanged {
    pub nodebalancer: String,
    pub port: u16,
    pub backend: String,
    pub address: String,
    pub from: BackendStatus,
    pub to: BackendStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendFlapping {
    pub nodebalancer: String,
    pub port: u16,
    pub backend: String,
    pub flapping: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IngressChanged {
    pub nodebalancer: String,
    pub port: u16,
    pub broken: bool,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LbConfigChanged {
    pub nodebalancer: String,
    pub port: u16,
    pub change: super::lb_config::ConfigChange,
    /// Field by field, for a change (empty for a re-apply).
    #[serde(default)]
    pub changes: Vec<super::lb_config::FieldChange>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpstreamIncident {
    pub provider: String,
    pub change: super::upstream::IncidentChange,
    pub incident: super::upstream::ProviderIncident,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpstreamComponent {
    pub provider: String,
    pub component: String,
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct K8sNodeCondition {
    /// The `[[kubernetes]]` source.
    pub cluster: String,
    pub node: String,
    pub condition: super::kubernetes::NodeCondition,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct K8sPodTrouble {
    pub cluster: String,
    pub namespace: String,
    pub pod: String,
    /// Where it ran (empty when the API did not say).
    pub node: String,
    pub trouble: super::kubernetes::PodTroubleKind,
    /// The container killed, for an OOM kill.
    #[serde(default)]
    pub container: Option<String>,
    /// The kubelet's words.
    #[serde(default)]
    pub message: String,
    /// When it happened by the cluster's account.
    pub happened_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceAlert {
    pub node: String,
    /// The metric's name (`memory`, `cpu`, `memory_pressure`).
    pub metric: String,
    pub value: f64,
    pub above: f64,
    pub for_secs: u64,
    pub firing: bool,
    pub since: Option<DateTime<Utc>>,
    pub message: String,
}

/// A burn-rate alert of an objective, as judged: which rule, the burn rates over its two
/// windows, and the budget left then.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloBurn {
    pub objective: String,
    pub name: String,
    /// The rule's id, e.g. `14.4x-1h-5m`.
    pub rule: String,
    /// `page` or `ticket`.
    pub severity: String,
    pub firing: bool,
    pub long_rate: Option<f64>,
    pub short_rate: Option<f64>,
    /// The share of the window's budget left (below 0 once exceeded).
    pub budget_remaining: f64,
    pub at: DateTime<Utc>,
}

impl SloBurn {
    pub fn message(&self) -> String {
        let rate = |r: Option<f64>| r.map_or("no checks".to_string(), |r| format!("{r:.1}x"));
        let left = format!(
            "{:.0} % of its error budget left",
            self.budget_remaining * 100.0
        );
        if self.firing {
            format!(
                "{} burns its error budget fast ({}: {} and {}), {}: {left}",
                self.name,
                self.rule,
                rate(self.long_rate),
                rate(self.short_rate),
                self.severity
            )
        } else {
            format!("{} no longer burns fast ({}): {left}", self.name, self.rule)
        }
    }
}

/// An incident's or maintenance's state when the event was written, with what a notification
/// needs to say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentNews {
    pub id: i64,
    /// `incident` or `maintenance`.
    pub kind: String,
    pub name: String,
    pub status: String,
    pub impact: String,
    /// The public update's text (empty for a change without one).
    pub body: String,
    pub components: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoteAdded {
    /// The incident's id.
    pub id: i64,
    pub author: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostmortemNews {
    pub id: i64,
    pub incident_id: i64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewNews {
    pub id: i64,
    pub incident_id: i64,
    pub name: String,
    /// `requested` or `approved`.
    pub action: String,
    /// Who asked, or who approved (audit names).
    pub who: String,
    /// Who was asked (for `requested`).
    #[serde(default)]
    pub reviewers: Vec<String>,
    pub revision: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FollowUpOverdue {
    pub id: i64,
    pub incident_id: i64,
    pub title: String,
    /// Its owner's user name, when it has one.
    pub owner: Option<String>,
    pub due_on: chrono::NaiveDate,
    pub days_overdue: i64,
}

/// A gap in Vigil's own watch: from its last sign of life to its start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VigilAbsent {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl VigilAbsent {
    pub fn message(&self) -> String {
        format!(
            "Vigil was not running {}–{} UTC",
            self.from.format("%H:%M"),
            self.to.format("%H:%M")
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldRevised {
    pub revision: i64,
    pub actor: String,
    pub created: u32,
    pub changed: u32,
    pub removed: u32,
}

impl WorldRevised {
    pub fn message(&self) -> String {
        format!(
            "Configuration revision {} by {}: {} created, {} changed, {} removed",
            self.revision, self.actor, self.created, self.changed, self.removed
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentsImported {
    pub count: u32,
    pub by: String,
}

/// A component's public status before and after, in Statuspage's names. Public words only: the
/// component, never the monitor or the reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentChanged {
    pub component_id: String,
    pub name: String,
    pub from: ComponentStatus,
    pub to: ComponentStatus,
}

impl EventData {
    /// Reads a stored event. Anything unknown or malformed is kept as [`EventData::Other`].
    pub fn parse(kind: &str, payload: serde_json::Value) -> EventData {
        let stored = serde_json::json!({ "kind": kind, "payload": payload });
        match EventData::deserialize(&stored) {
            Ok(data) => data,
            Err(_) => EventData::Other {
                kind: kind.to_string(),
                payload: stored_payload(stored),
            },
        }
    }

    /// The stored form: the kind (`monitor.state`, …) and the payload.
    pub fn to_parts(&self) -> (String, serde_json::Value) {
        if let EventData::Other { kind, payload } = self {
            return (kind.clone(), payload.clone());
        }
        let mut v = serde_json::to_value(self).expect("event data serialises");
        let kind = v["kind"].as_str().unwrap_or_default().to_string();
        (kind, v["payload"].take())
    }

    pub fn kind(&self) -> String {
        self.to_parts().0
    }

    /// The incident an incident, maintenance or note event is about.
    pub fn incident(&self) -> Option<&IncidentNews> {
        match self {
            EventData::IncidentOpened(n)
            | EventData::IncidentUpdated(n)
            | EventData::IncidentResolved(n)
            | EventData::MaintenanceScheduled(n)
            | EventData::MaintenanceStarted(n)
            | EventData::MaintenanceCompleted(n)
            | EventData::MaintenanceUpdated(n)
            | EventData::MaintenanceReminder(n) => Some(n),
            _ => None,
        }
    }
}

/// Whether an event is bad news, good news, or neither: the colour of its mark and message.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Tone {
    Bad,
    Good,
    Info,
}

impl Tone {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn of(bad: bool) -> Tone {
        if bad {
            Tone::Bad
        } else {
            Tone::Good
        }
    }
}

impl EventData {
    /// One line for operators: the correlation view's marks, an incident's evidence, the
    /// drafted post-mortem's timeline.
    pub fn message(&self) -> String {
        match self {
            EventData::MonitorState(m) => format!(
                "{} {} → {}: {}",
                m.monitor,
                m.from.as_str(),
                m.to.as_str(),
                m.cause
            ),
            EventData::SourceFresh(s) => s.message.clone(),
            EventData::SourceStale(s) => s.message.clone(),
            EventData::BackendChanged(b) => format!(
                "{} :{} {} {} → {}",
                b.nodebalancer,
                b.port,
                b.backend,
                b.from.as_str(),
                b.to.as_str()
            ),
            EventData::BackendFlapping(b) => format!(
                "{} :{} {} {}",
                b.nodebalancer,
                b.port,
                b.backend,
                if b.flapping {
                    "started flapping"
                } else {
                    "stopped flapping"
                }
            ),
            EventData::Ingress(i) => format!("{} :{}: {}", i.nodebalancer, i.port, i.message),
            EventData::UpstreamIncident(u) => {
                use super::upstream::IncidentChange;
                let what = match u.change {
                    IncidentChange::Opened => "incident opened",
                    IncidentChange::Updated => "incident updated",
                    IncidentChange::Resolved => "incident resolved",
                };
                let words = if u.incident.body.is_empty() {
                    String::new()
                } else {
                    format!(": {}", u.incident.body)
                };
                format!(
                    "{} {what} — {} [{}]{words}",
                    u.provider, u.incident.name, u.incident.status
                )
            }
            EventData::UpstreamComponent(c) => format!(
                "{}: {} {} → {}",
                c.provider,
                c.component,
                c.from.replace('_', " "),
                c.to.replace('_', " ")
            ),
            EventData::LbConfig(c) => {
                use super::lb_config::ConfigChange;
                let what = match c.change {
                    ConfigChange::Changed => format!(
                        "configuration changed: {}",
                        c.changes
                            .iter()
                            .map(|f| f.describe())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    ConfigChange::Reapplied => "configuration re-applied, no change".to_string(),
                    ConfigChange::Initial => "configuration first read".to_string(),
                };
                format!("{} :{} {what}", c.nodebalancer, c.port)
            }
            EventData::K8sNode(k) => {
                let c = &k.condition;
                let state = match (c.kind.as_str(), c.is_bad()) {
                    ("Ready", false) => "ready again".to_string(),
                    ("Ready", true) => format!("not ready ({})", c.status),
                    (_, true) => format!("{} ({})", c.label(), c.status),
                    (_, false) => format!("{} over", c.label()),
                };
                let why = [c.reason.as_str(), c.message.as_str()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(": ");
                let why = if why.is_empty() {
                    String::new()
                } else {
                    format!(" — {why}")
                };
                format!("Kubernetes node {} {state}{why}", k.node)
            }
            EventData::K8sPod(p) => {
                use super::kubernetes::PodTroubleKind;
                let what = match (p.trouble, &p.container) {
                    (PodTroubleKind::Evicted, _) => "evicted".to_string(),
                    (PodTroubleKind::OomKilled, Some(c)) => format!("container {c} OOMKilled"),
                    (PodTroubleKind::OomKilled, None) => "OOMKilled".to_string(),
                };
                let on = if p.node.is_empty() {
                    String::new()
                } else {
                    format!(" on {}", p.node)
                };
                let why = if p.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", p.message)
                };
                format!("Pod {}/{}{on} {what}{why}", p.namespace, p.pod)
            }
            EventData::ResourceAlert(a) => a.message.clone(),
            EventData::SloBurn(b) => b.message(),
            EventData::IncidentOpened(n) => format!("Incident opened: {}", n.name),
            EventData::IncidentResolved(n) => format!("Incident resolved: {}", n.name),
            EventData::IncidentUpdated(n)
            | EventData::MaintenanceScheduled(n)
            | EventData::MaintenanceStarted(n)
            | EventData::MaintenanceCompleted(n)
            | EventData::MaintenanceUpdated(n) => format!("[{}] {}", n.status, n.name),
            EventData::MaintenanceReminder(n) => format!("Maintenance starts soon: {}", n.name),
            EventData::NoteAdded(n) => format!("Internal note by {}", n.author),
            EventData::PostmortemPublished(p) => format!("Post-mortem published: {}", p.name),
            EventData::PostmortemUnpublished(p) => format!("Post-mortem unpublished: {}", p.name),
            EventData::PostmortemReview(r) if r.action == "approved" => format!(
                "Post-mortem approved by {} (revision {}): {}",
                r.who, r.revision, r.name
            ),
            EventData::PostmortemReview(r) if r.action == "revision_public" => {
                format!("Post-mortem revision {} is public: {}", r.revision, r.name)
            }
            EventData::PostmortemReview(r) => format!(
                "{} asked {} to review the post-mortem: {}",
                r.who,
                r.reviewers.join(", "),
                r.name
            ),
            EventData::FollowUpOverdue(f) => format!(
                "Follow-up overdue by {} day{} (due {}): {} — {}",
                f.days_overdue,
                if f.days_overdue == 1 { "" } else { "s" },
                f.due_on,
                f.title,
                f.owner
                    .as_deref()
                    .map_or_else(|| "nobody owns it".to_string(), |o| format!("owner {o}"))
            ),
            EventData::VigilAbsent(a) => a.message(),
            EventData::WorldRevised(w) => w.message(),
            EventData::IncidentsImported(i) => {
                format!("{} past incidents imported ({})", i.count, i.by)
            }
            EventData::ComponentStatus(c) => format!(
                "{} shows {} (was {})",
                c.name,
                c.to.label().to_lowercase(),
                c.from.label().to_lowercase()
            ),
            EventData::Other { kind, payload } => payload["message"]
                .as_str()
                .map_or_else(|| kind.clone(), str::to_string),
        }
    }

    pub fn tone(&self) -> Tone {
        match self {
            EventData::MonitorState(m) => match (m.from, m.to) {
                (_, MonitorStatus::Down) => Tone::Bad,
                // A first verdict (Vigil starting) is not a recovery.
                (MonitorStatus::Unknown, MonitorStatus::Up) => Tone::Info,
                (_, MonitorStatus::Up) => Tone::Good,
                _ => Tone::Info,
            },
            EventData::SourceStale(_) => Tone::Bad,
            EventData::SourceFresh(_) => Tone::Good,
            EventData::BackendChanged(b) => Tone::of(b.to == BackendStatus::Down),
            EventData::BackendFlapping(b) => Tone::of(b.flapping),
            EventData::Ingress(i) => Tone::of(i.broken),
            EventData::ResourceAlert(a) => Tone::of(a.firing),
            EventData::SloBurn(b) => Tone::of(b.firing),
            EventData::K8sNode(k) => Tone::of(k.condition.is_bad()),
            EventData::K8sPod(_) => Tone::Bad,
            EventData::UpstreamIncident(u) => {
                Tone::of(u.change != super::upstream::IncidentChange::Resolved)
            }
            EventData::UpstreamComponent(c) => Tone::of(c.to != "operational"),
            EventData::ComponentStatus(c) => match c.to {
                ComponentStatus::Operational => Tone::Good,
                ComponentStatus::UnderMaintenance => Tone::Info,
                _ => Tone::Bad,
            },
            _ => Tone::Info,
        }
    }

    /// Evidence for an open incident: flapping, broken ingress, a firing alert, a stale source.
    pub fn is_evidence(&self) -> bool {
        match self {
            EventData::BackendFlapping(b) => b.flapping,
            EventData::Ingress(i) => i.broken,
            EventData::ResourceAlert(a) => a.firing,
            EventData::SourceStale(_) => true,
            // The cluster's own account: a node under pressure, pods evicted or OOM-killed.
            EventData::K8sNode(k) => k.condition.is_bad(),
            EventData::K8sPod(_) => true,
            // What the load balancer was told while things broke: changed or posted again.
            EventData::LbConfig(_) => true,
            // The provider's own word about it.
            EventData::UpstreamIncident(u) => u.change != super::upstream::IncidentChange::Resolved,
            _ => false,
        }
    }
}

fn stored_payload(mut stored: serde_json::Value) -> serde_json::Value {
    stored["payload"].take()
}

/// The event an incident's change is announced with.
pub fn incident_event(opened: bool, news: IncidentNews) -> EventData {
    match (news.kind.as_str(), news.status.as_str(), opened) {
        ("maintenance", "scheduled", true) => EventData::MaintenanceScheduled(news),
        ("maintenance", "in_progress", _) => EventData::MaintenanceStarted(news),
        ("maintenance", "completed", _) => EventData::MaintenanceCompleted(news),
        ("maintenance", _, _) => EventData::MaintenanceUpdated(news),
        (_, "resolved", _) => EventData::IncidentResolved(news),
        (_, _, true) => EventData::IncidentOpened(news),
        _ => EventData::IncidentUpdated(news),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn stored_kind_and_payload_round_trip() {
        let e = EventData::MonitorState(MonitorChanged {
            monitor_id: 3,
            monitor: "site-http".into(),
            component: "site".into(),
            from: MonitorStatus::Up,
            to: MonitorStatus::Down,
            cause: "HTTP 502".into(),
            at: t(),
        });
        let (kind, payload) = e.to_parts();
        assert_eq!(kind, "monitor.state");
        assert_eq!(payload["to"], "down");
        assert_eq!(payload["monitor"], "site-http");
        assert!(
            payload.get("kind").is_none(),
            "the kind is a column, not in the payload"
        );
        assert_eq!(EventData::parse(&kind, payload), e);
    }

    #[test]
    fn a_payload_field_named_kind_is_the_payloads_own() {
        let e = incident_event(
            true,
            IncidentNews {
                id: 1,
                kind: "maintenance".into(),
                name: "Upgrade".into(),
                status: "scheduled".into(),
                impact: "maintenance".into(),
                body: String::new(),
                components: vec!["Website".into()],
            },
        );
        let (kind, payload) = e.to_parts();
        assert_eq!(kind, "maintenance.scheduled");
        assert_eq!(payload["kind"], "maintenance");
        assert_eq!(EventData::parse(&kind, payload), e);
    }

    #[test]
    fn unknown_or_malformed_rows_are_kept_as_they_are() {
        let odd = EventData::parse("future.kind", serde_json::json!({ "x": 1 }));
        assert_eq!(
            odd.to_parts(),
            ("future.kind".into(), serde_json::json!({ "x": 1 }))
        );
        let broken = EventData::parse("monitor.state", serde_json::json!({ "to": "down" }));
        assert!(matches!(broken, EventData::Other { .. }));
        assert_eq!(broken.kind(), "monitor.state");
    }
}
