//! Objectives end to end: budgets and burn rates from the check rollups, burn-rate alerts that
//! fire and clear once each through a real channel, and objectives written through the API
//! like any object of the world. Time is compressed through the store: the rollups of days are
//! written directly, then rewritten as if the failing minutes had moved hours into the past.

use serde_json::{json, Value};
use vigil_core::model::auth::Scope;
use vigil_sim::webhooks::WebhookSim;

use crate::common::{access::create_token, eventually, send, spawn_app_with_toml, Target, TestApp};

fn world(targets: &[Target], hooks: &str) -> String {
    let mut toml = format!(
        "[probes]\nmin_interval_secs = 1\n\n[slo]\nevaluate_every_secs = 1\n\n\
         [incidents]\nautomatic = false\n\n\
         [[notify]]\nname = \"sre\"\nkind = \"webhook\"\nurl = \"{hooks}/hook/sre\"\nevents = [\"slo.*\"]\n\n"
    );
    for (id, t) in ["site", "vault"].iter().zip(targets) {
        // One check at start, then none for an hour: the rollups the test writes are the data.
        toml.push_str(&format!(
            "[[component]]\nid = \"{id}\"\nname = \"{id}\"\n\n\
             [[monitor]]\nname = \"{id}-http\"\ncomponent = \"{id}\"\nkind = \"http\"\nurl = \"http://{}/\"\ninterval_secs = 3600\n\n\
             [[objective]]\nid = \"{id}-availability\"\nname = \"{id} availability\"\ncomponent = \"{id}\"\ntarget = 99.9\nwindow = \"30d\"\n\n",
            t.addr
        ));
    }
    toml
}

async fn monitor_id(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM monitors WHERE name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Thirty days of hourly rollups (a real check of the monitor, healthy, may add one good check
/// to the minute it runs in: the figures below allow for it) and four days of minute rollups, `per_minute` checks a minute,
/// none failing.
async fn history(app: &TestApp, monitor: i64, per_minute: i32) {
    for (resolution, step, span, checks) in [
        ("m", "1 minute", "4 days", per_minute),
        ("h", "1 hour", "30 days", per_minute * 60),
    ] {
        sqlx::query(&format!(
            "INSERT INTO check_rollups (monitor_id, resolution, bucket, checks, failures, degraded, latency_sum, latency_max) \
             SELECT $1, '{resolution}', b, $2, 0, 0, 50.0 * $2, 50 \
             FROM generate_series(date_trunc('{}', now()) - interval '{span}', date_trunc('{}', now()), interval '{step}') b \
             ON CONFLICT (monitor_id, resolution, bucket) DO UPDATE SET checks = EXCLUDED.checks, failures = 0",
            if resolution == "m" { "minute" } else { "hour" },
            if resolution == "m" { "minute" } else { "hour" },
        ))
        .bind(monitor)
        .bind(checks)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    days_from_hours(app, monitor).await;
}

/// `monitor`'s daily rollups made to agree with its hourly ones, as the probes write them:
/// windows count whole days from the daily rollups.
async fn days_from_hours(app: &TestApp, monitor: i64) {
    sqlx::query(
        "INSERT INTO check_rollups (monitor_id, resolution, bucket, checks, failures, degraded, latency_sum, latency_max) \
         SELECT monitor_id, 'd', date_trunc('day', bucket), sum(checks), sum(failures), sum(degraded), \
           sum(latency_sum), max(latency_max) \
         FROM check_rollups WHERE monitor_id = $1 AND resolution = 'h' GROUP BY 1, 3 \
         ON CONFLICT (monitor_id, resolution, bucket) DO UPDATE \
           SET checks = EXCLUDED.checks, failures = EXCLUDED.failures",
    )
    .bind(monitor)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Sets the failures of `monitor`'s minute rollups between `from` and `to` ago (SQL intervals),
/// and the hours and days they fall in to agree, as the probes write all three: alert windows
/// count whole hours from the hourly rollups, objective windows whole days.
async fn fail_minutes(app: &TestApp, monitor: i64, from: &str, to: &str, failures: &str) {
    sqlx::query(&format!(
        "UPDATE check_rollups SET failures = {failures} WHERE monitor_id = $1 AND resolution = 'm' \
         AND bucket > now() - interval '{from}' AND bucket <= now() - interval '{to}'"
    ))
    .bind(monitor)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(&format!(
        "UPDATE check_rollups h SET checks = m.checks, failures = m.failures \
         FROM (SELECT date_trunc('hour', bucket) AS hour, sum(checks)::int AS checks, \
                 sum(failures)::int AS failures FROM check_rollups \
               WHERE monitor_id = $1 AND resolution = 'm' \
                 AND bucket >= date_trunc('hour', now() - interval '{from}') GROUP BY 1) m \
         WHERE h.monitor_id = $1 AND h.resolution = 'h' AND h.bucket = m.hour"
    ))
    .bind(monitor)
    .execute(&app.pool)
    .await
    .unwrap();
    days_from_hours(app, monitor).await;
}

/// A completed maintenance of `component`, planned over `planned` and begun on time, resolved
/// at `resolved` (SQL expressions each).
async fn maintenance(
    app: &TestApp,
    component: &str,
    name: &str,
    planned: (&str, &str),
    resolved: &str,
) {
    let (from, until) = planned;
    let id: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO incidents (kind, name, status, impact, started_at, resolved_at, \
           scheduled_for, scheduled_until, created_by) \
         VALUES ('maintenance', $1, 'completed', 'maintenance', {from}, {resolved}, {from}, {until}, 'test') \
         RETURNING id"
    ))
    .bind(name)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO incident_components (incident_id, component_id, status) \
         VALUES ($1, $2, 'under_maintenance')",
    )
    .bind(id)
    .bind(component)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// The file's two monitors are in the database (the world is applied as the app starts).
async fn monitors_written(app: &TestApp) {
    eventually(20, "the file's monitors written", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM monitors")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        (n == 2).then_some(()).ok_or(n)
    })
    .await;
}

/// Objective `id` in a `GET /api/v1/slos` answer.
fn slo(slos: &Value, id: &str) -> Value {
    slos["slos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {slos}"))
        .clone()
}

