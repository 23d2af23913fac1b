//! The server side of every server function's authorization: the same `Auth::require` the HTTP
//! routes use, on the `Auth` the server resolved for this request.

use leptos::prelude::*;
use vigil_core::model::{
    answer::Answer,
    auth::{Auth, Principal, Scope},
};

/// The caller, as the server's resolver saw them. A request that did not pass the resolver
/// (there is none) counts as anonymous.
pub async fn auth() -> Auth {
    leptos_axum::extract::<axum::Extension<Auth>>()
        .await
        .map(|axum::Extension(a)| a)
        .unwrap_or_default()
}

pub async fn require(scope: Scope) -> Result<Principal, ServerFnError> {
    let auth = auth().await;
    auth.require(scope).cloned().map_err(fail)
}

/// A server function's failure: the status and words the error's [`Answer`] gives (the
/// same as the JSON API's), the real cause of a 5xx in the log.
pub fn fail(e: impl Answer) -> ServerFnError {
    if e.status() >= 500 {
        leptos::logging::error!("server function failed: {e}");
    }
    set_status(
        http::StatusCode::from_u16(e.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    ServerFnError::new(e.public_message())
}

/// Sets the answer's status — except for a plain HTML form posting to a server function (no
/// JavaScript): that one is answered with a redirect back to the form's page carrying the
/// error, which the page shows, and a status here would replace the redirect with a bare
/// error text.
pub fn set_status(code: http::StatusCode) {
    let form_post = use_context::<http::request::Parts>().is_some_and(|p| {
        p.method == http::Method::POST
            && p.headers
                .get(http::header::ACCEPT)
                .and_then(|a| a.to_str().ok())
                .is_some_and(|a| a.contains("text/html"))
    });
    if form_post {
        return;
    }
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(code);
    }
}

/// How many approvals publishing a post-mortem needs, as the server was configured.
pub fn review_rules() -> vigil_core::model::review::ReviewRules {
    use_context::<vigil_core::model::review::ReviewRules>().unwrap_or_default()
}

/// The graph settings the server provided (defaults when it did not).
pub fn graphs() -> vigil_core::model::resource::GraphSettings {
    use_context::<std::sync::Arc<vigil_core::model::resource::GraphSettings>>()
        .map(|g| (*g).clone())
        .unwrap_or_default()
}

/// A window from the page's query, or a 400 naming what to fix.
pub fn window(
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), ServerFnError> {
    vigil_core::model::window::resolve(
        range.as_deref(),
        from.as_deref(),
        to.as_deref(),
        chrono::Utc::now(),
    )
    .map_err(fail)
}

pub fn pool() -> Result<vigil_core::store::PgPool, ServerFnError> {
    use_context::<vigil_core::store::PgPool>().ok_or_else(|| ServerFnError::new("no database pool"))
}

pub(crate) fn command_error(
    e: vigil_core::store::incident_commands::CommandError,
) -> ServerFnError {
    fail(e)
}
