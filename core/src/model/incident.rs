//! Incidents and maintenances with Statuspage's names, and the rules of automatic incidents: one
//! outage is one incident, failures that start within the correlation window join it, recovery
//! moves it to monitoring and a quiet period resolves it — unless a person has taken it over.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// An enum with Statuspage's names: serde, `as_str`, `parse` and the list of names, all derived
/// from the one name written beside each variant.
macro_rules! names {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
                 strum::IntoStaticStr, strum::EnumString, strum::VariantArray, strum::Display)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $(#[serde(rename = $text)] #[strum(serialize = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = <$name as strum::VariantArray>::VARIANTS;
            pub fn as_str(self) -> &'static str {
                self.into()
            }
            pub fn parse(s: &str) -> Option<$name> {
                s.parse().ok()
            }
            /// "one of a, b, c" for error messages.
            pub fn choices() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

names!(
    /// An incident's progress, as Statuspage names it.
    IncidentStatus {
        Investigating => "investigating",
        Identified => "identified",
        Monitoring => "monitoring",
        Resolved => "resolved",
    }
);

names!(
    /// A scheduled maintenance's progress.
    MaintenanceStatus {
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Verifying => "verifying",
        Completed => "completed",
    }
);

names!(
    Impact {
        None => "none",
        Minor => "minor",
        Major => "major",
        Critical => "critical",
    }
);

impl IncidentStatus {
    pub fn is_open(self) -> bool {
        self != IncidentStatus::Resolved
    }
}

names!(
    /// What the public is told about: something broke, or work was planned.
    IncidentKind {
        Incident => "incident",
        Maintenance => "maintenance",
    }
);

/// Where an incident or a maintenance stands: the statuses of its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Progress {
    Incident(IncidentStatus),
    Maintenance(MaintenanceStatus),
}

impl Progress {
    /// The status of `kind` named `s`; None when `kind` has no such status.
    pub fn parse(kind: IncidentKind, s: &str) -> Option<Progress> {
        match kind {
            IncidentKind::Incident => IncidentStatus::parse(s).map(Progress::Incident),
            IncidentKind::Maintenance => MaintenanceStatus::parse(s).map(Progress::Maintenance),
        }
    }

    /// Where a new one of `kind` starts.
    pub fn initial(kind: IncidentKind) -> Progress {
        match kind {
            IncidentKind::Incident => Progress::Incident(IncidentStatus::Investigating),
            IncidentKind::Maintenance => Progress::Maintenance(MaintenanceStatus::Scheduled),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Progress::Incident(s) => s.as_str(),
            Progress::Maintenance(s) => s.as_str(),
        }
    }

    /// Resolved, or completed: it is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Progress::Incident(IncidentStatus::Resolved)
                | Progress::Maintenance(MaintenanceStatus::Completed)
        )
    }

    /// "Identified", "In progress": for headings and feed titles.
    pub fn label(self) -> String {
        let mut text = self.as_str().replace('_', " ");
        if let Some(first) = text.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        text
    }
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first public update of an automatic incident, unless `incidents.opened_text` says otherwise.
pub const DEFAULT_OPENED_TEXT: &str = "{components} {is} not responding. We are investigating.";

/// Public wording about components: `{components}` becomes "Website", "Website and Grafana" or
/// "Website, Grafana and Bitwarden", `{is}` "is" or "are". Only component names go in, so the text
/// cannot carry a monitor's name, an address or an error.
pub fn component_text(template: &str, names: &[String]) -> String {
    let list = match names {
        [] => "Our services".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    let is = if names.len() == 1 { "is" } else { "are" };
    template.replace("{components}", &list).replace("{is}", is)
}

/// A component of an open incident whose state is not what the incident's updates last said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentNews {
    pub name: String,
    /// Its state in the incident now (a Statuspage component status).
    pub status: String,
    /// What the updates last said of it: None when they never named it.
    pub announced: Option<String>,
}

