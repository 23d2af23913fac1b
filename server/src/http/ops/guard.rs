//! Operators' pages are for signed-in people: anonymous visitors are sent to `/login`, people
//! without the needed role get a 403. Server functions behind the pages check again on their own.

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use vigil_core::model::{
    answer::Answer,
    auth::{Auth, Denied, Scope},
};

/// Layer of the groups that require a scope (`groups::Identity::Required`).
pub async fn guard(State(scope): State<Scope>, req: Request, next: Next) -> Response {
    let auth = req.extensions().get::<Auth>().cloned().unwrap_or_default();
    match auth.require(scope) {
        Ok(_) => next.run(req).await,
        Err(Denied::Unauthenticated) => {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/ops".into());
            Redirect::to(&format!(
                "/login?next={}",
                crate::auth::login::urlencode(&target)
            ))
            .into_response()
        }
        // A page, not the API: the same status, in words.
        Err(denied @ (Denied::Forbidden(_) | Denied::OtherRegion(_))) => (
            StatusCode::from_u16(denied.status()).unwrap_or(StatusCode::FORBIDDEN),
            format!("{denied}\n"),
        )
            .into_response(),
    }
}
