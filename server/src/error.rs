//! The one place an error becomes an HTTP answer. Each error type says its status and public
//! words once ([`Answer`], in core, shared with the pages' server functions); this turns any of
//! them into the JSON the API promises: `{"error": "…"}` (with `"field"` for a 400), a
//! `WWW-Authenticate` challenge with a 401, and the real cause in the log for a 5xx.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use vigil_core::model::answer::Answer;

pub fn answer(e: &dyn Answer) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::error!(error = %e, "request failed");
    }
    let body = match e.field() {
        Some(field) => json!({ "error": e.public_message(), "field": field }),
        None => json!({ "error": e.public_message() }),
    };
    let mut resp = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"vigil\""),
        );
    }
    resp
}
