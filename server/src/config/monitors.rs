//! `[[component]]`, `[[monitor]]` and `[probes]`: what Vigil watches, reviewable in git.

use super::problem::Problem;
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use toml::Spanned;
use vigil_core::model::monitor::{Check, HttpCheck, MonitorSpec, Thresholds};

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    /// Short stable name used in URLs and badges: lowercase letters, digits and dashes.
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MonitorKind {
    Http,
    Tcp,
    Dns,
    Heartbeat,
    Prometheus,
}

/// A monitor as people write it: the TOML's `[[monitor]]`, the API's JSON and the exported
/// world all use these field names. Fields left out take their defaults and are left out again
/// when written back, so an export reads like a hand-written file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    pub name: String,
    pub component: String,
    pub kind: MonitorKind,
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Defaults to 10 s, or the interval when that is shorter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    // http, prometheus
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default = "default_method", skip_serializing_if = "is_get")]
    pub method: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect_status: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_not_contains: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_regex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_response_ms: Option<u64>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub follow_redirects: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_min_days: Option<u32>,
    // tcp, dns
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    // dns
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,
    // heartbeat
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
    // prometheus
    #[serde(skip_serializing_if = "Option::is_none")]
    pub up_query: Option<String>,
    /// Where it is checked from: `local` (this server) and probe agents' regions
    /// (`vigil agent --region NAME`). Default: `["local"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    /// How many of `regions` must see it down for it to be down. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u32>,
    /// The load-balancer ports its traffic goes through (`"lke-ingress:443"`, or a label alone
    /// for every port): where the chain of causes looks when it fails. Left out, Vigil finds it
    /// when the monitor's host is a balancer's address.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schema(value_type = Vec<String>)]
    pub via: Vec<String>,
}

/// `via = "lke-ingress:443"` or `via = ["lke-ingress:80", "lke-ingress:443"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
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
fn is_get(method: &String) -> bool {
    method == "GET"
}
fn is_true(b: &bool) -> bool {
    *b
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

/// Checks components and monitors together and turns monitors into specs. Every problem is
/// reported, not only the first: someone fixing a file or a form fixes them all in one go.
pub fn validate(
    lines: &HashMap<String, usize>,
    components: &[ComponentConfig],
    monitors: &[MonitorConfig],
    probes: &ProbesConfig,
) -> Result<Vec<MonitorSpec>, Vec<Problem>> {
    let mut problems = Vec::new();
    let ids = component_ids(components, &mut problems);
    if let Err(p) = check_probes(probes) {
        problems.push(p);
    }
    let mut names = HashSet::new();
    let mut specs = Vec::with_capacity(monitors.len());
    for m in monitors {
        let at = At {
            line: lines.get(&m.name).copied(),
            name: &m.name,
        };
        if m.name.trim().is_empty() {
            problems.push(at.problem("name", "a monitor needs a name"));
        }
        if !names.insert(m.name.as_str()) {
            problems.push(at.problem("name", "another monitor has the same name"));
        }
        for (i, via) in m.via.iter().enumerate() {
            if let Err(e) = vigil_core::model::causes::Via::parse(via) {
                problems.push(at.problem(&format!("via[{i}]"), e));
            }
        }
        match monitor_spec(m, &at, &ids, probes) {
            Ok(spec) => specs.push(spec),
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(specs)
    } else {
        Err(problems)
    }
}

/// Every component id, once each, in the characters ids may use; problems go to `problems`.
fn component_ids<'a>(
    components: &'a [ComponentConfig],
    problems: &mut Vec<Problem>,
) -> HashSet<&'a str> {
    let mut ids = HashSet::new();
    for c in components {
        let key = |field: &str| format!("component `{}`: {field}", c.id);
        if c.id.is_empty()
            || c.id.len() > 64
            || !c
                .id
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        {
            problems.push(Problem::new(
                key("id"),
                format!(
                    "`{}` must be 1 to 64 lowercase letters, digits and dashes",
                    c.id
                ),
            ));
        }
        if c.name.trim().is_empty() {
            problems.push(Problem::new(key("name"), "a component needs a name"));
        }
        if !ids.insert(c.id.as_str()) {
            problems.push(Problem::new(
                key("id"),
                format!("component `{}` is declared twice", c.id),
            ));
        }
    }
    ids
}

