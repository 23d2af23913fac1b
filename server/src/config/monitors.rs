//! `[[component]]`, `[[monitor]]` and `[probes]`: what Vigil watches, reviewable in git.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::Duration,
};

use serde::Deserialize;
use toml::Spanned;
use vigil_core::model::monitor::{Check, HttpCheck, MonitorSpec, Thresholds};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    /// Short stable name used in URLs and badges: lowercase letters, digits and dashes.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MonitorKind {
    Http,
    Tcp,
    Dns,
    Heartbeat,
    Prometheus,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    pub name: String,
    pub component: String,
    pub kind: MonitorKind,
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Defaults to 10 s, or the interval when that is shorter.
    pub timeout_ms: Option<u64>,
    // http, prometheus
    pub url: Option<String>,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub expect_status: Vec<u16>,
    pub body_contains: Option<String>,
    pub body_not_contains: Option<String>,
    pub body_regex: Option<String>,
    pub max_response_ms: Option<u64>,
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    pub cert_min_days: Option<u32>,
    // tcp, dns
    pub host: Option<String>,
    pub port: Option<u16>,
    // dns
    pub record_type: Option<String>,
    pub expect: Option<String>,
    pub resolver: Option<String>,
    // heartbeat
    pub secret: Option<String>,
    pub window_secs: Option<u64>,
    // prometheus
    pub up_query: Option<String>,
}

fn default_interval() -> u64 {
    30
}
fn default_method() -> String {
    "GET".into()
}
fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbesConfig {
    /// Consecutive failures before a monitor is DOWN.
    pub down_after: u32,
    /// Consecutive successes before it is UP again.
    pub up_after: u32,
    /// No monitor may be checked more often than this.
    pub min_interval_secs: u64,
    /// Checks in flight at once, across all monitors.
    pub max_concurrency: usize,
    /// Raw results older than this are deleted; rollups stay.
    pub raw_retention_days: u32,
    /// HTTP bodies are read up to this size; the rest is ignored.
    pub max_body_kb: usize,
}

impl Default for ProbesConfig {
    fn default() -> Self {
        ProbesConfig {
            down_after: 3,
            up_after: 2,
            min_interval_secs: 5,
            max_concurrency: 512,
            raw_retention_days: 14,
            max_body_kb: 1024,
        }
    }
}

impl ProbesConfig {
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            down_after: self.down_after,
            up_after: self.up_after,
        }
    }
}

