//! The public side as static files: every public URL (`/`, `/history`, `/incidents/{id}`,
//! `/postmortems/{id}`, the feeds, the Statuspage JSON, badges) is rendered when something it shows
//! has changed, compressed once (brotli, gzip) and then served from memory with ETag,
//! `Last-Modified` and 304s — what nginx with `gzip_static` does for files on disk.
//!
//! "Changed" is the live feed's status version (the newest event: an incident, a component, a
//! published post-mortem), so a crowd arriving during an outage costs a lookup and a copy of shared
//! bytes; a page is also rendered again after `status_page.refresh_secs` (5 s by default), for the
//! graphs' moving time axis.
//! Only what was rendered for a caller the credential resolver resolved as nobody is kept: a
//! request carrying a cookie or a token is passed to the resolver, which answers from the cache
//! when it finds nobody behind it. Each URL has one spelling: the path plus the parameters its page
//! declares; other parameters are dropped before rendering, and `/incidents/006` is moved to
//! `/incidents/6`. Uncached renderings for anonymous callers take turns ([`RENDER_TURNS`]).
//!
//! It is the outermost layer of the routes whose group shares its renderings
//! (`groups::Caching::Shared`): a hit answers before tracing, sessions, compression or metrics
//! run, with the headers the whole stack gave the rendering (security headers, CORS, the CSP naming
//! the nonce its scripts carry). While one request renders a stale URL again, the others are
//! answered from the previous rendering (stale-while-revalidate), so a burst never queues.

use std::{
    collections::HashMap,
    io::Write,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};

use crate::auth::resolve::{AnonymousGate, Gate};
use tokio::sync::Mutex;

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

pub struct PublicCache {
    /// What anonymous renderings tell the caches in between (`status_page.cache_control`).
    cache_control: CacheControl,
    slots: RwLock<HashMap<String, Arc<Slot>>>,
    /// Moved by every change made through this process, including those that write no event
    /// (a snapshot made public, a display name): what was rendered before is not served after.
    generation: std::sync::atomic::AtomicU64,
    /// Turns to render for anonymous callers, shared by every public URL.
    turns: Arc<Turns>,
    /// Renderings stand this long when nothing moved (`status_page.refresh_secs`).
    max_age: Duration,
}

