//! A receiver for outgoing notifications: Discord webhooks (`POST /api/webhooks/{id}/{token}`,
//! with Discord's validation limits, its per-webhook rate limit and 429 bodies), Slack incoming
//! webhooks (`POST /services/...`) and plain JSON webhooks (`POST /hook/{name}`). It records
//! what it accepted; `/_sim/messages` lists it and `/_sim/faults` makes it misbehave, so tests
//! in another process can drive it too.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::nodes::{serve_free, unix_now};

#[derive(Clone, Debug, Serialize)]
pub struct Received {
    /// Unix seconds.
    pub at: f64,
    /// "discord", "slack" or "webhook".
    pub kind: String,
    pub path: String,
    /// The `X-Vigil-Delivery` header, when sent: lets tests tell a resend from a new message.
    pub delivery: Option<String>,
    /// The `X-Vigil-Signature-256` header, when sent (subscribers' webhooks).
    pub signature: Option<String>,
    pub body: Value,
    /// The body exactly as it arrived, for checking its signature.
    pub raw: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookFaults {
    /// Answer the next N requests with 429 and `retry_after` seconds.
    pub throttle_next: u32,
    pub retry_after: f64,
    /// Answer everything with 503 (the receiver is down).
    pub down: bool,
    /// Accept the message but wait this long before answering (ms).
    pub delay_ms: u64,
    /// Discord's per-webhook limit: this many requests per `rate_window_ms` (0: no limit).
    pub rate_limit: u32,
    pub rate_window_ms: u64,
    /// Discord webhook ids that were deleted: Discord answers 404 Unknown Webhook (10015).
    pub deleted: Vec<String>,
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    faults: WebhookFaults,
    windows: HashMap<String, (Instant, u32)>,
    refused: u64,
}

#[derive(Clone, Default)]
pub struct WebhookSim {
    inner: Arc<Mutex<Inner>>,
}

impl WebhookSim {
    /// A receiver with Discord's customary webhook limit (5 requests per 2 seconds).
    pub fn new() -> Self {
        let sim = WebhookSim::default();
        sim.set_faults(WebhookFaults {
            rate_limit: 5,
            rate_window_ms: 2000,
            ..Default::default()
        });
        sim
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("webhook sim poisoned")
    }

    pub fn set_faults(&self, faults: WebhookFaults) {
        self.lock().faults = faults;
    }

    pub fn faults(&self) -> WebhookFaults {
        self.lock().faults.clone()
    }

    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Requests answered with 429 or 503 so far.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/webhooks/{id}/{token}", post(discord))
            .route("/services/{*path}", post(slack))
            .route("/hook/{name}", post(generic))
            .route("/_sim/messages", get(list).delete(clear))
            .route("/_sim/faults", get(get_faults).post(set_faults))
            .with_state(self.clone())
    }

    /// Serves on a free port; returns the base URL.
    pub async fn serve(&self) -> std::io::Result<String> {
        serve_free(self.router()).await
    }

    /// Applies faults and the rate limit for one request to `bucket`; Some(response) refuses it.
    async fn gate(&self, bucket: &str) -> Option<Response> {
        let delay = {
            let mut inner = self.lock();
            if inner.faults.down {
                inner.refused += 1;
                return Some(
                    (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error\n").into_response(),
                );
            }
            if inner.faults.throttle_next > 0 {
                inner.faults.throttle_next -= 1;
                inner.refused += 1;
                let after = inner.faults.retry_after;
                return Some(rate_limited(after, false));
            }
            let (limit, window) = (
                inner.faults.rate_limit,
                Duration::from_millis(inner.faults.rate_window_ms.max(1)),
            );
            if limit > 0 {
                let now = Instant::now();
                let (start, count) = inner.windows.entry(bucket.to_string()).or_insert((now, 0));
                if now.duration_since(*start) >= window {
                    *start = now;
                    *count = 0;
                }
                *count += 1;
                if *count > limit {
                    let after = (window - now.duration_since(*start)).as_secs_f64();
                    inner.refused += 1;
                    return Some(rate_limited(after, false));
                }
            }
            inner.faults.delay_ms
        };
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        None
    }

    fn record(&self, kind: &str, path: String, headers: &HeaderMap, raw: &str, body: Value) {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        self.lock().received.push(Received {
            at: unix_now(),
            kind: kind.into(),
            path,
            delivery: header("x-vigil-delivery"),
            signature: header("x-vigil-signature-256"),
            body,
            raw: raw.to_string(),
        });
    }
}

fn rate_limited(retry_after: f64, global: bool) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (
                header::RETRY_AFTER,
                format!("{}", retry_after.ceil().max(0.0) as u64),
            ),
            (
                header::HeaderName::from_static("x-ratelimit-reset-after"),
                format!("{retry_after:.3}"),
            ),
        ],
        Json(json!({ "message": "You are being rate limited.", "retry_after": retry_after, "global": global })),
    )
        .into_response()
}

