//! Authentication (who is this?) and the one authorization mechanism (may they?).
//!
//! Every request passes `resolve::resolve`, which turns a bearer token or a session cookie into an
//! [`Auth`](vigil_core::model::auth::Auth) in the request's extensions. Routes, the `/ops` pages and
//! server functions all decide with `Auth::require(scope)`; nothing relies on hidden links.

pub mod client;
pub mod csrf;
pub mod login;
pub mod password;
pub mod resolve;
pub mod session;
pub mod token;

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use vigil_core::model::auth::Denied;

/// The value of the cookie `name` in a request's `Cookie` headers, if it sent one.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A refusal as an HTTP response: 401 with a `WWW-Authenticate` challenge, or 403.
pub struct Refusal(pub Denied);

impl From<Denied> for Refusal {
    fn from(d: Denied) -> Self {
        Refusal(d)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.0.to_string() }));
        match self.0 {
            Denied::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"vigil\"")],
                body,
            )
                .into_response(),
            Denied::Forbidden(_) => (StatusCode::FORBIDDEN, body).into_response(),
        }
    }
}
