//! What one client address may hold or repeat before Vigil asks its database anything: live
//! streams and sign-in attempts. And where links point when `public_url` is unset.

use reqwest::header;

use crate::common::spawn_app_with_toml;

const CONFIG: &str = r#"
[server]
live_streams_per_client = 3

[auth]
login_attempts_per_minute = 3

[[component]]
id = "site"
name = "Website"

[incidents]
automatic = false
"#;

#[tokio::test]
async fn a_client_holds_a_bounded_number_of_live_streams() {
    let app = spawn_app_with_toml(CONFIG).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let r = app
            .client
            .get(app.url("/events/live"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        open.push(r);
    }
    let refused = app
        .client
        .get(app.url("/events/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    drop(open);
}

#[tokio::test]
async fn sign_in_attempts_are_counted_per_address_before_the_database_is_asked() {
    let app = spawn_app_with_toml(CONFIG).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    app.cut_database().await;
    let mut said = Vec::new();
    for _ in 0..4 {
        let r = client
            .post(app.url("/login"))
            .header(header::ORIGIN, &app.base)
            .form(&[
                ("username", "mallory"),
                ("password", "guess"),
                ("next", "/ops"),
            ])
            .send()
            .await
            .unwrap();
        let to = r.headers()[header::LOCATION].to_str().unwrap().to_string();
        said.push(to);
    }
    app.restore_database().await;
    // Three attempts reach the (cut) database; the fourth is refused without it.
    assert!(
        said[..3].iter().all(|to| !to.contains("throttled")),
        "{said:?}"
    );
    assert!(said[3].contains("error=throttled"), "{said:?}");
}

#[tokio::test]
async fn links_point_where_vigil_listens_and_pages_carry_the_owners_title() {
    let app = spawn_app_with_toml(&format!(
        "{CONFIG}\n[status_page]\ntitle = \"Example Org status\"\n"
    ))
    .await;
    // No public_url: links name the address this Vigil listens on, not a default port.
    let summary: serde_json::Value = app.get("/api/v2/summary.json").await.json().await.unwrap();
    assert_eq!(summary["page"]["url"], app.base.as_str(), "{summary}");

    let title = |html: &str| {
        let start = html.find("<title>").expect("a <title>") + "<title>".len();
        html[start..start + html[start..].find("</title>").unwrap()].to_string()
    };
    for (path, expected) in [
        ("/", "Example Org status"),
        ("/history", "Incident history — Example Org status"),
        ("/uptime", "Uptime — Example Org status"),
        ("/subscribe", "Subscribe to updates — Example Org status"),
        ("/login", "Sign in — Example Org status"),
    ] {
        let html = app.get(path).await.text().await.unwrap();
        assert_eq!(title(&html), expected, "{path}");
        if path != "/login" {
            assert!(
                html.contains(r#"class="brand">Example Org status</a>"#),
                "{path}: the header names the owner"
            );
        }
    }
}
