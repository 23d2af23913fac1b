//! The public side as static files: every public URL (`/`, `/history`, `/incidents/{id}`,
//! `/postmortems/{id}`, the feeds, the Statuspage JSON, badges) is rendered when something it shows
//! has changed, compressed once (brotli, gzip) and then served from memory with ETag,
//! `Last-Modified` and 304s — what nginx with `gzip_static` does for files on disk.
//!
//! "Changed" is the live feed's status version (the newest event: an incident, a component, a
//! published post-mortem), so a crowd arriving during an outage costs a lookup and a copy of shared
//! bytes; a page is also rendered again after [`MAX_AGE`], for the graphs' moving time axis.
//! Signed-in readers (whose pages carry more) and URLs with a query are never cached.
//!
//! This is the outermost layer: a hit answers before tracing, sessions, compression or metrics
//! run, with the headers the whole stack gave the rendering (security headers, CORS, the CSP naming
//! the nonce its scripts carry). While one request renders a stale URL again, the others are
//! answered from the previous rendering (stale-while-revalidate), so a burst never queues.

use std::{
    collections::HashMap,
    io::Write,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use super::AppState;
use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

/// A page is rendered again after this long even when no event moved: the latency graph's 24
/// hours move on, and a monitor's first verdict changes a component without one. The same bound as
/// the status summary's (`store::status`), which most pages are drawn from.
pub const MAX_AGE: Duration = Duration::from_secs(5);
/// At most this many URLs are kept (`/incidents/{id}` has as many as there are incidents); past it,
/// outdated entries are dropped and, if none is, the URL is served without caching.
const MAX_ENTRIES: usize = 2_000;
/// Largest body worth caching.
const MAX_BODY: usize = 8 << 20;

/// One URL's place in the cache: its latest rendering, and the lock its renderer holds.
#[derive(Default)]
struct Slot {
    current: RwLock<Option<Arc<Entry>>>,
    render: Mutex<()>,
}

impl Slot {
    fn current(&self) -> Option<Arc<Entry>> {
        self.current.read().expect("cache lock poisoned").clone()
    }
}

#[derive(Default)]
pub struct PublicCache {
    slots: RwLock<HashMap<String, Arc<Slot>>>,
    /// Moved by every change made through this process, including those that write no event
    /// (a snapshot made public, a display name): what was rendered before is not served after.
    generation: std::sync::atomic::AtomicU64,
}

/// One rendering of one URL with its variants.
pub struct Entry {
    version: i64,
    generation: u64,
    rendered: Instant,
    etag: String,
    last_modified: DateTime<Utc>,
    content_type: HeaderValue,
    /// Every header of an answer but its coding and tag, built once: what the handler and the
    /// layers inside said (security headers with the CSP that names this rendering's nonce, CORS
    /// for the read side; never a cookie), plus validators and `Vary`.
    headers: HeaderMap,
    /// The tag of each coding, in [`Coding`] order.
    etags: [HeaderValue; 3],
    identity: Bytes,
    gzip: Bytes,
    brotli: Bytes,
}

/// Whether `path` is part of the public read side.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/" | "/history" | "/uptime" | "/subscribe" | "/history.atom" | "/history.rss"
    ) || path.starts_with("/api/v2/")
        || path.starts_with("/badge/")
        || one_segment_under(path, "/incidents/")
        || one_segment_under(path, "/postmortems/")
}

fn one_segment_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

impl PublicCache {
    fn slot(&self, key: &str, version: i64) -> Option<Arc<Slot>> {
        if let Some(s) = self.slots.read().expect("cache lock poisoned").get(key) {
            return Some(s.clone());
        }
        let mut slots = self.slots.write().expect("cache lock poisoned");
        if slots.len() >= MAX_ENTRIES && !slots.contains_key(key) {
            // Make room by dropping what is out of date; never grow without bound.
            slots.retain(|_, s| s.current().is_some_and(|e| e.version == version));
            if slots.len() >= MAX_ENTRIES {
                return None;
            }
        }
        Some(slots.entry(key.to_owned()).or_default().clone())
    }