/// The `slo.burn` deliveries so far: (objective, rule, firing).
fn burns(hooks: &WebhookSim) -> Vec<(String, String, bool)> {
    hooks
        .received()
        .iter()
        .filter(|r| r.body["kind"] == "slo.burn")
        .map(|r| {
            let p = &r.body["payload"];
            (
                p["objective"].as_str().unwrap().to_string(),
                p["rule"].as_str().unwrap().to_string(),
                p["firing"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn said(objective: &str, rule: &str, firing: bool) -> (String, String, bool) {
    (objective.into(), rule.into(), firing)
}

#[tokio::test]
async fn a_fast_burn_pages_a_slow_burn_does_not_and_each_alert_is_said_once() {
    let targets = [Target::start().await, Target::start().await];
    let hooks = WebhookSim::new();
    let base = hooks.serve().await.unwrap();
    let app = spawn_app_with_toml(&world(&targets, &base)).await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    monitors_written(&app).await;
    let (site, vault) = (
        monitor_id(&app, "site-http").await,
        monitor_id(&app, "vault-http").await,
    );

    // site: one check a minute, every one failing for the last ten minutes.
    history(&app, site, 1).await;
    fail_minutes(&app, site, "10 minutes", "0 minutes", "checks").await;
    // vault: 125 checks a minute, one failing in each of the last twelve hours' minutes: 0.8 %,
    // 8x a 99.9 % budget, everywhere in the short windows.
    history(&app, vault, 125).await;
    fail_minutes(&app, vault, "12 hours", "0 minutes", "1").await;

    let fast = ["14.4x-1h-5m", "6x-6h-30m", "1x-3d-6h"];
    eventually(
        30,
        "the fast burn's three alerts and the slow burn's two",
        || async {
            let b = burns(&hooks);
            let all = fast
                .iter()
                .all(|r| b.contains(&said("site-availability", r, true)))
                && b.contains(&said("vault-availability", "6x-6h-30m", true))
                && b.contains(&said("vault-availability", "1x-3d-6h", true));
            let states: Vec<(String, String, bool)> = sqlx::query_as(
                "SELECT objective_id, rule, firing FROM objective_alerts ORDER BY 1, 2",
            )
            .fetch_all(&app.pool)
            .await
            .unwrap();
            all.then_some(())
                .ok_or(format!("delivered {b:?}; stored {states:?}"))
        },
    )
    .await;
    // Judged in the same pass as vault's other two rules: the fast rule stays quiet at 8x.
    assert!(
        !burns(&hooks)
            .iter()
            .any(|(o, r, _)| o == "vault-availability" && r == "14.4x-1h-5m"),
        "{:?}",
        burns(&hooks)
    );

    // The figures behind them, as the API gives them.
    let slos = app.get_json("/api/v1/slos", &reader).await;
    let one = |id: &str| slo(&slos, id);
    let s = one("site-availability");
    assert_eq!(s["bad"], 10, "{s}");
    let total = s["total"].as_f64().unwrap();
    assert!(total > 43_000.0, "thirty days of checks: {s}");
    let spent = s["spent"].as_f64().unwrap();
    assert!((spent - 10.0 / (total * 0.001)).abs() < 1e-9, "{s}");
    assert_eq!(s["maintenance_excluded"], true);
    let rule = |s: &Value, id: &str| {
        s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()
            .clone()
    };
    // Ten failing checks of sixty: (10/60) / 0.001; of 59 when a minute turned since the
    // rollups were written (the newest has none yet), of 61 when a real check ran.
    let long = rule(&s, "14.4x-1h-5m")["long_rate"].as_f64().unwrap();
    let of = |checks: f64| 10.0 / checks / 0.001;
    assert!(
        long >= of(61.0) - 1e-6 && long <= of(59.0) + 1e-6,
        "{long}: {s}"
    );
    assert_eq!(rule(&s, "14.4x-1h-5m")["firing"], true);
    let v = one("vault-availability");
    let rate = rule(&v, "14.4x-1h-5m")["long_rate"].as_f64().unwrap();
    assert!((rate - 8.0).abs() < 0.01, "0.8 % of a 0.1 % budget: {v}");
    assert_eq!(rule(&v, "14.4x-1h-5m")["firing"], false);
    let exhausted = v["exhausted_in_secs"].as_i64().unwrap();
    assert!(exhausted > 0, "burning at 8x, the budget runs out: {v}");

    // The post-mortem of the outage states what it cost: ten failed checks of a budget of
    // 0.1 % of thirty days of checks (43.2).
    let (_, writer) = create_token(
        &app,
        &[Scope::IncidentsWrite, Scope::PostmortemsWrite, Scope::Read],
    )
    .await;
    let (status, created) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/incidents",
        &writer,
        Some(
            json!({ "name": "site is down", "status": "investigating", "impact": "major",
                     "body": "Looking.", "component_ids": ["site"] }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let incident = created["id"].as_i64().unwrap();
    sqlx::query("UPDATE incidents SET started_at = now() - interval '12 minutes' WHERE id = $1")
        .bind(incident)
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, draft) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/incidents/{incident}/postmortem"),
        &writer,
        None,
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    let body = draft["body"].as_str().unwrap();
    let impact = &body[body.find("## Impact").unwrap()..body.find("## Detection").unwrap()];
    assert!(
        impact.contains(
            "- site availability (99.9 % over 30d): this incident used 23 % of the error budget (10 failed checks)"
        ),
        "{impact}"
    );
    assert!(
        !impact.contains("vault"),
        "vault was not affected: {impact}"
    );

    // Seven hours later (the failing minutes moved back): the short windows see none, so the
    // page rules clear; the ticket rule's three days still burn while its six hours do not, so
    // it stays as it is.
    fail_minutes(&app, site, "10 minutes", "0 minutes", "0").await;
    fail_minutes(&app, site, "430 minutes", "420 minutes", "checks").await;
    eventually(30, "the page rules cleared", || async {
        let b = burns(&hooks);
        let cleared = b.contains(&said("site-availability", "14.4x-1h-5m", false))
            && b.contains(&said("site-availability", "6x-6h-30m", false));
        cleared.then_some(()).ok_or(format!("{b:?}"))
    })
    .await;
    let b = burns(&hooks);
    for r in fast {
        let n = b
            .iter()
            .filter(|x| **x == said("site-availability", r, true))
            .count();
        assert_eq!(n, 1, "{r} fired once, judged every second: {b:?}");
    }
    assert!(
        !b.contains(&said("site-availability", "1x-3d-6h", false)),
        "one window still burns: {b:?}"
    );
    let after = app
        .get_json("/api/v1/slos/site-availability", &reader)
        .await;
    assert_eq!(rule(&after, "1x-3d-6h")["firing"], true, "{after}");
    assert_eq!(rule(&after, "14.4x-1h-5m")["firing"], false, "{after}");
}

#[tokio::test]
async fn objectives_are_written_like_the_rest_of_the_world_and_checked_whole() {
    let targets = [Target::start().await, Target::start().await];
    let hooks = WebhookSim::new();
    let base = hooks.serve().await.unwrap();
    let app = spawn_app_with_toml(&format!(
        "[world]\nmanaged_by = \"database\"\n\n{}",
        world(&targets, &base)
    ))
    .await;
    let (_, writer) = create_token(&app, &[Scope::Read, Scope::ConfigWrite]).await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;

    // Every problem at once, each naming its field.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/objectives",
        &writer,
        Some(
            json!({ "id": "Bad Id", "name": "", "component": "nowhere", "target": 100,
                     "window": "30d" }),
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let keys: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "objective `Bad Id`: id",
            "objective `Bad Id`: name",
            "objective `Bad Id`: target",
            "objective `Bad Id`: component"
        ],
        "{body}"
    );
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/objectives",
        &writer,
        Some(json!({ "id": "grafana", "name": "Grafana", "component": "grafana", "target": 99 })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("there is no component `grafana`"),
        "{body}"
    );
    // Reading is not writing.
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/objectives",
        &reader,
        Some(json!({ "id": "x", "name": "x", "component": "site", "target": 99 })),
    )
    .await;
    assert_eq!(status, 403);

    // A calendar-month objective on one monitor, with one rule of its own: live at once.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/objectives",
        &writer,
        Some(json!({ "id": "vault-month", "name": "Vault this month", "monitor": "vault-http",
                     "target": 99.5, "window": "month", "maintenance": "included",
                     "alert": [{ "long": "2h", "short": "10m", "burn_rate": 10, "severity": "ticket" }] })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let got = eventually(10, "the new objective judged", || async {
        let v = app.get_json("/api/v1/slos/vault-month", &reader).await;
        (v["id"] == "vault-month").then_some(v.clone()).ok_or(v)
    })
    .await;
    assert_eq!(got["window"], "month");
    assert_eq!(got["monitor"], "vault-http");
    assert_eq!(got["maintenance_excluded"], false);
    assert_eq!(got["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(got["alerts"][0]["id"], "10x-2h-10m");
    // The world's export carries it, as the file would have it.
    let export = app.get_json("/api/v1/objectives", &reader).await;
    assert!(export.to_string().contains("vault-month"), "{export}");

    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/objectives/vault-month",
        &writer,
        None,
    )
    .await;
    assert_eq!(status, 204);
    eventually(10, "the objective gone", || async {
        let r = app
            .get_with_token("/api/v1/slos/vault-month", &reader)
            .await;
        (r.status() == 404).then_some(()).ok_or(r.status())
    })
    .await;
}

#[tokio::test]
async fn maintenance_is_left_out_of_a_budget_unless_the_objective_counts_it() {
    let targets = [Target::start().await, Target::start().await];
    let hooks = WebhookSim::new();
    let base = hooks.serve().await.unwrap();
    let toml = format!(
        "{}[[objective]]\nid = \"vault-counted\"\nname = \"vault, maintenance counted\"\n\
         component = \"vault\"\ntarget = 99.9\nwindow = \"30d\"\nmaintenance = \"included\"\n",
        world(&targets, &base)
    );
    let app = spawn_app_with_toml(&toml).await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    monitors_written(&app).await;
    let vault = monitor_id(&app, "vault-http").await;
    // Thirty checks fail during an upgrade announced as a maintenance; the hours agree.
    history(&app, vault, 1).await;
    fail_minutes(&app, vault, "150 minutes", "120 minutes", "checks").await;
    // Five more fail later, outside it (hours apart: never in an hour the maintenance touched;
    // on the same day, except just after midnight): left out with the maintenance, they would
    // be lost with its day.
    fail_minutes(&app, vault, "40 minutes", "35 minutes", "checks").await;
    maintenance(
        &app,
        "vault",
        "Vault upgrade",
        (
            "now() - interval '155 minutes'",
            "now() - interval '115 minutes'",
        ),
        "now() - interval '115 minutes'",
    )
    .await;
    // Another, planned for tomorrow and marked completed today: it ended before it began, and
    // leaves nothing out (it once made the whole judgement fail: a range cannot end before it
    // starts).
    maintenance(
        &app,
        "vault",
        "Vault disks",
        ("now() + interval '1 day'", "now() + interval '25 hours'"),
        "now() - interval '1 minute'",
    )
    .await;

    let slos = app.get_json("/api/v1/slos", &reader).await;
    let one = |id: &str| slo(&slos, id);
    let (left_out, counted) = (one("vault-availability"), one("vault-counted"));
    assert_eq!(left_out["maintenance_excluded"], true);
    assert_eq!(left_out["bad"], 5, "{left_out}");
    assert_eq!(counted["bad"], 35, "{counted}");
    // The hours the maintenance touched are not counted at all: its forty minutes lie in one
    // hour or across two.
    let missing = counted["total"].as_i64().unwrap() - left_out["total"].as_i64().unwrap();
    assert!(
        [60, 120].contains(&missing),
        "{missing}: {left_out} {counted}"
    );
    let ticket = |s: &Value| {
        s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == "1x-3d-6h")
            .unwrap()["long_rate"]
            .as_f64()
            .unwrap()
    };
    // Five bad checks of the 4,320 in three days less the hours left out; thirty-five of all:
    // 8.1x a 0.1 % budget.
    let outside = 4320.0 - missing as f64;
    assert!(
        (ticket(&left_out) - 5.0 / outside / 0.001).abs() < 0.1,
        "{left_out}"
    );
    assert!(
        (ticket(&counted) - 35.0 / 4320.0 / 0.001).abs() < 0.1,
        "{counted}"
    );
}

/// Checks of `monitor` as the probes record them, `at` minutes ago: (latency ms, failed).
async fn record(app: &TestApp, monitor: i64, minutes_ago: i64, checks: &[(u64, bool)]) {
    use vigil_core::model::monitor::{CheckResult, ErrorClass};
    let at = chrono::Utc::now() - chrono::Duration::minutes(minutes_ago);
    let results: Vec<(i64, CheckResult)> = checks
        .iter()
        .map(|(ms, failed)| {
            let latency = std::time::Duration::from_millis(*ms);
            let r = if *failed {
                CheckResult::failed(at, latency, ErrorClass::Timeout, "timed out")
            } else {
                CheckResult::ok(at, latency)
            };
            (monitor, r)
        })
        .collect();
    vigil_core::store::checks::write_batch(&app.pool, &results, &[], &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_latency_objective_counts_checks_within_its_threshold_and_a_month_reports_as_json_and_csv(
) {
    let targets = [Target::start().await, Target::start().await];
    let hooks = WebhookSim::new();
    let base = hooks.serve().await.unwrap();
    let toml = format!(
        "{}[[objective]]\nid = \"site-fast\"\nname = \"site answers within 300 ms\"\n\
         component = \"site\"\nsli = \"latency\"\nthreshold_ms = 300\ntarget = 95\nwindow = \"month\"\n",
        world(&targets, &base)
    );
    let app = spawn_app_with_toml(&toml).await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    monitors_written(&app).await;
    let site = monitor_id(&app, "site-http").await;
    // An incident on the site opened ten minutes ago, during which 100 checks ran: 70 within
    // 300 ms (one exactly at it), 20 slower, 10 failed (fast, but a failure is never good).
    let incident: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (kind, name, status, impact, started_at, created_by) \
         VALUES ('incident', 'Site slow', 'investigating', 'minor', now() - interval '10 minutes', 'test') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO incident_components (incident_id, component_id, status) VALUES ($1, 'site', 'degraded_performance')")
        .bind(incident)
        .execute(&app.pool)
        .await
        .unwrap();
    let mut checks = vec![(120, false); 69];
    checks.push((300, false));
    checks.extend([(450, false); 20]);
    checks.extend([(5, true); 10]);
    record(&app, site, 5, &checks).await;

    // The monitor checks the site itself too, at its own place in the hour (fast and good):
    // the figures must equal what the raw results say, read before and after them unchanged.
    let raw = || async {
        let (fast, up, all): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE outcome <> 2 AND latency_ms <= 300), \
               count(*) FILTER (WHERE outcome <> 2), count(*) FROM check_results WHERE monitor_id = $1",
        )
        .bind(site)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (fast, up, all)
    };
    let (slos, (fast_good, up_good, all)) =
        eventually(20, "a reading without a check between", || async {
            let before = raw().await;
            let slos = app.get_json("/api/v1/slos", &reader).await;
            (raw().await == before)
                .then_some((slos, before))
                .ok_or(before)
        })
        .await;
    assert!(
        all == 100 || all == 101,
        "the test's 100 and at most one of the monitor's: {all}"
    );
    assert_eq!((fast_good, up_good), (70 + all - 100, 90 + all - 100));
    let fast = slo(&slos, "site-fast");
    assert_eq!(fast["sli"], "latency");
    assert_eq!(fast["threshold_ms"], 300);
    assert_eq!(
        (fast["good"].as_i64(), fast["total"].as_i64()),
        (Some(fast_good), Some(all))
    );
    // The availability objective on the same checks counts the slow ones as good.
    let up = slo(&slos, "site-availability");
    assert_eq!(
        (up["good"].as_i64(), up["total"].as_i64()),
        (Some(up_good), Some(all))
    );

    // The month's report: the same counts, a day, the incident that spent the budget.
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let r = app
        .get_json(
            &format!("/api/v1/slos/site-fast/report?month={month}"),
            &reader,
        )
        .await;
    assert_eq!(r["month"], month);
    let all = raw().await.2;
    assert_eq!(
        (r["good"].as_i64(), r["total"].as_i64(), r["bad"].as_i64()),
        (Some(70 + all - 100), Some(all), Some(30))
    );
    assert_eq!(r["met"], false, "70 % misses 95 %");
    let days = r["days"].as_array().unwrap();
    assert_eq!(
        days.iter()
            .map(|d| d["total"].as_i64().unwrap())
            .sum::<i64>(),
        all
    );
    let incidents = r["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{r}");
    assert_eq!(incidents[0]["id"], incident);
    assert_eq!(incidents[0]["title"], "Site slow");
    assert_eq!(incidents[0]["bad"], 30);

    let csv = app
        .get_with_token(
            &format!("/api/v1/slos/site-fast/report?month={month}&format=csv"),
            &reader,
        )
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert!(rows.iter().all(|r| r.len() == header.len()), "{text}");
    let total_row = rows.last().unwrap();
    assert_eq!(total_row[col("row")], "month");
    let all = raw().await.2;
    assert_eq!(total_row[col("good")], (70 + all - 100).to_string());
    assert_eq!(total_row[col("total")], all.to_string());
    let incident_row = rows.iter().find(|r| r[col("row")] == "incident").unwrap();
    assert_eq!(incident_row[col("incident")], incident.to_string());
    assert_eq!(incident_row[col("bad")], "30");

    // Months that cannot be reported say why; an unknown objective is a 404.
    for (m, says) in [
        ("2026-13", "YYYY-MM"),
        ("2999-01", "has not started"),
        ("2001-01", "400 days"),
    ] {
        let resp = app
            .get_with_token(&format!("/api/v1/slos/site-fast/report?month={m}"), &reader)
            .await;
        assert_eq!(resp.status(), 400, "{m}");
        let body: Value = resp.json().await.unwrap();
        assert!(body.to_string().contains(says), "{m}: {body}");
    }
    let resp = app
        .get_with_token("/api/v1/slos/site-fast/report?format=pdf", &reader)
        .await;
    assert_eq!(resp.status(), 400);
    let resp = app
        .get_with_token("/api/v1/slos/nope/report", &reader)
        .await;
    assert_eq!(resp.status(), 404);
    let resp = app
        .get_with_token("/api/v1/slos/site-fast/report", "not-a-token")
        .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn a_burn_rate_alert_that_opens_incidents_opens_one_and_a_second_joins_it() {
    let targets = [Target::start().await, Target::start().await];
    let hooks = WebhookSim::new();
    let base = hooks.serve().await.unwrap();
    let rule = |name: &str| {
        format!(
            "[[objective]]\nid = \"{name}\"\nname = \"{name}\"\ncomponent = \"site\"\ntarget = 99.9\n\
             [[objective.alert]]\nlong = \"1h\"\nshort = \"5m\"\nburn_rate = 14.4\nseverity = \"page\"\nincident = true\n\n"
        )
    };
    let toml = format!(
        "{}{}{}",
        world(&targets, &base),
        rule("site-pages"),
        rule("site-pages-too")
    );
    let app = spawn_app_with_toml(&toml).await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    monitors_written(&app).await;
    let site = monitor_id(&app, "site-http").await;
    history(&app, site, 1).await;
    fail_minutes(&app, site, "10 minutes", "0 minutes", "checks").await;

    // Both objectives' rules fire; the first opens an incident on the site, the second joins.
    let incidents = eventually(30, "one incident with both burns noted", || async {
        let list = app.get_json("/api/v1/incidents", &reader).await;
        let all = list["incidents"].as_array().cloned().unwrap_or_default();
        let notes = match all.first() {
            Some(i) => app
                .get_json(&format!("/api/v1/incidents/{}", i["id"]), &reader)
                .await["incident_updates"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|u| u["internal"] == true)
                .count(),
            None => 0,
        };
        (all.len() == 1 && notes == 2)
            .then_some(all.clone())
            .ok_or(list)
    })
    .await;
    let incident = &incidents[0];
    assert!(
        incident["name"]
            .as_str()
            .unwrap()
            .starts_with("Elevated errors"),
        "{incident}"
    );
    let one = app
        .get_json(&format!("/api/v1/incidents/{}", incident["id"]), &reader)
        .await;
    assert!(one.to_string().contains("\"site\""), "on the site: {one}");
    let updates = one["incident_updates"].as_array().unwrap();
    let public: Vec<&Value> = updates.iter().filter(|u| u["internal"] == false).collect();
    // The public text speaks of errors, never of monitors, rules or figures.
    assert!(
        public
            .iter()
            .all(|u| !u["body"].as_str().unwrap().contains("14.4")),
        "{one}"
    );
    let notes: Vec<&str> = updates
        .iter()
        .filter(|u| u["internal"] == true)
        .map(|u| u["body"].as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("site-pages ") || n.contains("of site-pages burning")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("site-pages-too")),
        "{notes:?}"
    );
    assert!(notes.iter().all(|n| n.contains("14.4x-1h-5m")), "{notes:?}");

    // Judged again and again while it burns: nothing more is opened or noted.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let list = app.get_json("/api/v1/incidents", &reader).await;
    assert_eq!(list["incidents"].as_array().unwrap().len(), 1, "{list}");
    let again = app
        .get_json(&format!("/api/v1/incidents/{}", incident["id"]), &reader)
        .await;
    assert_eq!(
        again["incident_updates"].as_array().unwrap().len(),
        updates.len()
    );
}
