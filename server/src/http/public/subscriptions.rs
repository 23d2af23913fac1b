//! Following the page from the public side: the subscribe form (a plain POST, so it works without
//! JavaScript), confirmation and unsubscribe links (RFC 8058 one-click included), and the
//! Statuspage-style JSON equivalent `POST /api/v2/subscriptions.json`. Every answer is the same
//! whether or not the address was already subscribed, so nobody can learn who follows the page.

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use vigil_core::{
    model::{
        answer::Answer,
        subscriber::{FormNotice, SubscriberKind, SubscriptionInput},
    },
    store::{incident_commands::CommandError, subscribers},
};

use crate::http::{
    api::error::{parse, ApiError},
    state::AppState,
};
use crate::subscribers::RequestError;

fn client(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    crate::auth::client::client_ip(peer.ip(), headers, state.auth.proxies())
}

/// The form's fields: `kind`, then `email`, `discord_webhook_url` or `webhook_url` (and
/// optionally `webhook_secret`), any number of `component`, and the `incidents` and
/// `maintenances` boxes.
fn form_input(body: &[u8]) -> (SubscriptionInput, Option<String>) {
    let mut input = SubscriptionInput::default();
    let mut secret = None;
    let (mut email, mut discord, mut webhook) = (String::new(), String::new(), String::new());
    for (k, v) in url::form_urlencoded::parse(body) {
        match k.as_ref() {
            "kind" => input.kind = v.into_owned(),
            "email" => email = v.into_owned(),
            "discord_webhook_url" => discord = v.into_owned(),
            "webhook_url" => webhook = v.into_owned(),
            "webhook_secret" => secret = Some(v.into_owned()),
            "component" => input.components.push(v.into_owned()),
            "incidents" => input.incidents = true,
            "maintenances" => input.maintenances = true,
            _ => {}
        }
    }
    input.target = match SubscriberKind::parse(&input.kind) {
        Some(SubscriberKind::Discord) => discord,
        Some(SubscriberKind::Webhook) => webhook,
        _ => email,
    };
    (input, secret)
}

/// `POST /subscribe`: answers with a redirect to `/subscribe` saying what happens next, or what
/// to fix (the field and why).
async fn subscribe_form(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (input, secret) = form_input(&body);
    let kind = SubscriberKind::parse(&input.kind)
        .map(|k| format!("kind={}&", k.as_str()))
        .unwrap_or_default();
    // A code, never text: the page words it (see `FormNotice`).
    let back = |notice: FormNotice, retry: Option<u64>| {
        let retry = retry.map(|s| format!("&retry={s}")).unwrap_or_default();
        Redirect::to(&format!(
            "/subscribe?{kind}error={}{retry}#subscribe-form",
            notice.code()
        ))
        .into_response()
    };
    let subs = &state.subscriptions;
    match subs.admit(client(&state, peer, &headers)).await {
        Err(RequestError::TooMany(secs)) => return back(FormNotice::TooMany, Some(secs)),
        Err(RequestError::Command(_)) => return back(FormNotice::Form, None),
        Ok(()) => {}
    }
    match subs
        .request(&input, secret.as_deref(), "public", false)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/subscribe?requested={}",
            SubscriberKind::parse(&input.kind).map_or("email", |k| k.as_str())
        ))
        .into_response(),
        Err(RequestError::TooMany(secs)) => back(FormNotice::TooMany, Some(secs)),
        Err(RequestError::Command(CommandError::Invalid { field, .. })) => {
            back(FormNotice::for_field(field), None)
        }
        Err(RequestError::Command(_)) => back(FormNotice::Form, None),
    }
}

/// `POST /subscribe/confirm/{token}`: the button on the confirmation page (a GET only shows the
/// page, so a mail scanner following links confirms nothing), or a webhook receiver confirming.
async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match subscribers::confirm(&state.pool, &token).await {
        Ok(Some(kind)) => {
            Redirect::to(&format!("/subscribe?confirmed={}", kind.as_str())).into_response()
        }
        Ok(None) => Redirect::to("/subscribe?error=token").into_response(),
        Err(e) => crate::error::answer(&e),
    }
}

/// `POST /unsubscribe/{token}`: the page's button, or a mail client's RFC 8058 one-click POST
/// (`List-Unsubscribe=One-Click`, no cookies, no Origin), which gets a plain 200.
async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let one_click = url::form_urlencoded::parse(&body)
        .any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click");
    match subscribers::unsubscribe(&state.pool, &token).await {
        Err(e) => crate::error::answer(&e),
        Ok(_) if one_click => (StatusCode::OK, "unsubscribed\n").into_response(),
        // The same answer when it was already gone: the link did what it says.
        Ok(_) => Redirect::to("/subscribe?unsubscribed=1").into_response(),
    }
}

