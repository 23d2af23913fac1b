//! Component and page status, with Atlassian Statuspage's names so existing consumers understand
//! Vigil's JSON.

use serde::{Deserialize, Serialize};

use super::monitor::MonitorStatus;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Words for people; the colour is never the only signal.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::UnderMaintenance => "Under maintenance",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        }
    }

    /// How bad, for picking the worst; maintenance ranks below any failure.
    fn severity(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    pub fn parse(s: &str) -> Option<ComponentStatus> {
        s.parse().ok()
    }

    pub fn worst(a: ComponentStatus, b: ComponentStatus) -> ComponentStatus {
        if b.severity() > a.severity() {
            b
        } else {
            a
        }
    }
}

/// What a component's monitors say about it. Paused and not-yet-checked monitors do not count;
/// a component with no counted monitor is `None` (shown as "no data", never as green).
pub fn component_status(
    monitors: &[MonitorStatus],
    in_maintenance: bool,
) -> Option<ComponentStatus> {
    if in_maintenance {
        return Some(ComponentStatus::UnderMaintenance);
    }
    let counted: Vec<MonitorStatus> = monitors
        .iter()
        .copied()
        .filter(|s| {
            matches!(
                s,
                MonitorStatus::Up | MonitorStatus::Degraded | MonitorStatus::Down
            )
        })
        .collect();
    if counted.is_empty() {
        return None;
    }
    let down = counted
        .iter()
        .filter(|s| **s == MonitorStatus::Down)
        .count();
    let degraded = counted
        .iter()
        .filter(|s| **s == MonitorStatus::Degraded)
        .count();
    Some(if down == counted.len() {
        ComponentStatus::MajorOutage
    } else if down > 0 {
        ComponentStatus::PartialOutage
    } else if degraded > 0 {
        ComponentStatus::DegradedPerformance
    } else {
        ComponentStatus::Operational
    })
}

/// Statuspage's page-level indicator.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Indicator {
    None,
    Minor,
    Major,
    Critical,
}

