//! What the public cache keeps and serves: only renderings for callers the credential resolver
//! found to be nobody, one per URL whatever parameters are added, and never a stranger's text.

use reqwest::header;
use vigil_core::model::auth::{Role, Scope};

use crate::common::{
    self,
    access::{create_token, create_user, PASSWORD},
    site_monitor, spawn_app_with_toml, Target, TestApp,
};

/// Signs in as `name` and returns the session cookie's value.
async fn session_of(app: &TestApp, name: &str) -> String {
    let client = common::access::browser(app);
    let resp = client
        .post(app.url("/login"))
        .form(&[("username", name), ("password", PASSWORD), ("next", "/ops")])
        .send()
        .await
        .unwrap();
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("vigil_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("signing in sets the session cookie")
}

async fn anonymous(app: &TestApp, path: &str) -> String {
    let r = reqwest::Client::new()
        .get(app.url(path))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

async fn with_cookie(app: &TestApp, path: &str, cookie: &str) -> String {
    reqwest::Client::new()
        .get(app.url(path))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn with_token(app: &TestApp, path: &str, token: &str) -> String {
    reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A Vigil with one monitored site, a viewer signed in (her session cookie's value) and a
/// read token. The target must outlive the test.
async fn signed_in_reader() -> (Target, TestApp, String, String) {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&site_monitor(target.addr, 1, "", "")).await;
    create_user(&app, "vera", Role::Viewer).await;
    let id = session_of(&app, "vera").await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    (target, app, id, reader)
}

#[tokio::test]
async fn what_a_signed_in_reader_is_shown_never_reaches_an_anonymous_one() {
    let (_target, app, id, reader) = signed_in_reader().await;
    // Spellings the session layer takes as signed in, a bearer token, and the real cookie. Each
    // asks for `/` first, when the cached copy is out of date, then an anonymous reader asks:
    // each rendering carries its own nonce, so the same bytes would be the signed-in rendering
    // kept and served to a stranger.
    let spellings = [
        format!("vigil_session ={id}"),
        format!("vigil%5Fsession={id}"),
        format!("other=1; vigil_session={id}"),
        format!("vigil_session={id}"),
    ];
    let stale = || tokio::time::sleep(std::time::Duration::from_millis(5_500));
    for cookie in &spellings {
        stale().await;
        let theirs = with_cookie(&app, "/", cookie).await;
        let page = anonymous(&app, "/").await;
        assert_ne!(
            theirs, page,
            "an anonymous reader got what was rendered for `{cookie}`"
        );
        assert!(!page.contains("site-home") && !page.contains("last_error"));
    }
    stale().await;
    let by_token = with_token(&app, "/", &reader).await;
    let page = anonymous(&app, "/").await;
    assert_ne!(by_token, page);
    assert!(!page.contains("site-home") && !page.contains("last_error"));
    // Public pages carry no hydration data at all (they do not hydrate).
    assert!(!page.contains("__RESOLVED_RESOURCES["), "{page}");
    assert!(!page.contains("\"monitors\""), "{page}");

    // A cookie that is nobody's is answered from the cache like any anonymous reader.
    let first = reqwest::Client::new()
        .get(app.url("/"))
        .send()
        .await
        .unwrap();
    let tag = first.headers()[header::ETAG].clone();
    let fake = reqwest::Client::new()
        .get(app.url("/"))
        .header(header::COOKIE, "vigil_session=not-a-session")
        .send()
        .await
        .unwrap();
    assert_eq!(fake.headers().get(header::ETAG), Some(&tag));
}

#[tokio::test]
async fn a_url_has_one_rendering_whatever_parameters_are_added() {
    let app = spawn_app_with_toml(
        "[[component]]\nid = \"site\"\nname = \"Website\"\n\n[incidents]\nautomatic = false\n",
    )
    .await;
    let tag = |r: &reqwest::Response| r.headers()[header::ETAG].to_str().unwrap().to_string();
    let plain = reqwest::Client::new()
        .get(app.url("/"))
        .send()
        .await
        .unwrap();
    let first = tag(&plain);
    // Each rendering carries its own nonce: the same tag is the same (cached) rendering.
    for n in 0..20 {
        let r = reqwest::Client::new()
            .get(app.url(&format!("/?utm_source=x&r={n}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(tag(&r), first, "/?utm_source=x&r={n} was rendered anew");
    }

    // Incident and post-mortem ids have one spelling.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let moved = no_redirects
        .get(app.url("/incidents/006"))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 301);
    assert_eq!(moved.headers()[header::LOCATION], "/incidents/6");
    let moved = no_redirects
        .get(app.url("/postmortems/+2"))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 404);
    assert_eq!(
        no_redirects
            .get(app.url("/incidents/abc"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // The subscribe page words only its own codes; a link cannot make it say anything else.
    let page = anonymous(
        &app,
        "/subscribe?error=form&message=Your%20account%20is%20suspended%2C%20call%20us",
    )
    .await;
    assert!(!page.contains("account is suspended"), "{page}");
    assert!(page.contains("check the fields and try again"));
    let page = anonymous(&app, "/subscribe?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert!(!page.contains("alert(1)"));
    let page = anonymous(&app, "/subscribe?error=too_many&retry=42").await;
    assert!(page.contains("try again in 42 seconds"), "{page}");
}

#[tokio::test]
async fn a_signed_in_reader_is_never_answered_from_the_anonymous_copy() {
    let (_target, app, id, reader) = signed_in_reader().await;
    // The anonymous copy is fresh now; every rendering carries its own nonce, so a signed-in
    // reader answered with the same bytes was answered from that copy.
    let kept = anonymous(&app, "/").await;
    let by_cookie = with_cookie(&app, "/", &format!("vigil_session={id}")).await;
    assert_ne!(
        by_cookie, kept,
        "a session cookie was answered from the anonymous copy"
    );
    let by_token = with_token(&app, "/", &reader).await;
    assert_ne!(
        by_token, kept,
        "a bearer token was answered from the anonymous copy"
    );
}

#[tokio::test]
async fn only_a_complete_page_is_kept_and_it_says_how_to_revalidate() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&site_monitor(target.addr, 1, "", "")).await;
    // An unknown incident is a 404 every time: a rendering that is not a 200 is passed on and
    // never kept (kept, it would be served as the page).
    for _ in 0..2 {
        let r = reqwest::Client::new()
            .get(app.url("/incidents/987654"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    // The kept copy tells any cache in between what it may do (the configured rule: a CDN
    // keeps serving it while every replica is down) and the tags to purge it by.
    for _ in 0..2 {
        let r = reqwest::Client::new()
            .get(app.url("/"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let h = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            h("cache-control").as_deref(),
            Some("public, max-age=5, stale-while-revalidate=30, stale-if-error=86400")
        );
        assert_eq!(h("cache-tag").as_deref(), Some("vigil,vigil-page-home"));
        assert_eq!(h("surrogate-key").as_deref(), Some("vigil vigil-page-home"));
    }
}

#[tokio::test]
async fn what_is_rendered_for_somebody_is_never_kept_by_a_cache_in_between() {
    let (_target, app, id, reader) = signed_in_reader().await;
    for path in ["/", "/api/v2/summary.json", "/history.atom"] {
        let by_token = reqwest::Client::new()
            .get(app.url(path))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        let by_cookie = reqwest::Client::new()
            .get(app.url(path))
            .header(header::COOKIE, format!("vigil_session={id}"))
            .send()
            .await
            .unwrap();
        for r in [by_token, by_cookie] {
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(
                r.headers()[header::CACHE_CONTROL],
                "private, no-cache",
                "{path}: a CDN would keep somebody's answer for everybody"
            );
            assert!(r.headers().get("cache-tag").is_none(), "{path}");
        }
    }
    // The rule for nobody's copy is the owner's to set.
    let app = spawn_app_with_toml("[status_page]\ncache_control = \"public, max-age=60\"\n").await;
    let r = reqwest::Client::new()
        .get(app.url("/api/v2/summary.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=60");
}
