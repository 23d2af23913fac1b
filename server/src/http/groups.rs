//! Who may reach what, decided once per route group.
//!
//! Every route is registered in one [`Group`]; a group's [`Policy`] (identity, cross-site
//! protection, caching, CORS, framing, the shape of its errors, the scripts its pages load) is one
//! row of [`Group::policy`] and becomes the layers around each of its routes. No layer looks at a
//! request's path to decide what it may do: a route's group is where it was registered. The route
//! table ([`Site::table`]) lists every route with its group, and a test walks it against the
//! running server.

use axum::{
    extract::{FromRef, Request},
    http::{header, HeaderValue, Method},
    middleware::{self, Next},
    response::Response,
    routing::MethodRouter,
    Router,
};
use tower_http::{compression::CompressionLayer, trace::TraceLayer};
use vigil_app::PageScripts;
use vigil_core::model::auth::Scope;

use crate::auth::session_store::PgSessions;
use crate::http::{endpoint::Endpoint, public::cache::Page, security, state::AppState};

/// The audiences of Vigil's HTTP surface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// The status pages anyone may read: rendered once for nobody and shared.
    StatusPages,
    /// Reports anyone may read, complete as sent (monthly uptime): shared like the status pages,
    /// without the script that keeps those current.
    Reports,
    /// The read side for machines: Statuspage JSON, feeds, badges; any web page may read them.
    PublicData,
    /// The subscribe form, and what it posts.
    PublicForms,
    /// URLs that carry their own secret (confirm, unsubscribe, heartbeats): a mail client or a
    /// cron job calls them, without cookies or an `Origin`.
    Links,
    /// Signing in and out.
    SignIn,
    /// Operators' pages (`/ops`): signed-in readers.
    Ops,
    /// Operators' pages for admins (the audit log).
    Admin,
    /// The server functions the app's pages call; each checks its caller itself.
    ServerFns,
    /// The scripts' API (`/api/v1`); each endpoint requires its scope.
    Api,
    /// Regional agents reporting their results with their region's token.
    Agents,
    /// Calls from outside systems, signed with a shared secret (GitHub).
    Webhooks,
    /// The live feed (server-sent events): operators get more than the public.
    Live,
    /// `/metrics`, behind its own token when one is configured.
    Metrics,
    /// `/healthz`, `/readyz`.
    Health,
    /// The build's files, and whatever the site folder holds.
    Assets,
}

/// Who the caller is, as far as the group cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Not looked at: the route authenticates by its own secret, or needs nobody.
    Ignored,
    /// Resolved from the session or a bearer token; handlers decide what it may do.
    Resolved,
    /// Resolved, and required: anonymous visitors are sent to sign in, others without the scope
    /// get a 403.
    Required(Scope),
}

