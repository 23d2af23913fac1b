//! `POST /login` and `POST /logout`: plain forms, so signing in works without JavaScript.
//! Answers are redirects (post/redirect/get); the login page shows what went wrong.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_sessions::Session;
use vigil_core::{
    model::auth::Auth,
    store::{
        audit,
        throttle::{self as failures, Admission},
        users,
    },
};

use super::AuthState;
use super::{client, password, session};

/// Remembers a browser that signed in successfully, so that strangers' failures against the same
/// account never keep it out (OWASP: lock out per device, not per account).
pub const DEVICE_COOKIE: &str = "vigil_device";
const DEVICE_DAYS: i64 = 180;
/// Longer user names cannot exist (the database refuses them); refused before any work is done.
const MAX_USERNAME: usize = 64;

#[derive(Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub next: String,
}

pub async fn login(
    State(state): State<AuthState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let pool = &state.pool;
    let next = safe_next(&form.next);
    let ip = client::client_ip(peer.ip(), &headers, state.config.proxies());
    // Per address, before anything is asked of the database: a flood costs a hash lookup.
    if let Err(secs) = state.limits.login(ip) {
        return back_to_login("throttled", Some(secs as i64), &next);
    }
    let username = form.username.trim().to_string();
    if username.is_empty()
        || username.len() > MAX_USERNAME
        || form.password.len() > password::MAX_LENGTH
    {
        return back_to_login("invalid", None, &next);
    }
    let device_token = device_cookie(&headers);
    let device = device_token.map(|t| hex::encode(Sha256::digest(t.as_bytes())));
    let known_device = match &device {
        Some(hash) => match failures::is_known_device(pool, hash, &username).await {
            Ok(known) => known,
            Err(e) => return unavailable(e),
        },
        None => false,
    };
    // A browser that signed in to this account before is throttled on its own, so a stranger's
    // failures (from any address) never keep it out; everyone else per (account, address) and per
    // address.
    let keys: Vec<String> = match (&device, known_device) {
        (Some(hash), true) => vec![format!("device:{hash}")],
        _ => vec![
            format!("acct:{}|{ip}", username.to_lowercase()),
            format!("ip:{ip}"),
        ],
    };

    // Admitted (and counted as a failure) before the password is checked, in one step, so that
    // guessing costs time whether or not the guess is right and parallel guesses gain nothing.
    match failures::admit(pool, &keys).await {
        Ok(Admission::Allowed) => {}
        Ok(Admission::Wait(wait)) => {
            return back_to_login("throttled", Some(wait.num_seconds().max(1)), &next)
        }
        Err(e) => return unavailable(e),
    }

    let creds = match users::by_name(pool, &username).await {
        Ok(c) => c,
        Err(e) => return unavailable(e),
    };
    let verified = password::verify_off_thread(
        form.password.clone(),
        creds.as_ref().map(|c| c.password_hash.clone()),
    )
    .await;
    let Some(creds) = creds.filter(|c| verified && !c.user.disabled) else {
        let _ = audit::record(
            pool,
            &format!("ip:{ip}"),
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
    let (clear, give_back): (Vec<String>, Vec<String>) =
        keys.into_iter().partition(|k| !k.starts_with("ip:"));
    let _ = failures::succeeded(pool, &clear, &give_back).await;
    // A remembered browser keeps its cookie; any other gets a new one.
    let (device_token, device_hash) = match (device_token, device) {
        (Some(token), Some(hash)) if known_device => (token.to_owned(), hash),
        _ => {
            let token = super::token::generate().secret;
            let hash = hex::encode(Sha256::digest(token.as_bytes()));
            (token, hash)
        }
    };
    if let Err(e) = failures::remember_device(pool, &device_hash, creds.user.id).await {
        tracing::warn!(error = %e, "could not remember the signed-in browser");
    }
    let _ = audit::record(
        pool,
        &format!("user:{}", creds.user.username),
        "login",
        &format!("user:{}", creds.user.username),
        serde_json::json!({ "address": ip.to_string() }),
    )
    .await;
    let mut resp = Redirect::to(&next).into_response();
    let secure = if state.config.secure() {
        "; Secure"
    } else {
        ""
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={device_token}; Path=/login; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        DEVICE_DAYS * 86_400
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn device_cookie(headers: &HeaderMap) -> Option<&str> {
    super::cookie(headers, DEVICE_COOKIE)
        .filter(|v| v.starts_with(super::token::PREFIX) && v.len() < 100)
}

pub async fn logout(
    State(state): State<AuthState>,
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

/// Only paths on this site. The check is the URL standard's own parse against a placeholder
/// origin — which strips tabs and newlines and reads backslashes as slashes, as browsers do — so
/// `/\t/evil.example` and `/\\evil.example` cannot slip past as paths.
fn safe_next(next: &str) -> String {
    const HERE: &str = "http://vigil.invalid";
    let base = reqwest::Url::parse(HERE).expect("a valid base");
    match base.join(next) {
        Ok(url)
            if next.starts_with('/')
                && url.origin() == base.origin()
                && !url.path().starts_with("//") =>
        {
            url[url::Position::BeforePath..].to_string()
        }
        _ => "/ops".to_string(),
    }
}

fn back_to_login(error: &str, wait: Option<i64>, next: &str) -> Response {
    let mut url = format!("/login?error={error}&next={}", urlencode(next));
    if let Some(w) = wait {
        url.push_str(&format!("&wait={w}"));
    }
    Redirect::to(&url).into_response()
}

/// A path for the `next` parameter of the login page: percent-encoded, slashes left readable.
pub fn urlencode(s: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    const KEEP: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    utf8_percent_encode(s, KEEP).to_string()
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
        // What browsers make of these is `//evil.example`: another site.
        assert_eq!(safe_next("/\t/evil.example"), "/ops");
        assert_eq!(safe_next("/\n/evil.example"), "/ops");
        assert_eq!(safe_next("/\r\n/evil.example"), "/ops");
        assert_eq!(safe_next("\\evil.example"), "/ops");
        assert_eq!(safe_next("/ops?a=b#c"), "/ops?a=b#c");
    }

    #[test]
    fn next_is_encoded_in_the_redirect() {
        assert_eq!(urlencode("/ops?a=b&c"), "/ops%3Fa%3Db%26c");
    }
}