fn check_probes(probes: &ProbesConfig) -> Result<(), Problem> {
    let problem = |key: &str, message: &str| Problem {
        line: None,
        key: key.into(),
        message: message.into(),
    };
    if probes.down_after == 0 || probes.up_after == 0 {
        return Err(problem(
            "probes.down_after",
            "down_after and up_after must be at least 1",
        ));
    }
    if probes.max_concurrency == 0 {
        return Err(problem("probes.max_concurrency", "must be at least 1"));
    }
    Ok(())
}

/// Where a monitor's problem is: its line in the file and its name.
struct At<'a> {
    line: Option<usize>,
    name: &'a str,
}

impl At<'_> {
    fn problem(&self, key: &str, message: impl Into<String>) -> Problem {
        Problem {
            line: self.line,
            key: format!("monitor `{}`: {key}", self.name),
            message: message.into(),
        }
    }

    /// A text field the monitor's kind requires.
    fn need(
        &self,
        m: &MonitorConfig,
        field: &Option<String>,
        key: &str,
    ) -> Result<String, Problem> {
        field
            .clone()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| self.problem(key, format!("a {:?} monitor needs `{key}`", m.kind)))
    }
}

/// One monitor: what it belongs to, how often, how long to wait, and its check.
fn monitor_spec(
    m: &MonitorConfig,
    at: &At,
    ids: &HashSet<&str>,
    probes: &ProbesConfig,
) -> Result<MonitorSpec, Vec<Problem>> {
    // Each part is checked on its own, so one form or file shows all of a monitor's problems.
    let mut problems = Vec::new();
    if !ids.contains(m.component.as_str()) {
        problems.push(at.problem(
            "component",
            format!("no [[component]] has id `{}`", m.component),
        ));
    }
    if m.interval_secs < probes.min_interval_secs {
        problems.push(at.problem(
            "interval_secs",
            format!(
                "{} s is below the minimum of {} s (probes.min_interval_secs)",
                m.interval_secs, probes.min_interval_secs
            ),
        ));
    }
    let timeout_ms = m.timeout_ms.unwrap_or((m.interval_secs * 1000).min(10_000));
    if timeout_ms == 0 || timeout_ms > m.interval_secs * 1000 {
        problems.push(at.problem(
            "timeout_ms",
            "must be above 0 and no longer than the interval",
        ));
    }
    let check = match m.kind {
        MonitorKind::Http => http_check(m, at),
        MonitorKind::Tcp => tcp_check(m, at),
        MonitorKind::Dns => dns_check(m, at),
        MonitorKind::Heartbeat => heartbeat_check(m, at),
        MonitorKind::Prometheus => at.need(m, &m.url, "url").and_then(|url| {
            check_url(&url).map_err(|e| at.problem("url", e))?;
            Ok(Check::Prometheus {
                base_url: url.trim_end_matches('/').to_string(),
                up_query: m.up_query.clone(),
            })
        }),
    };
    let check = match check {
        Ok(c) => c,
        Err(p) => {
            problems.push(p);
            return Err(problems);
        }
    };
    match regions(m, at, &check) {
        Ok((regions, quorum)) if problems.is_empty() => Ok(MonitorSpec {
            name: m.name.clone(),
            component: m.component.clone(),
            interval: Duration::from_secs(m.interval_secs),
            timeout: Duration::from_millis(timeout_ms),
            check,
            regions,
            quorum,
            // Each one was checked above; a bad one is a problem reported with the rest.
            via: m
                .via
                .iter()
                .filter_map(|v| vigil_core::model::causes::Via::parse(v).ok())
                .collect(),
        }),
        Ok(_) => Err(problems),
        Err(p) => {
            problems.push(p);
            Err(problems)
        }
    }
}