    /// Everything rendered so far is out of date.
    pub fn invalidate(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many URLs are held (for tests and `/metrics`).
    pub fn len(&self) -> usize {
        self.slots.read().expect("cache lock poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether the request may be answered from the cache: a GET or HEAD of a public URL without a
/// query, from somebody who is not signed in (no credentials at all: the layers that would read
/// them have not run yet).
fn cacheable(req: &Request) -> bool {
    let has_session = crate::auth::cookie(req.headers(), crate::auth::session::COOKIE).is_some();
    matches!(*req.method(), Method::GET | Method::HEAD)
        && req.uri().query().is_none()
        && !has_session
        && !req.headers().contains_key(header::AUTHORIZATION)
        && is_public(req.uri().path())
}

pub async fn serve(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !cacheable(&req) {
        return next.run(req).await;
    }
    let version = state.live.borrow().status_version;
    let generation = state.public.generation();
    let Some(slot) = state.public.slot(req.uri().path(), version) else {
        return next.run(req).await;
    };
    let fresh = |e: &Entry| {
        e.version == version && e.generation == generation && e.rendered.elapsed() < MAX_AGE
    };
    let current = slot.current();
    if let Some(e) = current.as_ref().filter(|e| fresh(e)) {
        return respond(req.headers(), e);
    }
    // Out of date: one request renders it again; meanwhile the others get what there is.
    let _rendering = match slot.render.try_lock() {
        Ok(guard) => guard,
        Err(_) => match &current {
            Some(stale) => {
                metrics::counter!("public_cache_responses_total", "result" => "stale").increment(1);
                return respond(req.headers(), stale);
            }
            None => slot.render.lock().await,
        },
    };
    // Somebody may have rendered it while this request waited for the lock.
    if let Some(e) = slot.current().filter(|e| fresh(e)) {
        return respond(req.headers(), &e);
    }
    let headers = req.headers().clone();
    metrics::counter!("public_cache_responses_total", "result" => "render").increment(1);
    match render(req, next, version, generation).await {
        Ok(entry) => {
            let entry = Arc::new(entry);
            *slot.current.write().expect("cache lock poisoned") = Some(entry.clone());
            respond(&headers, &entry)
        }
        // Not a 200 (a 404 for an unknown incident, a 503 while the database is away): passed on
        // as it is, and not kept.
        Err(resp) => resp,
    }
}

/// Renders the URL through the app, uncompressed and unconditional, and compresses it.
async fn render(
    mut req: Request,
    next: Next,
    version: i64,
    generation: u64,
) -> Result<Entry, Response> {
    for h in [
        header::ACCEPT_ENCODING,
        header::IF_NONE_MATCH,
        header::IF_MODIFIED_SINCE,
    ] {
        req.headers_mut().remove(h);
    }
    *req.method_mut() = Method::GET;
    let resp = next.run(req).await;
    if resp.status() != StatusCode::OK || resp.headers().contains_key(header::CONTENT_ENCODING) {
        return Err(resp);
    }
    let (parts, body) = resp.into_parts();
    let identity = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "response too large\n").into_response())?;
    let last_modified = parts
        .headers
        .get(header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    let body = identity.clone();
    let (gzip, brotli) = tokio::task::spawn_blocking(move || (gzip(&body), brotli(&body)))
        .await
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "compression failed\n").into_response())?;
    let etag = super::public::etag_of(&identity)
        .to_str()
        .expect("hex")
        .trim_matches('"')
        .to_owned();
    Ok(Entry {
        version,
        generation,
        rendered: Instant::now(),
        last_modified,
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("text/html; charset=utf-8")),
        headers: {
            let mut h = parts.headers.clone();
            for name in [
                header::CONTENT_TYPE,
                header::CONTENT_LENGTH,
                header::CONTENT_ENCODING,
                header::ETAG,
                header::DATE,
                header::SET_COOKIE,
            ] {
                h.remove(name);
            }
            if !h.contains_key(header::CACHE_CONTROL) {
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            }
            if let Ok(v) = HeaderValue::from_str(
                &last_modified
                    .format("%a, %d %b %Y %H:%M:%S GMT")
                    .to_string(),
            ) {
                h.insert(header::LAST_MODIFIED, v);
            }
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            h
        },
        etags: [Coding::Identity, Coding::Brotli, Coding::Gzip]
            .map(|c| HeaderValue::from_str(&format!("\"{etag}{}\"", c.suffix())).expect("hex")),
        etag,
        identity,
        gzip: gzip.into(),
        brotli: brotli.into(),
    })
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(body).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        // 9 is within a few per cent of 11's size at a fraction of its time; pages are compressed
        // again at most every few seconds while people are reading.
        quality: 9,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &body[..], &mut out, &params).expect("writing to memory");
    out
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Coding {
    Brotli,
    Gzip,
    Identity,
}

