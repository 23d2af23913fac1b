//! The compiled site's files (`/pkg/…`). cargo-leptos names the script, the wasm and the stylesheet
//! after a hash of their content (`hash-files` in Cargo.toml) and writes the hashes to `hash.txt`
//! beside the binary; a file whose name carries its hash never changes, so browsers may keep it
//! for a year without asking again. Only the page that names them is revalidated.
//!
//! The build stores each file beside its brotli and gzip forms (`.br`, `.gz`); they are served
//! as they are rather than compressed anew for every visitor (the wasm is megabytes).
//! Public pages load one more file, [`PUBLIC_SCRIPT`], compiled into the binary.

use std::{path::Path, sync::LazyLock};

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
    Router,
};
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

/// The public pages' script: follows the live feed and swaps in fresh renderings.
const LIVE_JS: &str = include_str!("live.js");

/// `/pkg/live.<hash>.js`, named after its content like the build's files.
pub static PUBLIC_SCRIPT: LazyLock<String> = LazyLock::new(|| {
    let hash = hex::encode(Sha256::digest(LIVE_JS.as_bytes()));
    format!("/pkg/live.{}.js", &hash[..20])
});

async fn public_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        LIVE_JS,
    )
}

/// `/pkg`: the build's files with their precompressed forms, and the public pages' script.
pub fn router<S: Clone + Send + Sync + 'static>(site_root: &Path) -> Router<S> {
    let files = ServeDir::new(site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .route(&PUBLIC_SCRIPT, axum::routing::get(public_script))
        .nest_service("/pkg", files)
}

/// The routes of [`router`], for the route table.
pub fn table() -> Vec<(axum::http::Method, String)> {
    vec![
        (axum::http::Method::GET, PUBLIC_SCRIPT.clone()),
        (axum::http::Method::GET, "/pkg/{*file}".into()),
    ]
}

/// Whether this binary was built with hashed asset names (`hash.txt` beside it). Without it (a
/// test binary, a plain `cargo build`) pages name the plain files.
pub fn hashed_build() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|f| f.is_file())
}

/// `vigil.<hash>.js`, `vigil.<hash>.wasm`, `vigil.<hash>.css`: three dot-separated parts.
fn is_hashed(file: &str) -> bool {
    let parts: Vec<&str> = file.split('.').collect();
    parts.len() == 3
        && parts[1].len() >= 8
        && parts[1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && matches!(parts[2], "js" | "wasm" | "css")
}

/// Layer of the files' group: files named after their content are immutable; every other file
/// is revalidated.
pub async fn cache_control(req: Request, next: Next) -> Response {
    let file = req.uri().path().rsplit('/').next().map(str::to_owned);
    let mut resp = next.run(req).await;
    if let Some(file) = file.filter(|_| resp.status().is_success()) {
        let value = if is_hashed(&file) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_named_files_are_immutable() {
        assert!(is_hashed("vigil.Wm9zZXJhbmRvbWhhc2g.js"));
        assert!(is_hashed("vigil.Wm9zZXJhbmRvbWhhc2g.wasm"));
        assert!(is_hashed("vigil.a1b2c3d4e5f6-_xy.css"));
        assert!(!is_hashed("vigil.js"));
        assert!(!is_hashed("vigil_bg.wasm"));
        assert!(!is_hashed("vigil.css"));
        assert!(!is_hashed("vigil.abc.js"), "too short to be a content hash");
        let script = PUBLIC_SCRIPT.strip_prefix("/pkg/").unwrap();
        assert!(is_hashed(script), "{script}");
    }
}
