//! The one error type of the JSON API: refusals, bad input naming the field, missing things and
//! storage failures, each with its status code and a JSON body that says what to do.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use vigil_core::{model::auth::Denied, store::StoreError};

use crate::auth::Refusal;

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
    Conflict(serde_json::Value),
    #[error(transparent)]
    Store(#[from] StoreError),
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Refused(d) => Refusal(d).into_response(),
            ApiError::Invalid { field, message } => (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("{field}: {message}"), "field": field })),
            )
                .into_response(),
            ApiError::Conflict(body) => (StatusCode::CONFLICT, Json(body)).into_response(),
            ApiError::NotFound(what) => {
                (StatusCode::NOT_FOUND, Json(json!({ "error": what }))).into_response()
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "API request failed in the database");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({ "error": "the database is unavailable; try again shortly" })),
                )
                    .into_response()
            }
        }
    }
}