/// One rendering of one URL with its variants.
pub struct Entry {
    version: i64,
    generation: u64,
    rendered: Instant,
    /// How long it stands when nothing moved (the cache's, when it was rendered).
    max_age: Duration,
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

impl Entry {
    /// Whether this rendering still shows what the page shows now: nothing moved since, and the
    /// graphs' time axis has not either.
    fn fresh(&self, version: i64, generation: u64) -> bool {
        self.version == version
            && self.generation == generation
            && self.rendered.elapsed() < self.max_age
    }
}

/// `Cache-Control` of what was rendered for nobody.
pub struct CacheControl(HeaderValue);

impl Default for CacheControl {
    fn default() -> Self {
        CacheControl(HeaderValue::from_static(
            crate::config::DEFAULT_CACHE_CONTROL,
        ))
    }
}

impl PublicCache {
    /// A cache whose renderings carry `cache_control` (checked when the configuration loads)
    /// and are rendered again after `max_age` when nothing moved.
    pub fn new(cache_control: &str, max_age: Duration) -> PublicCache {
        PublicCache {
            cache_control: CacheControl(HeaderValue::from_str(cache_control).unwrap_or(
                HeaderValue::from_static(crate::config::DEFAULT_CACHE_CONTROL),
            )),
            max_age,
            slots: Default::default(),
            generation: Default::default(),
            turns: Default::default(),
        }
    }

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

/// How many anonymous renderings of public URLs run at once (on a 2-core machine, more only
/// queue on the database pool). A flood of distinct URLs (`/incidents/9999…`, fake cookies) costs
/// at most this much; the rest wait in a bounded queue, then get a 503.
const RENDER_TURNS: usize = 4;
/// Requests waiting for a turn to render, beyond which a 503 answers at once.
const MAX_WAITING: usize = 128;
/// The longest a request waits for its turn.
const TURN_WAIT: Duration = Duration::from_secs(10);

/// Turns to render a public URL for an anonymous caller.
pub struct Turns {
    sem: Arc<tokio::sync::Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
}

impl Default for Turns {
    fn default() -> Self {
        Turns {
            sem: Arc::new(tokio::sync::Semaphore::new(RENDER_TURNS)),
            waiting: Default::default(),
        }
    }
}

/// Counts a request as waiting while it exists (a client gone while waiting is no longer counted).
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Turns {
    async fn wait(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Response> {
        if let Ok(p) = self.sem.clone().try_acquire_owned() {
            return Ok(p);
        }
        let before = self
            .waiting
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _counted = Waiting(&self.waiting);
        if before >= MAX_WAITING {
            return Err(busy());
        }
        match tokio::time::timeout(TURN_WAIT, self.sem.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(busy()),
        }
    }
}

fn busy() -> Response {
    metrics::counter!("public_cache_responses_total", "result" => "busy").increment(1);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::RETRY_AFTER, "1"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        "too many pages are being prepared right now; try again in a second\n",
    )
        .into_response()
}

/// A public URL in its one spelling.
#[derive(Debug, PartialEq)]
enum Canonical {
    /// Another spelling of a public URL (`/incidents/006`): answered with a 301 to this one.
    Moved(String),
    /// Cannot name anything (`/incidents/abc`): a 404 without rendering.
    Missing,
    /// The path and the parameters its page declares, in a fixed order: the cache key, and the
    /// URL the app renders (every other parameter is ignored for both).
    Page(String),
}

type Accepts = fn(&str) -> bool;

/// What the shared cache knows of a route: the parameters its page declares, each with the values
/// it takes (all others are dropped), and whether its last segment names a number.
#[derive(Clone, Copy)]
pub struct Page {
    params: &'static [(&'static str, Accepts)],
    numbered: bool,
    /// Answers in more than one representation (`public::text`): each is kept apart.
    negotiated: bool,
}

fn kind(v: &str) -> bool {
    matches!(v, "email" | "discord" | "webhook")
}
fn component(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 100
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}
fn code(v: &str) -> bool {
    vigil_core::model::subscriber::FormNotice::parse_code(v).is_some()
}
fn seconds(v: &str) -> bool {
    (1..=5).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit())
}
fn one(v: &str) -> bool {
    v == "1"
}

impl Page {
    /// No parameters.
    pub const fn plain() -> Page {
        Page {
            params: &[],
            numbered: false,
            negotiated: false,
        }
    }

    /// The same page, answering HTML, Markdown or text as the request asks.
    pub const fn negotiated(self) -> Page {
        Page {
            negotiated: true,
            ..self
        }
    }

    /// A feed, whole or for one component.
    pub const FEED: Page = Page {
        params: &[("component", component)],
        numbered: false,
        negotiated: false,
    };

    /// The subscribe form, with what the last submission came to.
    pub const SUBSCRIBE: Page = Page {
        params: &[
            ("kind", kind),
            ("requested", kind),
            ("confirmed", kind),
            ("unsubscribed", one),
            ("error", code),
            ("retry", seconds),
        ],
        numbered: false,
        negotiated: false,
    };

    /// From a route's pattern: one ending in the `{id}` parameter names a number.
    pub fn for_pattern(pattern: &str) -> Page {
        Page {
            params: &[],
            numbered: pattern.ends_with("/{id}"),
            negotiated: false,
        }
    }
}

