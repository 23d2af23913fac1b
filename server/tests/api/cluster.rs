//! The whole arrangement as an operator runs it, all on 127.0.0.1: a private PostgreSQL
//! (`vigil db start`), three `vigil serve` replicas and two `vigil agent`s in other "regions".
//! One replica and one agent are killed with SIGKILL, then PostgreSQL is stopped for 30 seconds
//! and started again. Throughout, no monitor goes unprobed for two intervals, the public JSON
//! answers (with its age while the database is away), the results taken during the outage are
//! written afterwards, and no notification reaches the channel twice.

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use vigil_sim::webhooks::WebhookSim;

use crate::common::{self, eventually, Target};

const INTERVAL: u64 = 2;
/// The cluster's lease (`[cluster] lease_secs`): a replica that dies holds its work this long.
const LEASE: u64 = 2;
const MONITORS: i64 = 3;

/// A child process killed with SIGKILL when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn vigil(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("VIGIL_CONFIG")
        .env("VIGIL_DATABASE__DATA_DIR", dir.join("pg"))
        .env("VIGIL_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn db(dir: &Path, action: &str) -> String {
    let out = vigil(dir)
        .args(["db", action])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "db {action}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn json(url: &str) -> Option<(bool, Value)> {
    let r = reqwest::get(url).await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    let stale = r.headers().get("x-vigil-as-of").is_some();
    Some((stale, r.json().await.ok()?))
}

