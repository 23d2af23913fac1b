//! Reliability figures computed from what Vigil recorded, never typed in: per component and per
//! month, how many incidents, how long until they were detected (first failing signal → incident
//! opened), acknowledged (→ first update by a person) and resolved, and how many minutes the
//! public saw each state; how many follow-ups got handled; which post-mortems name which
//! contributing factors.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The contributing factors a post-mortem may be tagged with: a small, fixed set, so figures
/// across incidents add up (free text would not).
pub const FACTORS: [&str; 10] = [
    "capacity",
    "config",
    "deploy",
    "upstream-provider",
    "network",
    "hardware",
    "software-bug",
    "dependency",
    "monitoring-gap",
    "human-error",
];

/// Checks tags against [`FACTORS`]: sorted, without repeats; the error names the first unknown.
pub fn tags(typed: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for t in typed {
        let t = t.trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        if !FACTORS.contains(&t.as_str()) {
            return Err(format!(
                "`{t}` is not a contributing factor; use {}",
                FACTORS.join(", ")
            ));
        }
        out.push(t);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// One incident's moments, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentTimes {
    pub id: i64,
    pub opened_at: DateTime<Utc>,
    /// The earliest failing signal: a monitor going down or degraded on one of its components, or
    /// evidence the engine attached (before or at the opening).
    pub first_signal: Option<DateTime<Utc>>,
    /// The first update written by a person (not Vigil's own).
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// When the public stopped seeing the outage: monitoring began (the fix is in and the
    /// components show operational again), or the resolution.
    pub facing_until: Option<DateTime<Utc>>,
    /// (component id, component name, the state the incident showed for it while open).
    pub components: Vec<(String, String, String)>,
}

/// Figures over a set of incidents. Times in seconds; a mean over the incidents that have one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    pub incidents: i64,
    pub time_to_detect_secs: Option<f64>,
    pub time_to_acknowledge_secs: Option<f64>,
    pub time_to_resolve_secs: Option<f64>,
    /// Still open at the end of the period.
    pub unresolved: i64,
    /// Minutes the public saw each component state (`degraded_performance`, `partial_outage`,
    /// `major_outage`, …), within the period.
    pub minutes_by_state: BTreeMap<String, f64>,
}

/// One component's month.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentMonth {
    pub component_id: String,
    pub component: String,
    /// The month's first day.
    pub month: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
    /// The incidents behind the figures.
    pub incident_ids: Vec<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowUpCompletion {
    pub total: i64,
    pub done: i64,
    pub wont_do: i64,
    pub open: i64,
    pub overdue: i64,
    /// Handled (done or decided against) out of all; none when there are none.
    pub completion_rate: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostmortemEntry {
    pub id: i64,
    pub incident_id: i64,
    pub title: String,
    pub published_at: Option<DateTime<Utc>>,
    /// Component ids the incident touched.
    pub components: Vec<String>,
    pub tags: Vec<String>,
}

/// Everything `/ops/reliability` and `GET /api/v1/reliability` show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reliability {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    pub component: Option<String>,
    pub tag: Option<String>,
    /// Every incident in the period (per component when filtered).
    pub overall: Figures,
    /// Newest month first, then by component.
    pub months: Vec<ComponentMonth>,
    pub follow_ups: FollowUpCompletion,
    pub postmortems: Vec<PostmortemEntry>,
}

fn secs(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    ((b - a).num_milliseconds().max(0)) as f64 / 1000.0
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Figures over `incidents`, counting state minutes inside `[from, to)` and, when `component` is
/// given, only that component's.
pub fn figures(
    incidents: &[&IncidentTimes],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    component: Option<&str>,
    now: DateTime<Utc>,
) -> Figures {
    let mut f = Figures {
        incidents: incidents.len() as i64,
        ..Default::default()
    };
    let (mut detect, mut ack, mut resolve) = (Vec::new(), Vec::new(), Vec::new());
    for i in incidents {
        if let Some(s) = i.first_signal {
            detect.push(secs(s.min(i.opened_at), i.opened_at));
        }
        if let Some(a) = i.acknowledged_at {
            ack.push(secs(i.opened_at, a));
        }
        match i.resolved_at {
            Some(r) => resolve.push(secs(i.opened_at, r)),
            None => f.unresolved += 1,
        }
        let start = i.opened_at.max(from);
        let end = i.facing_until.unwrap_or(now).min(to).min(now);
        if end > start {
            for (id, _, state) in &i.components {
                if component.is_none_or(|c| c == id) {
                    *f.minutes_by_state.entry(state.clone()).or_default() +=
                        secs(start, end) / 60.0;
                }
            }
        }
    }
    f.time_to_detect_secs = mean(&detect);
    f.time_to_acknowledge_secs = mean(&ack);
    f.time_to_resolve_secs = mean(&resolve);
    f
}

fn month_of(t: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.year(), t.month(), 1).expect("the first of a month exists")
}

