//! An upstream provider's public status page (Atlassian Statuspage v2: `/api/v2/summary.json`,
//! `/api/v2/components.json` with its groups, `/api/v2/incidents.json` with past incidents and
//! every update), like Linode's: components, and an incident opened and resolved on cue.
//! Answers conditional GETs of the summary with its ETag.

use std::sync::{Arc, Mutex};

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

#[derive(Clone, Debug)]
struct Incident {
    id: String,
    name: String,
    status: String,
    impact: String,
    body: String,
    created_at: String,
}

#[derive(Default)]
struct Page {
    /// (name, status) of each component.
    components: Vec<(String, String)>,
    incident: Option<Incident>,
    version: u64,
    /// Answer with something that is not the JSON expected.
    broken: bool,
}

/// A handle on the simulated status page: change it while it serves.
#[derive(Clone)]
pub struct ProviderSim {
    page: Arc<Mutex<Page>>,
}

impl Default for ProviderSim {
    fn default() -> Self {
        Self::new()
    }
}

impl ProviderSim {
    /// Linode's page, in part: the components the seed team depended on.
    pub fn new() -> Self {
        let components = ["NodeBalancers", "Linode Kubernetes Engine", "Block Storage"]
            .map(|c| (c.to_string(), "operational".to_string()))
            .to_vec();
        ProviderSim {
            page: Arc::new(Mutex::new(Page {
                components,
                ..Default::default()
            })),
        }
    }

    /// Opens (or updates) the incident, setting `component`'s status.
    pub fn open_incident(&self, name: &str, component: &str, component_status: &str, body: &str) {
        let mut p = self.page.lock().expect("provider poisoned");
        let now = chrono::Utc::now().to_rfc3339();
        let id = p
            .incident
            .as_ref()
            .map(|i| i.id.clone())
            .unwrap_or_else(|| format!("sim{}", p.version + 1));
        p.incident = Some(Incident {
            id,
            name: name.into(),
            status: "investigating".into(),
            impact: "major".into(),
            body: body.into(),
            created_at: now,
        });
        for (c, s) in &mut p.components {
            if c == component {
                *s = component_status.into();
            }
        }
        p.version += 1;
    }

    /// Resolves the incident; every component is operational again.
    pub fn resolve(&self) {
        let mut p = self.page.lock().expect("provider poisoned");
        p.incident = None;
        for (_, s) in &mut p.components {
            *s = "operational".into();
        }
        p.version += 1;
    }

    pub fn set_broken(&self, broken: bool) {
        let mut p = self.page.lock().expect("provider poisoned");
        p.broken = broken;
        p.version += 1;
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/v2/summary.json", get(summary))
            .route("/api/v2/components.json", get(components))
            .route("/api/v2/incidents.json", get(incidents))
            .with_state(self.clone())
    }

    /// Serves on an ephemeral 127.0.0.1 port; returns the page's base URL.
    pub async fn serve(&self) -> std::io::Result<String> {
        crate::nodes::serve_free(self.router()).await
    }
}

async fn summary(State(sim): State<ProviderSim>, headers: HeaderMap) -> Response {
    let p = sim.page.lock().expect("provider poisoned");
    let etag = format!("\"v{}\"", p.version);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    if p.broken {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"status\": [1, 2",
        )
            .into_response();
    }
    let incidents: Vec<Value> = p
        .incident
        .iter()
        .map(|i| {
            json!({
                "id": i.id, "name": i.name, "status": i.status, "impact": i.impact,
                "created_at": i.created_at, "updated_at": i.created_at,
                "shortlink": format!("https://stspg.io/{}", i.id),
                "incident_updates": [{ "id": format!("{}-1", i.id), "status": i.status,
                    "body": i.body, "created_at": i.created_at }],
                "unknown_future_field": { "nested": true },
            })
        })
        .collect();
    let components: Vec<Value> = p
        .components
        .iter()
        .enumerate()
        .map(|(n, (name, status))| json!({ "id": format!("c{n}"), "name": name, "status": status, "group": false }))
        .collect();
    let indicator = if p.incident.is_some() {
        "major"
    } else {
        "none"
    };
    let body = json!({
        "page": { "id": "linode", "name": "Linode", "url": "https://status.linode.com" },
        "status": { "indicator": indicator, "description": if p.incident.is_some() { "Major System Outage" } else { "All Systems Operational" } },
        "components": components,
        "incidents": incidents,
        "scheduled_maintenances": [],
    });
    ([(header::ETAG, etag)], Json(body)).into_response()
}

