//! Extractors that decide once, at the edge, what every API handler would otherwise check by
//! hand: who the caller must be ([`Require`]) and what the JSON body says ([`ApiJson`]). Both
//! answer in the API's one error shape. Put `Require` before `ApiJson` in a handler's arguments:
//! a caller who may not act hears that before anything about the body.

use std::marker::PhantomData;

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::request::Parts,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;
use vigil_core::model::auth::{Auth, Denied, Principal};

use crate::http::api::error::{parse, ApiError};

/// What a caller must be allowed to do.
pub trait Requirement {
    fn check(auth: &Auth) -> Result<&Principal, Denied>;
}

/// The caller, who passed `R`.
pub struct Require<R>(pub Principal, PhantomData<R>);

impl<R> Require<R> {
    /// How the audit log names the caller.
    pub fn audit_name(&self) -> String {
        self.0.audit_name()
    }
}

impl<S: Send + Sync, R: Requirement> FromRequestParts<S> for Require<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // The resolver's word (no `Auth` means the route's group resolves nobody: anonymous).
        let auth = parts.extensions.get::<Auth>().cloned().unwrap_or_default();
        let principal = R::check(&auth)?.clone();
        Ok(Require(principal, PhantomData))
    }
}

/// A JSON body, parsed into `T` where it arrives; a field that does not fit is named in a 400.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        // Too large (413) and the like pass on as axum says them; the group's error layer gives
        // them the API's shape.
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse(&bytes)
            .map(ApiJson)
            .map_err(IntoResponse::into_response)
    }
}