/// Cross-site request protection for state-changing methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Csrf {
    Off,
    /// Every state-changing request must come from this site (forms).
    SameSite,
    /// A state-changing request carrying cookies must come from this site (APIs, which scripts
    /// call with tokens and no cookies).
    WhenCookie,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    /// Rendered once for an anonymous caller, shared by all of them (`public::cache`).
    Shared,
    /// Never stored anywhere: it may be somebody's.
    NoStore,
    /// Files named after their content are kept a year; other files revalidated.
    Files,
    /// Whatever the handler says.
    Handler,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cors {
    SameOrigin,
    /// Any origin may read with GET, without credentials (embedded widgets).
    AnyOriginRead,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frames {
    /// As `server.frame_ancestors` says (nowhere unless configured).
    Configured,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errors {
    Text,
    /// The API's one JSON error shape, also for errors axum makes before a handler runs.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub identity: Identity,
    pub csrf: Csrf,
    pub caching: Caching,
    pub cors: Cors,
    pub frames: Frames,
    pub errors: Errors,
    /// For groups of pages: what they load besides HTML and CSS.
    pub scripts: Option<PageScripts>,
}

impl Group {
    pub const ALL: [Group; 16] = [
        Group::StatusPages,
        Group::Reports,
        Group::PublicData,
        Group::PublicForms,
        Group::Links,
        Group::SignIn,
        Group::Ops,
        Group::Admin,
        Group::ServerFns,
        Group::Api,
        Group::Agents,
        Group::Webhooks,
        Group::Live,
        Group::Metrics,
        Group::Health,
        Group::Assets,
    ];

    /// The one table of access.
    #[rustfmt::skip]
    pub const fn policy(self) -> Policy {
        use Caching::*;
        use Identity::*;
        const fn p(
            identity: Identity,
            csrf: Csrf,
            caching: Caching,
            cors: Cors,
            frames: Frames,
            errors: Errors,
            scripts: Option<PageScripts>,
        ) -> Policy {
            Policy {
                identity,
                csrf,
                caching,
                cors,
                frames,
                errors,
                scripts,
            }
        }
        use Cors::{AnyOriginRead as AnyOrigin, SameOrigin};
        use Csrf::{Off, SameSite, WhenCookie};
        use Errors::{Json, Text};
        use Frames::{Configured, Never};
        match self {
            //                                 identity               cross-site  caching  CORS        framing     errors scripts
            Group::StatusPages => p(Resolved,               Off,        Shared,  SameOrigin, Configured, Text, Some(PageScripts::Follow)),
            Group::Reports =>     p(Resolved,               Off,        Shared,  SameOrigin, Configured, Text, Some(PageScripts::None)),
            Group::PublicData =>  p(Resolved,               Off,        Shared,  AnyOrigin,  Configured, Json, None),
            Group::PublicForms => p(Resolved,               SameSite,   Shared,  SameOrigin, Configured, Text, Some(PageScripts::None)),
            Group::Links =>       p(Ignored,                Off,        NoStore, SameOrigin, Never,      Text, Some(PageScripts::None)),
            Group::SignIn =>      p(Resolved,               SameSite,   NoStore, SameOrigin, Never,      Text, Some(PageScripts::None)),
            Group::Ops =>         p(Required(Scope::Read),  SameSite,   NoStore, SameOrigin, Never,      Text, Some(PageScripts::App)),
            Group::Admin =>       p(Required(Scope::Admin), SameSite,   NoStore, SameOrigin, Never,      Text, Some(PageScripts::App)),
            Group::ServerFns =>   p(Resolved,               WhenCookie, NoStore, SameOrigin, Never,      Text, None),
            Group::Api =>         p(Resolved,               WhenCookie, NoStore, SameOrigin, Never,      Json, None),
            Group::Agents =>      p(Resolved,               Off,        NoStore, SameOrigin, Never,      Json, None),
            Group::Webhooks =>    p(Ignored,                Off,        NoStore, SameOrigin, Never,      Json, None),
            Group::Live =>        p(Resolved,               Off,        Handler, SameOrigin, Never,      Text, None),
            Group::Metrics =>     p(Ignored,                Off,        NoStore, SameOrigin, Never,      Text, None),
            Group::Health =>      p(Ignored,                Off,        NoStore, SameOrigin, Never,      Text, None),
            Group::Assets =>      p(Ignored,                Off,        Files,   SameOrigin, Configured, Text, Some(PageScripts::None)),
        }
    }
}

/// One route of the table: its group, method and path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub group: Group,
    pub method: Method,
    pub path: String,
}

/// What the layers of every group share.
#[derive(Clone)]
pub struct Layers {
    pub state: AppState,
    pub sessions: PgSessions,
}

/// The whole HTTP surface, assembled group by group, and its route table.
pub struct Site {
    /// One entry per path: its group, its methods' handlers (unlayered, so that a page's `GET`
    /// and its form's `POST` become one route) and what the shared cache knows of it.
    paths: Vec<(Group, String, MethodRouter<AppState>, Page)>,
    routers: Router<AppState>,
    table: Vec<Route>,
    layers: Layers,
}

impl Site {
    pub fn new(layers: Layers) -> Self {
        Site {
            paths: Vec::new(),
            routers: Router::new(),
            table: Vec::new(),
            layers,
        }
    }

    /// Adds endpoints to `group`. A path belongs to one group: registering it in two is a
    /// mistake this refuses at start-up.
    pub fn add(mut self, group: Group, endpoints: impl IntoIterator<Item = Endpoint>) -> Self {
        for e in endpoints {
            self.table.push(Route {
                group,
                method: e.method.clone(),
                path: e.path.clone(),
            });
            match self.paths.iter_mut().find(|(_, p, _, _)| *p == e.path) {
                Some((g, _, handler, page)) => {
                    assert_eq!(*g, group, "{} is registered in two route groups", e.path);
                    *handler = std::mem::take(handler).merge(e.handler);
                    if e.method == Method::GET {
                        *page = e.page;
                    }
                }
                None => self.paths.push((group, e.path, e.handler, e.page)),
            }
        }
        self
    }

    /// Adds a router whose routes (listed in `table`) all belong to `group`.
    pub fn add_router(
        mut self,
        group: Group,
        router: Router<AppState>,
        table: impl IntoIterator<Item = (Method, String)>,
    ) -> Self {
        self.table
            .extend(table.into_iter().map(|(method, path)| Route {
                group,
                method,
                path,
            }));
        self.routers =
            self.routers
                .merge(guard(router, group.policy(), Page::plain(), &self.layers));
        self
    }

    /// What answers a request no route matched (files of the site folder, or "not found"),
    /// behind `group`'s layers.
    pub fn fallback(mut self, group: Group, handler: MethodRouter<AppState>) -> Self {
        let fallback =
            Router::new().fallback_service(handler.with_state::<()>(self.layers.state.clone()));
        self.routers =
            self.routers
                .merge(guard(fallback, group.policy(), Page::plain(), &self.layers));
        self
    }

    /// The router, each path behind its group's layers, and the route table.
    pub fn into_parts(self) -> (Router, Vec<Route>) {
        let mut router = self.routers;
        // One stack of layers per group; only the shared cache's layer needs to know its route's
        // page, so routes of a shared group get a stack each.
        let mut by_group: Vec<(Group, Router<AppState>)> = Vec::new();
        for (group, path, handler, page) in self.paths {
            let policy = group.policy();
            if policy.caching == Caching::Shared {
                let one = Router::new().route(&path, handler);
                router = router.merge(guard(one, policy, page, &self.layers));
                continue;
            }
            match by_group.iter_mut().find(|(g, _)| *g == group) {
                Some((_, r)) => *r = std::mem::take(r).route(&path, handler),
                None => by_group.push((group, Router::new().route(&path, handler))),
            }
        }
        for (group, routes) in by_group {
            router = router.merge(guard(routes, group.policy(), Page::plain(), &self.layers));
        }
        (router.with_state(self.layers.state), self.table)
    }
}

/// Wraps `router` in the layers `policy` asks for. Read from the bottom up: a request meets the
/// shared cache first (its hits answer before anything else runs), then tracing, compression,
/// the security headers, caching headers, CORS, the API's error shape, metrics, cross-site
/// protection, the session, the credential resolver, the group's required scope, and last the
/// catch-up after writes.
fn guard(router: Router<AppState>, policy: Policy, page: Page, l: &Layers) -> Router<AppState> {
    let state = &l.state;
    let mut r = router.layer(middleware::from_fn_with_state(
        state.clone(),
        catch_up_after_writes,
    ));
    if let Identity::Required(scope) = policy.identity {
        r = r.layer(middleware::from_fn_with_state(
            scope,
            crate::http::ops::guard::guard,
        ));
    }
    if policy.identity != Identity::Ignored {
        r = r
            .layer(middleware::from_fn_with_state(
                crate::auth::AuthState::from_ref(state),
                crate::auth::resolve::resolve,
            ))
            .layer(crate::auth::session::layer(l.sessions.clone(), &state.auth));
    }
    r = match policy.csrf {
        Csrf::SameSite => r.layer(middleware::from_fn(crate::auth::csrf::protect)),
        Csrf::WhenCookie => r.layer(middleware::from_fn(crate::auth::csrf::protect_cookies)),
        Csrf::Off => r,
    };
    r = r.layer(middleware::from_fn(crate::http::metrics::track));
    if policy.errors == Errors::Json {
        r = r.layer(middleware::from_fn(crate::http::api::error::json_errors));
    }
    if policy.cors == Cors::AnyOriginRead {
        r = r.layer(security::public_cors());
    }
    r = match policy.caching {
        Caching::NoStore => r.layer(middleware::from_fn(no_store)),
        Caching::Files => r.layer(middleware::from_fn(crate::http::assets::cache_control)),
        Caching::Shared | Caching::Handler => r,
    };
    let frames = match policy.frames {
        Frames::Configured => state.framing.clone(),
        Frames::Never => std::sync::Arc::new(security::Framing::default()),
    };
    r = r
        .layer(middleware::from_fn_with_state(frames, security::headers))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http());
    if policy.caching == Caching::Shared {
        r = r.layer(middleware::from_fn_with_state(
            crate::http::public::cache::Layer {
                cache: state.public.clone(),
                live: state.live.clone(),
                page,
            },
            crate::http::public::cache::serve,
        ));
    }
    r
}

/// Layer of every group: after a request that may have changed something (any method but GET, HEAD and
/// OPTIONS) the status version catches up before the answer leaves, so public pages served from
/// memory show the change to whoever reads next.
async fn catch_up_after_writes(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let resp = next.run(req).await;
    if writes && resp.status().as_u16() < 400 {
        state.publisher.catch_up(&state.pool).await;
        state.public.invalidate();
    }
    resp
}

/// For what may be somebody's: no shared cache or browser history keeps it.
async fn no_store(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}
