//! `POST /api/v1/github/webhook`: GitHub's `issues` webhook, so a follow-up follows its issue the
//! moment it is closed, reopened or deleted rather than at the next reading. Nobody signs in
//! here: the request is taken only when its `X-Hub-Signature-256` is the HMAC-SHA256 of the raw
//! body under `github.webhook_secret_file` (compared in constant time).

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use vigil_core::store::follow_up_issues as issues;

use crate::http::{
    api::error::{parse, ApiError},
    state::AppState,
};

/// GitHub's webhook bodies are at most 25 MB; an `issues` event is a few KB.
const MAX_BODY: usize = 1 << 20;

#[derive(Deserialize)]
struct IssuesEvent {
    action: String,
    issue: EventIssue,
    repository: Repository,
}

#[derive(Deserialize)]
struct EventIssue {
    number: i64,
    state: String,
    state_reason: Option<String>,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

/// Whether `header` (`sha256=<hex>`) signs `body` under `secret`.
pub fn signed(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Strangers learn nothing of the configuration here: the operator reads why in the log.
    let not_here = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    let Some(config) = state.github.as_ref() else {
        return Ok(not_here());
    };
    // Read at each request, so a rotated secret needs no restart.
    let secret = match config.webhook_secret() {
        None => return Ok(not_here()),
        Some(Err(e)) => {
            tracing::error!(error = %e, "a GitHub webhook arrived, but its secret cannot be read (github.webhook_secret_file)");
            return Ok(not_here());
        }
        Some(Ok(s)) => s,
    };
    if body.len() > MAX_BODY {
        return Err(ApiError::invalid("body", "larger than 1 MiB"));
    }
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signed(&secret, &body, signature) {
        return Err(ApiError::invalid(
            "X-Hub-Signature-256",
            "missing, or not the HMAC-SHA256 of the body under the webhook's secret: set the same secret in GitHub and in github.webhook_secret_file",
        ));
    }
    // A signed delivery replayed (captured on the way) is answered as taken, and does nothing.
    let Some(delivery) = headers
        .get("x-github-delivery")
        .and_then(|v| v.to_str().ok())
        .filter(|d| !d.is_empty() && d.len() <= 100)
    else {
        return Err(ApiError::invalid(
            "X-GitHub-Delivery",
            "missing: GitHub names every delivery; send the id it gave this one",
        ));
    };
    if !issues::first_delivery(&state.pool, delivery).await? {
        return Ok(StatusCode::OK.into_response());
    }
    let event = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // `ping` (sent when the webhook is made) and any other event: taken, nothing to do.
    if event != "issues" {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let e: IssuesEvent = parse(&body)?;
    if !e
        .repository
        .full_name
        .eq_ignore_ascii_case(&config.repository)
    {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    for id in issues::by_number(&state.pool, e.issue.number).await? {
        if e.action == "deleted" || e.action == "transferred" {
            let why = format!(
                "issue #{} was {} on GitHub; the follow-up keeps its status",
                e.issue.number, e.action
            );
            issues::deleted(&state.pool, id, &why).await?;
        } else {
            // No ETag: the next reading fetches the issue whole and confirms this.
            issues::read(
                &state.pool,
                id,
                &e.issue.state,
                e.issue.state_reason.as_deref(),
                None,
            )
            .await?;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub fn endpoints() -> Vec<crate::http::endpoint::Endpoint> {
    vec![crate::http::endpoint::post(
        "/api/v1/github/webhook",
        receive,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_secrets_signature_is_taken() {
        // GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(signed(
            "It's a Secret to Everybody",
            b"Hello, World!",
            Some(good)
        ));
        assert!(!signed("another secret", b"Hello, World!", Some(good)));
        assert!(!signed(
            "It's a Secret to Everybody",
            b"Hello, World?",
            Some(good)
        ));
        assert!(!signed(
            "It's a Secret to Everybody",
            b"Hello, World!",
            None
        ));
        assert!(!signed(
            "It's a Secret to Everybody",
            b"Hello, World!",
            Some("sha1=757107")
        ));
    }
}
