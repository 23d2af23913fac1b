//! Reading figures: /proc for CPU and memory, /metrics for counters and histograms, wrk's report.

use std::{
    collections::BTreeMap,
    path::Path,
    process::{Child, Command, Stdio},
};

use anyhow::{bail, Context, Result};

pub struct Proc(u32);

#[derive(Clone)]
pub struct Rss {
    pub total_mb: f64,
    pub anon_mb: f64,
    pub file_mb: f64,
}

impl Rss {
    pub fn mean(samples: &[Rss]) -> Rss {
        let n = samples.len().max(1) as f64;
        let sum = |f: fn(&Rss) -> f64| samples.iter().map(f).sum::<f64>() / n;
        Rss {
            total_mb: sum(|r| r.total_mb),
            anon_mb: sum(|r| r.anon_mb),
            file_mb: sum(|r| r.file_mb),
        }
    }
}

impl Proc {
    pub fn new(pid: u32) -> Self {
        Proc(pid)
    }

    /// User + system CPU seconds used so far.
    pub fn cpu_secs(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0))?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = stat.rsplit_once(')').context("odd /proc stat")?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = f[11].parse::<f64>()? + f[12].parse::<f64>()?;
        Ok(ticks / 100.0) // USER_HZ is 100 on Linux
    }

    /// Resident memory, and what it is: anonymous (heap, stacks) and file-backed (the
    /// executable's code, shared libraries).
    pub fn rss(&self) -> Result<Rss> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0))?;
        let kb = |field: &str| -> Result<f64> {
            Ok(status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .with_context(|| format!("no {field}"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()?
                / 1024.0)
        };
        Ok(Rss {
            total_mb: kb("VmRSS:")?,
            anon_mb: kb("RssAnon:")?,
            file_mb: kb("RssFile:")? + kb("RssShmem:")?,
        })
    }

    pub fn rss_mb(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .context("no VmRSS")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kb / 1024.0)
    }
}

/// One scrape of /metrics: every sample line, by its full series name.
pub struct Metrics(BTreeMap<String, f64>);

pub async fn scrape(base: &str) -> Result<Metrics> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    let mut map = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        if let Some((name, value)) = line.rsplit_once(' ') {
            if let Ok(v) = value.parse::<f64>() {
                map.insert(name.to_string(), v);
            }
        }
    }
    Ok(Metrics(map))
}

impl Metrics {
    /// Sum over every label set of a counter.
    pub fn counter(&self, name: &str) -> f64 {
        self.0
            .iter()
            .filter(|(k, _)| *k == name || k.starts_with(&format!("{name}{{")))
            .map(|(_, v)| v)
            .sum()
    }

    /// (upper bound, observations in the window) per bucket, cumulative, from two scrapes.
    pub fn histogram_delta(&self, before: &Metrics, name: &str) -> Vec<(f64, f64)> {
        let prefix = format!("{name}_bucket{{le=\"");
        let mut out: Vec<(f64, f64)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let le = k.strip_prefix(&prefix)?.strip_suffix("\"}")?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, v - before.0.get(k).copied().unwrap_or(0.0)))
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }
}

/// The `p` quantile (0–1) of measured durations, nearest rank.
pub fn quantile_of(took: &mut [std::time::Duration], p: f64) -> std::time::Duration {
    took.sort();
    let i = ((took.len() as f64 - 1.0) * p).round() as usize;
    took[i.min(took.len() - 1)]
}

/// How long each of `calls` GETs of `url` (with a bearer `token`) took, each answer read whole;
/// an answer that is not a success ends the run, naming it.
pub async fn time_gets(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    calls: usize,
) -> anyhow::Result<Vec<std::time::Duration>> {
    let mut took = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = std::time::Instant::now();
        let r = client.get(url).bearer_auth(token).send().await?;
        if !r.status().is_success() {
            anyhow::bail!("{url} answered {}", r.status());
        }
        r.bytes().await?;
        took.push(t.elapsed());
    }
    Ok(took)
}

/// The q-quantile from cumulative buckets, interpolating linearly inside the bucket.
pub fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let total = buckets.last().map(|b| b.1).unwrap_or(0.0);
    if total <= 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return prev.0;
            }
            let span = count - prev.1;
            let frac = if span > 0.0 {
                (rank - prev.1) / span
            } else {
                1.0
            };
            return prev.0 + (le - prev.0) * frac;
        }
        prev = (le, count);
    }
    prev.0
}

pub struct Wrk {
    pub rps: f64,
    pub p50: f64,
    pub p99: f64,
}

/// What Chromium sends on every request; the figures that matter are for these.
pub const BROWSER_ENCODINGS: &str = "gzip, deflate, br, zstd";

impl Wrk {
    /// 32 connections, 2 threads, from a second process on 127.0.0.1; `encodings` is the
    /// `Accept-Encoding` header to send (none when empty).
    pub fn run(url: &str, secs: u64, encodings: &str) -> Result<Wrk> {
        Self::run_with(url, secs, encodings, None)
    }