/// The public update announcing components that joined or left an open automatic incident,
/// so that its updates say what its title says: "Also affected now: Grafana and Bitwarden.
/// Working again: Website." None when nothing is worth saying (a component that joined and
/// recovered before it was announced; a change of severity; recoveries once the incident is
/// monitoring, whose own update said every check passes).
pub fn component_news(changes: &[ComponentNews], monitoring: bool) -> Option<String> {
    let operational = |s: &str| s == "operational";
    let names = |keep: &dyn Fn(&ComponentNews) -> bool| -> Vec<String> {
        changes
            .iter()
            .filter(|c| keep(c))
            .map(|c| c.name.clone())
            .collect()
    };
    let joined = names(&|c| !operational(&c.status) && c.announced.is_none());
    let again =
        names(&|c| !operational(&c.status) && c.announced.as_deref().is_some_and(operational));
    let left = names(&|c| {
        !monitoring
            && operational(&c.status)
            && c.announced.as_deref().is_some_and(|a| !operational(a))
    });
    let said: Vec<String> = [
        ("Also affected now: {components}.", joined),
        ("Affected again: {components}.", again),
        ("Working again: {components}.", left),
    ]
    .into_iter()
    .filter(|(_, names)| !names.is_empty())
    .map(|(words, names)| component_text(words, &names))
    .collect();
    (!said.is_empty()).then(|| said.join(" "))
}

/// How long before an incident opened a failing signal (or a notification) still belongs to it:
/// the engine's default correlation window. What came earlier belongs to what went before (an
/// earlier incident, a restart's gap); drafted Detection and the reliability figures ignore it.
pub const SIGNAL_LOOKBACK: Duration = Duration::minutes(10);

/// Settings of the automatic incident engine.
#[derive(Clone, Copy, Debug)]
pub struct AutoRules {
    /// Failures starting within this long of the incident's latest failure join it.
    pub correlation_window: Duration,
    /// After every monitor is back up, resolve when nothing failed for this long.
    pub quiet_period: Duration,
}

/// What the engine knows about the open automatic incident.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenAuto {
    pub id: i64,
    pub status: IncidentStatus,
    /// A person changed it: the engine adds evidence but never moves or resolves it.
    pub taken_over: bool,
    pub last_failure_at: DateTime<Utc>,
    /// Monitors of the incident still down.
    pub failing: BTreeSet<String>,
    /// When the last failing monitor came back.
    pub recovered_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    Down {
        monitor: String,
        component: String,
        at: DateTime<Utc>,
    },
    Up {
        monitor: String,
        component: String,
        at: DateTime<Utc>,
    },
    /// Flapping backends, resource alerts, stale sources: attached to an open incident.
    Evidence { at: DateTime<Utc> },
    /// Time passing (the engine's tick).
    Tick { now: DateTime<Utc> },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Open {
        monitor: String,
        component: String,
    },
    Join {
        monitor: String,
        component: String,
    },
    /// The monitor recovered; the incident stays open while others fail.
    Recovered {
        component: String,
    },
    Monitoring,
    /// A failure while monitoring: back to investigating.
    Relapse,
    Resolve,
    Attach,
}