/// Per component and month (the month an incident opened), newest month first.
pub fn by_component_month(
    incidents: &[IncidentTimes],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    component: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<ComponentMonth> {
    let mut groups: BTreeMap<(NaiveDate, String), (String, Vec<&IncidentTimes>)> = BTreeMap::new();
    for i in incidents {
        for (id, name, _) in &i.components {
            if component.is_none_or(|c| c == id) {
                groups
                    .entry((month_of(i.opened_at), id.clone()))
                    .or_insert_with(|| (name.clone(), Vec::new()))
                    .1
                    .push(i);
            }
        }
    }
    let mut out: Vec<ComponentMonth> = groups
        .into_iter()
        .map(|((month, id), (name, list))| ComponentMonth {
            figures: figures(&list, from, to, Some(&id), now),
            incident_ids: list.iter().map(|i| i.id).collect(),
            component_id: id,
            component: name,
            month,
        })
        .collect();
    out.sort_by(|a, b| b.month.cmp(&a.month).then(a.component.cmp(&b.component)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn incident(id: i64, opened: &str, resolved: Option<&str>, comps: &[&str]) -> IncidentTimes {
        IncidentTimes {
            id,
            opened_at: at(opened),
            first_signal: None,
            acknowledged_at: None,
            resolved_at: resolved.map(at),
            facing_until: resolved.map(at),
            components: comps
                .iter()
                .map(|c| {
                    (
                        c.to_string(),
                        c.to_uppercase(),
                        "partial_outage".to_string(),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn detect_acknowledge_resolve_and_minutes_come_from_the_moments() {
        let mut a = incident(
            1,
            "2026-11-03T14:01:30Z",
            Some("2026-11-03T14:41:30Z"),
            &["site"],
        );
        a.first_signal = Some(at("2026-11-03T14:00:00Z"));
        a.acknowledged_at = Some(at("2026-11-03T14:06:30Z"));
        let mut b = incident(
            2,
            "2026-11-20T10:00:00Z",
            Some("2026-11-20T11:00:00Z"),
            &["site", "api"],
        );
        // A signal after the opening (a person opened it first) is no negative detection time.
        b.first_signal = Some(at("2026-11-20T10:05:00Z"));
        let from = at("2026-11-01T00:00:00Z");
        let to = at("2026-12-01T00:00:00Z");
        let now = at("2026-12-03T00:00:00Z");
        let f = figures(&[&a, &b], from, to, None, now);
        assert_eq!(f.incidents, 2);
        assert_eq!(f.time_to_detect_secs, Some(45.0));
        assert_eq!(f.time_to_acknowledge_secs, Some(300.0));
        assert_eq!(f.time_to_resolve_secs, Some((2400.0 + 3600.0) / 2.0));
        assert_eq!(f.minutes_by_state["partial_outage"], 40.0 + 60.0 + 60.0);
        let months = by_component_month(&[a, b], from, to, None, now);
        assert_eq!(months.len(), 2);
        let site = months.iter().find(|m| m.component_id == "site").unwrap();
        assert_eq!(site.incident_ids, vec![1, 2]);
        assert_eq!(site.figures.minutes_by_state["partial_outage"], 100.0);
    }

    #[test]
    fn open_incidents_count_until_now_and_minutes_stay_inside_the_period() {
        let open = incident(3, "2026-11-30T23:00:00Z", None, &["site"]);
        let f = figures(
            &[&open],
            at("2026-11-01T00:00:00Z"),
            at("2026-12-01T00:00:00Z"),
            None,
            at("2026-12-03T00:00:00Z"),
        );
        assert_eq!(f.unresolved, 1);
        assert_eq!(f.time_to_resolve_secs, None);
        assert_eq!(f.minutes_by_state["partial_outage"], 60.0);
    }

    #[test]
    fn tags_come_from_the_fixed_set() {
        assert_eq!(
            tags(&[
                "Capacity".into(),
                "config".into(),
                "capacity".into(),
                " ".into()
            ])
            .unwrap(),
            vec!["capacity", "config"]
        );
        assert!(tags(&["bad-luck".into()])
            .unwrap_err()
            .contains("`bad-luck`"));
    }
}