fn canonical(path: &str, query: Option<&str>, page: Page) -> Canonical {
    if page.numbered {
        let (prefix, id) = path.rsplit_once('/').unwrap_or(("", path));
        let digits = !id.is_empty() && id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit());
        let Some(n) = digits.then(|| id.parse::<i64>().ok()).flatten() else {
            return Canonical::Missing;
        };
        if n.to_string() != id {
            return Canonical::Moved(format!("{prefix}/{n}"));
        }
    }
    let mut kept: Vec<(usize, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if let Some(i) = page
            .params
            .iter()
            .position(|(name, ok)| *name == k && ok(&v))
        {
            if !kept.iter().any(|(j, _)| *j == i) {
                kept.push((i, format!("{k}={}", crate::auth::login::urlencode(&v))));
            }
        }
    }
    kept.sort();
    if kept.is_empty() {
        return Canonical::Page(path.to_owned());
    }
    let q: Vec<String> = kept.into_iter().map(|(_, kv)| kv).collect();
    Canonical::Page(format!("{path}?{}", q.join("&")))
}

/// Whether the request carries anything that could make it somebody: then only the credential
/// resolver can say whether it is anonymous.
fn carries_credentials(req: &Request) -> bool {
    req.headers().contains_key(header::AUTHORIZATION) || req.headers().contains_key(header::COOKIE)
}

/// Where a request that carries credentials would be answered from, if it resolves to nobody.
#[derive(Clone)]
struct Lookup {
    slot: Arc<Slot>,
    version: i64,
    generation: u64,
    turns: Arc<Turns>,
}

/// The resolver's word that a cached rendering answers this anonymous request.
#[derive(Clone)]
struct FromCache(Arc<Entry>);

/// What the credential resolver is asked to do with a request it resolved as nobody: answer from
/// the cache if the rendering is fresh, else wait for a turn to render.
fn gate(l: Lookup) -> AnonymousGate {
    AnonymousGate(Arc::new(move || {
        let l = l.clone();
        Box::pin(async move {
            if let Some(e) = l
                .slot
                .current()
                .filter(|e| e.fresh(l.version, l.generation))
            {
                let mut r = Response::new(Body::empty());
                r.extensions_mut().insert(FromCache(e));
                return Gate::Answer(r);
            }
            match l.turns.wait().await {
                Ok(p) => Gate::Render(Some(Box::new(p))),
                Err(busy) => Gate::Answer(busy),
            }
        })
    }))
}

/// What the cache's layer holds for one route.
#[derive(Clone)]
pub struct Layer {
    pub cache: Arc<PublicCache>,
    pub live: tokio::sync::watch::Receiver<vigil_core::model::live::LiveStatus>,
    pub page: Page,
}

/// Layer of the routes whose group shares what it rendered for nobody ([`crate::http::groups`]).
pub async fn serve(
    State(Layer { cache, live, page }): State<Layer>,
    mut req: Request,
    next: Next,
) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let key = match canonical(req.uri().path(), req.uri().query(), page) {
        Canonical::Moved(to) => {
            return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()
        }
        Canonical::Missing => {
            return (
                StatusCode::NOT_FOUND,
                [(header::X_CONTENT_TYPE_OPTIONS, "nosniff")],
                "not found\n",
            )
                .into_response()
        }
        Canonical::Page(key) => key,
    };
    // Every undeclared parameter is gone before anything renders.
    if let Ok(uri) = key.parse() {
        *req.uri_mut() = uri;
    }
    // Markdown, text and HTML of one URL are three renderings, chosen as the handler chooses.
    let key = if page.negotiated {
        key + crate::http::public::representation::wanted(req.headers()).key()
    } else {
        key
    };
    let version = live.borrow().status_version;
    let generation = cache.generation();
    let Some(slot) = cache.slot(&key, version) else {
        return private_unless_anonymous(next.run(req).await);
    };
    if carries_credentials(&req) {
        // Only the resolver knows whether this is somebody; it answers from the cache if not.
        req.extensions_mut().insert(gate(Lookup {
            slot,
            version,
            generation,
            turns: cache.turns.clone(),
        }));
        let headers = req.headers().clone();
        let resp = next.run(req).await;
        return match resp.extensions().get::<FromCache>() {
            Some(FromCache(e)) => respond(&headers, e),
            None => private_unless_anonymous(resp),
        };
    }
    let current = slot.current();
    if let Some(e) = current.as_ref().filter(|e| e.fresh(version, generation)) {
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
    if let Some(e) = slot.current().filter(|e| e.fresh(version, generation)) {
        return respond(req.headers(), &e);
    }
    let _turn = match cache.turns.wait().await {
        Ok(t) => t,
        Err(busy) => return busy,
    };
    let headers = req.headers().clone();
    metrics::counter!("public_cache_responses_total", "result" => "render").increment(1);
    match render(
        req,
        next,
        version,
        generation,
        &key,
        page.negotiated,
        &cache,
    )
    .await
    {
        Ok(entry) => {
            let entry = Arc::new(entry);
            *slot.current.write().expect("cache lock poisoned") = Some(entry.clone());
            respond(&headers, &entry)
        }
        // Not a 200 rendered for nobody (a 404 for an unknown incident, a 503 while the database
        // is away): passed on as it is, and not kept.
        Err(resp) => private_unless_anonymous(resp),
    }
}