/// The engine's rule for one signal, given the open automatic incident (if any).
pub fn decide(open: Option<&OpenAuto>, signal: &Signal, rules: AutoRules) -> Vec<Action> {
    match (open, signal) {
        (
            None,
            Signal::Down {
                monitor, component, ..
            },
        ) => vec![Action::Open {
            monitor: monitor.clone(),
            component: component.clone(),
        }],
        (
            Some(o),
            Signal::Down {
                monitor,
                component,
                at,
            },
        ) => {
            // At most one open automatic incident: a failure joins the open one, unless it has
            // been quiet for the whole quiet period (by the probes, since they last spoke), in
            // which case it is resolved first and a new one opens. Two open incidents for one
            // outage is what the public must never see.
            let quiet = o.failing.is_empty()
                && *at - o.last_failure_at > rules.correlation_window
                && o.recovered_at
                    .is_some_and(|r| *at - r >= rules.quiet_period)
                && *at - o.last_failure_at >= rules.quiet_period;
            let open = Action::Open {
                monitor: monitor.clone(),
                component: component.clone(),
            };
            if quiet && !o.taken_over {
                vec![Action::Resolve, open]
            } else {
                let mut out = vec![Action::Join {
                    monitor: monitor.clone(),
                    component: component.clone(),
                }];
                // A relapse while monitoring: back to investigating (unless a person holds it).
                if o.status == IncidentStatus::Monitoring && !o.taken_over {
                    out.push(Action::Relapse);
                }
                out
            }
        }
        (
            Some(o),
            Signal::Up {
                monitor, component, ..
            },
        ) if o.failing.contains(monitor) => {
            let mut out = vec![Action::Recovered {
                component: component.clone(),
            }];
            if o.failing.len() == 1 && !o.taken_over && o.status != IncidentStatus::Monitoring {
                out.push(Action::Monitoring);
            }
            out
        }
        (Some(o), Signal::Tick { now }) => {
            let quiet = o.recovered_at.is_some_and(|r| {
                *now - r >= rules.quiet_period && *now - o.last_failure_at >= rules.quiet_period
            });
            if o.failing.is_empty() && quiet && !o.taken_over {
                vec![Action::Resolve]
            } else {
                vec![]
            }
        }
        (Some(_), Signal::Evidence { .. }) => vec![Action::Attach],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn public_wording_names_components_only() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            component_text(DEFAULT_OPENED_TEXT, &n(&["Website"])),
            "Website is not responding. We are investigating."
        );
        assert_eq!(
            component_text(DEFAULT_OPENED_TEXT, &n(&["Website", "Grafana", "Vault"])),
            "Website, Grafana and Vault are not responding. We are investigating."
        );
        assert_eq!(
            component_text("Trouble with {components}.", &n(&["A", "B"])),
            "Trouble with A and B."
        );
    }

    #[test]
    fn component_news_says_who_joined_who_is_back_and_nothing_else() {
        let c = |name: &str, status: &str, announced: Option<&str>| ComponentNews {
            name: name.into(),
            status: status.into(),
            announced: announced.map(str::to_string),
        };
        let changes = [
            c("Grafana", "partial_outage", None),
            c("Website", "operational", Some("partial_outage")),
            c("Bitwarden", "partial_outage", None),
            c("Prometheus", "major_outage", Some("operational")),
            // Joined and recovered before anyone was told; worse than said: nothing to say.
            c("Docs", "operational", None),
            c("Mail", "major_outage", Some("partial_outage")),
        ];
        assert_eq!(
            component_news(&changes, false).as_deref(),
            Some("Also affected now: Grafana and Bitwarden. Affected again: Prometheus. Working again: Website.")
        );
        // Monitoring: its own update said every check passes.
        assert_eq!(
            component_news(&changes, true).as_deref(),
            Some("Also affected now: Grafana and Bitwarden. Affected again: Prometheus.")
        );
        assert_eq!(component_news(&changes[4..], false), None);
        assert_eq!(
            component_news(
                &[
                    c("A", "degraded_performance", None),
                    c("B", "major_outage", None),
                    c("C", "partial_outage", None)
                ],
                false
            )
            .as_deref(),
            Some("Also affected now: A, B and C.")
        );
    }

    fn rules() -> AutoRules {
        AutoRules {
            correlation_window: Duration::minutes(10),
            quiet_period: Duration::minutes(5),
        }
    }

    fn down(m: &str, s: i64) -> Signal {
        Signal::Down {
            monitor: m.into(),
            component: m.into(),
            at: t(s),
        }
    }

    fn up(m: &str, s: i64) -> Signal {
        Signal::Up {
            monitor: m.into(),
            component: m.into(),
            at: t(s),
        }
    }

    fn recovered(c: &str) -> Vec<Action> {
        vec![Action::Recovered {
            component: c.into(),
        }]
    }

    fn open(failing: &[&str], last: i64) -> OpenAuto {
        OpenAuto {
            id: 1,
            status: IncidentStatus::Investigating,
            taken_over: false,
            last_failure_at: t(last),
            failing: failing.iter().map(|s| s.to_string()).collect(),
            recovered_at: None,
        }
    }

    #[test]
    fn names_round_trip() {
        for s in IncidentStatus::ALL {
            assert_eq!(IncidentStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            MaintenanceStatus::parse("in_progress"),
            Some(MaintenanceStatus::InProgress)
        );
        assert_eq!(Impact::parse("huge"), None);
        assert_eq!(Impact::choices(), "none, minor, major, critical");
    }

    #[test]
    fn simultaneous_failures_make_one_incident() {
        assert!(matches!(
            decide(None, &down("site", 0), rules())[..],
            [Action::Open { .. }]
        ));
        let o = open(&["site"], 0);
        assert!(matches!(
            decide(Some(&o), &down("grafana", 20), rules())[..],
            [Action::Join { .. }]
        ));
    }

    #[test]
    fn recovery_monitors_then_resolves_after_quiet() {
        let mut o = open(&["site"], 0);
        let up = Signal::Up {
            monitor: "site".into(),
            component: "site".into(),
            at: t(100),
        };
        assert_eq!(
            decide(Some(&o), &up, rules()),
            vec![
                Action::Recovered {
                    component: "site".into()
                },
                Action::Monitoring
            ]
        );
        o.failing.clear();
        o.status = IncidentStatus::Monitoring;
        o.recovered_at = Some(t(100));
        assert!(decide(Some(&o), &Signal::Tick { now: t(200) }, rules()).is_empty());
        assert_eq!(
            decide(Some(&o), &Signal::Tick { now: t(400) }, rules()),
            vec![Action::Resolve]
        );
        // A person who took it over decides when it is resolved.
        o.taken_over = true;
        assert!(decide(Some(&o), &Signal::Tick { now: t(4000) }, rules()).is_empty());
    }

    #[test]
    fn after_a_restart_a_failure_relapses_the_open_incident_instead_of_opening_another() {
        // The seed replay: #7's last failure at 09:56; Vigil away until 10:23; it restarts,
        // sees every check passing (monitoring from 10:23:39, the quiet period starting then),
        // and at 10:24:24 the replay fails again — 28 minutes after #7's last failure.
        let mut o = open(&[], 0);
        o.status = IncidentStatus::Monitoring;
        o.recovered_at = Some(t(27 * 60 + 39));
        let actions = decide(Some(&o), &down("site", 28 * 60 + 24), rules());
        assert_eq!(
            actions,
            vec![
                Action::Join {
                    monitor: "site".into(),
                    component: "site".into()
                },
                Action::Relapse
            ],
            "one incident: relapsed, not a second one beside it"
        );
    }

    #[test]
    fn a_person_who_took_over_keeps_the_incident_through_new_failures() {
        let mut o = open(&[], 0);
        o.status = IncidentStatus::Monitoring;
        o.recovered_at = Some(t(60));
        o.taken_over = true;
        // Long quiet, then a failure: it joins the person's incident (no resolve, no second
        // incident), and the status stays where the person put it (no relapse).
        assert_eq!(
            decide(Some(&o), &down("site", 3000), rules()),
            vec![Action::Join {
                monitor: "site".into(),
                component: "site".into()
            }]
        );
        // A recovery is recorded, but the person moves it to monitoring, not the engine.
        o.failing.insert("site".into());
        o.recovered_at = None;
        assert_eq!(
            decide(Some(&o), &up("site", 3100), rules()),
            recovered("site")
        );
    }

    #[test]
    fn quiet_means_no_monitor_failing_whatever_the_clock_says() {
        // A monitor still failing (its recovery not yet seen) holds the incident open, even
        // with the last failure long ago and a recovery time on record from another monitor.
        let mut o = open(&["grafana"], 0);
        o.recovered_at = Some(t(10));
        assert_eq!(
            decide(Some(&o), &down("site", 3000), rules()),
            vec![Action::Join {
                monitor: "site".into(),
                component: "site".into()
            }]
        );
        assert!(decide(Some(&o), &Signal::Tick { now: t(4000) }, rules()).is_empty());
        // Recovery of a monitor the incident does not hold changes nothing.
        let up = Signal::Up {
            monitor: "vault".into(),
            component: "vault".into(),
            at: t(100),
        };
        assert!(decide(Some(&o), &up, rules()).is_empty());
    }

    #[test]
    fn evidence_joins_the_open_incident_and_opens_none() {
        let o = open(&["site"], 0);
        let evidence = Signal::Evidence { at: t(30) };
        assert_eq!(decide(Some(&o), &evidence, rules()), vec![Action::Attach]);
        assert!(decide(None, &evidence, rules()).is_empty());
        assert!(decide(None, &Signal::Tick { now: t(30) }, rules()).is_empty());
    }

    #[test]
    fn the_quiet_period_is_counted_from_the_recovery_and_from_the_last_failure() {
        let mut o = open(&[], 0);
        o.status = IncidentStatus::Monitoring;
        // Recovered at 100 s: quiet from 400 s (5 minutes), not before.
        o.recovered_at = Some(t(100));
        assert!(decide(Some(&o), &Signal::Tick { now: t(399) }, rules()).is_empty());
        assert_eq!(
            decide(Some(&o), &Signal::Tick { now: t(400) }, rules()),
            vec![Action::Resolve]
        );
        // A failure later than the recovery (a flap recorded out of order) counts too.
        o.last_failure_at = t(200);
        assert!(decide(Some(&o), &Signal::Tick { now: t(450) }, rules()).is_empty());
        assert_eq!(
            decide(Some(&o), &Signal::Tick { now: t(500) }, rules()),
            vec![Action::Resolve]
        );
    }

    #[test]
    fn a_failure_exactly_one_correlation_window_after_the_last_still_joins() {
        let mut o = open(&[], 0);
        o.recovered_at = Some(t(60));
        // The window is 10 minutes: at 600 s it still belongs to this incident, after it not.
        assert!(matches!(
            decide(Some(&o), &down("site", 600), rules())[..],
            [Action::Join { .. }]
        ));
        assert!(matches!(
            decide(Some(&o), &down("site", 601), rules())[..],
            [Action::Resolve, Action::Open { .. }]
        ));
    }

    #[test]
    fn one_of_two_failing_monitors_recovering_is_not_yet_monitoring() {
        let o = open(&["site", "grafana"], 0);
        assert_eq!(
            decide(Some(&o), &up("site", 100), rules()),
            recovered("site")
        );
    }

    #[test]
    fn a_failure_long_after_recovery_is_a_new_incident() {
        let mut o = open(&[], 0);
        o.status = IncidentStatus::Monitoring;
        o.recovered_at = Some(t(60));
        // Quiet for longer than the quiet period: the open one is resolved first, then a new one.
        assert!(matches!(
            decide(Some(&o), &down("site", 3000), rules())[..],
            [Action::Resolve, Action::Open { .. }]
        ));
        assert_eq!(
            decide(Some(&o), &down("site", 300), rules()),
            vec![
                Action::Join {
                    monitor: "site".into(),
                    component: "site".into()
                },
                Action::Relapse
            ]
        );
    }
}

