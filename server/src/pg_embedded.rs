//! A private PostgreSQL cluster for people who have not set `DATABASE_URL`.
//!
//! It runs from the system's own `initdb`/`pg_ctl`/`postgres`, listens only on a Unix socket (no TCP
//! port for anyone else on the machine to reach), and lives on after a crash of Vigil so the next
//! start — or a `vigil user add` while the server is down — simply reuses it.

use std::{
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    ConnectOptions, Executor,
};

/// Name of the superuser and of the database inside the private cluster.
pub const SUPERUSER: &str = "vigil";
pub const DATABASE: &str = "vigil";
/// The socket file is `<socket_dir>/.s.PGSQL.<PORT>`; nothing listens on TCP.
const PORT: u16 = 5432;
/// Unix socket paths longer than this do not fit `sockaddr_un` (108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "no PostgreSQL server programs found (looked for pg_ctl on PATH and in /usr/lib/postgresql/*/bin).\n  \
         Install them, e.g. `apt-get install postgresql`, or set DATABASE_URL to use an existing server."
    )]
    NotInstalled,
    #[error(
        "Vigil runs as root and PostgreSQL refuses to; the account `{0}` that should run it does not exist.\n  \
         Create it (`useradd --system {0}`), name another with database.run_as, or set DATABASE_URL."
    )]
    NoRunAsUser(String),
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("cannot prepare {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} already exists and belongs to another account (uid {owner}), so Vigil will not \
         put its database socket there.\n  Remove it if it is stale (`rm -rf {path}`), or use a \
         shorter database.data_dir so the socket lives inside it."
    )]
    ForeignDirectory { path: PathBuf, owner: u32 },
    #[error("{path} is a symbolic link; Vigil will not follow it for its database files.\n  Remove it, or point database.data_dir somewhere else.")]
    SymlinkedDirectory { path: PathBuf },
    #[error(
        "the embedded PostgreSQL (pid {pid}) was asked to stop but is still running after {secs} s"
    )]
    StillRunning { pid: i32, secs: u64 },
    #[error("cannot connect to the embedded PostgreSQL: {0}")]
    Connect(#[from] sqlx::Error),
}

/// A handle on the private cluster. Dropping it does nothing: stopping is explicit, so that a CLI
/// command never stops the cluster a running server is using.
#[derive(Debug, Clone)]
pub struct EmbeddedPg {
    data_dir: PathBuf,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<String>,
    /// True when this process started the cluster (and so should stop it on the way out).
    pub started_here: bool,
}

impl EmbeddedPg {
    /// Creates the cluster on first use, starts it unless it already runs, and makes sure the
    /// `vigil` database exists.
    pub async fn ensure_running(data_dir: &Path, run_as: &str) -> Result<Self, PgError> {
        let mut pg = Self::prepare(data_dir, run_as)?;
        if !pg.is_running() {
            pg.start()?;
            pg.started_here = true;
        }
        pg.create_database().await?;
        Ok(pg)
    }

    /// Locates the programs and creates the cluster's files if they are missing; starts nothing.
    pub fn prepare(data_dir: &Path, run_as: &str) -> Result<Self, PgError> {
        let bin_dir = find_bin_dir().ok_or(PgError::NotInstalled)?;
        let data_dir = absolute(data_dir)?;
        let run_as = if nix::unistd::geteuid().is_root() {
            Some(run_as.to_string())
        } else {
            None
        };
        let owner = match &run_as {
            Some(name) => Some(
                nix::unistd::User::from_name(name)
                    .ok()
                    .flatten()
                    .ok_or_else(|| PgError::NoRunAsUser(name.clone()))?,
            ),
            None => None,
        };
        let socket_dir = socket_dir_for(&data_dir);
        let pg = EmbeddedPg {
            data_dir,
            socket_dir,
            bin_dir,
            run_as,
            started_here: false,
        };
        // A directory someone else made first (the socket directory under /tmp has a name anyone
        // can work out) is refused, never taken over.
        let mut allowed = vec![nix::unistd::geteuid().as_raw()];
        allowed.extend(owner.as_ref().map(|u| u.uid.as_raw()));
        for dir in [&pg.data_dir, &pg.socket_dir] {
            check_owned(dir, &allowed)?;
        }
        for dir in [&pg.data_dir, &pg.socket_dir] {
            std::fs::create_dir_all(dir).map_err(|source| PgError::Io {
                path: dir.clone(),
                source,
            })?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(
                |source| PgError::Io {
                    path: dir.clone(),
                    source,
                },
            )?;
            if let Some(user) = &owner {
                std::os::unix::fs::chown(dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                    .map_err(|source| PgError::Io {
                        path: dir.clone(),
                        source,
                    })?;
            }
        }
        if !pg.data_dir.join("PG_VERSION").exists() {
            pg.initdb()?;
        }
        pg.write_settings()?;
        Ok(pg)
    }

    /// Connection options for the `vigil` database inside the cluster.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(DATABASE)
    }

