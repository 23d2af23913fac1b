//! The status page for terminals, chat bots and agents: one URL, `/`, answers a browser with
//! HTML, `Accept: text/markdown` with Markdown and curl with a few lines of text — each kept
//! apart by the shared cache — and none of them names a monitor or an address, or lets a name
//! become markup or a terminal's escape sequence.

use crate::common::{access::create_token, eventually, spawn_app_with_toml, Target, TestApp};
use serde_json::json;
use vigil_core::model::auth::Scope;

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn config(target: &Target) -> String {
    format!(
        r#"
[status_page]
title = "Example *Org* status"

[probes]
min_interval_secs = 1
down_after = 1
up_after = 1

[[component]]
id = "site"
name = "Web [site](http://evil.example)"
group = "Public"

[[monitor]]
name = "site-home-probe"
component = "site"
kind = "http"
url = "http://{addr}/"
interval_secs = 1
timeout_ms = 500
"#,
        addr = target.addr
    )
}

struct Answer {
    content_type: String,
    vary: String,
    body: String,
}

async fn ask(app: &TestApp, path: &str, accept: Option<&str>, agent: Option<&str>) -> Answer {
    let mut req = app.client.get(app.url(path));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    if let Some(a) = agent {
        req = req.header("user-agent", a);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    Answer {
        content_type: header("content-type"),
        vary: header("vary").to_ascii_lowercase(),
        body: r.text().await.unwrap(),
    }
}

#[tokio::test]
async fn one_url_answers_browsers_html_agents_markdown_and_terminals_text() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&config(&target)).await;
    eventually(20, "the site's first verdict", || async {
        ask(&app, "/index.txt", None, None)
            .await
            .body
            .contains("  Web [site](http://evil.example)  Operational\n")
            .then_some(())
    })
    .await;

    let mut bodies = Vec::new();
    // Twice: the second round is answered from what the first rendered, so a rendering of one
    // kind answering a request for another would show here.
    for round in 0..2 {
        let md = ask(&app, "/", Some("text/markdown"), None).await;
        assert!(
            md.content_type.starts_with("text/markdown"),
            "round {round}: {}",
            md.content_type
        );
        assert!(md.vary.contains("accept"), "{}", md.vary);
        assert!(
            md.body.starts_with("# Example \\*Org\\* status\n"),
            "{}",
            md.body
        );
        assert!(
            md.body.contains("**All Systems Operational**"),
            "{}",
            md.body
        );
        assert!(md.body.contains("\n### Public\n"), "{}", md.body);
        assert!(
            md.body
                .contains("- Web \\[site\\](http://evil.example): Operational"),
            "the name is text, not a link: {}",
            md.body
        );

        let html = ask(
            &app,
            "/",
            Some(BROWSER),
            Some("Mozilla/5.0 (X11; Linux x86_64)"),
        )
        .await;
        assert!(
            html.content_type.starts_with("text/html"),
            "round {round}: {}",
            html.content_type
        );
        assert!(html.vary.contains("accept"), "{}", html.vary);
        assert!(html
            .body
            .to_ascii_lowercase()
            .starts_with("<!doctype html>"));

        let text = ask(&app, "/", Some("*/*"), Some("curl/8.5.0")).await;
        assert!(
            text.content_type.starts_with("text/plain"),
            "round {round}: {}",
            text.content_type
        );
        let first = text.body.lines().next().unwrap();
        assert!(
            first.starts_with("Example *Org* status: All Systems Operational (updated "),
            "{first}"
        );
        assert!(
            text.body
                .contains("\n  Web [site](http://evil.example)  Operational\n"),
            "{}",
            text.body
        );
        // A link previewer asking for anything gets the page with its OpenGraph tags.
        let preview = ask(&app, "/", Some("*/*"), Some("Slackbot-LinkExpanding 1.0")).await;
        assert!(preview.content_type.starts_with("text/html"));
        bodies.extend([md.body, html.body, text.body]);
    }
    assert_eq!(
        ask(&app, "/index.md", None, None).await.content_type,
        "text/markdown; charset=utf-8"
    );
    let txt = ask(&app, "/index.txt", None, None).await;
    assert_eq!(txt.content_type, "text/plain; charset=utf-8");
    bodies.push(txt.body);
    for body in &bodies {
        for private in ["site-home-probe", &target.addr.to_string()] {
            assert!(!body.contains(private), "{private} shown: {body}");
        }
    }

    // An incident whose title carries a terminal's escape sequence: it reaches the terminal as
    // plain characters.
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite, Scope::Read]).await;
    let r = app
        .client
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&writer)
        .json(&json!({ "name": "Red\u{1b}]0;owned\u{7} alert", "status": "investigating",
                       "impact": "minor", "body": "Looking *into* it.", "component_ids": ["site"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let text = eventually(20, "the incident in the text", || async {
        let t = ask(&app, "/", None, Some("curl/8.5.0")).await.body;
        t.contains("alert [Investigating]").then_some(t)
    })
    .await;
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("  Looking *into* it.\n"), "{text}");
    let md = ask(&app, "/", Some("text/markdown"), None).await.body;
    assert!(md.contains("## Active incidents"), "{md}");
    assert!(md.contains("  > Looking \\*into\\* it.\n"), "{md}");
}
