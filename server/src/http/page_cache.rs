//! The public page as a cached document: rendered at most once per live tick (once a second) or
//! status change, then served from memory with an ETag, so a crowd opening the status page during
//! an outage costs what a static file would.

use std::sync::Arc;

use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Mutex;

use super::AppState;

/// The newest rendering of `/`: which tick it belongs to, its validators and its bytes.
#[derive(Default)]
pub struct PageCache(Mutex<Option<Cached>>);

struct Cached {
    key: (u64, i64),
    /// The nonce its scripts carry: the Content-Security-Policy of every copy must name it.
    nonce: Option<std::sync::Arc<str>>,
    etag: HeaderValue,
    content_type: HeaderValue,
    body: Bytes,
}

/// Largest page worth caching; anything bigger is passed through untouched.
const MAX_PAGE: usize = 4 << 20;

/// Middleware for `GET /`: answers from the cache when the live feed has not moved since the last
/// rendering, otherwise renders (holding the lock, so a burst renders once) and keeps the result.
pub async fn serve(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Signed-in readers get monitor details in the page's data: never cached, never served to
    // anyone else.
    let signed_in = req
        .extensions()
        .get::<vigil_core::model::auth::Auth>()
        .is_some_and(|a| a.0.is_some());
    if req.uri().path() != "/"
        || req.method() != Method::GET
        || req.uri().query().is_some()
        || signed_in
    {
        return next.run(req).await;
    }
    let key = {
        let live = state.live.borrow();
        (live.seq, live.status_version)
    };
    let headers = req.headers().clone();
    let nonce = req
        .extensions()
        .get::<super::security::RequestNonce>()
        .map(|n| n.0.clone());
    let cache: Arc<PageCache> = state.page.clone();
    let mut slot = cache.0.lock().await;
    if let Some(c) = slot.as_ref().filter(|c| c.key == key) {
        return respond(&headers, c);
    }
    let resp = next.run(req).await;
    if resp.status() != StatusCode::OK {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let body = match to_bytes(body, MAX_PAGE).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "page too large\n").into_response(),
    };
    let cached = Cached {
        key,
        nonce,
        etag: super::public::etag_of(&body),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("text/html; charset=utf-8")),
        body,
    };
    let resp = respond(&headers, &cached);
    *slot = Some(cached);
    resp
}

fn respond(headers: &HeaderMap, c: &Cached) -> Response {
    let fresh = super::public::if_none_match(headers, &c.etag).unwrap_or(false);
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(c.body.clone()))
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, c.etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if !fresh {
        h.insert(header::CONTENT_TYPE, c.content_type.clone());
    }
    if let Some(n) = &c.nonce {
        resp.extensions_mut()
            .insert(super::security::UsedNonce(n.clone()));
    }
    resp
}