/// The page's components as `components.json` lists them: "Compute" is a group of the first two.
fn component_list(p: &Page) -> Vec<Value> {
    let mut out = vec![json!({
        "id": "g0", "name": "Compute", "status": "operational", "group": true, "group_id": null,
        "position": 0, "description": null, "components": ["c0", "c1"],
        "created_at": "2019-03-01T10:00:00.000Z", "updated_at": "2026-11-20T10:00:00.000Z",
        "page_id": "linode", "showcase": false, "only_show_if_degraded": false,
    })];
    for (n, (name, status)) in p.components.iter().enumerate() {
        out.push(json!({
            "id": format!("c{n}"), "name": name, "status": status, "group": false,
            "group_id": if n < 2 { Value::from("g0") } else { Value::Null },
            "position": n + 1, "description": format!("{name} in every region"),
            "created_at": "2019-03-01T10:00:00.000Z", "updated_at": "2026-11-20T10:00:00.000Z",
            "page_id": "linode", "showcase": true, "only_show_if_degraded": false,
        }));
    }
    out
}

fn page_json() -> Value {
    json!({ "id": "linode", "name": "Linode", "url": "https://status.linode.com",
            "time_zone": "Etc/UTC", "updated_at": "2026-11-20T10:00:00.000Z" })
}

async fn components(State(sim): State<ProviderSim>) -> Json<Value> {
    let p = sim.page.lock().expect("provider poisoned");
    Json(json!({ "page": page_json(), "components": component_list(&p) }))
}

/// Two incidents of the past, resolved, with every update, and the open one if any.
async fn incidents(State(sim): State<ProviderSim>) -> Json<Value> {
    let p = sim.page.lock().expect("provider poisoned");
    let affected = |ids: &[&str]| -> Vec<Value> {
        component_list(&p)
            .into_iter()
            .filter(|c| ids.contains(&c["id"].as_str().unwrap_or_default()))
            .collect()
    };
    let update = |id: &str, status: &str, body: &str, at: &str| {
        json!({ "id": id, "status": status, "body": body, "created_at": at, "updated_at": at,
                "display_at": at, "affected_components": null, "deliver_notifications": true })
    };
    let mut list = Vec::new();
    if let Some(i) = &p.incident {
        list.push(json!({
            "id": i.id, "name": i.name, "status": i.status, "impact": i.impact,
            "created_at": i.created_at, "updated_at": i.created_at, "started_at": i.created_at,
            "monitoring_at": null, "resolved_at": null, "page_id": "linode",
            "shortlink": format!("https://stspg.io/{}", i.id),
            "incident_updates": [update(&format!("{}-1", i.id), &i.status, &i.body, &i.created_at)],
            "components": affected(&["c0"]),
        }));
    }
    list.push(json!({
        "id": "past2", "name": "Connectivity issue in Newark", "status": "resolved", "impact": "major",
        "created_at": "2026-11-20T08:02:00.000Z", "updated_at": "2026-11-20T09:40:00.000Z",
        "started_at": "2026-11-20T08:00:00.000Z", "monitoring_at": "2026-11-20T09:05:00.000Z",
        "resolved_at": "2026-11-20T09:40:00.000Z", "page_id": "linode", "shortlink": "https://stspg.io/past2",
        "incident_updates": [
            update("u23", "resolved", "The issue has been resolved.", "2026-11-20T09:40:00.000Z"),
            update("u22", "monitoring", "A fix is in place; we are monitoring.", "2026-11-20T09:05:00.000Z"),
            update("u21", "investigating", "We are investigating connectivity issues to NodeBalancers in Newark.", "2026-11-20T08:02:00.000Z"),
        ],
        "components": affected(&["c0", "c1"]),
    }));
    list.push(json!({
        "id": "past1", "name": "Block Storage volumes slow to attach", "status": "postmortem", "impact": "minor",
        "created_at": "2026-10-02T14:10:00.000Z", "updated_at": "2026-10-02T16:00:00.000Z",
        "started_at": "2026-10-02T14:10:00.000Z", "monitoring_at": null,
        "resolved_at": "2026-10-02T15:30:00.000Z", "page_id": "linode", "shortlink": "https://stspg.io/past1",
        "incident_updates": [
            update("u13", "postmortem", "A post-mortem is published on our blog.", "2026-10-02T16:00:00.000Z"),
            update("u12", "resolved", "Attach times are back to normal.", "2026-10-02T15:30:00.000Z"),
            update("u11", "identified", "A storage controller was overloaded; we are moving load.", "2026-10-02T14:10:00.000Z"),
        ],
        "components": affected(&["c2"]),
    }));
    Json(json!({ "page": page_json(), "incidents": list }))
}