/// A monitor that does not make sense, with the line it starts on.
#[derive(Debug)]
pub struct Problem {
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

/// Checks components and monitors together and turns monitors into specs.
pub fn validate(
    lines: &HashMap<String, usize>,
    components: &[ComponentConfig],
    monitors: &[MonitorConfig],
    probes: &ProbesConfig,
) -> Result<Vec<MonitorSpec>, Problem> {
    let mut ids = HashSet::new();
    for (i, c) in components.iter().enumerate() {
        let key = format!("component[{i}].id");
        if c.id.is_empty()
            || !c
                .id
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        {
            return Err(Problem {
                line: None,
                key,
                message: format!("`{}` must be lowercase letters, digits and dashes", c.id),
            });
        }
        if !ids.insert(c.id.as_str()) {
            return Err(Problem {
                line: None,
                key,
                message: format!("component `{}` is declared twice", c.id),
            });
        }
    }
    if probes.down_after == 0 || probes.up_after == 0 {
        return Err(Problem {
            line: None,
            key: "probes.down_after".into(),
            message: "down_after and up_after must be at least 1".into(),
        });
    }
    if probes.max_concurrency == 0 {
        return Err(Problem {
            line: None,
            key: "probes.max_concurrency".into(),
            message: "must be at least 1".into(),
        });
    }
    let mut names = HashSet::new();
    monitors
        .iter()
        .map(|m| {
            let line = lines.get(&m.name).copied();
            let name = m.name.clone();
            let problem = |key: &str, message: String| Problem {
                line,
                key: format!("monitor `{name}`: {key}"),
                message,
            };
            if !names.insert(name.clone()) {
                return Err(problem("name", "another monitor has the same name".into()));
            }
            if !ids.contains(m.component.as_str()) {
                return Err(problem(
                    "component",
                    format!("no [[component]] has id `{}`", m.component),
                ));
            }
            if m.interval_secs < probes.min_interval_secs {
                return Err(problem(
                    "interval_secs",
                    format!(
                        "{} s is below the minimum of {} s (probes.min_interval_secs)",
                        m.interval_secs, probes.min_interval_secs
                    ),
                ));
            }
            let timeout_ms = m.timeout_ms.unwrap_or((m.interval_secs * 1000).min(10_000));
            if timeout_ms == 0 || timeout_ms > m.interval_secs * 1000 {
                return Err(problem(
                    "timeout_ms",
                    "must be above 0 and no longer than the interval".into(),
                ));
            }
            let need = |field: &Option<String>, key: &str| {
                field
                    .clone()
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| problem(key, format!("a {:?} monitor needs `{key}`", m.kind)))
            };
            let check = match m.kind {
                MonitorKind::Http => {
                    let url = need(&m.url, "url")?;
                    check_url(&url).map_err(|e| problem("url", e))?;
                    if let Some(re) = &m.body_regex {
                        regex_syntax_ok(re).map_err(|e| problem("body_regex", e))?;
                    }
                    if !matches!(
                        m.method.as_str(),
                        "GET" | "HEAD" | "POST" | "PUT" | "OPTIONS"
                    ) {
                        return Err(problem(
                            "method",
                            format!("`{}` is not one of GET, HEAD, POST, PUT, OPTIONS", m.method),
                        ));
                    }
                    Check::Http(HttpCheck {
                        url,
                        method: m.method.clone(),
                        headers: m.headers.clone().into_iter().collect(),
                        expect_status: m.expect_status.clone(),
                        body_contains: m.body_contains.clone(),
                        body_not_contains: m.body_not_contains.clone(),
                        body_regex: m.body_regex.clone(),
                        max_response: m.max_response_ms.map(Duration::from_millis),
                        follow_redirects: m.follow_redirects,
                        cert_min_days: m.cert_min_days,
                    })
                }
                MonitorKind::Tcp => Check::Tcp {
                    host: need(&m.host, "host")?,
                    port: m
                        .port
                        .ok_or_else(|| problem("port", "a tcp monitor needs `port`".into()))?,
                },
                MonitorKind::Dns => {
                    let record_type = m
                        .record_type
                        .clone()
                        .unwrap_or_else(|| "A".into())
                        .to_ascii_uppercase();
                    if !["A", "AAAA", "CNAME", "MX", "TXT", "NS"].contains(&record_type.as_str()) {
                        return Err(problem(
                            "record_type",
                            format!("`{record_type}` is not one of A, AAAA, CNAME, MX, TXT, NS"),
                        ));
                    }
                    let resolver = match &m.resolver {
                        None => None,
                        Some(r) => Some(r.parse().map_err(|_| {
                            problem("resolver", format!("`{r}` is not ip:port, e.g. 1.1.1.1:53"))
                        })?),
                    };
                    Check::Dns {
                        name: need(&m.host, "host")?,
                        record_type,
                        expect: m.expect.clone(),
                        resolver,
                    }
                }
                MonitorKind::Heartbeat => {
                    let secret = need(&m.secret, "secret")?;
                    if secret.len() < 16
                        || !secret
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        return Err(problem(
                            "secret",
                            "use at least 16 letters, digits, - or _ (it is the URL the job calls)"
                                .into(),
                        ));
                    }
                    let window = m.window_secs.unwrap_or(m.interval_secs);
                    Check::Heartbeat {
                        secret,
                        window: Duration::from_secs(window),
                    }
                }
                MonitorKind::Prometheus => {
                    let url = need(&m.url, "url")?;
                    check_url(&url).map_err(|e| problem("url", e))?;
                    Check::Prometheus {
                        base_url: url.trim_end_matches('/').to_string(),
                        up_query: m.up_query.clone(),
                    }
                }
            };
            Ok(MonitorSpec {
                name,
                component: m.component.clone(),
                interval: Duration::from_secs(m.interval_secs),
                timeout: Duration::from_millis(timeout_ms),
                check,
            })
        })
        .collect()
}