impl Indicator {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The banner: an indicator and a sentence, from every component's status.
pub fn page_status(components: &[ComponentStatus]) -> (Indicator, &'static str) {
    let worst = components
        .iter()
        .copied()
        .fold(ComponentStatus::Operational, ComponentStatus::worst);
    let all_major = !components.is_empty()
        && components
            .iter()
            .all(|c| *c == ComponentStatus::MajorOutage);
    match worst {
        ComponentStatus::Operational => (Indicator::None, "All Systems Operational"),
        ComponentStatus::UnderMaintenance => (Indicator::None, "Service Under Maintenance"),
        ComponentStatus::DegradedPerformance => (Indicator::Minor, "Degraded System Performance"),
        ComponentStatus::PartialOutage => (Indicator::Major, "Partial System Outage"),
        ComponentStatus::MajorOutage if all_major => (Indicator::Critical, "Major System Outage"),
        ComponentStatus::MajorOutage => (Indicator::Major, "Partial System Outage"),
    }
}

/// A day's colour on the 90-day bar, from that day's checks. `None` when nothing was checked.
pub fn day_status(checks: i64, failures: i64) -> Option<ComponentStatus> {
    if checks <= 0 {
        return None;
    }
    let uptime = 1.0 - failures as f64 / checks as f64;
    Some(if failures == 0 {
        ComponentStatus::Operational
    } else if uptime >= 0.99 {
        ComponentStatus::DegradedPerformance
    } else if uptime >= 0.9 {
        ComponentStatus::PartialOutage
    } else {
        ComponentStatus::MajorOutage
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use MonitorStatus::*;

    #[test]
    fn a_component_is_as_bad_as_its_monitors_say() {
        assert_eq!(
            component_status(&[Up, Up], false),
            Some(ComponentStatus::Operational)
        );
        assert_eq!(
            component_status(&[Up, Degraded], false),
            Some(ComponentStatus::DegradedPerformance)
        );
        assert_eq!(
            component_status(&[Up, Down], false),
            Some(ComponentStatus::PartialOutage)
        );
        assert_eq!(
            component_status(&[Down, Down], false),
            Some(ComponentStatus::MajorOutage)
        );
        assert_eq!(
            component_status(&[Down, Paused], false),
            Some(ComponentStatus::MajorOutage)
        );
        assert_eq!(
            component_status(&[Down], true),
            Some(ComponentStatus::UnderMaintenance)
        );
    }

    #[test]
    fn no_counted_monitor_means_no_data_not_green() {
        assert_eq!(component_status(&[], false), None);
        assert_eq!(component_status(&[Unknown, Paused], false), None);
    }

    #[test]
    fn the_banner_follows_the_worst_component() {
        use ComponentStatus::*;
        assert_eq!(page_status(&[Operational, Operational]).0, Indicator::None);
        assert_eq!(
            page_status(&[Operational, DegradedPerformance]),
            (Indicator::Minor, "Degraded System Performance")
        );
        assert_eq!(
            page_status(&[Operational, MajorOutage]),
            (Indicator::Major, "Partial System Outage")
        );
        assert_eq!(
            page_status(&[MajorOutage, MajorOutage]),
            (Indicator::Critical, "Major System Outage")
        );
        assert_eq!(page_status(&[]).1, "All Systems Operational");
    }

    #[test]
    fn days_are_coloured_by_how_much_failed() {
        assert_eq!(day_status(0, 0), None);
        assert_eq!(day_status(2880, 0), Some(ComponentStatus::Operational));
        assert_eq!(
            day_status(2880, 10),
            Some(ComponentStatus::DegradedPerformance)
        );
        assert_eq!(day_status(2880, 200), Some(ComponentStatus::PartialOutage));
        assert_eq!(day_status(2880, 2000), Some(ComponentStatus::MajorOutage));
    }
}

/// Everything the public page and the Statuspage-compatible JSON show, read in one go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusSummary {
    pub title: String,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    /// When anything on the page last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub indicator: Indicator,
    pub description: String,
    pub components: Vec<ComponentSummary>,
    /// Open incidents, newest first (public updates only).
    pub incidents: Vec<super::incident::IncidentView>,
    /// Maintenances upcoming or in progress.
    pub maintenances: Vec<super::incident::IncidentView>,
    /// The database could not be read: this is the last state Vigil knew, as of `generated_at`.
    #[serde(default)]
    pub stale: bool,
    /// Providers' components the public page shows as third-party services (`[[upstream]]`
    /// with `public = true`), as their own status pages say.
    #[serde(default)]
    pub third_party: Vec<ThirdParty>,
}

/// A provider's component, as its status page reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThirdParty {
    pub provider: String,
    pub component: String,
    /// None: a status the page did not name in Statuspage's words ("no data", never green).
    pub status: Option<ComponentStatus>,
}

impl StatusSummary {
    /// What visitors may see: components, never the monitors behind them (names, kinds, error
    /// text). Incidents are already loaded without internal notes, evidence or login names.
    pub fn public(&self) -> StatusSummary {
        let mut s = self.clone();
        for c in &mut s.components {
            c.monitors.clear();
        }
        s
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentSummary {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    pub position: i32,
    /// None: no monitor has a verdict yet ("no data", never green).
    pub status: Option<ComponentStatus>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Share of successful checks over the 90 days shown, None without checks.
    pub uptime_90d: Option<f64>,
    /// The same over the last 30 days: what a phone's bar shows.
    pub uptime_30d: Option<f64>,
    /// Oldest first, one per UTC day, 90 of them.
    pub days: Vec<DaySummary>,
    /// Average response time per 10 minutes over the last 24 hours, oldest first.
    pub latency_24h: Vec<(chrono::DateTime<chrono::Utc>, f64)>,
    pub monitors: Vec<MonitorSummary>,
    /// Computed before the monitors are removed for the public: "Seen down from 2 of 3 regions:
    /// eu-west, us-east" (region names only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DaySummary {
    pub date: chrono::NaiveDate,
    pub status: Option<ComponentStatus>,
    pub uptime: Option<f64>,
    /// Names of the incidents that affected the component that day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorSummary {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub status: MonitorStatus,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub last_check_at: Option<chrono::DateTime<chrono::Utc>>,
    pub latency_ms: Option<f32>,
    pub last_error: Option<String>,
    pub interval_secs: i32,
    pub paused: bool,
    /// For a monitor checked from several regions: what each region with a current verdict sees.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub regions: std::collections::BTreeMap<String, MonitorStatus>,
}

impl ComponentSummary {
    /// Where a component is seen down from, when its monitors are checked from several regions:
    /// region names only (public words), e.g. "Seen down from 2 of 3 regions: eu-west, us-east".
    pub fn regions_note(&self) -> Option<String> {
        let worst = self
            .monitors
            .iter()
            .filter(|m| !m.regions.is_empty())
            .max_by_key(|m| {
                m.regions
                    .values()
                    .filter(|s| **s == MonitorStatus::Down)
                    .count()
            })?;
        let down: Vec<&str> = worst
            .regions
            .iter()
            .filter(|(_, s)| **s == MonitorStatus::Down)
            .map(|(r, _)| r.as_str())
            .collect();
        (!down.is_empty()).then(|| {
            format!(
                "Seen down from {} of {} regions: {}",
                down.len(),
                worst.regions.len(),
                down.join(", ")
            )
        })
    }
    /// The status shown in words: "No data" when there is no verdict.
    pub fn label(&self) -> &'static str {
        self.status.map(ComponentStatus::label).unwrap_or("No data")
    }

    /// The CSS/state class: one of the status names, or `unknown`.
    pub fn class(&self) -> &'static str {
        self.status
            .map(ComponentStatus::as_str)
            .unwrap_or("unknown")
    }
}

/// The status page's title, as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageTitle(pub String);

/// Where people reach Vigil (`server.public_url`): canonical and shared links start with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicUrl(pub String);

/// What the page says of its owner besides its title: a sentence, and links (name, URL).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageHeader {
    pub description: Option<String>,
    pub links: Vec<(String, String)>,
}
