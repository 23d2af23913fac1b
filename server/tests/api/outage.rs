//! PostgreSQL out of reach: the public side keeps answering from the last state held in memory,
//! says how old it is, and the probe results taken meanwhile are written once it is back.

use chrono::Utc;
use serde_json::Value;

use crate::common::{eventually, site_monitor, spawn_app_with_toml, Target};

#[tokio::test]
async fn the_public_side_answers_through_a_database_outage_and_the_results_are_kept() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&site_monitor(target.addr, 1, "", "")).await;
    let summary = || async {
        let r = app.get("/api/v2/summary.json").await;
        let stale = r.headers().get("x-vigil-as-of").is_some();
        (r.status().as_u16(), stale, r.json::<Value>().await.ok())
    };
    eventually(20, "the website shows as operational", || async {
        let (_, _, body) = summary().await;
        (body?["components"][0]["status"] == "operational").then_some(())
    })
    .await;
    assert!(app.get("/").await.text().await.unwrap().contains("Website"));

    app.cut_database().await;
    let cut_at = Utc::now();
    // Past the public cache's and the summary's five seconds the answers are made while the
    // database is away, not kept from before: the first that says so.
    let (status, marked, body) = eventually(20, "an answer made without the database", || async {
        let (status, marked, body) = summary().await;
        let stale = body.as_ref().map(|b| b["page"]["stale"] == true);
        (stale == Some(true))
            .then(|| (status, marked, body.clone()))
            .ok_or((status, body))
    })
    .await;
    // Everything public still answers, from memory, and says since when it has not changed.
    assert_eq!(status, 200);
    assert!(marked, "the JSON carries its age");
    let body = body.unwrap();
    assert_eq!(body["page"]["stale"], true, "{body}");
    assert_eq!(body["components"][0]["status"], "operational");
    // The page has its own cache entry, which may have been rendered just before the cut and
    // lives its few seconds: the first page made without the database must say how old it is.
    let html = eventually(20, "a page that says how old it is", || async {
        let page = app.get("/").await;
        let status = page.status().as_u16();
        let html = page.text().await.unwrap_or_default();
        (status == 200 && html.contains("data-testid=\"stale\""))
            .then(|| html.clone())
            .ok_or(status)
    })
    .await;
    assert!(
        html.contains("As of "),
        "the page names the time it is as of"
    );
    let badge = app.get("/badge/site.svg").await;
    assert_eq!(badge.status(), 200);
    assert!(badge.headers().get("x-vigil-as-of").is_some());
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert!(ready.text().await.unwrap().starts_with("degraded"));
    assert_eq!(app.get("/healthz").await.status(), 200);

    let restored_at = Utc::now();
    app.restore_database().await;

    // The checks made while the database was away are written once it is back.
    let during: i64 = eventually(30, "the buffered results are written", || async {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM check_results WHERE at > $1 AND at < $2")
                .bind(cut_at)
                .bind(restored_at)
                .fetch_one(&app.pool)
                .await
                .ok()?;
        (n >= 3).then_some(n)
    })
    .await;
    assert!(
        during >= 3,
        "{during} results from a 5 s outage at a 1 s interval"
    );
    // And the page is current again, without restarting anything.
    eventually(20, "the page is current again", || async {
        let (status, marked, body) = summary().await;
        (status == 200 && !marked && body?["page"].get("stale").is_none()).then_some(())
    })
    .await;
    assert_eq!(app.get("/readyz").await.text().await.unwrap(), "ready\n");
}
