//! Several replicas on one database: the work that must run once (probes, collectors, the
//! incident engine, the outbox) runs on exactly one of them, a replica that leaves or is killed
//! has its work taken over, and writes made through one replica reach the others' pages.

use std::{collections::BTreeMap, process::Stdio, time::Duration};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use vigil_core::model::auth::Scope;

use crate::common::{
    self, access::create_token, config_from_toml, eventually, fresh_database, site_monitor,
    spawn_with, Target, TestApp,
};

fn toml(addr: std::net::SocketAddr, interval: u64, lease: u64) -> String {
    toml_with(addr, interval, lease, "")
}

fn toml_with(addr: std::net::SocketAddr, interval: u64, lease: u64, extra: &str) -> String {
    site_monitor(
        addr,
        interval,
        "",
        &format!("{extra}\n[cluster]\nlease_secs = {lease}\n"),
    )
}

/// Who holds each live lease.
async fn holders(pool: &sqlx::PgPool) -> BTreeMap<String, String> {
    sqlx::query_as::<_, (String, String)>(
        "SELECT name, holder FROM leases WHERE expires_at > now()",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// When the monitor was checked, oldest first.
async fn checks(pool: &sqlx::PgPool) -> Vec<DateTime<Utc>> {
    sqlx::query_scalar("SELECT at FROM check_results ORDER BY at")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// The replica that answers `app`'s requests.
async fn answered_by(app: &TestApp, token: &str) -> String {
    app.get_json("/api/v1/replicas", token).await["answered_by"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn two_replicas_run_the_work_once_and_hand_it_over() {
    let _load = common::Busy::start();
    let target = Target::start().await;
    let discord = vigil_sim::webhooks::WebhookSim::new();
    let hook = discord.serve().await.unwrap();
    let channel = format!(
        "[[notify]]\nname = \"ops\"\nkind = \"discord\"\nurl = \"{hook}/api/webhooks/1/secret\"\nevents = [\"incident.*\"]\n"
    );
    let text = toml_with(target.addr, 1, 2, &channel);
    let (db, url) = fresh_database().await;
    let a = spawn_with(config_from_toml(&text, &url), db.clone()).await;
    let b = spawn_with(config_from_toml(&text, &url), db.clone()).await;
    let (_, token) = create_token(&a, &[Scope::Read, Scope::IncidentsWrite]).await;

    // Every lease is held, each by one replica, and both replicas are listed.
    let leases = eventually(10, "every lease held", || async {
        let h = holders(&a.pool).await;
        (h.len() == 8).then_some(h)
    })
    .await;
    assert_eq!(
        leases.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "components",
            "incidents",
            "objectives",
            "outbox:channels",
            "outbox:confirmations",
            "outbox:subscribers",
            "probes",
            "resources"
        ]
    );
    let listed = a.get_json("/api/v1/replicas", &token).await;
    let replicas = listed["replicas"].as_array().unwrap();
    assert_eq!(replicas.len(), 2, "{listed}");
    let held: usize = replicas
        .iter()
        .map(|r| r["leases"].as_array().unwrap().len())
        .sum();
    assert_eq!(held, 8, "each lease once: {listed}");

    // The monitor is probed once per interval, not once per replica.
    let before = checks(&a.pool).await.len();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = checks(&a.pool).await.len() - before;
    assert!(
        (3..=7).contains(&during),
        "{during} checks in 5 s at a 1 s interval"
    );

    // A write through one replica reaches the other's public JSON (LISTEN/NOTIFY).
    let created = a
        .client
        .post(a.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Replicated", "component_ids": ["site"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created_id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    eventually(10, "the other replica shows the incident", || async {
        let body: Value = b
            .get("/api/v2/incidents/unresolved.json")
            .await
            .json()
            .await
            .ok()?;
        (body["incidents"][0]["name"] == "Replicated").then_some(())
    })
    .await;

    // The replica holding the probes leaves cleanly: the other takes them at once.
    let a_id = answered_by(&a, &token).await;
    let (mut leaving, staying) = if leases["probes"] == a_id {
        (a, b)
    } else {
        (b, a)
    };
    let gone = answered_by(&leaving, &token).await;
    leaving.shutdown().await.unwrap();
    let took_over = eventually(8, "the other replica takes every lease", || async {
        let h = holders(&staying.pool).await;
        (h.len() == 8 && !h.values().any(|r| *r == gone)).then_some(h)
    })
    .await;
    assert!(took_over.values().all(|r| *r != gone));
    let after = checks(&staying.pool).await.len();
    eventually(5, "probing goes on", || async {
        (checks(&staying.pool).await.len() > after).then_some(())
    })
    .await;

    // Every notification reached the channel once, whichever replica delivered it, across the
    // handover.
    let id = created_id;
    let update = staying
        .client
        .post(staying.url(&format!("/api/v1/incidents/{id}/updates")))
        .bearer_auth(&token)
        .json(&json!({ "body": "Handed over.", "status": "resolved" }))
        .send()
        .await
        .unwrap();
    assert_eq!(update.status(), 201);
    let delivered: i64 = eventually(15, "both notifications delivered", || async {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM notifications WHERE delivered_at IS NOT NULL")
                .fetch_one(&staying.pool)
                .await
                .ok()?;
        (n >= 2).then_some(n)
    })
    .await;
    let received = discord.received();
    let mut ids: Vec<String> = received.iter().filter_map(|r| r.delivery.clone()).collect();
    assert_eq!(ids.len() as i64, delivered, "{received:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len() as i64,
        delivered,
        "a notification was delivered twice"
    );
}

/// A replica killed with SIGKILL releases nothing: its leases expire and the survivor takes the
/// probes over within two monitor intervals.
#[tokio::test]
async fn a_killed_replica_s_probes_are_taken_over_within_an_interval_and_a_lease() {
    let _load = common::Busy::start();
    let target = Target::start().await;
    let (_db, url) = fresh_database().await;
    let (interval, lease) = (4u64, 3u64);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigil.toml");
    std::fs::write(&config, toml(target.addr, interval, lease)).unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let start = |name: &str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["--config", config.to_str().unwrap(), "serve"])
            .env("VIGIL_DATABASE__URL", &url)
            .env("VIGIL_SERVER__ADDR", "127.0.0.1:0")
            .env("VIGIL_CLUSTER__REPLICA_NAME", name)
            .env("VIGIL_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("vigil starts")
    };
    let mut first = start("first");
    let holder = eventually(20, "the first replica holds the probes", || async {
        holders(&pool).await.get("probes").cloned()
    })
    .await;
    assert_eq!(holder, "first");
    let mut second = start("second");
    eventually(20, "the second replica is up", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM replicas WHERE id = 'second'")
            .fetch_one(&pool)
            .await
            .ok()?;
        (n == 1).then_some(())
    })
    .await;
    eventually(20, "the first replica probes", || async {
        (!checks(&pool).await.is_empty()).then_some(())
    })
    .await;

    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let killed_at = Utc::now();
    let holder = eventually(15, "the survivor holds the probes", || async {
        holders(&pool)
            .await
            .get("probes")
            .filter(|h| *h == "second")
            .cloned()
    })
    .await;
    assert_eq!(holder, "second");
    eventually(3 * interval, "the survivor probes", || async {
        checks(&pool)
            .await
            .last()
            .filter(|at| **at > killed_at)
            .map(|_| ())
    })
    .await;
    // No gap between two checks longer than the takeover allows, across the kill.
    let at = checks(&pool).await;
    let longest = at
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds())
        .max()
        .unwrap();
    let bound = common::takeover_bound(interval, lease);
    assert!(
        longest as f64 <= bound * 1000.0,
        "the monitor went {longest} ms unprobed (interval {interval} s, lease {lease} s: at most {bound:.1} s)"
    );
    second.start_kill().unwrap();
    second.wait().await.unwrap();
}