impl Coding {
    fn suffix(self) -> &'static str {
        match self {
            Coding::Brotli => "-br",
            Coding::Gzip => "-gz",
            Coding::Identity => "",
        }
    }
}

/// The best coding the client accepts (brotli, then gzip; `q=0` refuses one).
fn negotiate(headers: &HeaderMap) -> Coding {
    let accepted: Vec<(String, f32)> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| {
            let mut parts = t.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse().ok())
                .unwrap_or(1.0);
            (name, q)
        })
        .collect();
    let ok = |name: &str| {
        accepted
            .iter()
            .find(|(n, _)| n == name)
            .or_else(|| accepted.iter().find(|(n, _)| n == "*"))
            .is_some_and(|(_, q)| *q > 0.0)
    };
    if ok("br") {
        Coding::Brotli
    } else if ok("gzip") {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

fn respond(headers: &HeaderMap, e: &Entry) -> Response {
    let coding = negotiate(headers);
    // Any variant's tag names the same content.
    let fresh = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => inm.split(',').map(str::trim).any(|t| {
            let t = t.trim_start_matches("W/").trim_matches('"');
            t == "*"
                || t.strip_prefix(e.etag.as_str())
                    .is_some_and(|rest| ["", "-br", "-gz"].contains(&rest))
        }),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .is_some_and(|since| e.last_modified.timestamp() <= since.timestamp()),
    };
    let (body, encoding, etag) = match coding {
        Coding::Identity => (&e.identity, None, &e.etags[0]),
        Coding::Brotli => (&e.brotli, Some("br"), &e.etags[1]),
        Coding::Gzip => (&e.gzip, Some("gzip"), &e.etags[2]),
    };
    let mut resp = if fresh {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(body.clone()))
    };
    *resp.headers_mut() = e.headers.clone();
    let h = resp.headers_mut();
    h.insert(header::ETAG, etag.clone());
    if fresh {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        return resp;
    }
    h.insert(header::CONTENT_TYPE, e.content_type.clone());
    if let Some(enc) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
        h
    }

    #[test]
    fn the_best_accepted_coding_wins() {
        assert_eq!(
            negotiate(&accept("gzip, deflate, br, zstd")),
            Coding::Brotli
        );
        assert_eq!(negotiate(&accept("gzip, deflate")), Coding::Gzip);
        assert_eq!(negotiate(&accept("br;q=0, gzip")), Coding::Gzip);
        assert_eq!(negotiate(&accept("identity")), Coding::Identity);
        assert_eq!(negotiate(&HeaderMap::new()), Coding::Identity);
        assert_eq!(negotiate(&accept("*")), Coding::Brotli);
    }

    #[test]
    fn only_the_public_read_side_is_cached() {
        for p in [
            "/",
            "/history",
            "/incidents/12",
            "/postmortems/3",
            "/history.rss",
            "/api/v2/summary.json",
            "/badge/site.svg",
        ] {
            assert!(is_public(p), "{p}");
        }
        for p in [
            "/ops",
            "/login",
            "/api/v1/monitors",
            "/incidents/1/x",
            "/incidents/",
            "/events/live",
            "/pkg/vigil.js",
        ] {
            assert!(!is_public(p), "{p}");
        }
    }

    #[test]
    fn variants_decompress_to_the_same_bytes() {
        use std::io::Read;
        let body = "<p>Website is not responding.</p>".repeat(200);
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gzip(body.as_bytes())[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, body);
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &brotli(body.as_bytes())[..], &mut out).unwrap();
        assert_eq!(out, body.as_bytes());
    }
}
