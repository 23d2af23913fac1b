//! The status page for terminals, chat bots and agents: `/` answers `Accept: text/markdown` with
//! the page as Markdown, and a command-line client (curl, Wget, HTTPie) that does not ask for
//! HTML with a few lines of plain text. `/index.md` and `/index.txt` name them outright.
//!
//! Only the status page's words go out: components and their states, incidents and their public
//! updates. What a person typed is escaped for Markdown, and control characters are taken out
//! of the plain text, so no name can draw on somebody's terminal.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue},
    middleware::Next,
    response::Response,
};
use vigil_core::model::{incident::IncidentView, status::StatusSummary};

use super::{
    representation::{wanted, Representation, VARY},
    status::{conditional, mark_stale, read, RenderedBody},
};
use crate::http::{endpoint::Endpoint, state::AppState};
// The figure as the HTML page says it.
use vigil_app::components::uptime_bar;

/// `e` (the status page) answering text to those who ask for it (see [`wanted`]).
pub fn offer_text(e: Endpoint, state: &AppState) -> Endpoint {
    let page = e.page.negotiated();
    Endpoint {
        handler: e.handler.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            negotiate,
        )),
        ..e
    }
    .page(page)
}

async fn negotiate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = match wanted(req.headers()) {
        Representation::Html => next.run(req).await,
        text => answer(&state, req.headers(), text).await,
    };
    // Every answer of this URL depends on these, for any cache in between.
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static(VARY));
    resp
}

async fn answer(state: &AppState, headers: &HeaderMap, how: Representation) -> Response {
    let s = match read(state).await {
        Ok(s) => s.public(),
        Err(r) => return r,
    };
    let url = state.public_url.trim_end_matches('/');
    let (body, content_type) = match how {
        Representation::Markdown => (markdown(&s, url), "text/markdown; charset=utf-8"),
        _ => (plain(&s, url), "text/plain; charset=utf-8"),
    };
    mark_stale(
        conditional(
            headers,
            content_type,
            RenderedBody::new(body.into_bytes()),
            s.updated_at,
        ),
        &s,
    )
}

async fn index_md(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers, Representation::Markdown).await
}

async fn index_txt(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers, Representation::Text).await
}

/// `/index.md` and `/index.txt`.
pub fn endpoints() -> Vec<Endpoint> {
    use crate::http::endpoint::get;
    vec![get("/index.md", index_md), get("/index.txt", index_txt)]
}

/// Markdown's punctuation escaped, line breaks flattened: a name stays a name.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            // What makes inline markup; a name never starts a line here (every one follows
            // "- ", "# " or "> "), so block markers need nothing.
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Control characters (a terminal's escape sequences among them) taken out; lines flattened.
fn txt(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn latest_words(i: &IncidentView) -> Option<&str> {
    i.updates
        .iter()
        .filter(|u| !u.internal)
        .max_by_key(|u| u.created_at)
        .map(|u| u.body.as_str())
}

/// The page as Markdown: the state, open incidents with their latest update, maintenances, the
/// components by group, third-party services, and where to read more.
pub fn markdown(s: &StatusSummary, url: &str) -> String {
    let mut out = format!(
        "# {}\n\n**{}** — updated {}\n",
        md(&s.title),
        md(&s.description),
        when(s.generated_at)
    );
    if s.stale {
        out.push_str(
            "\n_This is the last state known: Vigil cannot read its database right now._\n",
        );
    }
    for (heading, list) in [
        ("Active incidents", &s.incidents),
        ("Scheduled maintenance", &s.maintenances),
    ] {
        if list.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## {heading}\n\n"));
        for i in list {
            out.push_str(&format!(
                "- [{}]({url}/incidents/{}) — {}, since {}\n",
                md(&i.name),
                i.id,
                i.status.label(),
                when(i.scheduled_for.unwrap_or(i.started_at))
            ));
            if let Some(words) = latest_words(i) {
                out.push_str(&format!("  > {}\n", md(words)));
            }
        }
    }
    let mut group: Option<&Option<String>> = None;
    out.push_str("\n## Components\n");
    for c in &s.components {
        if group != Some(&c.group) {
            group = Some(&c.group);
            if let Some(g) = &c.group {
                out.push_str(&format!("\n### {}\n", md(g)));
            }
            out.push('\n');
        }
        let uptime = c
            .uptime_90d
            .map(|u| format!(" ({} uptime over 90 days)", uptime_bar::percent(u)))
            .unwrap_or_default();
        out.push_str(&format!("- {}: {}{uptime}\n", md(&c.name), c.label()));
    }
    if !s.third_party.is_empty() {
        out.push_str("\n## Third-party services\n\n");
        for t in &s.third_party {
            let label = t.status.map(|s| s.label()).unwrap_or("No data");
            out.push_str(&format!(
                "- {} · {}: {label}\n",
                md(&t.provider),
                md(&t.component)
            ));
        }
    }
    out.push_str(&format!(
        "\n[Incident history]({url}/history) · [Uptime]({url}/uptime) · [Subscribe]({url}/subscribe) · [JSON]({url}/api/v2/summary.json)\n"
    ));
    out
}

/// A few lines for a terminal: the state, what is open, every component not operational (or
/// all of them when few), and the page's address.
pub fn plain(s: &StatusSummary, url: &str) -> String {
    let mut out = format!(
        "{}: {} (updated {})\n",
        txt(&s.title),
        txt(&s.description),
        when(s.generated_at)
    );
    if s.stale {
        out.push_str("(the last state known: Vigil cannot read its database right now)\n");
    }
    for i in s.incidents.iter().chain(&s.maintenances) {
        out.push_str(&format!(
            "\n! {} [{}]\n  {url}/incidents/{}\n",
            txt(&i.name),
            i.status.label(),
            i.id
        ));
        if let Some(words) = latest_words(i) {
            out.push_str(&format!("  {}\n", txt(words)));
        }
    }
    out.push('\n');
    let width = s
        .components
        .iter()
        .map(|c| txt(&c.name).chars().count())
        .max()
        .unwrap_or(0);
    for c in &s.components {
        let name = txt(&c.name);
        let pad = width - name.chars().count();
        out.push_str(&format!("  {name}{}  {}\n", " ".repeat(pad), c.label()));
    }
    out.push_str(&format!("\n{url}/\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_people_typed_cannot_become_markup_or_terminal_escapes() {
        assert_eq!(
            md("[click](http://x) *now*"),
            "\\[click\\](http://x) \\*now\\*"
        );
        assert_eq!(md("line\nbreak"), "line break");
        assert_eq!(txt("red\u{1b}[31m text\r\n"), "red [31m text  ");
    }
}