/// A component an incident affects, with the state the incident gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AffectedComponent {
    pub id: String,
    pub name: String,
    pub status: String,
}

/// One entry of an incident's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateView {
    pub id: i64,
    pub status: String,
    pub body: String,
    /// An internal note: never shown publicly.
    pub internal: bool,
    /// Who wrote it: for ops readers `user:NAME`, `token:NAME` or `Vigil`; for the public a
    /// display name or "Vigil".
    pub author: String,
    pub created_at: DateTime<Utc>,
}

/// An event the engine attached to an incident as evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceView {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub subject: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    pub id: i64,
    pub kind: IncidentKind,
    pub name: String,
    pub status: Progress,
    pub impact: Impact,
    pub automatic: bool,
    pub taken_over: bool,
    pub started_at: DateTime<Utc>,
    pub monitoring_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub scheduled_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub components: Vec<AffectedComponent>,
    /// Newest first. Internal notes only where the reader may see them.
    pub updates: Vec<UpdateView>,
    pub evidence: Vec<EvidenceView>,
    /// Its post-mortem: published ones for everybody, drafts only for ops readers.
    #[serde(default)]
    pub postmortem: Option<PostmortemRef>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostmortemRef {
    pub id: i64,
    pub published_at: Option<DateTime<Utc>>,
    /// Markdown, once published (Statuspage's `postmortem_body`).
    pub body: Option<String>,
}

