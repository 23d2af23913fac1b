//! Probe agents: a real `vigil agent` loop fetching its region's monitors, probing a real target
//! and pushing results (buffered through an outage of the server's database), and the quorum
//! rule — one region of three seeing a target down pages nobody, two do.

use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use vigil_core::model::auth::Scope;
use vigil_server::cli::AgentArgs;

use crate::common::{
    access::{create_agent_token, create_token},
    eventually, site_monitor, spawn_app_with_toml, Target, TestApp,
};

fn toml(addr: std::net::SocketAddr, regions: &str, quorum: u32) -> String {
    site_monitor(
        addr,
        1,
        &format!("regions = {regions}\nquorum = {quorum}"),
        "",
    )
}

fn agent(
    app: &TestApp,
    token: &str,
    region: &str,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let args = AgentArgs {
        server: app.base.clone(),
        token: token.to_string(),
        region: region.to_string(),
        buffer: 1_000,
        push_ms: 200,
        refresh_secs: 1,
    };
    let running = tokio::spawn({
        let stop = stop.clone();
        async move { vigil_server::agent::run(args, stop).await.unwrap() }
    });
    (stop, running)
}

async fn region_results(app: &TestApp, region: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM check_results WHERE region = $1")
        .bind(region)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_agent_probes_its_region_and_buffers_while_the_server_cannot_store() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&toml(target.addr, r#"["eu-west"]"#, 1)).await;
    let (_, token) = create_agent_token(&app, "eu-west").await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;

    // A token without scope `agent` gets nothing.
    let refused = app
        .get_with_token("/api/v1/agent/monitors?region=eu-west", &reader)
        .await;
    assert_eq!(refused.status(), 403);
    let assigned = app
        .get_json("/api/v1/agent/monitors?region=eu-west", &token)
        .await;
    assert_eq!(
        assigned["monitors"][0]["spec"]["name"], "site-home",
        "{assigned}"
    );
    // Another region's monitors are not this token's to ask for.
    let elsewhere = app
        .get_with_token("/api/v1/agent/monitors?region=us-east", &token)
        .await;
    assert_eq!(elsewhere.status(), 403);
    let said = elsewhere.text().await.unwrap();
    assert!(said.contains("speaks for `eu-west` only"), "{said}");

    let (stop, running) = agent(&app, &token, "eu-west");
    eventually(20, "the agent's results arrive", || async {
        (region_results(&app, "eu-west").await >= 3).then_some(())
    })
    .await;
    // The server itself does not check a monitor that only lists an agent's region.
    assert_eq!(region_results(&app, "local").await, 0);
    eventually(10, "the monitor is up from eu-west", || async {
        let body: Value = app.get("/api/v2/summary.json").await.json().await.ok()?;
        (body["components"][0]["status"] == "operational").then_some(())
    })
    .await;
    let sources = app.get_json("/api/v1/sources", &reader).await.to_string();
    assert!(sources.contains("agent:eu-west"), "{sources}");

    // The server cannot store results for a while: the agent keeps them and sends them later.
    app.cut_database().await;
    let cut_at = Utc::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restored_at = Utc::now();
    app.restore_database().await;
    eventually(30, "the results taken during the outage arrive", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM check_results WHERE region = 'eu-west' AND at > $1 AND at < $2",
        )
        .bind(cut_at)
        .bind(restored_at)
        .fetch_one(&app.pool)
        .await
        .ok()?;
        (n >= 2).then_some(())
    })
    .await;
    stop.cancel();
    running.await.unwrap();
}

/// Pushes `n` results of one kind for `region`, as an agent would.
async fn observe(app: &TestApp, token: &str, monitor: i64, region: &str, up: bool, n: usize) {
    push(&app.client, &app.base, token, monitor, region, up, n).await
}

