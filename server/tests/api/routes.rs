//! Every route the server registered answers as its route group's policy says: the table of
//! routes comes from the server itself, the expectations from `Group::policy`, and each is checked
//! against the running server.

use reqwest::{header, Method};
use vigil_core::model::auth::Role;
use vigil_server::http::groups::{Caching, Cors, Csrf, Errors, Frames, Group, Identity};

use crate::common::{access::signed_in, spawn_app_with_toml};

/// A URL for a route's pattern.
fn concrete(pattern: &str) -> String {
    let mut out = Vec::new();
    for seg in pattern.split('/') {
        out.push(match seg {
            "{*file}" | "{*rest}" => "no-such-file.txt",
            "{file}" => "site.svg",
            s if s.starts_with('{') => "1",
            s => s,
        });
    }
    out.join("/")
}

fn text(resp: &reqwest::Response, name: header::HeaderName) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_route_answers_as_its_groups_policy_says() {
    let app =
        spawn_app_with_toml("[server]\nframe_ancestors = [\"https://www.example.org\"]\n\n[status_page]\nrefresh_secs = 3600\n").await;
    assert!(app.routes.len() > 60, "the table lists every route");
    for group in Group::ALL {
        assert!(
            app.routes.iter().any(|r| r.group == group),
            "{group:?} has routes"
        );
    }
    // Anonymous visitors and a cross-site page never carry the browser's origin header.
    // A route that never answers fails this test, naming its URL, rather than hanging the run.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let mut shared_checked = std::collections::HashSet::new();
    for route in &app.routes {
        let policy = route.group.policy();
        let url = app.url(&concrete(&route.path));
        let what = format!("{:?} {} ({:?})", route.method, route.path, route.group);

        // Identity: a wrong token is refused by the resolver wherever identity is resolved.
        let resp = plain
            .request(route.method.clone(), &url)
            .bearer_auth("vgl_not_a_token")
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status() == 401,
            policy.identity != Identity::Ignored,
            "{what}: a wrong token answers {}",
            resp.status()
        );

        // Cross-site requests that change state.
        if route.method != Method::GET {
            let resp = plain
                .request(route.method.clone(), &url)
                .header(header::COOKIE, "vigil_session=x")
                .header("sec-fetch-site", "cross-site")
                .header(header::CONTENT_TYPE, "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let refused = resp.status() == 403
                && resp
                    .text()
                    .await
                    .unwrap()
                    .contains("cross-site request refused");
            assert_eq!(
                refused,
                policy.csrf != Csrf::Off,
                "{what}: cross-site with a cookie"
            );
            if policy.csrf == Csrf::SameSite {
                // Forms: refused even without a cookie.
                let resp = plain
                    .request(route.method.clone(), &url)
                    .header("sec-fetch-site", "cross-site")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 403, "{what}: cross-site without a cookie");
            }
            continue;
        }

        // An anonymous read from a page elsewhere.
        let resp = plain
            .get(&url)
            .header(header::ORIGIN, "https://widget.example")
            .send()
            .await
            .unwrap();
        let status = resp.status();
        if let Identity::Required(_) = policy.identity {
            assert_eq!(status, 303, "{what}: anonymous visitors sign in first");
            assert!(
                text(&resp, header::LOCATION).starts_with("/login?next="),
                "{what}"
            );
        }
        assert_eq!(
            text(&resp, header::ACCESS_CONTROL_ALLOW_ORIGIN) == "*",
            policy.cors == Cors::AnyOriginRead,
            "{what}: CORS"
        );
        let csp = text(&resp, header::CONTENT_SECURITY_POLICY);
        match policy.frames {
            Frames::Configured => assert!(
                csp.contains("frame-ancestors https://www.example.org"),
                "{what}: {csp}"
            ),
            Frames::Never => {
                assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
                assert_eq!(text(&resp, header::X_FRAME_OPTIONS), "DENY", "{what}");
            }
        }
        let cache_control = text(&resp, header::CACHE_CONTROL);
        match policy.caching {
            Caching::NoStore => assert_eq!(cache_control, "no-store", "{what}"),
            Caching::Shared if status == 200 => {
                // Rendered once for nobody: validators, and a 304 for the same tag (the page
                // stands an hour here: a loaded machine once took longer than the default five
                // seconds between the two requests, and the page showed a new time).
                let etag = text(&resp, header::ETAG);
                assert!(!etag.is_empty(), "{what}: no ETag");
                let again = plain
                    .get(&url)
                    .header(header::IF_NONE_MATCH, &etag)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(again.status(), 304, "{what}");
                shared_checked.insert(route.group);
            }
            Caching::Files if status == 200 => {
                assert!(
                    cache_control.contains("immutable"),
                    "{what}: {cache_control}"
                )
            }
            _ => {}
        }
        let content_type = text(&resp, header::CONTENT_TYPE);
        if status == 200 && content_type.starts_with("text/html") {
            let html = resp.text().await.unwrap();
            let follows = html.contains("/pkg/live.");
            let hydrates = html.contains("__wbindgen") || html.contains("hydrate");
            match policy.scripts {
                Some(vigil_app::PageScripts::Follow) => assert!(follows && !hydrates, "{what}"),
                Some(vigil_app::PageScripts::None) => assert!(!follows && !hydrates, "{what}"),
                Some(vigil_app::PageScripts::App) | None => {}
            }
        }

        // Errors made before any handler runs (here a method the route does not take).
        let resp = plain
            .request(Method::PUT, &url)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        if resp.status() == 405 {
            assert_eq!(
                text(&resp, header::CONTENT_TYPE).starts_with("application/json"),
                policy.errors == Errors::Json,
                "{what}: error shape"
            );
        }
    }
    assert!(
        shared_checked.contains(&Group::StatusPages)
            && shared_checked.contains(&Group::PublicData)
            && shared_checked.contains(&Group::PublicForms),
        "each shared group had a page to check: {shared_checked:?}"
    );

    // What the required scopes let through, and what they keep out.
    let admin = signed_in(&app, "ada", Role::Admin).await;
    let viewer = signed_in(&app, "vera", Role::Viewer).await;
    for route in app.routes.iter().filter(|r| r.method == Method::GET) {
        let Identity::Required(scope) = route.group.policy().identity else {
            continue;
        };
        if route.path.contains('{') {
            continue;
        }
        let url = app.url(&route.path);
        let as_admin = admin.get(&url).send().await.unwrap().status();
        assert_eq!(as_admin, 200, "{} for an admin", route.path);
        let as_viewer = viewer.get(&url).send().await.unwrap().status();
        let allowed = scope == vigil_core::model::auth::Scope::Read;
        assert_eq!(
            as_viewer == 200,
            allowed,
            "{} for a viewer: {as_viewer}",
            route.path
        );
    }
}
