//! `/api/v1`: the authenticated JSON API for scripts and agents.

use axum::{Extension, Json};
use vigil_core::model::auth::{Auth, Denied, Me, Scope};

/// `GET /api/v1/me`: who the caller is and what it may do. Any valid credential will do.
pub async fn me(Extension(auth): Extension<Auth>) -> Result<Json<Me>, super::api_error::ApiError> {
    Ok(Json(auth.0.ok_or(Denied::Unauthenticated)?.me()))
}

/// `GET /api/v1/nodebalancers` (scope `read`): NodeBalancers → configs by port → backends, with
/// the latest connection count from the stats endpoint.
pub async fn nodebalancers(
    axum::extract::State(pool): axum::extract::State<sqlx::PgPool>,
    Extension(auth): Extension<Auth>,
) -> Result<Json<serde_json::Value>, super::api_error::ApiError> {
    use serde_json::json;
    auth.require(Scope::Read)?;
    let rows = vigil_core::store::backends::all(&pool).await?;
    let now = chrono::Utc::now();
    let connections =
        vigil_core::store::backends::connections(&pool, now - chrono::Duration::hours(24), now)
            .await?;
    let mut out: Vec<serde_json::Value> = Vec::new();
    for b in rows {
        let backend = json!({
            "id": b.node_id, "label": b.label, "address": b.address, "status": b.status,
            "mode": b.mode, "weight": b.weight, "flapping": b.flapping, "since": b.since, "seen_at": b.seen_at,
        });
        let nb = match out.iter_mut().find(|n| n["id"] == b.nodebalancer_id) {
            Some(n) => n,
            None => {
                let latest = connections
                    .iter()
                    .find(|(label, _)| *label == b.nodebalancer_label)
                    .and_then(|(_, points)| points.last())
                    .map(|(at, v)| json!({ "at": at, "value": v }));
                out.push(
                    json!({ "id": b.nodebalancer_id, "label": b.nodebalancer_label,
                    "connections": latest, "configs": [] }),
                );
                out.last_mut().expect("just pushed")
            }
        };
        let configs = nb["configs"].as_array_mut().expect("configs is an array");
        let cfg = match configs.iter_mut().position(|c| c["id"] == b.config_id) {
            Some(i) => &mut configs[i],
            None => {
                configs.push(
                    json!({ "id": b.config_id, "port": b.port, "protocol": b.protocol,
                    "nodes_status": { "up": 0, "down": 0 }, "backends": [] }),
                );
                configs.last_mut().expect("just pushed")
            }
        };
        let key = if b.status == "up" { "up" } else { "down" };
        cfg["nodes_status"][key] = json!(cfg["nodes_status"][key].as_i64().unwrap_or(0) + 1);
        cfg["backends"]
            .as_array_mut()
            .expect("backends is an array")
            .push(backend);
    }
    Ok(Json(json!({ "nodebalancers": out })))
}

/// `GET /api/v1/monitors` (scope `read`): every monitor with its component, kind and state.
pub async fn monitors(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    Extension(auth): Extension<Auth>,
) -> Result<Json<serde_json::Value>, super::api_error::ApiError> {
    auth.require(Scope::Read)?;
    let version = state.live.borrow().status_version;
    let s = state.status.get(&state.pool, &state.title, version).await?;
    let list: Vec<serde_json::Value> = s
        .components
        .iter()
        .flat_map(|c| {
            c.monitors.iter().map(move |m| {
                serde_json::json!({
                    "name": m.name,
                    "component": c.id,
                    "kind": m.kind,
                    "state": m.status.as_str(),
                    "since": m.since,
                    "last_check_at": m.last_check_at,
                    "latency_ms": m.latency_ms,
                    "last_error": m.last_error,
                    "interval_secs": m.interval_secs,
                    "paused": m.paused,
                })
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "monitors": list })))
}

pub fn router() -> axum::Router<super::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/monitors", get(monitors))
        .route("/api/v1/nodebalancers", get(nodebalancers))
}
