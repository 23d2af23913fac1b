//! Reads the upstream providers' status pages (`[[upstream]]`): each provider's
//! `/api/v2/summary.json` every `interval_secs`, with its ETag, on the replica running the
//! data sources (`resources`). What changed becomes `upstream.incident` / `upstream.component` events; a
//! provider whose page cannot be read is a stale data source. Bad answers (not JSON, not a
//! Statuspage summary, too large) are logged with the provider named and skipped.

use std::time::Duration;

use chrono::Utc;
use reqwest::{header, StatusCode};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::{model::upstream::parse, store::upstream};

use crate::config::upstream::UpstreamConfig;

/// The largest page read (Statuspage summaries are tens of KB).
const MAX_BODY: usize = 2 << 20;

/// Reads one provider's page every `interval_secs` until `held`.
pub async fn watch(u: UpstreamConfig, pool: PgPool, held: CancellationToken) {
    let client = crate::workers::http_client();
    let mut every = crate::workers::ticker(Duration::from_secs(u.interval_secs));
    while crate::workers::next_tick(&mut every, &held).await {
        let outcome = read_once(&client, &u, &pool).await;
        if let Err(e) = &outcome {
            tracing::warn!(provider = %u.name, error = %e, "cannot read the provider's status page");
        }
        crate::sources::registry::report(&pool, &u.source_name(), outcome.map(drop)).await;
    }
}

/// One reading; returns how many changes it found.
pub async fn read_once(
    client: &reqwest::Client,
    u: &UpstreamConfig,
    pool: &PgPool,
) -> Result<usize, String> {
    let url = format!("{}/api/v2/summary.json", u.url.trim_end_matches('/'));
    let (before, etag) = upstream::previous(pool, &u.name)
        .await
        .map_err(|e| e.to_string())?;
    let mut req = client
        .get(&url)
        .timeout(Duration::from_millis(u.timeout_ms))
        .header(header::ACCEPT, "application/json");
    if let (Some(etag), Some(_)) = (&etag, &before) {
        req = req.header(header::IF_NONE_MATCH, etag);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| crate::redact::transport_error(&e))?;
    let now = Utc::now();
    if resp.status() == StatusCode::NOT_MODIFIED {
        upstream::touch(pool, &u.name, now)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(0);
    }
    if !resp.status().is_success() {
        return Err(format!("the status page answered HTTP {}", resp.status()));
    }
    let new_etag = resp
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if resp.content_length().is_some_and(|n| n as usize > MAX_BODY) {
        return Err(format!("the status page is larger than {MAX_BODY} bytes"));
    }
    // Capped while reading (after inflation), not after the whole body is held.
    let body = crate::capped::read(resp, MAX_BODY)
        .await
        .map_err(|e| crate::redact::transport_error(&e))?
        .whole(MAX_BODY)
        .map_err(|_| format!("the status page is larger than {MAX_BODY} bytes"))?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("the status page is not JSON: {e}"))?;
    let snapshot = parse(&value, &u.components)?;
    upstream::record(
        pool,
        &u.name,
        before.as_ref(),
        &snapshot,
        new_etag.as_deref(),
        now,
    )
    .await
    .map_err(|e| e.to_string())
}
