//! The public, unauthenticated read side: Statuspage-compatible JSON, badges and heartbeats.
//! Every response carries an ETag and Last-Modified and answers conditional requests with 304.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use vigil_core::model::status::{ComponentStatus, ComponentSummary, StatusSummary};

use crate::http::state::AppState;

pub(super) async fn read(state: &AppState) -> Result<Arc<StatusSummary>, Response> {
    let version = state.live.borrow().status_version;
    state
        .status
        .get(&state.pool, &state.page_title(), version)
        .await
        .map_err(|e| crate::error::answer(&e))
}

/// A rendered body and its validator.
pub(super) struct RenderedBody {
    body: Bytes,
    etag: HeaderValue,
}

impl RenderedBody {
    pub(super) fn new(body: Vec<u8>) -> Self {
        let body = Bytes::from(body);
        RenderedBody {
            etag: crate::http::conditional::etag_of(&body),
            body,
        }
    }
}

pub(super) fn conditional(
    headers: &HeaderMap,
    content_type: &'static str,
    r: RenderedBody,
    modified: DateTime<Utc>,
) -> Response {
    let etag = r.etag;
    let last_modified = modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let bare = etag
        .to_str()
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned();
    let fresh = crate::http::conditional::not_modified(headers, |t| t == bare, modified);
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], r.body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, etag);
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=5"),
    );
    resp
}

/// Serves one of the JSON documents built from the summary.
async fn json_endpoint(
    state: &AppState,
    headers: &HeaderMap,
    build: fn(&StatusSummary, &str) -> Value,
) -> Response {
    let s = match read(state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    // Kept compressed in memory by `public::cache` for anonymous readers; rendered here.
    let r = RenderedBody::new(
        serde_json::to_vec(&build(&s, &state.public_url)).expect("JSON values serialise"),
    );
    mark_stale(
        conditional(headers, "application/json", r, s.updated_at),
        &s,
    )
}

fn statuspage_status(c: &ComponentSummary) -> &'static str {
    // Statuspage has no "unknown"; a component without data is not shown as operational.
    c.status
        .unwrap_or(ComponentStatus::DegradedPerformance)
        .as_str()
}

fn group_id(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("group-{slug}")
}

fn page_json(s: &StatusSummary, url: &str) -> Value {
    let mut page = json!({
        "id": "vigil",
        "name": s.title,
        "url": url,
        "time_zone": "Etc/UTC",
        "updated_at": s.updated_at.to_rfc3339(),
    });
    if s.stale {
        // Not Statuspage's, and only during an outage of Vigil's database: the last state known,
        // and when it was read.
        page["stale"] = json!(true);
        page["as_of"] = json!(s.generated_at.to_rfc3339());
    }
    page
}

/// Says on an answer built from the last state known that it is one, and how old.
pub(super) fn mark_stale(mut resp: Response, s: &StatusSummary) -> Response {
    if s.stale {
        if let Ok(v) = HeaderValue::from_str(&s.generated_at.to_rfc3339()) {
            resp.headers_mut().insert("x-vigil-as-of", v);
        }
        resp.headers_mut().insert(
            header::WARNING,
            HeaderValue::from_static("110 - \"Response is Stale\""),
        );
    }
    resp
}

fn components_json(s: &StatusSummary) -> Vec<Value> {
    let mut out = Vec::new();
    let mut groups: Vec<(String, Vec<&ComponentSummary>)> = Vec::new();
    for c in &s.components {
        if let Some(g) = &c.group {
            match groups.iter_mut().find(|(name, _)| name == g) {
                Some((_, members)) => members.push(c),
                None => groups.push((g.clone(), vec![c])),
            }
        }
    }
    for (i, (name, members)) in groups.iter().enumerate() {
        let worst = members
            .iter()
            .map(|c| c.status.unwrap_or(ComponentStatus::DegradedPerformance))
            .fold(ComponentStatus::Operational, ComponentStatus::worst);
        out.push(json!({
            "id": group_id(name),
            "name": name,
            "status": worst.as_str(),
            "created_at": members.iter().map(|c| c.created_at).min().map(|d| d.to_rfc3339()),
            "updated_at": members.iter().map(|c| c.updated_at).max().map(|d| d.to_rfc3339()),
            "position": i,
            "description": null,
            "showcase": false,
            "start_date": null,
            "group_id": null,
            "page_id": "vigil",
            "group": true,
            "only_show_if_degraded": false,
            "components": members.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        }));
    }
    for c in &s.components {
        out.push(json!({
            "id": c.id,
            "name": c.name,
            "status": statuspage_status(c),
            "created_at": c.created_at.to_rfc3339(),
            "updated_at": c.updated_at.to_rfc3339(),
            "position": c.position,
            "description": c.description,
            "showcase": true,
            "start_date": c.created_at.date_naive().to_string(),
            "group_id": c.group.as_deref().map(group_id),
            "page_id": "vigil",
            "group": false,
            "only_show_if_degraded": false,
            "vigil_status": c.status.map(|s| s.as_str()).unwrap_or("no_data"),
            "uptime_90d": c.uptime_90d,
        }));
    }
    out
}