impl IncidentView {
    pub fn is_maintenance(&self) -> bool {
        self.kind == IncidentKind::Maintenance
    }

    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// The window the correlation view shows for it: from a little before it started to a
    /// little after it ended (or now).
    pub fn window(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = self.started_at - Duration::minutes(30);
        let end = self
            .resolved_at
            .map_or(now, |r| (r + Duration::minutes(30)).min(now));
        (start, end.max(start + Duration::minutes(5)))
    }
}

/// The component state an incident of `impact` gives the components it names by default.
pub fn component_status_for(impact: Impact) -> &'static str {
    match impact {
        Impact::None => "operational",
        Impact::Minor => "degraded_performance",
        Impact::Major => "partial_outage",
        Impact::Critical => "major_outage",
    }
}

/// Statuses valid for an incident or a maintenance, for messages.
/// A status as a request names it, before it is known whether an incident's or a maintenance's is
/// meant (an update or a change names one without saying which). Read from its Statuspage name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusName {
    Incident(IncidentStatus),
    Maintenance(MaintenanceStatus),
}

impl StatusName {
    pub fn parse(s: &str) -> Option<StatusName> {
        IncidentStatus::parse(s)
            .map(StatusName::Incident)
            .or_else(|| MaintenanceStatus::parse(s).map(StatusName::Maintenance))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusName::Incident(s) => s.as_str(),
            StatusName::Maintenance(s) => s.as_str(),
        }
    }

    /// This status as `kind`'s progress, if it is one of `kind`'s.
    pub fn progress(self, kind: IncidentKind) -> Option<Progress> {
        Progress::parse(kind, self.as_str())
    }

    /// Why `s` names no status, for error messages.
    pub fn unknown(s: &str) -> String {
        format!(
            "`{s}` is not a status: one of {} (incidents) or {} (maintenances)",
            IncidentStatus::choices(),
            MaintenanceStatus::choices()
        )
    }
}