/// Each monitor's longest stretch without a check from this server (region `local`) since `from`.
async fn longest_gap(pool: &sqlx::PgPool, from: DateTime<Utc>) -> f64 {
    sqlx::query_scalar(
        "SELECT COALESCE(max(EXTRACT(EPOCH FROM gap)), 0)::float8 FROM ( \
           SELECT at - lag(at) OVER (PARTITION BY monitor_id ORDER BY at) AS gap \
           FROM check_results WHERE region = 'local' AND at > $1) g",
    )
    .bind(from)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn three_replicas_and_two_agents_survive_a_kill_and_a_database_outage() {
    let _load = common::Busy::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = dir.path();
    let url = db(dir, "start");
    let target = Target::start().await;
    let hooks = WebhookSim::new();
    let hook = hooks.serve().await.unwrap();
    let mut config = format!(
        "[probes]\nmin_interval_secs = 1\n\n[cluster]\nlease_secs = {LEASE}\n\n\
         [[notify]]\nname = \"ops\"\nkind = \"discord\"\nurl = \"{hook}/api/webhooks/1/s\"\nevents = [\"incident.*\"]\n\n\
         [[component]]\nid = \"site\"\nname = \"Website\"\n\n"
    );
    for m in 0..MONITORS {
        config.push_str(&format!(
            "[[monitor]]\nname = \"m{m}\"\ncomponent = \"site\"\nkind = \"http\"\nurl = \"http://{}/\"\n\
             interval_secs = {INTERVAL}\ntimeout_ms = 1000\nregions = [\"local\", \"east\", \"west\"]\nquorum = 2\n\n",
            target.addr
        ));
    }
    std::fs::write(dir.join("vigil.toml"), config).unwrap();
    let replica = |name: &str, port: u16| {
        Proc(
            vigil(dir)
                .args(["--config", "vigil.toml", "serve"])
                .env("DATABASE_URL", &url)
                .env("VIGIL_SERVER__ADDR", format!("127.0.0.1:{port}"))
                .env("VIGIL_CLUSTER__REPLICA_NAME", name)
                .spawn()
                .unwrap(),
        )
    };
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut replicas: Vec<Option<Proc>> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| Some(replica(&format!("r{i}"), *p)))
        .collect();
    for p in &ports {
        eventually(60, "a replica is ready", || async {
            let r = reqwest::get(format!("http://127.0.0.1:{p}/readyz"))
                .await
                .ok()?;
            r.status().is_success().then_some(())
        })
        .await;
    }
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let token = |scope: &str, region: Option<&str>| {
        let out = vigil(dir)
            .args([
                "token",
                "create",
                "--name",
                &format!("t-{scope}-{}", region.unwrap_or("any")),
                "--scope",
                scope,
            ])
            .args(region.map(|r| ["--region", r]).into_iter().flatten())
            .env("DATABASE_URL", &url)
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let writer = token("incidents:write", None);
    // The replica that will be killed runs the probes; the agents report to the other two.
    let holder: String = eventually(15, "a replica holds the probes", || async {
        sqlx::query_scalar("SELECT holder FROM leases WHERE name = 'probes'")
            .fetch_one(&pool)
            .await
            .ok()
    })
    .await;
    let killed: usize = holder[1..].parse().unwrap();
    let (survivor, other) = (ports[(killed + 1) % 3], ports[(killed + 2) % 3]);
    let agent = |region: &str, port: u16| {
        Proc(
            vigil(dir)
                .args(["agent", "--server", &format!("http://127.0.0.1:{port}")])
                .args([
                    "--region",
                    region,
                    "--push-ms",
                    "300",
                    "--refresh-secs",
                    "2",
                ])
                .env("VIGIL_AGENT_TOKEN", token("agent", Some(region)))
                .spawn()
                .unwrap(),
        )
    };
    let _east = agent("east", survivor);
    let west = agent("west", other);
    eventually(30, "both agents report", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT region) FROM check_results WHERE region IN ('east', 'west')",
        )
        .fetch_one(&pool)
        .await
        .ok()?;
        (n == 2).then_some(())
    })
    .await;
    let client = reqwest::Client::new();
    let created = client
        .post(format!("http://127.0.0.1:{other}/api/v1/incidents"))
        .bearer_auth(&writer)
        .json(&json!({ "name": "Drill", "component_ids": ["site"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let incident = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();

    // SIGKILL: the replica running the probes, and one agent.
    let killed_at = Utc::now();
    drop(replicas[killed].take());
    drop(west);
    eventually(15, "a survivor takes the probes", || async {
        let h: String = sqlx::query_scalar(
            "SELECT holder FROM leases WHERE name = 'probes' AND expires_at > now()",
        )
        .fetch_one(&pool)
        .await
        .ok()?;
        (h != holder).then_some(())
    })
    .await;
    // Every monitor checked twice by the new holder: the gap around the takeover is closed.
    let taken_at = Utc::now();
    eventually(
        15,
        "two checks of every monitor after the takeover",
        || async {
            let checked: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM (SELECT monitor_id FROM check_results \
               WHERE region = 'local' AND at > $1 GROUP BY monitor_id HAVING count(*) >= 2) m",
            )
            .bind(taken_at)
            .fetch_one(&pool)
            .await
            .unwrap();
            (checked == MONITORS).then_some(()).ok_or(checked)
        },
    )
    .await;
    let bound = common::takeover_bound(INTERVAL, LEASE);
    let gap = longest_gap(&pool, killed_at - chrono::Duration::seconds(10)).await;
    assert!(
        gap < bound,
        "a monitor went {gap:.1} s unprobed after the kill (interval {INTERVAL} s, lease {LEASE} s: at most {bound:.1} s)"
    );
    // Still up: this server and east see the target up; west is gone (it counts for nothing).
    let states: Vec<String> = sqlx::query_scalar("SELECT status FROM monitor_state")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(states, ["up", "up", "up"]);
    drop(pool);

    // PostgreSQL stops for 30 s.
    db(dir, "stop");
    let stopped_at = Utc::now();
    let summary_url = format!("http://127.0.0.1:{survivor}/api/v2/summary.json");
    for second in 0..30 {
        let answer = json(&summary_url).await;
        let (stale, body) =
            answer.unwrap_or_else(|| panic!("no answer {second} s into the outage"));
        if second >= 7 {
            assert!(stale, "no age {second} s into the outage");
            assert_eq!(body["page"]["stale"], true);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let restarted_at = Utc::now();
    assert_eq!(db(dir, "start"), url);
    let pool = sqlx::PgPool::connect(&url).await.unwrap();

    // What was checked while it was away is written, by this server and by the agent.
    for region in ["local", "east"] {
        eventually(60, "the outage's results are written", || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM check_results WHERE region = $1 AND at > $2 AND at < $3",
            )
            .bind(region)
            .bind(stopped_at)
            .bind(restarted_at)
            .fetch_one(&pool)
            .await
            .map_err(|e| format!("{region}: {e}"))?;
            // 3 monitors every 2 s for 30 s: 45 checks; allow for the first and last seconds.
            (n >= 30)
                .then_some(())
                .ok_or(format!("{region}: {n} results from the outage"))
        })
        .await;
    }
    eventually(30, "the page is current again", || async {
        let (stale, _) = json(&summary_url).await?;
        (!stale).then_some(())
    })
    .await;

    // Each notification reached the channel once.
    let resolved = client
        .post(format!(
            "http://127.0.0.1:{survivor}/api/v1/incidents/{incident}/updates"
        ))
        .bearer_auth(&writer)
        .json(&json!({ "body": "Over.", "status": "resolved" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 201);
    let delivered: i64 = eventually(30, "the notifications are delivered", || async {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM notifications WHERE delivered_at IS NOT NULL")
                .fetch_one(&pool)
                .await
                .ok()?;
        (n >= 2).then_some(n)
    })
    .await;
    let mut ids: Vec<String> = hooks
        .received()
        .into_iter()
        .filter_map(|r| r.delivery)
        .collect();
    let received = ids.len();
    ids.sort();
    ids.dedup();
    // At least once: every notification recorded as delivered arrived. A message is repeated only
    // when its sender dies between sending and recording it, so at most once per interruption
    // this test makes (the kill, the database outage).
    assert_eq!(ids.len() as i64, delivered);
    assert!(
        received - ids.len() <= 2,
        "{received} arrivals of {} notifications: more repeats than interruptions",
        ids.len()
    );

    drop(replicas);
    db(dir, "stop");
}
