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
