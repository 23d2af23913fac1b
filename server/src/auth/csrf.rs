//! Cross-site request protection for everything that changes state.
//!
//! Browsers say where a request comes from (`Sec-Fetch-Site`, `Origin`) and scripts on other sites
//! cannot forge those headers. A state-changing request that carries a cookie must come from this
//! site; requests authenticated by a bearer token carry no ambient credentials and pass.

use axum::{
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

pub async fn protect(req: Request, next: Next) -> Response {
    // Heartbeat URLs carry their own secret and are called by cron jobs, not browsers.
    if is_safe_method(req.method())
        || req.headers().contains_key(header::AUTHORIZATION)
        || req.uri().path().starts_with("/heartbeat/")
        // So do confirmation and unsubscribe links; a mail client's RFC 8058 one-click
        // unsubscribe is a POST from the mail provider, with neither cookies nor Origin.
        || req.uri().path().starts_with("/unsubscribe/")
        || req.uri().path().starts_with("/subscribe/confirm/")
        // An API call without cookies carries no ambient authority to forge; it gets its 401.
        || (req.uri().path().starts_with("/api/") && !req.headers().contains_key(header::COOKIE))
    {
        return next.run(req).await;
    }
    match verdict(&req) {
        Ok(()) => next.run(req).await,
        Err(why) => (
            StatusCode::FORBIDDEN,
            format!(
                "cross-site request refused: {why}. Submit the form from this site's own pages.\n"
            ),
        )
            .into_response(),
    }
}

fn is_safe_method(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn verdict(req: &Request) -> Result<(), &'static str> {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err("the request came from another site"),
        };
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or("no Host header")?;
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .ok_or("the request does not say where it came from (no Origin)")?;
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(rest))
        .unwrap_or("");
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err("the request came from another origin")
    }
}