    /// A URL other programs (psql, the test suite) can use to reach the same database.
    pub fn url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{PORT}/{DATABASE}?host={}",
            self.socket_dir.display()
        )
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn is_running(&self) -> bool {
        self.pg_ctl(&["status"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// Fast shutdown: open transactions are rolled back, data on disk is consistent. Returns once
    /// the postmaster's process has exited, not merely when pg_ctl has given up waiting.
    pub fn stop(&self) -> Result<(), PgError> {
        if !self.is_running() {
            return Ok(());
        }
        let pid = self.postmaster_pid();
        run(
            "stopping the embedded PostgreSQL",
            self.pg_ctl(&["-m", "fast", "-w", "-t", "60", "stop"]),
        )?;
        if let Some(pid) = pid {
            const WAIT_SECS: u64 = 60;
            let deadline = std::time::Instant::now() + Duration::from_secs(WAIT_SECS);
            while process_alive(pid) {
                if std::time::Instant::now() > deadline {
                    return Err(PgError::StillRunning {
                        pid,
                        secs: WAIT_SECS,
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// The postmaster's pid, from the first line of `postmaster.pid`.
    fn postmaster_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.data_dir.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    fn initdb(&self) -> Result<(), PgError> {
        tracing::info!(data_dir = %self.data_dir.display(), "creating the embedded PostgreSQL cluster");
        let mut cmd = self.as_owner(&self.bin_dir.join("initdb"));
        cmd.arg("-D").arg(&self.data_dir).args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]);
        run("initdb", cmd)?;
        let conf = self.data_dir.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|source| PgError::Io {
            path: conf.clone(),
            source,
        })?;
        text.push_str(
            "\n# Vigil rewrites vigil.conf at every start.\ninclude_if_exists = 'vigil.conf'\n",
        );
        std::fs::write(&conf, text).map_err(|source| PgError::Io { path: conf, source })
    }

    fn write_settings(&self) -> Result<(), PgError> {
        let path = self.data_dir.join("vigil.conf");
        let text = format!(
            "listen_addresses = ''\nport = {PORT}\nunix_socket_directories = '{}'\n\
             unix_socket_permissions = 0700\nmax_connections = 200\nshared_buffers = 64MB\n\
             fsync = on\nlogging_collector = off\n",
            self.socket_dir.display().to_string().replace('\'', "''")
        );
        std::fs::write(&path, text).map_err(|source| PgError::Io { path, source })
    }

    fn start(&self) -> Result<(), PgError> {
        tracing::info!(data_dir = %self.data_dir.display(), "starting the embedded PostgreSQL");
        let log = self.data_dir.join("server.log");
        let mut cmd = self.pg_ctl(&["-w", "-t", "60", "-l"]);
        cmd.arg(&log).arg("start");
        // Its own process group: a Ctrl-C in Vigil's terminal must not reach the postmaster, which
        // Vigil stops itself after the last request has finished.
        cmd.process_group(0);
        run("starting the embedded PostgreSQL", cmd).map_err(|e| match e {
            PgError::Command { what, detail } => PgError::Command {
                what,
                detail: format!("{detail}\n  see {}", log.display()),
            },
            other => other,
        })
    }

    async fn create_database(&self) -> Result<(), PgError> {
        let mut conn = self
            .connect_options()
            .database("postgres")
            .connect()
            .await?;
        // Built at run time, not checked at build time like the store's queries: this runs before
        // Vigil's database exists, against the cluster's `postgres` database, and CREATE DATABASE
        // takes an identifier, which cannot be a bind parameter.
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            conn.execute(format!("CREATE DATABASE {DATABASE}").as_str())
                .await?;
        }
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut cmd = self.as_owner(&self.bin_dir.join("pg_ctl"));
        cmd.arg("-D").arg(&self.data_dir).args(args);
        cmd
    }

    fn as_owner(&self, program: &Path) -> Command {
        match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }
}

/// Opens a small pool on the embedded database, for CLI commands.
pub async fn pool(pg: &EmbeddedPg, max: u32) -> Result<sqlx::PgPool, PgError> {
    Ok(PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(pg.connect_options())
        .await?)
}

fn run(what: &str, mut cmd: Command) -> Result<(), PgError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| PgError::Command {
            what: what.to_string(),
            detail: e.to_string(),
        })?;
    if out.status.success() {
        return Ok(());
    }
    let mut detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if detail.is_empty() {
        detail = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    Err(PgError::Command {
        what: what.to_string(),
        detail,
    })
}

fn absolute(p: &Path) -> Result<PathBuf, PgError> {
    std::path::absolute(p).map_err(|source| PgError::Io {
        path: p.to_path_buf(),
        source,
    })
}

fn process_alive(pid: i32) -> bool {
    // Signal 0 checks existence only; EPERM still means the process is there.
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Err(nix::errno::Errno::ESRCH)
    )
}

/// An existing directory must be a real directory owned by one of `allowed` uids.
fn check_owned(dir: &Path, allowed: &[u32]) -> Result<(), PgError> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(dir) {
        Err(_) => Ok(()),
        Ok(m) if m.file_type().is_symlink() => Err(PgError::SymlinkedDirectory {
            path: dir.to_path_buf(),
        }),
        Ok(m) if !allowed.contains(&m.uid()) => Err(PgError::ForeignDirectory {
            path: dir.to_path_buf(),
            owner: m.uid(),
        }),
        Ok(_) => Ok(()),
    }
}

/// The data directory holds the socket when its path is short enough; otherwise a directory under
/// /tmp named after the data directory, so two clusters never share one.
fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let in_data = data_dir.join(format!(".s.PGSQL.{PORT}"));
    if in_data.as_os_str().len() <= MAX_SOCKET_PATH {
        return data_dir.to_path_buf();
    }
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    std::env::temp_dir().join(format!("vigil-pg-{:016x}", h.finish()))
}

