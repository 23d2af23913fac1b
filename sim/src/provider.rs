//! An upstream provider's public status page (Atlassian Statuspage v2: `/api/v2/summary.json`),
//! like Linode's: components, and an incident opened and resolved on cue. Answers conditional
//! GETs with its ETag.

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
