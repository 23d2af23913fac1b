//! The `/ops` pages are for signed-in people: anonymous visitors are sent to `/login`, people
//! without the needed role get a 403. Server functions behind the pages check again on their own.

use axum::{
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use vigil_core::model::{
    answer::Answer,
    auth::{Auth, Denied, Scope},
};

/// Path prefixes and the scope they need; the first match wins, so specific paths come first.
pub const OPS_ACCESS: &[(&str, Scope)] = &[("/ops/audit", Scope::Admin), ("/ops", Scope::Read)];

pub fn needed_scope(path: &str) -> Option<Scope> {
    OPS_ACCESS
        .iter()
        .find(|(prefix, _)| {
            path == *prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .map(|(_, scope)| *scope)
}

pub async fn guard(req: Request, next: Next) -> Response {
    let Some(scope) = needed_scope(req.uri().path()) else {
        return next.run(req).await;
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_prefix_decides() {
        assert_eq!(needed_scope("/ops"), Some(Scope::Read));
        assert_eq!(needed_scope("/ops/monitors"), Some(Scope::Read));
        assert_eq!(needed_scope("/ops/audit"), Some(Scope::Admin));
        assert_eq!(needed_scope("/ops/audit/2"), Some(Scope::Admin));
        assert_eq!(needed_scope("/opsx"), None);
        assert_eq!(needed_scope("/"), None);
    }
}