/// The directory of the PostgreSQL server programs: where `pg_ctl` on PATH really lives (Debian
/// links it from /usr/lib/postgresql/N/bin), else the newest /usr/lib/postgresql/N/bin.
fn find_bin_dir() -> Option<PathBuf> {
    let has_all = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("pg_ctl");
            if candidate.is_file() {
                if let Some(real) = std::fs::canonicalize(&candidate)
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                {
                    if has_all(&real) {
                        return Some(real);
                    }
                }
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_all(d))
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_someone_else_owns_is_refused_not_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let me = nix::unistd::geteuid().as_raw();
        let dir = tmp.path().join("sock");
        assert!(check_owned(&dir, &[me]).is_ok(), "missing: will be created");
        std::fs::create_dir(&dir).unwrap();
        assert!(check_owned(&dir, &[me]).is_ok());
        // As seen by an account that is not the owner.
        let err = check_owned(&dir, &[me + 1]).unwrap_err().to_string();
        assert!(err.contains("belongs to another account"), "{err}");
        assert!(err.contains(&dir.display().to_string()), "{err}");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(matches!(
            check_owned(&link, &[me]),
            Err(PgError::SymlinkedDirectory { .. })
        ));
    }

    #[test]
    fn short_data_dirs_hold_their_own_socket() {
        let d = Path::new("/srv/vigil/pg");
        assert_eq!(socket_dir_for(d), d);
    }

    #[test]
    fn long_data_dirs_get_a_short_private_socket_dir() {
        let long = PathBuf::from(format!("/{}", "x".repeat(120)));
        let s = socket_dir_for(&long);
        assert!(s.starts_with(std::env::temp_dir()));
        assert!(s.join(".s.PGSQL.5432").as_os_str().len() <= MAX_SOCKET_PATH);
        assert_ne!(s, socket_dir_for(&long.join("other")));
    }
}