fn status_json(s: &StatusSummary) -> Value {
    json!({ "indicator": s.indicator.as_str(), "description": s.description })
}

pub async fn summary_json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    json_endpoint(&state, &headers, |s, url| {
        json!({
            "page": page_json(s, url),
            "status": status_json(s),
            "components": components_json(s),
            "incidents": s.incidents.iter().map(|i| crate::http::api::bodies::StatuspageIncident::of(i, url)).collect::<Vec<_>>(),
            "scheduled_maintenances": s.maintenances.iter().map(|i| crate::http::api::bodies::StatuspageIncident::of(i, url)).collect::<Vec<_>>(),
        })
    })
    .await
}

pub async fn status_json_handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    json_endpoint(
        &state,
        &headers,
        |s, url| json!({ "page": page_json(s, url), "status": status_json(s) }),
    )
    .await
}

pub async fn components_json_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    json_endpoint(
        &state,
        &headers,
        |s, url| json!({ "page": page_json(s, url), "components": components_json(s) }),
    )
    .await
}

/// `GET /badge/{component}.svg`: the component's state as a small SVG, in words and colour.
pub async fn badge(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = file.strip_suffix(".svg") else {
        return (StatusCode::NOT_FOUND, "badges end in .svg\n").into_response();
    };
    let s = match read(&state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(c) = s.components.iter().find(|c| c.id == id) else {
        return (StatusCode::NOT_FOUND, format!("no component `{id}`\n")).into_response();
    };
    let r = RenderedBody::new(badge_svg(&c.name, c.label(), colour(c.status)).into_bytes());
    mark_stale(conditional(&headers, "image/svg+xml", r, c.updated_at), &s)
}

pub fn colour(s: Option<ComponentStatus>) -> &'static str {
    match s {
        Some(ComponentStatus::Operational) => "#2f9e44",
        Some(ComponentStatus::DegradedPerformance) => "#f59f00",
        Some(ComponentStatus::PartialOutage) => "#e8590c",
        Some(ComponentStatus::MajorOutage) => "#e03131",
        Some(ComponentStatus::UnderMaintenance) => "#1971c2",
        None => "#868e96",
    }
}

pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn badge_svg(label: &str, value: &str, colour: &str) -> String {
    // Verdana 11px averages ~6.5 px a character: good enough for a badge.
    let lw = 10 + label.chars().count() * 7;
    let vw = 10 + value.chars().count() * 7;
    let (label, value) = (escape(label), escape(value));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{label}: {value}"><title>{label}: {value}</title><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{vw}" height="20" fill="{colour}"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle"><text x="{lx}" y="14">{label}</text><text x="{vx}" y="14">{value}</text></g></svg>"##,
        w = lw + vw,
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}

/// `POST /heartbeat/{secret}`: the watched job checks in.
pub async fn heartbeat(State(state): State<AppState>, Path(secret): Path<String>) -> Response {
    if state.probes.heartbeat(&secret).await {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::NOT_FOUND, "no heartbeat monitor has this URL\n").into_response()
    }
}

/// The status read side: Statuspage JSON and badges.
pub fn endpoints() -> Vec<crate::http::endpoint::Endpoint> {
    use crate::http::endpoint::get;
    vec![
        get("/api/v2/summary.json", summary_json),
        get("/api/v2/status.json", status_json_handler),
        get("/api/v2/components.json", components_json_handler),
        get("/badge/{file}", badge),
    ]
}

/// Heartbeat monitors' check-ins.
pub fn heartbeat_endpoints() -> Vec<crate::http::endpoint::Endpoint> {
    vec![crate::http::endpoint::post(
        "/heartbeat/{secret}",
        heartbeat,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_escape_names_and_say_the_state_in_words() {
        let svg = badge_svg("<site>", "Major outage", "#e03131");
        assert!(svg.contains("&lt;site&gt;"));
        assert!(!svg.contains("<site>"));
        assert!(svg.contains(">Major outage<"));
        assert!(svg.contains("aria-label=\"&lt;site&gt;: Major outage\""));
    }
}
