//! Subscribers' fan-out: one incident update to 10,000 email subscribers (through aiosmtpd, a real
//! SMTP server) and 10,000 webhook subscribers (a local receiver), timed to the last delivery; and,
//! in the middle of it, an ops notification, timed from its event to its arrival.

use std::{
    fmt::Write as _,
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use sqlx::PgPool;
use vigil_core::{
    model::{
        event::{EventData, IncidentNews, MonitorChanged},
        monitor::MonitorStatus,
    },
    store::events,
};

use crate::free_port;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Webhook subscribers' receiver (counts) and the ops channel's (notes when it heard).
#[derive(Clone, Default)]
struct Receivers {
    hooks: Arc<AtomicU64>,
    ops: Arc<Mutex<Option<Instant>>>,
}

async fn start_receivers() -> Result<(SocketAddr, Receivers)> {
    let r = Receivers::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (hooks, ops) = (r.hooks.clone(), r.ops.clone());
    let app = axum::Router::new()
        .route(
            "/hook/{n}",
            axum::routing::post(move || {
                let hooks = hooks.clone();
                async move {
                    hooks.fetch_add(1, Ordering::Relaxed);
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        )
        .route(
            "/ops",
            axum::routing::post(move || {
                let ops = ops.clone();
                async move {
                    ops.lock().unwrap().get_or_insert_with(Instant::now);
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, r))
}

pub async fn run(
    vigil: &Path,
    admin_url: &str,
    smtp_sink: &Path,
    subscribers: i64,
    rows: &mut Vec<[String; 4]>,
) -> Result<()> {
    let (receiver, got) = start_receivers().await?;
    let smtp_port = free_port()?;
    let mail_log =
        std::env::temp_dir().join(format!("vigil-bench-mail-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&mail_log);
    let mut smtp = Command::new("python3")
        .arg(smtp_sink)
        .arg(smtp_port.to_string())
        .arg(&mail_log)
        .arg("--count")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting aiosmtpd (python3 -m pip install aiosmtpd)")?;
    let mut line = String::new();
    BufReader::new(smtp.stdout.take().unwrap()).read_line(&mut line)?;
    let _smtp = Killed(smtp);

    let db = crate::cluster::fresh_database(admin_url, "bench_fanout").await?;
    let dir = std::env::temp_dir().join(format!("vigil-bench-fanout-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\nfrom = \"Status <status@example.org>\"\n\
             [subscribers]\nallow_private_targets = true\n[incidents]\nautomatic = false\n\
             [[notify]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"http://{receiver}/ops\"\nevents = [\"monitor.state\"]\n"
        ),
    )?;
    let port = free_port()?;
    let child = Command::new(vigil)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("VIGIL_SERVER__ADDR", format!("127.0.0.1:{port}"))
        .env("VIGIL_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting vigil")?;
    let _vigil = Killed(child);
    crate::cluster::ready(&format!("http://127.0.0.1:{port}")).await?;
    let pool = PgPool::connect(&db).await?;

    // Confirmed subscribers, as an import would leave them.
    sqlx::query(
        "INSERT INTO subscribers (kind, target, token, state, created_by, confirmed_at) \
         SELECT 'email', 'sub' || n || '@example.org', md5(random()::text) || n, 'active', 'bench', now() \
         FROM generate_series(1, $1) n",
    )
    .bind(subscribers)
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO subscribers (kind, target, token, secret, state, created_by, confirmed_at) \
         SELECT 'webhook', $2 || n, md5(random()::text) || n || 'w', 'key', 'active', 'bench', now() \
         FROM generate_series(1, $1) n",
    )
    .bind(subscribers)
    .bind(format!("http://{receiver}/hook/"))
    .execute(&pool)
    .await?;

    let news = EventData::IncidentUpdated(IncidentNews {
        id: 0,
        kind: "incident".into(),
        name: "Website unreachable".into(),
        status: "identified".into(),
        impact: "major".into(),
        body: "The NodeBalancer's backends are flapping; a fix is rolling out.".into(),
        components: vec![],
    });
    let start = Instant::now();
    events::append(&pool, "incident:0", &news).await?;
    let queued = start.elapsed();
    let total = 2 * subscribers;

    // Mid fan-out, a monitor goes down: the ops channel must not wait for the subscribers.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered_then: i64 =
        sqlx::query_scalar("SELECT count(*) FROM subscriber_deliveries WHERE state = 'delivered'")
            .fetch_one(&pool)
            .await?;
    let raised = Instant::now();
    let down = EventData::MonitorState(MonitorChanged {
        monitor_id: 1,
        monitor: "site-home".into(),
        component: "site".into(),
        from: MonitorStatus::Up,
        to: MonitorStatus::Down,
        cause: "HTTP 502".into(),
        at: chrono::Utc::now(),
    });
    events::append(&pool, "monitor:site-home", &down).await?;

    let deadline = Instant::now() + Duration::from_secs(900);
    let last = loop {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subscriber_deliveries WHERE state <> 'pending'",
        )
        .fetch_one(&pool)
        .await?;
        if done >= total {
            break start.elapsed();
        }
        if Instant::now() > deadline {
            bail!("the fan-out did not finish within 15 minutes ({done} of {total})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM subscriber_deliveries WHERE state = 'failed'")
            .fetch_one(&pool)
            .await?;
    let mails = std::fs::read_to_string(&mail_log)
        .unwrap_or_default()
        .lines()
        .count() as i64;
    let hooks = got.hooks.load(Ordering::Relaxed) as i64;
    let ops_latency = got
        .ops
        .lock()
        .unwrap()
        .map(|at| at.duration_since(raised))
        .context("the ops notification never arrived")?;
    if failed > 0 || mails < subscribers || hooks < subscribers {
        bail!("fan-out incomplete: {mails} mails, {hooks} webhooks, {failed} failed");
    }
    let by_kind: Vec<(String, f64)> = sqlx::query_as(
        "SELECT s.kind, extract(epoch FROM max(d.delivered_at) - min(d.created_at))::float8 \
         FROM subscriber_deliveries d JOIN subscribers s ON s.id = d.subscriber_id \
         GROUP BY s.kind ORDER BY s.kind",
    )
    .fetch_all(&pool)
    .await?;
    let mut label = String::new();
    write!(
        label,
        "fan-out of one incident update to {subscribers} email + {subscribers} webhook subscribers: last delivery"
    )?;
    rows.push([
        label,
        format!(
            "{:.1} s ({:.0} messages/s)",
            last.as_secs_f64(),
            total as f64 / last.as_secs_f64()
        ),
        "—".into(),
        "—".into(),
    ]);
    rows.push([
        "… last delivery by channel".into(),
        by_kind
            .iter()
            .map(|(k, secs)| format!("{k} {secs:.1} s"))
            .collect::<Vec<_>>()
            .join(", "),
        "—".into(),
        "—".into(),
    ]);
    rows.push([
        format!("… queued with the event ({total} rows, in its transaction)"),
        format!("{} ms", queued.as_millis()),
        "—".into(),
        "—".into(),
    ]);
    rows.push([
        format!("… an ops notification raised 2 s in ({delivered_then} of {total} delivered then)"),
        format!("{} ms to arrive", ops_latency.as_millis()),
        "—".into(),
        format!(
            "target < 2000 ms: {}",
            if ops_latency < Duration::from_secs(2) {
                "met"
            } else {
                "MISSED"
            }
        ),
    ]);
    Ok(())
}
