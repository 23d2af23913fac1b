//! For the owner's own site: `/embed/status` and `/embed/components/{id}`, tiny documents for an
//! iframe (framed where `server.frame_ancestors` allows), and `/embed.js`, a banner while an
//! incident or a maintenance is under way. They say what the public page says, in words beside
//! a colour, and nothing else.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use vigil_core::model::status::Indicator;

use super::status::{colour, conditional, escape, mark_stale, read, RenderedBody};
use crate::http::{endpoint::Endpoint, public::cache::Page, state::AppState};

/// The banner script (see the file): a stable name, since owners paste it into their pages.
const EMBED_JS: &str = include_str!("../embed.js");

async fn embed_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        EMBED_JS,
    )
        .into_response()
}

/// A one-line document: a dot in the state's colour, the words, a link to the page.
fn document(title: &str, words: &str, colour: &str, href: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\"><title>{title}</title></head>\
         <body style=\"margin:0;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif\">\
         <a href=\"{href}\" target=\"_blank\" rel=\"noopener\" data-testid=\"embed\" \
         style=\"display:flex;gap:.5em;align-items:center;padding:.5em .75em;color:inherit;text-decoration:none\">\
         <span aria-hidden=\"true\" style=\"color:{colour}\">\u{25cf}</span><span>{words}</span></a></body></html>\n",
        title = escape(title),
        words = escape(words),
        href = escape(href),
    )
}

fn indicator_colour(i: Indicator) -> &'static str {
    match i {
        Indicator::None => "#2f9e44",
        Indicator::Minor => "#f59f00",
        Indicator::Major => "#e8590c",
        Indicator::Critical => "#e03131",
    }
}

/// `/embed/status`: the page's state in one line.
async fn embed_status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match read(&state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let url = format!("{}/", state.public_url.trim_end_matches('/'));
    let body = document(
        &format!("{} — {}", s.title, s.description),
        &s.description,
        indicator_colour(s.indicator),
        &url,
    );
    mark_stale(
        conditional(
            &headers,
            "text/html; charset=utf-8",
            RenderedBody::new(body.into_bytes()),
            s.updated_at,
        ),
        &s,
    )
}

/// `/embed/components/{id}`: one component's state in one line.
async fn embed_component(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let s = match read(&state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(c) = s.components.iter().find(|c| c.id == id) else {
        return (StatusCode::NOT_FOUND, "no such component\n").into_response();
    };
    let url = format!("{}/", state.public_url.trim_end_matches('/'));
    let words = format!("{}: {}", c.name, c.label());
    let body = document(&words, &words, colour(c.status), &url);
    mark_stale(
        conditional(
            &headers,
            "text/html; charset=utf-8",
            RenderedBody::new(body.into_bytes()),
            c.updated_at,
        ),
        &s,
    )
}

pub fn endpoints() -> Vec<Endpoint> {
    use crate::http::endpoint::get;
    vec![
        get("/embed.js", embed_js),
        get("/embed/status", embed_status),
        // A component's id is a name, not a number.
        get("/embed/components/{id}", embed_component).page(Page::plain()),
    ]
}