impl Serialize for StatusName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StatusName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        StatusName::parse(&s).ok_or_else(|| serde::de::Error::custom(StatusName::unknown(&s)))
    }
}

pub fn statuses_for(kind: IncidentKind) -> String {
    match kind {
        IncidentKind::Maintenance => MaintenanceStatus::choices(),
        IncidentKind::Incident => IncidentStatus::choices(),
    }
}

/// Whether `status` ends an incident or maintenance.
pub fn is_final(status: &str) -> bool {
    matches!(status, "resolved" | "completed")
}

#[cfg(test)]
mod names_tests {
    use super::*;

    #[test]
    fn progress_reads_and_prints_as_statuspage_names_it() {
        use IncidentKind::*;
        let identified = Progress::parse(Incident, "identified").unwrap();
        assert_eq!(identified, Progress::Incident(IncidentStatus::Identified));
        assert_eq!(Progress::parse(Maintenance, "identified"), None);
        let in_progress = Progress::parse(Maintenance, "in_progress").unwrap();
        assert_eq!(in_progress.as_str(), "in_progress");
        assert_eq!(identified.as_str(), "identified");
        assert_eq!(in_progress.label(), "In progress");
        assert_eq!(identified.to_string(), "identified");
        assert_eq!(Progress::initial(Maintenance).as_str(), "scheduled");
        for (kind, s, done) in [
            (Incident, "resolved", true),
            (Incident, "monitoring", false),
            (Maintenance, "completed", true),
            (Maintenance, "verifying", false),
        ] {
            assert_eq!(Progress::parse(kind, s).unwrap().is_final(), done, "{s}");
            assert_eq!(is_final(s), done, "{s}");
        }
        assert!(IncidentStatus::Monitoring.is_open());
        assert!(!IncidentStatus::Resolved.is_open());
    }