/// Discord's limits on a webhook message; the first one broken, as Discord's 50035 error.
fn discord_invalid(body: &Value) -> Option<(String, String)> {
    let len = |v: &Value| v.as_str().map(|s| s.chars().count()).unwrap_or(0);
    let content = body.get("content").map(len).unwrap_or(0);
    if content > 2000 {
        return Some(("content".into(), "Must be 2000 or fewer in length.".into()));
    }
    let embeds = body
        .get("embeds")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if embeds.len() > 10 {
        return Some(("embeds".into(), "Must be 10 or fewer in length.".into()));
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        let title = e.get("title").map(len).unwrap_or(0);
        let description = e.get("description").map(len).unwrap_or(0);
        if title > 256 {
            return Some((
                format!("embeds.{i}.title"),
                "Must be 256 or fewer in length.".into(),
            ));
        }
        if description > 4096 {
            return Some((
                format!("embeds.{i}.description"),
                "Must be 4096 or fewer in length.".into(),
            ));
        }
        total += title + description;
        let fields = e
            .get("fields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if fields.len() > 25 {
            return Some((
                format!("embeds.{i}.fields"),
                "Must be 25 or fewer in length.".into(),
            ));
        }
        for f in &fields {
            total += f.get("name").map(len).unwrap_or(0) + f.get("value").map(len).unwrap_or(0);
        }
        if let Some(c) = e.get("color") {
            if c.as_u64().is_none_or(|c| c > 0xFF_FFFF) {
                return Some((
                    format!("embeds.{i}.color"),
                    "Value is not a valid color.".into(),
                ));
            }
        }
    }
    if total > 6000 {
        return Some((
            "embeds".into(),
            "Embed size exceeds maximum size of 6000".into(),
        ));
    }
    if content == 0 && embeds.is_empty() {
        return Some((String::new(), "Cannot send an empty message".into()));
    }
    None
}

#[derive(Deserialize)]
struct WaitQuery {
    wait: Option<bool>,
}

async fn discord(
    State(sim): State<WebhookSim>,
    Path((id, token)): Path<(String, String)>,
    Query(q): Query<WaitQuery>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if sim.faults().deleted.contains(&id) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Unknown Webhook", "code": 10015 })),
        )
            .into_response();
    }
    if let Some(r) = sim.gate(&format!("discord/{id}")).await {
        return r;
    }
    let Ok(json_body) = serde_json::from_str::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": "Cannot send an empty message", "code": 50006 })),
        )
            .into_response();
    };
    if let Some((field, message)) = discord_invalid(&json_body) {
        if field.is_empty() {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "message": message, "code": 50006 })),
            )
                .into_response();
        }
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": "Invalid Form Body", "code": 50035,
                "errors": { field: { "_errors": [{ "code": "BASE_TYPE_BAD_LENGTH", "message": message }] } } })),
        )
            .into_response();
    }
    let n = {
        sim.record(
            "discord",
            format!("/api/webhooks/{id}/{token}"),
            &headers,
            &body,
            json_body.clone(),
        );
        sim.lock().received.len()
    };
    if q.wait.unwrap_or(false) {
        let mut msg = json_body;
        msg["id"] = json!(format!("{}", 1_000_000_000_000_000_000u64 + n as u64));
        msg["webhook_id"] = json!(id);
        Json(msg).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

async fn slack(
    State(sim): State<WebhookSim>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = sim.gate(&format!("slack/{path}")).await {
        return r;
    }
    match serde_json::from_str::<Value>(&body) {
        Ok(v) if v.get("text").is_some() || v.get("blocks").is_some() => {
            sim.record("slack", format!("/services/{path}"), &headers, &body, v);
            (StatusCode::OK, "ok").into_response()
        }
        _ => (StatusCode::BAD_REQUEST, "invalid_payload").into_response(),
    }
}

async fn generic(
    State(sim): State<WebhookSim>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = sim.gate(&format!("hook/{name}")).await {
        return r;
    }
    match serde_json::from_str::<Value>(&body) {
        Ok(v) => {
            sim.record("webhook", format!("/hook/{name}"), &headers, &body, v);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("not JSON: {e}\n")).into_response(),
    }
}

async fn list(State(sim): State<WebhookSim>) -> Json<Vec<Received>> {
    Json(sim.received())
}

async fn clear(State(sim): State<WebhookSim>) -> StatusCode {
    sim.lock().received.clear();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(sim): State<WebhookSim>) -> Json<WebhookFaults> {
    Json(sim.faults())
}

async fn set_faults(
    State(sim): State<WebhookSim>,
    Json(f): Json<WebhookFaults>,
) -> Json<WebhookFaults> {
    sim.set_faults(f);
    Json(sim.faults())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_limits_are_enforced() {
        assert!(discord_invalid(&json!({ "content": "hi" })).is_none());
        assert_eq!(
            discord_invalid(&json!({})).unwrap().1,
            "Cannot send an empty message"
        );
        let long = "x".repeat(257);
        assert_eq!(
            discord_invalid(&json!({ "embeds": [{ "title": long }] }))
                .unwrap()
                .0,
            "embeds.0.title"
        );
        assert!(
            discord_invalid(&json!({ "embeds": [{ "title": "t", "color": 16777216 }] })).is_some()
        );
    }
}
