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
pub mod session_store;
pub mod token;

use axum::http::header;

/// What signing in and resolving credentials need: the database and the `[auth]` settings. The
/// server's state provides it (`FromRef`); nothing here knows the rest of that state.
#[derive(Clone)]
pub struct AuthState {
    pub pool: sqlx::PgPool,
    pub config: crate::config::AuthConfig,
    /// Sign-in attempts per client, counted before the database is asked anything.
    pub limits: std::sync::Arc<crate::limits::Limits>,
}

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