    #[test]
    fn a_status_named_in_a_request_is_read_before_its_kind_is_known() {
        let s = StatusName::parse("in_progress").unwrap();
        assert_eq!(s, StatusName::Maintenance(MaintenanceStatus::InProgress));
        assert_eq!(s.as_str(), "in_progress");
        assert_eq!(
            StatusName::parse("monitoring").unwrap().as_str(),
            "monitoring"
        );
        assert_eq!(
            s.progress(IncidentKind::Maintenance),
            Some(Progress::Maintenance(MaintenanceStatus::InProgress))
        );
        assert_eq!(s.progress(IncidentKind::Incident), None);
        assert_eq!(StatusName::parse("fixed"), None);
        assert_eq!(
            StatusName::unknown("fixed"),
            "`fixed` is not a status: one of investigating, identified, monitoring, resolved \
             (incidents) or scheduled, in_progress, verifying, completed (maintenances)"
        );
        let err = serde_json::from_str::<StatusName>("\"fixed\"").unwrap_err();
        assert!(err.to_string().contains("`fixed` is not a status"), "{err}");
        assert_eq!(
            statuses_for(IncidentKind::Maintenance),
            "scheduled, in_progress, verifying, completed"
        );
        assert_eq!(
            statuses_for(IncidentKind::Incident),
            "investigating, identified, monitoring, resolved"
        );
    }

    fn view(kind: IncidentKind, started: i64, resolved: Option<i64>) -> IncidentView {
        let at = |m: i64| DateTime::from_timestamp(1_700_000_000 + m * 60, 0).unwrap();
        IncidentView {
            id: 1,
            kind,
            name: "Website is unavailable".into(),
            status: Progress::initial(kind),
            impact: Impact::Major,
            automatic: true,
            taken_over: false,
            started_at: at(started),
            monitoring_at: None,
            resolved_at: resolved.map(at),
            scheduled_for: None,
            scheduled_until: None,
            created_at: at(started),
            updated_at: at(started),
            components: vec![],
            updates: vec![],
            evidence: vec![],
            postmortem: None,
        }
    }

    #[test]
    fn an_incidents_window_runs_from_before_it_started_to_after_it_ended() {
        let at = |m: i64| DateTime::from_timestamp(1_700_000_000 + m * 60, 0).unwrap();
        let resolved = view(IncidentKind::Incident, 100, Some(160));
        assert!(!resolved.is_open() && !resolved.is_maintenance());
        // Half an hour either side, when "now" is long after.
        assert_eq!(resolved.window(at(1000)), (at(70), at(190)));
        // Never past now.
        assert_eq!(resolved.window(at(170)), (at(70), at(170)));
        let open = view(IncidentKind::Maintenance, 100, None);
        assert!(open.is_open() && open.is_maintenance());
        assert_eq!(open.window(at(120)), (at(70), at(120)));
        // At least five minutes wide, even for one that started in the future.
        assert_eq!(open.window(at(50)), (at(70), at(75)));
    }
}
