//! Upstream providers' own status pages (Statuspage v2 `summary.json`, the format Vigil serves
//! too), read leniently: unknown fields ignored, unknown status strings kept as "unknown" and
//! never taken for operational.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a provider's page said at one reading.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snapshot {
    /// none, minor, major, critical, maintenance — or "unknown".
    pub indicator: String,
    pub description: String,
    pub components: Vec<ProviderComponent>,
    /// Unresolved incidents.
    pub incidents: Vec<ProviderIncident>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderComponent {
    pub name: String,
    /// operational, degraded_performance, partial_outage, major_outage, under_maintenance — or
    /// "unknown".
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderIncident {
    pub id: String,
    pub name: String,
    pub status: String,
    pub impact: String,
    pub shortlink: Option<String>,
    /// The newest update's words.
    pub body: String,
}

const COMPONENT_STATES: [&str; 5] = [
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// Reads a `summary.json`; `follow` limits components to those names (all when empty). Groups
/// are left out. Errs when the document is not a Statuspage summary at all.
pub fn parse(body: &Value, follow: &[String]) -> Result<Snapshot, String> {
    let status = body
        .get("status")
        .filter(|s| s.is_object())
        .ok_or("no `status` object: not a Statuspage summary.json")?;
    let indicator = match status["indicator"].as_str() {
        Some(i @ ("none" | "minor" | "major" | "critical" | "maintenance")) => i.to_string(),
        _ => "unknown".into(),
    };
    let components = body["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["group"] != true)
        .filter(|c| {
            follow.is_empty()
                || follow
                    .iter()
                    .any(|f| Some(f.as_str()) == c["name"].as_str())
        })
        .map(|c| ProviderComponent {
            name: text(c, "name"),
            status: c["status"]
                .as_str()
                .filter(|s| COMPONENT_STATES.contains(s))
                .unwrap_or("unknown")
                .to_string(),
        })
        .collect();
    let incidents = body["incidents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| !matches!(i["status"].as_str(), Some("resolved" | "postmortem")))
        .filter(|i| i["id"].is_string())
        .map(|i| ProviderIncident {
            id: text(i, "id"),
            name: text(i, "name"),
            status: text(i, "status"),
            impact: text(i, "impact"),
            shortlink: i["shortlink"].as_str().map(str::to_string),
            body: i["incident_updates"][0]["body"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        })
        .collect();
    Ok(Snapshot {
        indicator,
        description: text(status, "description"),
        components,
        incidents,
    })
}

/// What happened to an upstream incident between two readings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentChange {
    Opened,
    Updated,
    Resolved,
}

/// What changed on a provider's page between two readings.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub incidents: Vec<(IncidentChange, ProviderIncident)>,
    pub components: Vec<ComponentChange>,
}

/// A followed component's state, before and now.
#[derive(Debug, PartialEq)]
pub struct ComponentChange {
    pub name: String,
    pub from: String,
    pub to: String,
}

/// The incidents that opened, moved on or were resolved, and the components whose status
/// changed, from `before` (None: the first reading, where open incidents count as opened) to
/// `now`.
pub fn changes(before: Option<&Snapshot>, now: &Snapshot) -> Changes {
    let empty = Snapshot::default();
    let was = before.unwrap_or(&empty);
    let mut incidents = Vec::new();
    for i in &now.incidents {
        match was.incidents.iter().find(|w| w.id == i.id) {
            None => incidents.push((IncidentChange::Opened, i.clone())),
            Some(w) if w.status != i.status || w.body != i.body => {
                incidents.push((IncidentChange::Updated, i.clone()))
            }
            Some(_) => {}
        }
    }
    for w in &was.incidents {
        if !now.incidents.iter().any(|i| i.id == w.id) {
            let mut gone = w.clone();
            gone.status = "resolved".into();
            incidents.push((IncidentChange::Resolved, gone));
        }
    }
    let components = match before {
        None => Vec::new(),
        Some(was) => now
            .components
            .iter()
            .filter_map(|c| {
                let old = was.components.iter().find(|w| w.name == c.name)?;
                (old.status != c.status).then(|| ComponentChange {
                    name: c.name.clone(),
                    from: old.status.clone(),
                    to: c.status.clone(),
                })
            })
            .collect(),
    };
    Changes {
        incidents,
        components,
    }
}

/// A provider as `/ops` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpstreamView {
    pub name: String,
    pub public: bool,
    pub snapshot: Snapshot,
    pub fetched_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(incident: bool, nb: &str) -> Value {
        json!({
            "page": {"id": "x"},
            "status": {"indicator": if incident { "major" } else { "none" }, "description": "d"},
            "components": [
                {"name": "NodeBalancers", "status": nb},
                {"name": "Block Storage", "status": "something_new"},
                {"name": "Group", "status": "operational", "group": true}
            ],
            "incidents": if incident { json!([{"id": "a1", "name": "NB connectivity", "status": "investigating",
                "impact": "major", "incident_updates": [{"body": "Looking."}], "extra": 1}]) } else { json!([]) }
        })
    }

    #[test]
    fn unknown_states_are_unknown_never_operational_and_groups_are_left_out() {
        let s = parse(&page(false, "operational"), &[]).unwrap();
        assert_eq!(s.components.len(), 2);
        assert_eq!(s.components[1].status, "unknown");
        assert!(parse(&json!({"hello": 1}), &[]).is_err());
        let only = parse(&page(false, "operational"), &["NodeBalancers".into()]).unwrap();
        assert_eq!(only.components.len(), 1);
    }

    #[test]
    fn an_incident_opens_moves_on_and_resolves() {
        let calm = parse(&page(false, "operational"), &[]).unwrap();
        let bad = parse(&page(true, "partial_outage"), &[]).unwrap();
        let opened = changes(Some(&calm), &bad);
        assert_eq!(opened.incidents[0].0, IncidentChange::Opened);
        assert_eq!(
            opened.components,
            vec![ComponentChange {
                name: "NodeBalancers".into(),
                from: "operational".into(),
                to: "partial_outage".into()
            }]
        );
        assert!(changes(Some(&bad), &bad).incidents.is_empty());
        let resolved = changes(Some(&bad), &calm).incidents;
        assert_eq!(resolved[0].0, IncidentChange::Resolved);
        assert_eq!(resolved[0].1.status, "resolved");
    }
}
