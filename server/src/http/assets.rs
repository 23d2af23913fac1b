//! The compiled site's files (`/pkg/…`). cargo-leptos names the script, the wasm and the stylesheet
//! after a hash of their content (`hash-files` in Cargo.toml) and writes the hashes to `hash.txt`
//! beside the binary; a file whose name carries its hash never changes, so browsers may keep it
//! for a year without asking again. Only the page that names them is revalidated.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};

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

/// Middleware: hashed files are immutable; everything else under `/pkg` is revalidated.
pub async fn cache_control(req: Request, next: Next) -> Response {
    let file = req.uri().path().strip_prefix("/pkg/").map(str::to_owned);
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
    }
}