/// The JSON equivalent of the form. Exactly one of `email`, `endpoint` (a webhook) or
/// `discord_webhook_url`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRequest {
    pub email: Option<String>,
    /// A webhook receiving Statuspage's subscriber webhook JSON.
    pub endpoint: Option<String>,
    /// The webhook's signing key (16–200 characters); one is made when left out.
    pub secret: Option<String>,
    pub discord_webhook_url: Option<String>,
    /// Component ids (`GET /api/v2/components.json`); all when left out.
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default = "yes")]
    pub incidents: bool,
    #[serde(default = "yes")]
    pub maintenances: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionBody {
    pub subscription: SubscriptionRequest,
}

impl SubscriptionRequest {
    pub fn input(&self) -> Result<SubscriptionInput, ApiError> {
        let (kind, target) = match (&self.email, &self.endpoint, &self.discord_webhook_url) {
            (Some(e), None, None) => (SubscriberKind::Email, e),
            (None, Some(u), None) => (SubscriberKind::Webhook, u),
            (None, None, Some(u)) => (SubscriberKind::Discord, u),
            _ => {
                return Err(ApiError::invalid(
                    "subscription",
                    "give exactly one of email, endpoint or discord_webhook_url",
                ))
            }
        };
        Ok(SubscriptionInput {
            kind: kind.as_str().into(),
            target: target.clone(),
            components: self.components.clone(),
            incidents: self.incidents,
            maintenances: self.maintenances,
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub subscription: AcceptedBody,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AcceptedBody {
    /// email, discord or webhook.
    pub kind: &'static str,
    /// Always `pending`: nothing is sent until the confirmation is followed.
    pub state: &'static str,
    pub message: String,
}

/// A refusal in the JSON API's words: its field for a webhook's URL is `endpoint` (Statuspage's).
pub fn api_error(e: RequestError) -> ApiError {
    match e {
        RequestError::Command(c) if c.field() == Some("webhook_url") => {
            ApiError::invalid("endpoint", c.public_message())
        }
        RequestError::Command(c) if c.field() == Some("webhook_secret") => {
            ApiError::invalid("secret", c.public_message())
        }
        other => other.into(),
    }
}

/// What happens next, said the same way whatever the request found.
pub fn next_step(kind: SubscriberKind) -> &'static str {
    match kind {
        SubscriberKind::Email => "A confirmation link is on its way to the address (unless it already follows this page). Nothing else is sent until it is followed.",
        SubscriberKind::Discord => "A confirmation message is on its way to the channel; updates follow from then on.",
        SubscriberKind::Webhook => "A verification request is on its way to the endpoint: POST to its confirm_url to start receiving updates.",
    }
}

/// `POST /api/v2/subscriptions.json` (public, no token): the subscribe form as JSON,
/// `{"subscription": {"email": …}}` → 202. Limited per client address like the form.
#[utoipa::path(post, path = "/api/v2/subscriptions.json", request_body = SubscriptionBody,
    responses((status = 202, body = Accepted),
        (status = 400, description = "a field is wrong: the answer names it"),
        (status = 429, description = "too many requests from this address; see Retry-After")))]
pub async fn subscribe_json(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    state
        .subscriptions
        .admit(client(&state, peer, &headers))
        .await
        .map_err(api_error)?;
    let req: SubscriptionBody = parse(&body)?;
    let input = req.subscription.input()?;
    let kind = SubscriberKind::parse(&input.kind).unwrap_or(SubscriberKind::Email);
    state
        .subscriptions
        .request(&input, req.subscription.secret.as_deref(), "public", false)
        .await
        .map_err(api_error)?;
    let body = Accepted {
        subscription: AcceptedBody {
            kind: kind.as_str(),
            state: "pending",
            message: next_step(kind).into(),
        },
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// What the subscribe form posts.
pub fn form_endpoints() -> Vec<crate::http::endpoint::Endpoint> {
    vec![crate::http::endpoint::post("/subscribe", subscribe_form)]
}

/// Confirmation and unsubscribe links (a mail client's RFC 8058 one-click unsubscribe is a POST
/// from the mail provider, with neither cookies nor `Origin`).
pub fn link_endpoints() -> Vec<crate::http::endpoint::Endpoint> {
    use crate::http::endpoint::post;
    vec![
        post("/subscribe/confirm/{token}", confirm),
        post("/unsubscribe/{token}", unsubscribe),
    ]
}
