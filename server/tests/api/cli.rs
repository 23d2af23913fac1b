//! The `vigil` binary as an operator runs it.

use std::{
    io::{BufRead, BufReader},
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn vigil(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    cmd.current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("VIGIL_CONFIG")
        .env("VIGIL_DATABASE__DATA_DIR", cwd.join("pg"))
        .env("VIGIL_LOG", "info");
    cmd
}

/// A scratch directory the unprivileged PostgreSQL account can reach when the tests run as root.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn a_broken_config_fails_with_file_line_and_key_and_touches_nothing() {
    let dir = scratch();
    let file = dir.path().join("vigil.toml");
    std::fs::write(
        &file,
        "[server]\naddr = \"127.0.0.1:3000\"\n\n[database]\nmax_connections = -4\n",
    )
    .unwrap();
    for sub in ["serve", "migrate", "check-config"] {
        let out = vigil(dir.path())
            .arg("--config")
            .arg(&file)
            .arg(sub)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{sub}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{}:5:", file.display())),
            "{sub}: {stderr}"
        );
        assert!(
            stderr.contains("database.max_connections"),
            "{sub}: {stderr}"
        );
    }
    assert!(!dir.path().join("pg").exists(), "no database was created");
}

#[test]
fn a_missing_config_file_is_named() {
    let dir = scratch();
    let out = vigil(dir.path())
        .args(["--config", "nope.toml", "check-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.toml"));
}

#[test]
fn help_explains_every_subcommand() {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["serve", "migrate", "check-config", "db"] {
        assert!(text.contains(sub), "{sub} missing from:\n{text}");
    }
    assert!(text.contains("DATABASE_URL"), "{text}");
}

struct Server {
    child: Child,
    base: String,
}

fn start_server(cwd: &Path) -> Server {
    let mut child = vigil(cwd)
        .env("VIGIL_SERVER__ADDR", "127.0.0.1:0")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[vigil] {line}");
            if !sent {
                if let Some(i) = line.find("http://127.0.0.1:") {
                    let url: String = line[i..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    let _ = tx.send(url);
                    sent = true;
                }
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(90))
        .expect("vigil serve printed its address");
    Server { child, base }
}

fn get(url: &str) -> Option<u16> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async { reqwest::get(url).await.ok().map(|r| r.status().as_u16()) })
}

fn terminate(mut server: Server) -> std::process::ExitStatus {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "vigil did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn db_status(cwd: &Path) -> String {
    let out = vigil(cwd).args(["db", "status"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serve_runs_its_own_postgres_stops_it_on_sigterm_and_reuses_the_data() {
    let dir = scratch();

    let server = start_server(dir.path());
    assert_eq!(get(&format!("{}/healthz", server.base)), Some(200));
    assert_eq!(get(&format!("{}/readyz", server.base)), Some(200));
    assert!(db_status(dir.path()).starts_with("running"));
    let status = terminate(server);
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    assert!(
        db_status(dir.path()).starts_with("stopped"),
        "the embedded cluster stops with the server"
    );
    assert!(dir.path().join("pg/PG_VERSION").exists());

    // A CLI command reaches the same database while no server runs, and leaves it stopped.
    let out = vigil(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    assert!(db_status(dir.path()).starts_with("stopped"));

    // The second start reuses the cluster instead of creating a new one.
    let server = start_server(dir.path());
    assert_eq!(get(&format!("{}/readyz", server.base)), Some(200));
    assert!(terminate(server).success());

    // `db start` leaves a cluster running that a server then shares and does not stop.
    let out = vigil(dir.path()).args(["db", "start"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("postgres://"));
    let server = start_server(dir.path());
    assert!(terminate(server).success());
    assert!(db_status(dir.path()).starts_with("running"));
    let pid: i32 = std::fs::read_to_string(dir.path().join("pg/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let out = vigil(dir.path()).args(["db", "stop"]).output().unwrap();
    // "Stopped" means the postmaster is gone, not that it was asked to go.
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "postmaster {pid} still running after `db stop` returned"
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db_status(dir.path()).starts_with("stopped"));
}

#[test]
fn the_shipped_configuration_files_are_valid() {
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join(".vigil")).unwrap();
    for token in ["sim-linode-token", "e2e-linode-token"] {
        std::fs::write(dir.path().join(".vigil").join(token), format!("{token}\n")).unwrap();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    for file in ["vigil.toml", "demo.toml", "end2end/vigil-e2e.toml"] {
        let out = vigil(dir.path())
            .arg("--config")
            .arg(root.join(file))
            .arg("check-config")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn check_config_prints_settings_but_never_secrets() {
    let dir = scratch();
    let config = dir.path().join("secret.toml");
    std::fs::write(
        &config,
        r#"
[database]
url = "postgres://vigil:db-pa55word@db.internal/vigil"

[[notify]]
name = "ops"
kind = "discord"
url = "https://discord.com/api/webhooks/123456/webhook-t0ken"

[[prometheus]]
name = "main"
url = "http://scraper:pr0m-pass@prom.internal:9090/?key=q-s3cret"

[[component]]
id = "site"
name = "Website"

[[monitor]]
name = "site-http"
component = "site"
kind = "http"
url = "https://www.example.org/health?token=url-s3cret"
headers = { Authorization = "Bearer header-s3cret" }

[[monitor]]
name = "nightly"
component = "site"
kind = "heartbeat"
secret = "heartbeat-s3cret"
window_secs = 86400
"#,
    )
    .unwrap();
    let out = vigil(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("site-http"),
        "the settings are printed: {text}"
    );
    assert!(text.contains("prom.internal"), "{text}");
    for secret in [
        "db-pa55word",
        "webhook-t0ken",
        "pr0m-pass",
        "q-s3cret",
        "url-s3cret",
        "header-s3cret",
        "heartbeat-s3cret",
    ] {
        assert!(!text.contains(secret), "`{secret}` printed:\n{text}");
    }
}
