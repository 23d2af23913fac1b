//! What the owner puts on their own site: the one-line documents for an iframe, framed only where
//! `server.frame_ancestors` allows, and the banner script, small enough to add to any page.

use crate::common::{eventually, spawn_app_with_toml, Target};

#[tokio::test]
async fn embeds_say_the_state_in_words_frame_where_allowed_and_the_script_stays_small() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&format!(
        "[server]\nframe_ancestors = [\"https://www.example.org\"]\n\n\
         [probes]\nmin_interval_secs = 1\n\n\
         [[component]]\nid = \"site\"\nname = \"Web <b>site</b>\"\n\n\
         [[monitor]]\nname = \"site-home\"\ncomponent = \"site\"\nkind = \"http\"\n\
         url = \"http://{}/\"\ninterval_secs = 1\ntimeout_ms = 500\n",
        target.addr
    ))
    .await;
    let get = |path: &'static str| {
        let app = &app;
        async move { app.client.get(app.url(path)).send().await.unwrap() }
    };
    let one = eventually(20, "the component's verdict in its embed", || async {
        let r = get("/embed/components/site").await;
        let body = r.text().await.unwrap();
        body.contains("Operational").then_some(body)
    })
    .await;
    assert!(
        one.contains("<span>Web &lt;b&gt;site&lt;/b&gt;: Operational</span>"),
        "{one}"
    );
    assert!(!one.contains("site-home") && !one.contains(&target.addr.to_string()));

    let status = get("/embed/status").await;
    assert_eq!(status.status(), 200);
    assert_eq!(status.headers()["content-type"], "text/html; charset=utf-8");
    let csp = status.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("frame-ancestors https://www.example.org"),
        "{csp}"
    );
    let body = status.text().await.unwrap();
    assert!(
        body.contains("<span>All Systems Operational</span>"),
        "{body}"
    );
    assert!(
        body.contains(&format!("href=\"{}/\"", app.url("").trim_end_matches('/'))),
        "{body}"
    );

    assert_eq!(get("/embed/components/nope").await.status(), 404);

    // The banner script: small, whatever the encoding asked.
    let plain = get("/embed.js").await;
    assert_eq!(
        plain.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let source = plain.text().await.unwrap();
    assert!(source.contains("/api/v2/summary.json") && source.contains("textContent"));
    let br = reqwest::Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(app.url("/embed.js"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    let size = br.bytes().await.unwrap().len();
    assert!(size < 3 * 1024, "embed.js is {size} bytes compressed");
}
