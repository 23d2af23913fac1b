//! `POST /login` and `POST /logout`: plain forms, so signing in works without JavaScript.
//! Answers are redirects (post/redirect/get); the login page shows what went wrong.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, State},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use chrono::Utc;
use serde::Deserialize;
use tower_sessions::Session;
use vigil_core::{
    model::{auth::Auth, throttle},
    store::{audit, throttle as failures, users},
};

use super::{password, session};
use crate::http::AppState;

#[derive(Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub next: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let pool = &state.pool;
    let next = safe_next(&form.next);
    let username = form.username.trim().to_string();
    let keys = [
        format!("user:{}", username.to_lowercase()),
        format!("ip:{}", peer.ip()),
    ];

    // Throttle before checking the password, so guessing costs time whether or not it is right.
    let now = Utc::now();
    let mut wait = chrono::Duration::zero();
    for key in &keys {
        match failures::get(pool, key).await {
            Ok(Some((n, last))) => {
                if let Some(w) = throttle::wait_remaining(n, last, now) {
                    wait = wait.max(w);
                }
            }
            Ok(None) => {}
            Err(e) => return unavailable(e),
        }
    }
    if wait > chrono::Duration::zero() {
        let secs = wait.num_seconds().max(1);
        return back_to_login("throttled", Some(secs), &next);
    }

    let creds = match users::by_name(pool, &username).await {
        Ok(c) => c,
        Err(e) => return unavailable(e),
    };
    let ok_user = match &creds {
        Some(c) => password::verify(&form.password, &c.password_hash) && !c.user.disabled,
        None => {
            password::verify_nothing(&form.password);
            false
        }
    };
    let Some(creds) = creds.filter(|_| ok_user) else {
        for key in &keys {
            if let Err(e) = failures::record_failure(pool, key).await {
                return unavailable(e);
            }
        }
        let _ = audit::record(
            pool,
            &format!("ip:{}", peer.ip()),
            "login.failed",
            &format!("user:{username}"),
            serde_json::json!({}),
        )
        .await;
        // One message for unknown user, wrong password and disabled account: no enumeration.
        return back_to_login("invalid", None, &next);
    };

    if let Err(e) = session::begin(&session, creds.user.id).await {
        tracing::error!(error = %e, "could not start a session");
        return back_to_login("unavailable", None, &next);
    }
    for key in &keys {
        let _ = failures::clear(pool, key).await;
    }
    let _ = audit::record(
        pool,
        &format!("user:{}", creds.user.username),
        "login",
        &format!("user:{}", creds.user.username),
        serde_json::json!({ "address": peer.ip().to_string() }),
    )
    .await;
    Redirect::to(&next).into_response()
}

pub async fn logout(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
) -> Response {
    if let Some(p) = &auth.0 {
        let _ = audit::record(
            &state.pool,
            &p.audit_name(),
            "logout",
            &p.audit_name(),
            serde_json::json!({}),
        )
        .await;
    }
    session::end(&session).await;
    Redirect::to("/").into_response()
}

/// Only paths on this site: `//evil.example` and `https://…` would send people elsewhere.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/ops".to_string()
    }
}

fn back_to_login(error: &str, wait: Option<i64>, next: &str) -> Response {
    let mut url = format!("/login?error={error}&next={}", urlencode(next));
    if let Some(w) = wait {
        url.push_str(&format!("&wait={w}"));
    }
    Redirect::to(&url).into_response()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "sign-in failed on the database");
    back_to_login("unavailable", None, "/ops")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/ops/audit"), "/ops/audit");
        assert_eq!(safe_next("//evil.example/x"), "/ops");
        assert_eq!(safe_next("https://evil.example"), "/ops");
        assert_eq!(safe_next("/\\evil.example"), "/ops");
        assert_eq!(safe_next(""), "/ops");
    }

    #[test]
    fn next_is_encoded_in_the_redirect() {
        assert_eq!(urlencode("/ops?a=b&c"), "/ops%3Fa%3Db%26c");
    }
}
