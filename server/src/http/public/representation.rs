//! Which representation of a page a request asks for: HTML, Markdown or plain text (see
//! `public::text`). Its own module: the shared cache keys renderings by it, and the handlers
//! answer by it, so both decide with this one function.

use axum::http::{header, HeaderMap};

/// What every answer of a page that offers text depends on, for any cache in between.
pub const VARY: &str = "accept, accept-encoding, user-agent";

/// What a request to a page that offers text is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    Html,
    Markdown,
    Text,
}

impl Representation {
    /// Part of the shared cache's key: each representation is its own rendering.
    pub fn key(self) -> &'static str {
        match self {
            Representation::Html => "",
            Representation::Markdown => "\nmarkdown",
            Representation::Text => "\ntext",
        }
    }
}

/// Browsers ask for HTML and get it. Markdown is for whoever names it; plain text for a
/// command-line client that does not ask for HTML (link previewers send `*/*` too, and must see
/// the page's OpenGraph tags, so the client's name decides, not a missing `Accept`).
pub fn wanted(headers: &HeaderMap) -> Representation {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    let names = |kind: &str| {
        accept
            .split(',')
            .map(|part| part.split(';').next().unwrap_or("").trim())
            .any(|m| m == kind)
    };
    if names("text/html") || names("application/xhtml+xml") {
        return Representation::Html;
    }
    if names("text/markdown") {
        return Representation::Markdown;
    }
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let terminal = ["curl/", "wget/", "httpie/", "xh/"]
        .iter()
        .any(|c| agent.starts_with(c));
    if terminal || names("text/plain") {
        Representation::Text
    } else {
        Representation::Html
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn browsers_get_html_terminals_text_and_whoever_asks_markdown() {
        use Representation::*;
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(wanted(&headers(&[("accept", chrome)])), Html);
        assert_eq!(
            wanted(&headers(&[("accept", "*/*"), ("user-agent", "curl/8.5.0")])),
            Text
        );
        assert_eq!(wanted(&headers(&[("user-agent", "Wget/1.21.4")])), Text);
        assert_eq!(
            wanted(&headers(&[
                ("accept", "text/markdown"),
                ("user-agent", "curl/8.5.0")
            ])),
            Markdown
        );
        assert_eq!(
            wanted(&headers(&[("accept", "text/markdown, text/plain;q=0.5")])),
            Markdown
        );
        assert_eq!(wanted(&headers(&[("accept", "text/plain")])), Text);
        // A link previewer asking for anything: the HTML, with its OpenGraph tags.
        assert_eq!(
            wanted(&headers(&[
                ("accept", "*/*"),
                ("user-agent", "Slackbot-LinkExpanding 1.0")
            ])),
            Html
        );
        assert_eq!(wanted(&HeaderMap::new()), Html);
        // Asked for HTML too: HTML, whoever asks.
        assert_eq!(
            wanted(&headers(&[
                ("accept", "text/html"),
                ("user-agent", "curl/8.5.0")
            ])),
            Html
        );
    }
}
