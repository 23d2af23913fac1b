//! The one error type of the JSON API: refusals, bad input naming the field, missing things and
//! storage failures, each with its status code and a JSON body that says what to do.

use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use vigil_core::{
    model::{answer::Answer, auth::Denied},
    store::StoreError,
};

/// Layer of the groups that answer in JSON (`groups::Errors::Json`): errors that axum or tower
/// produce before a handler runs (413 for an oversized body, 415, 422 for JSON that does not fit,
/// 405) come as plain text; they leave in the API's one JSON error shape, status unchanged.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(resp.status().is_client_error() || resp.status().is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        parts
            .status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase()
    } else {
        text
    };
    let body = serde_json::to_vec(&json!({ "error": message })).expect("JSON values serialise");
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Refused(#[from] Denied),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    /// Somebody changed it first; the body says what happened to the caller's input.
    #[error("conflict")]
    Conflict(crate::http::api::bodies::SaveConflict),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Vigil failed at something that is not the caller's doing; the log has the detail.
    #[error("Vigil could not finish this request; the server log says why")]
    Internal(String),
    #[error(transparent)]
    Command(#[from] vigil_core::store::incident_commands::CommandError),
    /// A change of the world refused: every problem, a stale `If-Match`, a moved revision.
    #[error(transparent)]
    World(#[from] crate::world::apply::WorldError),
    /// Asked too often; the answer says when to try again (`Retry-After`, seconds).
    #[error("too many requests from this address; try again in {0} s")]
    TooMany(u64),
}

impl From<crate::subscribers::RequestError> for ApiError {
    fn from(e: crate::subscribers::RequestError) -> Self {
        match e {
            crate::subscribers::RequestError::Command(c) => ApiError::Command(c),
            crate::subscribers::RequestError::TooMany(secs) => ApiError::TooMany(secs),
        }
    }
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<vigil_core::model::window::WindowError> for ApiError {
    fn from(e: vigil_core::model::window::WindowError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl Answer for ApiError {
    fn status(&self) -> u16 {
        match self {
            ApiError::Refused(d) => d.status(),
            ApiError::Invalid { .. } => 400,
            ApiError::NotFound(_) => 404,
            ApiError::Conflict(_) => 409,
            ApiError::TooMany(_) => 429,
            ApiError::Store(e) => e.status(),
            ApiError::Internal(_) => 500,
            ApiError::Command(e) => e.status(),
            ApiError::World(e) => world_status(e),
        }
    }

    fn public_message(&self) -> String {
        match self {
            ApiError::Store(e) => e.public_message(),
            ApiError::Command(e) => e.public_message(),
            ApiError::World(crate::world::apply::WorldError::Store(e)) => e.public_message(),
            other => other.to_string(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid { field, .. } => Some(field),
            ApiError::Command(e) => e.field(),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            // The body says what became of the caller's input.
            ApiError::Conflict(body) => (StatusCode::CONFLICT, Json(body)).into_response(),
            ApiError::World(e) => world_answer(e),
            ApiError::TooMany(secs) => {
                let mut resp = crate::error::answer(&ApiError::TooMany(secs));
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                resp
            }
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                crate::error::answer(&ApiError::Internal(detail))
            }
            other => crate::error::answer(&other),
        }
    }
}

fn world_status(e: &crate::world::apply::WorldError) -> u16 {
    use crate::world::apply::WorldError;
    match e {
        WorldError::Invalid(_) => 400,
        WorldError::NotFound(_) => 404,
        WorldError::Managed(_) | WorldError::Moved { .. } => 409,
        WorldError::Stale { .. } => 412,
        WorldError::Store(e) => e.status(),
    }
}

/// A refused change of the world, with everything the caller needs to fix it at once: every
/// problem (`problems`, each with its `key`), or the object as it is now (`current`).
fn world_answer(e: crate::world::apply::WorldError) -> Response {
    use crate::world::apply::WorldError;
    let status = StatusCode::from_u16(world_status(&e)).unwrap_or(StatusCode::BAD_REQUEST);
    let body = match &e {
        WorldError::Invalid(problems) | WorldError::Managed(problems) => json!({
            "error": format!("{} problem{}: {e}", problems.len(), if problems.len() == 1 { "" } else { "s" }),
            "field": problems.first().map(|p| p.key.clone()),
            "problems": problems,
        }),
        WorldError::Moved { head, .. } => json!({ "error": e.to_string(), "revision": head }),
        WorldError::Stale {
            revision, current, ..
        } => {
            json!({ "error": e.to_string(), "revision": revision, "current": current })
        }
        WorldError::NotFound(_) => json!({ "error": e.to_string() }),
        WorldError::Store(s) => return crate::error::answer(s),
    };
    let mut resp = (status, Json(body)).into_response();
    if let WorldError::Stale { revision, .. } = &e {
        if let Ok(v) = HeaderValue::from_str(&format!("\"{revision}\"")) {
            resp.headers_mut().insert(header::ETAG, v);
        }
    }
    resp
}

/// Parses a JSON body, turning serde's complaint into a 400 that names the field at fault
/// (`incident.status: unknown variant …` rather than "bad request").
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        ApiError::invalid(
            if path == "." {
                "body".to_string()
            } else {
                path
            },
            e.into_inner().to_string(),
        )
    })
}
