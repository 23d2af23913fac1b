//! Turns the request's credentials into an `Auth` before any handler runs.

use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::Response,
};
use tower_sessions::Session;
use vigil_core::{
    model::auth::{Auth, Denied, Principal},
    store::{tokens, users},
};

use super::AuthState;
use super::{session, token};
use crate::error::answer;

pub async fn resolve(
    State(state): State<AuthState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let auth = match bearer(&req) {
        Bearer::None => Auth(from_session(&state, &session).await),
        Bearer::Malformed => return answer(&Denied::Unauthenticated),
        Bearer::Token(secret) => {
            match tokens::use_by_hash(&state.pool, &token::hash(&secret)).await {
                Ok(Some(t)) => Auth(Some(Principal::Token {
                    id: t.id,
                    name: t.name,
                    scopes: t.scopes,
                    region: t.region,
                })),
                // A wrong token is refused outright rather than treated as anonymous, so a script
                // with a revoked token fails loudly even on public endpoints.
                Ok(None) => return answer(&Denied::Unauthenticated),
                Err(e) => return answer(&e),
            }
        }
    };
    let anonymous = auth.0.is_none();
    req.extensions_mut().insert(auth);
    // A URL shared by everybody it renders for nobody: the layer that shares it (the public
    // cache) answers, or this request renders in turn. A signed-in reader never waits here.
    let gate = req.extensions().get::<AnonymousGate>().cloned();
    let _turn = match gate.filter(|_| anonymous) {
        Some(gate) => match (gate.0)().await {
            Gate::Answer(r) => return r,
            Gate::Render(turn) => turn,
        },
        None => None,
    };
    let mut resp = next.run(req).await;
    if anonymous {
        // What the public cache may keep: a rendering for a caller resolved as nobody.
        resp.extensions_mut().insert(RenderedFor::Anonymous);
    }
    resp
}

/// What a layer outside asks of a request found to be nobody's (see `http::public::cache`).
#[derive(Clone)]
pub struct AnonymousGate(
    pub std::sync::Arc<dyn Fn() -> futures::future::BoxFuture<'static, Gate> + Send + Sync>,
);

/// The answer to an [`AnonymousGate`].
pub enum Gate {
    /// Answered without rendering.
    Answer(Response),
    /// Render; what it holds (a turn) is kept until the rendering is done.
    Render(Option<Box<dyn Send>>),
}

/// Whom a response was rendered for, as resolved here (never as guessed from headers): the public
/// cache stores only what was rendered for [`RenderedFor::Anonymous`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenderedFor {
    Anonymous,
}

enum Bearer {
    None,
    Malformed,
    Token(String),
}

fn bearer(req: &Request) -> Bearer {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Bearer::None;
    };
    match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
        Some(t) if !t.trim().is_empty() => Bearer::Token(t.trim().to_string()),
        _ => Bearer::Malformed,
    }
}

async fn from_session(state: &AuthState, session: &Session) -> Option<Principal> {
    let (id, login_at) = session::user_id(session, state.config.session_absolute_hours).await?;
    match users::by_id(&state.pool, id).await {
        Ok(Some(u)) if !u.disabled && login_at >= u.password_changed_at => Some(Principal::User {
            id: u.id,
            name: u.username,
            role: u.role,
        }),
        Ok(_) => {
            // Disabled, deleted or given a new password since signing in: the session ends now.
            session::end(session).await;
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "session user lookup failed");
            None
        }
    }
}