async fn push(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    monitor: i64,
    region: &str,
    up: bool,
    n: usize,
) {
    let results: Vec<Value> = (0..n)
        .map(|i| {
            let at = Utc::now() - chrono::Duration::milliseconds((n - i) as i64 * 10);
            if up {
                json!({ "monitor_id": monitor, "result": { "at": at, "outcome": "ok",
                        "latency": { "secs": 0, "nanos": 5_000_000 }, "error": null } })
            } else {
                json!({ "monitor_id": monitor, "result": { "at": at, "outcome": "failed",
                        "latency": { "secs": 0, "nanos": 5_000_000 },
                        "error": ["connect", "connection refused"] } })
            }
        })
        .collect();
    let resp = client
        .post(format!("{base}/api/v1/agent/results"))
        .bearer_auth(token)
        .json(&json!({ "region": region, "results": results }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
}

async fn went_down(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE kind = 'monitor.state' AND payload->>'to' = 'down'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn one_region_of_three_seeing_a_target_down_pages_nobody_two_do() {
    let target = Target::start().await;
    let app =
        spawn_app_with_toml(&toml(target.addr, r#"["local", "eu-west", "us-east"]"#, 2)).await;
    let (_, eu) = create_agent_token(&app, "eu-west").await;
    let (_, us) = create_agent_token(&app, "us-east").await;
    let monitor: i64 = sqlx::query_scalar("SELECT id FROM monitors WHERE name = 'site-home'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // This server sees the target up; so does us-east.
    eventually(15, "the server's own checks run", || async {
        (region_results(&app, "local").await >= 2).then_some(())
    })
    .await;
    observe(&app, &us, monitor, "us-east", true, 3).await;

    // eu-west alone sees it down, again and again: below the quorum of 2.
    for _ in 0..3 {
        observe(&app, &eu, monitor, "eu-west", false, 4).await;
    }
    // The server has weighed eu-west's verdict against the others' (it stores what each region
    // sees with the monitor's state, in the same write as any change of state it decided).
    eventually(15, "eu-west's verdict weighed", || async {
        let regions: Option<Value> =
            sqlx::query_scalar("SELECT regions FROM monitor_state WHERE monitor_id = $1")
                .bind(monitor)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        let regions = regions.unwrap_or_default();
        (regions["eu-west"] == "down" && regions["us-east"] == "up" && regions["local"] == "up")
            .then_some(())
            .ok_or(regions)
    })
    .await;
    assert_eq!(went_down(&app).await, 0, "one region of three paged");
    // Its failures were outvoted: the raw results keep all twelve, the rollups that uptime and
    // objectives count from hold none.
    let failures = || async {
        let (raw, rolled): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM check_results WHERE monitor_id = $1 AND region = 'eu-west' AND outcome = 2), \
                    (SELECT COALESCE(sum(failures), 0)::int8 FROM check_rollups WHERE monitor_id = $1 AND resolution = 'm')",
        )
        .bind(monitor)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (raw, rolled)
    };
    let (raw, rolled) = eventually(10, "eu-west's twelve failures stored", || async {
        let f = failures().await;
        (f.0 == 12).then_some(f).ok_or(f)
    })
    .await;
    assert_eq!((raw, rolled), (12, 0), "outvoted failures counted as bad");
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents WHERE resolved_at IS NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(open, 0, "one region of three opened an incident");
    let summary: Value = app.get("/api/v2/summary.json").await.json().await.unwrap();
    assert_eq!(summary["components"][0]["status"], "operational");

    // us-east sees it down too: two of three, and both keep reporting it (a region's verdict
    // counts while it is current).
    let reporting = tokio::spawn({
        let (client, base, eu, us) = (app.client.clone(), app.base.clone(), eu.clone(), us.clone());
        async move {
            loop {
                push(&client, &base, &eu, monitor, "eu-west", false, 4).await;
                push(&client, &base, &us, monitor, "us-east", false, 4).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
    eventually(10, "the monitor goes down", || async {
        (went_down(&app).await == 1).then_some(())
    })
    .await;
    // With its quorum, a region's failures count.
    eventually(10, "failures counted once two regions see them", || async {
        let f = failures().await;
        (f.1 > 0).then_some(()).ok_or(f)
    })
    .await;
    let cause: String = sqlx::query_scalar(
        "SELECT payload->>'cause' FROM events WHERE kind = 'monitor.state' AND payload->>'to' = 'down'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(cause, "down from 2 of 3 regions (eu-west, us-east)");
    eventually(15, "the status page says where from", || async {
        let html = app.get("/").await.text().await.ok()?;
        html.contains("Seen down from 2 of 3 regions: eu-west, us-east")
            .then_some(())
    })
    .await;
    eventually(10, "an incident opens", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents WHERE resolved_at IS NULL")
            .fetch_one(&app.pool)
            .await
            .ok()?;
        (n == 1).then_some(())
    })
    .await;
    reporting.abort();
}

#[tokio::test]
async fn an_agent_token_speaks_for_its_region_only_and_for_now_only() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&toml(target.addr, r#"["eu-west", "us-east"]"#, 1)).await;
    let monitor: i64 = sqlx::query_scalar("SELECT id FROM monitors WHERE name = 'site-home'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (_, eu) = create_agent_token(&app, "eu-west").await;
    let (_, unbound) = create_token(&app, &[Scope::Agent]).await;
    let failed = |at: chrono::DateTime<Utc>| {
        json!({ "monitor_id": monitor, "result": { "at": at, "outcome": "failed",
                "latency": { "secs": 0, "nanos": 5_000_000 }, "error": ["connect", "refused"] } })
    };
    let post = |token: String, body: Value| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/v1/agent/results"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };

    // An eu-west token cannot push for us-east, nor can a token bound to no region.
    for (token, region) in [(&eu, "us-east"), (&unbound, "eu-west")] {
        let r = post(
            token.clone(),
            json!({ "region": region, "results": [failed(Utc::now())] }),
        )
        .await;
        assert_eq!(r.status(), 403, "{region}");
        let text = r.text().await.unwrap();
        assert!(text.contains("region"), "{text}");
    }
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM agent_inbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(region_results(&app, "us-east").await + queued, 0);

    // Its own region, now: taken. Two hours ago, or a minute ahead: refused and counted.
    let now = Utc::now();
    let r = post(
        eu.clone(),
        json!({ "region": "eu-west", "results": [
            failed(now - chrono::Duration::hours(2)),
            failed(now + chrono::Duration::minutes(1)),
            failed(now),
        ] }),
    )
    .await;
    assert_eq!(r.status(), 202);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(answer["refused"], 2, "{answer}");
    eventually(10, "the one result in the window is recorded", || async {
        (region_results(&app, "eu-west").await == 1).then_some(())
    })
    .await;
    let backdated: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM check_results WHERE at < now() - interval '1 hour' OR at > now() + interval '10 seconds'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(backdated, 0);
}
