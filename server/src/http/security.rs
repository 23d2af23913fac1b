//! Security headers on every response, and the Content-Security-Policy nonce of every page.
//!
//! The nonce is made here, per request, and handed to Leptos through the request (the render
//! context reads it back with [`nonce_of`]), so the hydration scripts and the policy agree. The
//! public cache keeps a rendering together with the policy that names its nonce.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use leptos::nonce::Nonce;

/// The nonce this request's pages may use, in the request's extensions.
#[derive(Clone)]
pub struct RequestNonce(pub Arc<str>);

/// What may frame a group's pages: `server.frame_ancestors` for the public groups, nothing for
/// the others (the default).
#[derive(Clone, Debug, Default)]
pub struct Framing(pub Vec<String>);

impl Framing {
    fn ancestors(&self) -> String {
        if self.0.is_empty() {
            "'none'".into()
        } else {
            self.0.join(" ")
        }
    }
}

/// For the Leptos render context: this request's nonce, so every inline script carries it.
pub fn nonce_of(parts: &axum::http::request::Parts) -> Option<Nonce> {
    parts
        .extensions
        .get::<RequestNonce>()
        .map(|n| Nonce::from_value(n.0.clone()))
}

/// The policy for an HTML page whose scripts carry `nonce`. Styles come from the stylesheet
/// (positions in the graphs are `style` attributes); inline scripts only with the nonce, files
/// only from Vigil itself (the hydration bundle, which Leptos also preloads with a
/// `<link rel=modulepreload>` that carries no nonce, so `strict-dynamic` would refuse it);
/// connections only back to Vigil (the live feed).
pub fn page_policy(nonce: &str, ancestors: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {ancestors}"
    )
}

pub async fn headers(
    State(framing): State<Arc<Framing>>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce: Arc<str> = Nonce::new().to_string().into();
    req.extensions_mut().insert(RequestNonce(nonce.clone()));
    let mut resp = next.run(req).await;
    let ancestors = framing.ancestors();
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let policy = if is_html {
        page_policy(&nonce, &ancestors)
    } else {
        // JSON, feeds, badges, files: nothing in them may run or be framed.
        format!("default-src 'none'; frame-ancestors {ancestors}")
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&policy) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if ancestors == "'none'" {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    resp
}

/// CORS for the public read side (Statuspage JSON, badges, feeds): any origin may read it with
/// GET — that is what embeddable status widgets do — and no credentials ever go with it.
pub fn public_cors() -> tower_http::cors::CorsLayer {
    use axum::http::Method;
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers([header::IF_NONE_MATCH, header::IF_MODIFIED_SINCE])
        .expose_headers([header::ETAG, header::LAST_MODIFIED])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_framed_only_where_configured() {
        let none = Framing::default();
        assert_eq!(none.ancestors(), "'none'");
        let some = Framing(vec!["https://www.example.org".into()]);
        assert_eq!(some.ancestors(), "https://www.example.org");
        let p = page_policy("abc", "'none'");
        assert!(p.contains("script-src 'self' 'nonce-abc'"), "{p}");
        let scripts = p
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(
            !scripts.contains("unsafe-inline"),
            "scripts never inline-unsafe: {p}"
        );
    }
}