/// A page rendered for somebody is theirs: no cache in between keeps it, whatever its handler
/// said (the JSON's `public, max-age=5` is for the copy rendered for nobody).
fn private_unless_anonymous(mut resp: Response) -> Response {
    let anonymous = resp.extensions().get::<crate::auth::resolve::RenderedFor>()
        == Some(&crate::auth::resolve::RenderedFor::Anonymous);
    if !anonymous {
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    }
    resp
}

/// The tags a CDN can purge a rendering by (`Cache-Tag`, `Surrogate-Key`): `vigil` for all of
/// them, one for the page, and one for the component a badge or a feed is about.
fn tags(key: &str) -> Vec<String> {
    let slug = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .trim_matches('-')
            .to_string()
    };
    let (path, query) = key.split_once('?').unwrap_or((key, ""));
    // The representation (`public::text`) is not part of the page.
    let path = path.split('\n').next().unwrap_or(path);
    let page = match slug(path).as_str() {
        "" => "home".to_string(),
        s => s.to_string(),
    };
    let mut tags = vec!["vigil".to_string(), format!("vigil-page-{page}")];
    let component = path
        .strip_prefix("/badge/")
        .and_then(|f| f.strip_suffix(".svg"))
        .map(str::to_string)
        .or_else(|| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "component")
                .map(|(_, v)| v.into_owned())
        });
    if let Some(c) = component {
        tags.push(format!("vigil-component-{}", slug(&c)));
    }
    tags
}