fn tcp_check(m: &MonitorConfig, at: &At) -> Result<Check, Problem> {
    Ok(Check::Tcp {
        host: at.need(m, &m.host, "host")?,
        port: m
            .port
            .ok_or_else(|| at.problem("port", "a tcp monitor needs `port`"))?,
    })
}

/// Where a monitor runs and how many regions decide that it is down.
fn regions(m: &MonitorConfig, at: &At, check: &Check) -> Result<(Vec<String>, u32), Problem> {
    let regions = m
        .regions
        .clone()
        .unwrap_or_else(|| vec![vigil_core::model::monitor::LOCAL.to_string()]);
    if regions.is_empty() {
        return Err(at.problem(
            "regions",
            "names no region; leave it out to check from here",
        ));
    }
    let mut seen = HashSet::new();
    for r in &regions {
        if !vigil_core::model::monitor::is_region_name(r) {
            return Err(at.problem(
                "regions",
                format!("`{r}` is not a region name (letters, digits, - and _, up to 40)"),
            ));
        }
        if !seen.insert(r.as_str()) {
            return Err(at.problem("regions", format!("`{r}` is listed twice")));
        }
    }
    if matches!(check, Check::Heartbeat { .. })
        && regions
            .iter()
            .any(|r| r != vigil_core::model::monitor::LOCAL)
    {
        return Err(at.problem(
            "regions",
            "a heartbeat is received, not probed: it has no regions",
        ));
    }
    let quorum = m.quorum.unwrap_or(1);
    if quorum == 0 || quorum as usize > regions.len() {
        return Err(at.problem(
            "quorum",
            format!(
                "must be between 1 and the {} region(s) listed",
                regions.len()
            ),
        ));
    }
    Ok((regions, quorum))
}

fn http_check(m: &MonitorConfig, at: &At) -> Result<Check, Problem> {
    let url = at.need(m, &m.url, "url")?;
    check_url(&url).map_err(|e| at.problem("url", e))?;
    if let Some(re) = &m.body_regex {
        regex_syntax_ok(re).map_err(|e| at.problem("body_regex", e))?;
    }
    if !matches!(
        m.method.as_str(),
        "GET" | "HEAD" | "POST" | "PUT" | "OPTIONS"
    ) {
        return Err(at.problem(
            "method",
            format!("`{}` is not one of GET, HEAD, POST, PUT, OPTIONS", m.method),
        ));
    }
    Ok(Check::Http(HttpCheck {
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
    }))
}

fn dns_check(m: &MonitorConfig, at: &At) -> Result<Check, Problem> {
    let record_type = m
        .record_type
        .clone()
        .unwrap_or_else(|| "A".into())
        .to_ascii_uppercase();
    if !["A", "AAAA", "CNAME", "MX", "TXT", "NS"].contains(&record_type.as_str()) {
        return Err(at.problem(
            "record_type",
            format!("`{record_type}` is not one of A, AAAA, CNAME, MX, TXT, NS"),
        ));
    }
    let resolver = match &m.resolver {
        None => None,
        Some(r) => Some(r.parse().map_err(|_| {
            at.problem("resolver", format!("`{r}` is not ip:port, e.g. 1.1.1.1:53"))
        })?),
    };
    Ok(Check::Dns {
        name: at.need(m, &m.host, "host")?,
        record_type,
        expect: m.expect.clone(),
        resolver,
    })
}

fn heartbeat_check(m: &MonitorConfig, at: &At) -> Result<Check, Problem> {
    let secret = at.need(m, &m.secret, "secret")?;
    if secret.len() < 16
        || !secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(at.problem(
            "secret",
            "use at least 16 letters, digits, - or _ (it is the URL the job calls)",
        ));
    }
    let window = m.window_secs.unwrap_or(m.interval_secs);
    Ok(Check::Heartbeat {
        secret,
        window: Duration::from_secs(window),
    })
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
