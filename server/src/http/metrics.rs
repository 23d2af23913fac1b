//! `/metrics` in the Prometheus text format, through the `metrics` facade and its Prometheus
//! exporter: request counts and latencies by route, and the database pool.

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide recorder, installed on first use (tests start several apps in one process).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new();
            for histogram in [
                "http_request_duration_seconds",
                "probe_schedule_lag_seconds",
                "probe_batch_write_seconds",
            ] {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full(histogram.into()), LATENCY_BUCKETS)
                    .expect("bucket list is not empty");
            }
            builder
                .install_recorder()
                .expect("no other metrics recorder is installed")
        })
        .clone()
}

/// Middleware: counts every request and times it, labelled by the route pattern (never the raw
/// path, so `/incidents/123` and `/incidents/124` share one series).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`. With `server.metrics_token_env` set, only for `Authorization: Bearer <token>`.
pub async fn render(
    State(state): State<crate::http::state::AppState>,
    headers: HeaderMap,
) -> Response {
    if let Some(want) = &state.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Compared as digests, so the time taken says nothing about how much of it matched.
        if Sha256::digest(given.as_bytes()) != Sha256::digest(want.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"vigil-metrics\"")],
                "metrics need the bearer token from server.metrics_token_env\n",
            )
                .into_response();
        }
    }
    let pool = &state.pool;
    let idle = pool.num_idle() as f64;
    let size = f64::from(pool.size());
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("db_pool_connections", "state" => "in_use").set(size - idle);
    metrics::gauge!("db_pool_max_connections").set(f64::from(pool.options().get_max_connections()));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}

pub fn endpoints() -> Vec<crate::http::endpoint::Endpoint> {
    vec![crate::http::endpoint::get("/metrics", render)]
}