/// Renders the URL through the app, uncompressed and unconditional, and compresses it.
async fn render(
    mut req: Request,
    next: Next,
    version: i64,
    generation: u64,
    key: &str,
    negotiated: bool,
    cache: &PublicCache,
) -> Result<Entry, Response> {
    let cache_control = &cache.cache_control.0;
    for h in [
        header::ACCEPT_ENCODING,
        header::IF_NONE_MATCH,
        header::IF_MODIFIED_SINCE,
    ] {
        req.headers_mut().remove(h);
    }
    *req.method_mut() = Method::GET;
    let resp = next.run(req).await;
    let anonymous = resp.extensions().get::<crate::auth::resolve::RenderedFor>()
        == Some(&crate::auth::resolve::RenderedFor::Anonymous);
    if !anonymous
        || resp.status() != StatusCode::OK
        || resp.headers().contains_key(header::CONTENT_ENCODING)
    {
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
    let etag = crate::http::conditional::etag_of(&identity)
        .to_str()
        .expect("hex")
        .trim_matches('"')
        .to_owned();
    Ok(Entry {
        version,
        generation,
        rendered: Instant::now(),
        max_age: cache.max_age,
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
            // Rendered for nobody: any cache may keep it, as configured.
            h.insert(header::CACHE_CONTROL, cache_control.clone());
            if let Ok(tags) = HeaderValue::from_str(&tags(key).join(",")) {
                h.insert("cache-tag", tags);
            }
            if let Ok(keys) = HeaderValue::from_str(&tags(key).join(" ")) {
                h.insert("surrogate-key", keys);
            }
            if let Ok(v) = HeaderValue::from_str(
                &last_modified
                    .format("%a, %d %b %Y %H:%M:%S GMT")
                    .to_string(),
            ) {
                h.insert(header::LAST_MODIFIED, v);
            }
            // The encoding, and for a page that answers Markdown or text too, what chooses it
            // (never the CORS layer's `Origin`: the read side answers every origin alike).
            h.insert(
                header::VARY,
                HeaderValue::from_static(if negotiated {
                    crate::http::public::representation::VARY
                } else {
                    "accept-encoding"
                }),
            );
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

#[allow(clippy::field_reassign_with_default)] // see the assignment's comment
fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    // 9 is within a few per cent of 11's size at a fraction of its time; pages are compressed
    // again at most every few seconds while people are reading. (The window keeps its default,
    // 4 MB, larger than any page.) Assigned rather than written in a literal: any quality is a
    // correct page, and a mutation tester would otherwise count the field's deletion as a
    // surviving mutant of the cache's decisions.
    let mut params = brotli::enc::BrotliEncoderParams::default();
    params.quality = 9;
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
    let fresh = crate::http::conditional::not_modified(
        headers,
        |t| {
            t.strip_prefix(e.etag.as_str())
                .is_some_and(|rest| ["", "-br", "-gz"].contains(&rest))
        },
        e.last_modified,
    );
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

    #[test]
    fn renderings_are_tagged_by_page_and_component() {
        assert_eq!(tags("/"), ["vigil", "vigil-page-home"]);
        assert_eq!(tags("/\nmarkdown"), ["vigil", "vigil-page-home"]);
        assert_eq!(tags("/incidents/12"), ["vigil", "vigil-page-incidents-12"]);
        assert_eq!(
            tags("/badge/site.svg"),
            ["vigil", "vigil-page-badge-site-svg", "vigil-component-site"]
        );
        assert_eq!(
            tags("/history.atom?component=lke_ingress"),
            [
                "vigil",
                "vigil-page-history-atom",
                "vigil-component-lke-ingress"
            ]
        );
    }

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
    fn a_public_url_has_one_spelling() {
        let plain = |p: &str, q: Option<&str>| canonical(p, q, Page::plain());
        let page = |p: &str, q: Option<&str>| canonical(p, q, Page::for_pattern("/incidents/{id}"));
        assert_eq!(
            plain("/", Some("utm_source=x&r=1")),
            Canonical::Page("/".into())
        );
        assert_eq!(
            canonical(
                "/history.atom",
                Some("r=2&component=site&component=api"),
                Page::FEED
            ),
            Canonical::Page("/history.atom?component=site".into())
        );
        assert_eq!(
            canonical(
                "/subscribe",
                Some("message=hi&error=email&kind=webhook"),
                Page::SUBSCRIBE
            ),
            Canonical::Page("/subscribe?kind=webhook&error=email".into())
        );
        assert_eq!(
            canonical(
                "/subscribe",
                Some("error=Your%20account%20is%20suspended"),
                Page::SUBSCRIBE
            ),
            Canonical::Page("/subscribe".into())
        );
        assert_eq!(
            page("/incidents/006", None),
            Canonical::Moved("/incidents/6".into())
        );
        assert_eq!(page("/incidents/abc", None), Canonical::Missing);
        assert_eq!(
            page("/incidents/99999999999999999999", None),
            Canonical::Missing
        );
        assert_eq!(
            page("/incidents/12", Some("a=1")),
            Canonical::Page("/incidents/12".into())
        );
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