    /// As [`Wrk::run`], each request with a query string of its own (`?utm_source=x&r=N`): what
    /// links shared during an incident, or a cache-busting flood, look like.
    pub fn run_random_query(url: &str, secs: u64, encodings: &str) -> Result<Wrk> {
        let path = reqwest::Url::parse(url)?.path().to_string();
        let script = std::env::temp_dir().join(format!(
            "vigil-bench-random-query-{}.lua",
            std::process::id()
        ));
        std::fs::write(
            &script,
            format!(
                "local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(\"GET\", \"{path}?utm_source=x&r=\" .. math.random(1, 1000000000) .. n)\nend\n"
            ),
        )?;
        let out = Self::run_with(url, secs, encodings, Some(&script));
        let _ = std::fs::remove_file(&script);
        out
    }

    fn run_with(
        url: &str,
        secs: u64,
        encodings: &str,
        script: Option<&std::path::Path>,
    ) -> Result<Wrk> {
        let mut args = vec![
            "-t2".to_string(),
            "-c32".into(),
            format!("-d{secs}s"),
            "--latency".into(),
        ];
        if !encodings.is_empty() {
            args.push("-H".into());
            args.push(format!("Accept-Encoding: {encodings}"));
        }
        if let Some(s) = script {
            args.push("-s".into());
            args.push(s.display().to_string());
        }
        args.push(url.into());
        let out = Command::new("wrk")
            .args(&args)
            .output()
            .context("running wrk (apt-get install wrk)")?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || text.contains("Non-2xx") {
            bail!("wrk against {url} failed or saw errors:\n{text}");
        }
        let rps = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
            .context("no Requests/sec in wrk output")?
            .trim()
            .parse()?;
        let pct = |p: &str| -> Result<f64> {
            let v = text
                .lines()
                .find_map(|l| l.trim().strip_prefix(p))
                .with_context(|| format!("no {p} line"))?
                .trim();
            duration(v)
        };
        Ok(Wrk {
            rps,
            p50: pct("50%")?,
            p99: pct("99%")?,
        })
    }
}

fn duration(s: &str) -> Result<f64> {
    let split = s
        .find(|c: char| c.is_ascii_alphabetic())
        .context("no unit")?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse()?;
    Ok(match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => bail!("unknown unit {unit}"),
    })
}

/// nginx serving a folder on a port, for the same bytes as Vigil's page: configured as Debian
/// ships it (`worker_processes auto`, `sendfile on`, `tcp_nopush on`) and as people serve
/// precompressed files (`gzip_static on`, and `brotli_static on` when Debian's module is there).
pub struct Nginx {
    child: Child,
    pub base: String,
    /// Whether brotli files are served (libnginx-mod-http-brotli-static).
    pub brotli: bool,
}

const BROTLI_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so";

impl Nginx {
    pub fn start(root: &Path, port: u16) -> Result<Nginx> {
        let conf = root.join("nginx.conf");
        let brotli = Path::new(BROTLI_MODULE).exists();
        let (load, brotli_on) = if brotli {
            (
                format!("load_module {BROTLI_MODULE};\n"),
                "brotli_static on;",
            )
        } else {
            (String::new(), "")
        };
        std::fs::write(
            &conf,
            format!(
                "{load}daemon off;\nworker_processes auto;\nerror_log {root}/error.log;\npid {root}/nginx.pid;\n\
                 events {{ worker_connections 1024; }}\n\
                 http {{ access_log off; sendfile on; tcp_nopush on; keepalive_timeout 65;\n\
                 types {{ text/html html; application/json json; }}\n\
                 gzip_static on; {brotli_on}\n\
                 client_body_temp_path {root}; proxy_temp_path {root}; fastcgi_temp_path {root}; uwsgi_temp_path {root}; scgi_temp_path {root};\n\
                 server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n",
                root = root.display()
            ),
        )?;
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(root)
            .stderr(Stdio::null())
            .spawn()
            .context("starting nginx (apt-get install nginx)")?;
        std::thread::sleep(std::time::Duration::from_millis(500));
        Ok(Nginx {
            child,
            base: format!("http://127.0.0.1:{port}"),
            brotli,
        })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // The master takes its workers down with it on SIGTERM; SIGKILL would orphan them.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let b = [
            (0.001, 50.0),
            (0.01, 90.0),
            (0.1, 100.0),
            (f64::INFINITY, 100.0),
        ];
        assert!((quantile(&b, 0.5) - 0.001).abs() < 1e-9);
        assert!((quantile(&b, 0.7) - 0.0055).abs() < 1e-9);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn wrk_durations_have_units() {
        assert_eq!(duration("250.00us").unwrap(), 0.00025);
        assert_eq!(duration("1.50ms").unwrap(), 0.0015);
        assert_eq!(duration("2.00s").unwrap(), 2.0);
    }
}
