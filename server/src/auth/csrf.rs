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

/// For forms and pages: every state-changing request must come from this site, with or without
/// cookies (a form elsewhere must not subscribe people or sign them in). Links that carry their own
/// secret (confirmations, one-click unsubscribe, heartbeats) are in groups without this layer.
pub async fn protect(req: Request, next: Next) -> Response {
    if is_safe_method(req.method()) || req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    refuse_cross_site(req, next).await
}

/// For the API: a call without cookies carries no ambient authority to forge (it gets its 401 or
/// its answer); one with cookies must come from this site.
pub async fn protect_cookies(req: Request, next: Next) -> Response {
    if is_safe_method(req.method())
        || req.headers().contains_key(header::AUTHORIZATION)
        || !req.headers().contains_key(header::COOKIE)
    {
        return next.run(req).await;
    }
    refuse_cross_site(req, next).await
}

async fn refuse_cross_site(req: Request, next: Next) -> Response {
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