fn check_url(url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("`{url}` must start with http:// or https://"));
    }
    if parsed.host_str().is_none() {
        return Err(format!("`{url}` has no host"));
    }
    Ok(())
}

fn regex_syntax_ok(re: &str) -> Result<(), String> {
    regex::Regex::new(re)
        .map(|_| ())
        .map_err(|e| format!("not a valid regular expression: {e}"))
}

/// The line each monitor's `name` is on, for error messages. Read from the file's text, since
/// the validated config is assembled from the file and the environment.
pub fn name_lines(text: &str) -> HashMap<String, usize> {
    #[derive(Deserialize)]
    struct Names {
        #[serde(default)]
        monitor: Vec<Named>,
    }
    #[derive(Deserialize)]
    struct Named {
        name: Spanned<String>,
    }
    let Ok(names) = toml::from_str::<Names>(text) else {
        return HashMap::new();
    };
    names
        .monitor
        .into_iter()
        .map(|n| {
            let line = text[..n.name.span().start.min(text.len())]
                .matches('\n')
                .count()
                + 1;
            (n.name.into_inner(), line)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::io::Write;

    fn load(text: &str) -> Result<Config, String> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        Config::load_with_env(Some(f.path()), &[]).map_err(|e| e.to_string())
    }

    const SITE: &str = "[[component]]\nid = \"site\"\nname = \"Site\"\n";

    #[test]
    fn a_good_monitor_becomes_a_spec() {
        let c = load(&format!("{SITE}\n[[monitor]]\nname = \"home\"\ncomponent = \"site\"\nkind = \"http\"\nurl = \"https://example.org/\"\n")).unwrap();
        assert_eq!(c.monitor_specs.len(), 1);
        assert_eq!(c.monitor_specs[0].check.kind(), "http");
    }

    #[test]
    fn bad_monitors_are_refused_with_their_line_and_name() {
        let cases = [
            ("kind = \"http\"\nurl = \"not a url\"", "is not a valid URL"),
            (
                "kind = \"http\"\nurl = \"ftp://example.org/\"",
                "http:// or https://",
            ),
            ("kind = \"smtp\"", "unknown variant `smtp`"),
            (
                "kind = \"tcp\"\nhost = \"db\"\nport = 5432\ninterval_secs = 1",
                "below the minimum",
            ),
            ("kind = \"tcp\"\nhost = \"db\"", "needs `port`"),
            (
                "kind = \"http\"\nurl = \"https://x.org\"\nbody_regex = \"(\"",
                "regular expression",
            ),
            ("kind = \"heartbeat\"\nsecret = \"short\"", "at least 16"),
        ];
        for (body, expected) in cases {
            let text =
                format!("{SITE}\n[[monitor]]\nname = \"home\"\ncomponent = \"site\"\n{body}\n");
            let err = load(&text).unwrap_err();
            assert!(err.contains(expected), "{body}: {err}");
            if !expected.contains("unknown variant") {
                assert!(
                    err.contains(":6:") || err.contains(":5:"),
                    "names the line: {err}"
                );
                assert!(err.contains("monitor `home`"), "names the monitor: {err}");
            }
        }
    }

    #[test]
    fn duplicate_names_and_unknown_components_are_refused() {
        let m = "[[monitor]]\nname = \"home\"\ncomponent = \"site\"\nkind = \"tcp\"\nhost = \"a\"\nport = 1\n";
        let err = load(&format!("{SITE}\n{m}\n{m}")).unwrap_err();
        assert!(err.contains("same name"), "{err}");
        let err = load(&format!(
            "{SITE}\n{}",
            m.replace("component = \"site\"", "component = \"api\"")
        ))
        .unwrap_err();
        assert!(err.contains("no [[component]] has id `api`"), "{err}");
        let err = load(&format!("{SITE}{SITE}")).unwrap_err();
        assert!(err.contains("declared twice"), "{err}");
    }
}
