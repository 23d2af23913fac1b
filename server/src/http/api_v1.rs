//! `/api/v1`: the authenticated JSON API for scripts and agents.

use axum::{Extension, Json};
use serde::Serialize;
use vigil_core::model::auth::{Auth, Denied, Principal, Role, Scope};

use crate::auth::Refusal;

#[derive(Serialize)]
pub struct Me {
    pub kind: &'static str,
    pub id: i64,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub scopes: Vec<Scope>,
}

/// `GET /api/v1/me`: who the caller is and what it may do. Any valid credential will do.
pub async fn me(Extension(auth): Extension<Auth>) -> Result<Json<Me>, Refusal> {
    let p = auth.0.ok_or(Denied::Unauthenticated)?;
    let scopes = p.scopes();
    Ok(Json(match p {
        Principal::User { id, name, role } => Me {
            kind: "user",
            id,
            name,
            role: Some(role),
            scopes,
        },
        Principal::Token { id, name, .. } => Me {
            kind: "token",
            id,
            name,
            role: None,
            scopes,
        },
    }))
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
