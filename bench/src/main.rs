//! `vigil-bench`: runs a release `vigil` against targets on 127.0.0.1 and prints a table of
//! figures and ratios. Run it through `./scripts/bench`, which builds everything and provides
//! PostgreSQL, nginx and wrk.

mod causes;
mod cluster;
mod fanout;
mod measure;
mod resources;
mod slo;
mod world;

use std::{
    fmt::Write as _,
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use clap::Parser;
use measure::{Proc, Wrk};

#[derive(Parser)]
#[command(about = "Measures Vigil and prints a table; see ./scripts/bench")]
struct Args {
    /// The release `vigil` binary.
    #[arg(long)]
    vigil: PathBuf,
    /// A PostgreSQL server URL; each scenario gets a fresh database on it.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The compiled site (for `/pkg/...`).
    #[arg(long, default_value = "target/site")]
    site_root: PathBuf,
    /// Monitors in the capacity run.
    #[arg(long, default_value_t = 10_000)]
    monitors: usize,
    /// Seconds each measuring window lasts.
    #[arg(long, default_value_t = 60)]
    window: u64,
    /// Seconds each wrk run lasts.
    #[arg(long, default_value_t = 10)]
    wrk_secs: u64,
    /// The Playwright project (with its node_modules) whose `transfer.mjs` drives Chromium.
    #[arg(long, default_value = "end2end")]
    end2end: PathBuf,
    /// Subscribers of each kind (email, webhook) in the fan-out run.
    #[arg(long, default_value_t = 10_000)]
    subscribers: i64,
    /// The tests' SMTP server script (aiosmtpd), which the fan-out run mails.
    #[arg(long, default_value = "server/tests/support/smtp_sink.py")]
    smtp_sink: PathBuf,
    /// A Gatus binary: the idle run then measures it beside Vigil, watching the same 20
    /// endpoints every 20 s with its in-memory storage (how Gatus is usually first run).
    #[arg(long)]
    gatus: Option<PathBuf>,
    /// Run only these scenarios (capacity, page, transfer, idle, resources, failover, agents, world,
    /// fanout, causes, slo); all when not given.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

impl Args {
    fn runs(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == scenario)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let target = start_target().await?;
    let mut rows: Vec<[String; 4]> = Vec::new();

    if args.runs("capacity") {
        eprintln!(
            "== probe capacity: {} HTTP monitors every 30 s",
            args.monitors
        );
        capacity(&args, target, &mut rows).await?;
    }
    if args.runs("page") {
        eprintln!("== status page under load, beside nginx serving the same bytes");
        page_load(&args, target, &mut rows).await?;
    }
    if args.runs("transfer") {
        eprintln!("== what a browser downloads: first and repeat visit, in Chromium");
        transfer(&args, target, &mut rows).await?;
    }
    if args.runs("resources") {
        eprintln!("== resource samples: ingest, then graph queries over 30 days × 50 nodes");
        resources::run(&args.database_url, &mut rows).await?;
    }
    if args.runs("failover") {
        eprintln!("== failover: kill -9 of the replica running the probes");
        cluster::failover(&args.vigil, &args.database_url, target, &mut rows).await?;
    }
    if args.runs("agents") {
        eprintln!("== agent ingest: results per second from probe agents");
        cluster::agent_ingest(&args.vigil, &args.database_url, args.wrk_secs, &mut rows).await?;
    }
    if args.runs("fanout") {
        eprintln!("== subscribers: one incident update to email and webhook subscribers");
        fanout::run(
            &args.vigil,
            &args.database_url,
            &args.smtp_sink,
            args.subscribers,
            &mut rows,
        )
        .await?;
    }
    if args.runs("world") {
        eprintln!("== the world as data: a 10,000-monitor apply, changes across 3 replicas");
        world::run(&args.vigil, &args.database_url, target, &mut rows).await?;
    }
    if args.runs("causes") {
        eprintln!("== the chain of causes over a window of 10,000 events");
        causes::run(&args.vigil, &args.database_url, &mut rows).await?;
    }
    if args.runs("slo") {
        eprintln!("== objectives: 1,000 budgets over 30 days of rollups");
        slo::run(&args.vigil, &args.database_url, &mut rows).await?;
    }
    if args.runs("idle") {
        eprintln!("== idle: 20 monitors every 20 s");
        idle(&args, target, &mut rows).await?;
    }

    let mut out = String::new();
    writeln!(out, "| measure | Vigil | reference | ratio / target |")?;
    writeln!(out, "|---|---|---|---|")?;
    for r in rows {
        writeln!(out, "| {} | {} | {} | {} |", r[0], r[1], r[2], r[3])?;
    }
    println!("{out}");
    Ok(())
}

/// The monitored services: every path answers 200 "ok".
async fn start_target() -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().fallback(|| async { "ok" });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn config(target: SocketAddr, monitors: usize, interval: u64) -> String {
    let mut s = String::from("[probes]\nmin_interval_secs = 1\nmax_concurrency = 512\n\n");
    let components = 10.min(monitors).max(1);
    for c in 0..components {
        let _ = writeln!(
            s,
            "[[component]]\nid = \"svc-{c}\"\nname = \"Service {c}\"\ngroup = \"Group {}\"\n",
            c % 3
        );
    }
    for m in 0..monitors {
        let _ = writeln!(
            s,
            "[[monitor]]\nname = \"m{m}\"\ncomponent = \"svc-{}\"\nkind = \"http\"\nurl = \"http://{target}/m/{m}\"\ninterval_secs = {interval}\ntimeout_ms = 5000\n",
            m % components
        );
    }
    s
}

struct Vigil {
    child: Child,
    base: String,
    _dir: PathBuf,
}

impl Drop for Vigil {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

async fn start_vigil(args: &Args, name: &str, config_text: &str) -> Result<Vigil> {
    let dir = std::env::temp_dir().join(format!("vigil-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config_path = dir.join("vigil.toml");
    std::fs::write(&config_path, config_text)?;
    let port = free_port()?;
    let mut url = reqwest::Url::parse(&args.database_url)?;
    url.set_path(&format!("/bench_{name}_{}", std::process::id()));
    let child = Command::new(&args.vigil)
        .arg("--config")
        .arg(&config_path)
        .arg("serve")
        .env("DATABASE_URL", url.as_str())
        .env("VIGIL_SERVER__ADDR", format!("127.0.0.1:{port}"))
        .env("VIGIL_SERVER__SITE_ROOT", &args.site_root)
        .env("VIGIL_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting vigil")?;
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            if r.status().is_success() {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!("vigil did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(Vigil {
        child,
        base,
        _dir: dir,
    })
}

async fn capacity(args: &Args, target: SocketAddr, rows: &mut Vec<[String; 4]>) -> Result<()> {
    let vigil = start_vigil(args, "capacity", &config(target, args.monitors, 30)).await?;
    // One whole interval first, so every monitor runs and the pools are warm.
    tokio::time::sleep(Duration::from_secs(35)).await;
    let proc = Proc::new(vigil.child.id());
    let m0 = measure::scrape(&vigil.base).await?;
    let c0 = proc.cpu_secs()?;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.window)).await;
    let m1 = measure::scrape(&vigil.base).await?;
    let cpu = (proc.cpu_secs()? - c0) / t0.elapsed().as_secs_f64();
    let secs = t0.elapsed().as_secs_f64();
    let checks = (m1.counter("probe_checks_total") - m0.counter("probe_checks_total")) / secs;
    let lag = m1.histogram_delta(&m0, "probe_schedule_lag_seconds");
    let (p50, p99) = (measure::quantile(&lag, 0.5), measure::quantile(&lag, 0.99));
    let expected = args.monitors as f64 / 30.0;
    rows.push([
        "probe checks/s (10k monitors / 30 s)".into(),
        format!("{checks:.0}"),
        format!("{expected:.0} due"),
        format!("{:.2} of due", checks / expected),
    ]);
    rows.push([
        "probe scheduling lag p50 / p99".into(),
        format!("{} / {}", ms(p50), ms(p99)),
        "—".into(),
        format!("p99 < 250 ms: {}", yes(p99 < 0.25)),
    ]);
    rows.push([
        "vigil CPU while probing".into(),
        format!("{:.0} % of a core", cpu * 100.0),
        "—".into(),
        format!("< 100 %: {}", yes(cpu < 1.0)),
    ]);
    rows.push([
        "vigil RSS while probing".into(),
        format!("{:.1} MB", proc.rss_mb()?),
        "—".into(),
        String::new(),
    ]);
    Ok(())
}

/// The public read side under wrk, each URL beside nginx serving the very bytes Vigil serves (its
/// identity, gzip and brotli variants as files), with and without the encodings browsers send.
async fn page_load(args: &Args, target: SocketAddr, rows: &mut Vec<[String; 4]>) -> Result<()> {
    let vigil = start_vigil(args, "page", &config(target, 20, 5)).await?;
    tokio::time::sleep(Duration::from_secs(12)).await;
    let root = std::env::temp_dir().join(format!("vigil-bench-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let urls = [
        ("/", "index.html"),
        ("/api/v2/summary.json", "summary.json"),
        ("/history", "history.html"),
        ("/history.atom", "history.atom"),
    ];
    let raw = reqwest::Client::builder().no_gzip().build()?;
    let mut sizes = Vec::new();
    for (path, file) in urls {
        for (coding, suffix) in [("identity", ""), ("gzip", ".gz"), ("br", ".br")] {
            let resp = raw
                .get(format!("{}{path}", vigil.base))
                .header("accept-encoding", coding)
                .send()
                .await?
                .error_for_status()?;
            let body = resp.bytes().await?;
            if coding == "br" {
                sizes.push(body.len());
            }
            std::fs::write(root.join(format!("{file}{suffix}")), &body)?;
        }
    }
    let nginx = measure::Nginx::start(&root, free_port()?)?;
    let d = args.wrk_secs;
    for ((path, file), br_size) in urls.iter().zip(sizes) {
        for (label, encodings) in [("browser", measure::BROWSER_ENCODINGS), ("no encoding", "")] {
            let v = Wrk::run(&format!("{}{path}", vigil.base), d, encodings)?;
            let n = Wrk::run(&format!("{}/{file}", nginx.base), d, encodings)?;
            rows.push(beside_nginx(
                format!("`{path}` ({label}; {br_size} B as brotli) req/s · p50 / p99"),
                &v,
                &n,
            ));
        }
    }
    // A query string of its own on every request: served from the one cached rendering.
    let v = Wrk::run_random_query(&format!("{}/", vigil.base), d, measure::BROWSER_ENCODINGS)?;
    let n = Wrk::run_random_query(
        &format!("{}/index.html", nginx.base),
        d,
        measure::BROWSER_ENCODINGS,
    )?;
    rows.push(beside_nginx(
        "`/?utm_source=x&r=RANDOM` (browser; a new query each request) req/s · p50 / p99".into(),
        &v,
        &n,
    ));
    if !nginx.brotli {
        rows.push([
            "note".into(),
            "nginx without brotli_static (apt-get install libnginx-mod-http-brotli-static)".into(),
            "it served gzip to browser requests".into(),
            String::new(),
        ]);
    }
    Ok(())
}

/// One row: Vigil's figures beside nginx's, and the targets (≥ 0.5× nginx, p99 ≤ 5 ms).
fn beside_nginx(measure: String, v: &Wrk, n: &Wrk) -> [String; 4] {
    let ratio = v.rps / n.rps;
    [
        measure,
        format!("{:.0} · {} / {}", v.rps, ms(v.p50), ms(v.p99)),
        format!("nginx {:.0} · {} / {}", n.rps, ms(n.p50), ms(n.p99)),
        format!(
            "{ratio:.2}× (≥ 0.5: {}); p99 ≤ 5 ms: {}",
            yes(ratio >= 0.5),
            yes(v.p99 <= 0.005)
        ),
    ]
}

#[derive(serde::Deserialize)]
struct Visit {
    bytes: u64,
    requests: u32,
    files: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Visits {
    path: String,
    first: Visit,
    repeat: Visit,
}

/// Bytes a visitor's Chromium downloads for the public pages, from an empty cache and again.
async fn transfer(args: &Args, target: SocketAddr, rows: &mut Vec<[String; 4]>) -> Result<()> {
    let vigil = start_vigil(args, "transfer", &config(target, 20, 5)).await?;
    tokio::time::sleep(Duration::from_secs(12)).await;
    let out = Command::new("node")
        .arg("transfer.mjs")
        .arg(&vigil.base)
        .args(["/", "/history"])
        .current_dir(&args.end2end)
        .stderr(Stdio::inherit())
        .output()
        .context("running node end2end/transfer.mjs")?;
    if !out.status.success() {
        bail!("transfer.mjs failed");
    }
    for line in String::from_utf8(out.stdout)?.lines() {
        let v: Visits = serde_json::from_str(line).context("transfer.mjs output")?;
        let kb = |b: u64| b as f64 / 1000.0;
        rows.push([
            format!("`{}` first visit, bytes on the wire", v.path),
            format!(
                "{:.1} KB in {} requests ({})",
                kb(v.first.bytes),
                v.first.requests,
                v.first.files.join(", ")
            ),
            "—".into(),
            format!("≤ 150 KB: {}", yes(v.first.bytes <= 150_000)),
        ]);
        rows.push([
            format!("`{}` repeat visit, bytes on the wire", v.path),
            format!(
                "{:.1} KB in {} requests",
                kb(v.repeat.bytes),
                v.repeat.requests
            ),
            "—".into(),
            format!("≤ 10 KB: {}", yes(v.repeat.bytes <= 10_000)),
        ]);
    }
    Ok(())
}

async fn idle(args: &Args, target: SocketAddr, rows: &mut Vec<[String; 4]>) -> Result<()> {
    let vigil = start_vigil(args, "idle", &config(target, 20, 20)).await?;
    let gatus = match &args.gatus {
        Some(binary) => Some(Gatus::start(binary, target, 20, 20).await?),
        None => None,
    };
    // Past start-up (Vigil pages out its start-up code after 20 s) and every first check.
    tokio::time::sleep(Duration::from_secs(25)).await;
    let procs: Vec<Proc> = std::iter::once(vigil.child.id())
        .chain(gatus.as_ref().map(|g| g.child.id()))
        .map(Proc::new)
        .collect();
    let c0: Vec<f64> = procs.iter().map(Proc::cpu_secs).collect::<Result<_>>()?;
    let t0 = Instant::now();
    // Resident memory moves (code comes back as it runs, heap is handed back): sampled each
    // second through the window, the mean is the figure and the peak is said beside it.
    let mut samples: Vec<Vec<measure::Rss>> = vec![Vec::new(); procs.len()];
    while t0.elapsed() < Duration::from_secs(args.window) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for (p, s) in procs.iter().zip(samples.iter_mut()) {
            s.push(p.rss()?);
        }
    }
    let mut cpu = Vec::new();
    for (p, c) in procs.iter().zip(c0) {
        cpu.push((p.cpu_secs()? - c) / t0.elapsed().as_secs_f64());
    }
    let rss: Vec<measure::Rss> = samples.iter().map(|s| measure::Rss::mean(s)).collect();
    let peak: Vec<f64> = samples
        .iter()
        .map(|s| s.iter().map(|r| r.total_mb).fold(0.0, f64::max))
        .collect();
    let beside = |what: Option<String>| what.unwrap_or_else(|| "—".into());
    rows.push([
        "idle RSS (20 monitors / 20 s)".into(),
        format!(
            "{:.1} MB mean, {:.1} peak (heap and stacks {:.1}, code and files {:.1})",
            rss[0].total_mb, peak[0], rss[0].anon_mb, rss[0].file_mb
        ),
        beside(
            rss.get(1)
                .map(|g| format!("Gatus {:.1} MB mean, {:.1} peak", g.total_mb, peak[1])),
        ),
        format!(
            "≤ 10 MB: {}{}",
            yes(rss[0].total_mb <= 10.0),
            rss.get(1)
                .map(|g| format!("; {:.2}× Gatus", rss[0].total_mb / g.total_mb))
                .unwrap_or_default()
        ),
    ]);
    rows.push([
        "idle CPU (20 monitors / 20 s)".into(),
        format!("{:.2} % of a core", cpu[0] * 100.0),
        beside(
            cpu.get(1)
                .map(|g| format!("Gatus {:.2} % of a core", g * 100.0)),
        ),
        format!("≤ 0.1 %: {}", yes(cpu[0] <= 0.001)),
    ]);
    if let Some((found, listed)) = hot_code_found(&args.vigil) {
        // The list is traced from one build: code changed since renames what it names, and
        // the idle code spreads out again (16 MB instead of 12 on 2026-12-07).
        rows.push([
            "idle functions of server/hot-code.txt the binary has".into(),
            format!("{found} of {listed}"),
            "—".into(),
            format!(
                "≥ 95 %: {} (else ./scripts/hot-code, then rebuild)",
                yes(found * 100 >= listed * 95)
            ),
        ]);
    }
    Ok(())
}

/// How many of the functions `server/hot-code.txt` lists the `vigil` binary defines (read with
/// `nm`); none when either cannot be read.
fn hot_code_found(vigil: &std::path::Path) -> Option<(usize, usize)> {
    let list = std::fs::read_to_string("server/hot-code.txt").ok()?;
    let out = Command::new("nm")
        .arg(vigil)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let defined: std::collections::HashSet<&str> = std::str::from_utf8(&out.stdout)
        .ok()?
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    let listed: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(' '))
        .collect();
    let found = listed.iter().filter(|s| defined.contains(*s)).count();
    Some((found, listed.len()))
}

/// Gatus, configured as its README's first example is, with the bench's endpoints.
struct Gatus {
    child: Child,
    dir: PathBuf,
}

impl Gatus {
    async fn start(
        binary: &std::path::Path,
        target: SocketAddr,
        endpoints: usize,
        interval: u64,
    ) -> Result<Gatus> {
        let dir = std::env::temp_dir().join(format!("vigil-bench-gatus-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let mut yaml = format!(
            "storage:\n  type: memory\nweb:\n  address: 127.0.0.1\n  port: {port}\nendpoints:\n"
        );
        for m in 0..endpoints {
            let _ = write!(
                yaml,
                "  - name: m{m}\n    group: Group {}\n    url: http://{target}/m/{m}\n    interval: {interval}s\n    conditions:\n      - \"[STATUS] == 200\"\n",
                m % 3
            );
        }
        let config = dir.join("config.yaml");
        std::fs::write(&config, yaml)?;
        let child = Command::new(binary)
            .env("GATUS_CONFIG_PATH", &config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let gatus = Gatus { child, dir };
        let health = format!("http://127.0.0.1:{port}/health");
        for _ in 0..100 {
            if reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(gatus);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("Gatus did not answer on {health}")
    }
}

impl Drop for Gatus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ms(secs: f64) -> String {
    if secs < 0.001 {
        format!("{:.0} µs", secs * 1e6)
    } else {
        format!("{:.1} ms", secs * 1e3)
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "met"
    } else {
        "NOT met"
    }
}
