//! `[[kubernetes]]`: clusters whose nodes, pods and events Vigil watches (read-only).

use std::{collections::HashSet, path::PathBuf};

use serde::Deserialize;

use super::problem::Problem;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// How the cluster is named on /ops and in events, e.g. "lke".
    pub name: String,
    /// The API server, e.g. https://kubernetes.default.svc inside the cluster or the URL in
    /// your kubeconfig.
    pub url: String,
    /// File holding the service account's bearer token (inside a pod:
    /// /var/run/secrets/kubernetes.io/serviceaccount/token, re-read as it rotates).
    pub token_file: Option<PathBuf>,
    /// Environment variable holding the token, when there is no file.
    pub token_env: Option<String>,
    /// PEM file of the cluster's CA (inside a pod: .../serviceaccount/ca.crt); the system's
    /// roots when unset.
    pub ca_file: Option<PathBuf>,
    /// Seconds between sums of pod requests per node and checks that the API answers.
    #[serde(default = "thirty")]
    pub interval_secs: u64,
    pub stale_after_secs: Option<u64>,
    #[serde(default = "ten_thousand")]
    pub timeout_ms: u64,
    /// Ingresses and Services annotated `vigil.dev/monitor: "true"` become monitors (with
    /// `vigil.dev/component`, `vigil.dev/path`, `vigil.dev/interval`), removed with the
    /// annotation or the object. Needs list/watch on ingresses and services.
    #[serde(default)]
    pub discover: bool,
}

fn thirty() -> u64 {
    30
}

fn ten_thousand() -> u64 {
    10_000
}

impl KubernetesConfig {
    pub fn source_name(&self) -> String {
        format!("kubernetes:{}", self.name)
    }

    /// The bearer token: from the file when named (read at each connection, since projected
    /// tokens rotate), else the environment variable; none when neither is set.
    pub fn token(&self) -> Result<Option<String>, String> {
        let key = format!("kubernetes `{}`", self.name);
        if let Some(path) = &self.token_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{key}: cannot read token_file {}: {e}", path.display()))?;
            let token = text.trim().to_string();
            if token.is_empty() {
                return Err(format!("{key}: token_file {} is empty", path.display()));
            }
            return Ok(Some(token));
        }
        match &self.token_env {
            Some(var) => std::env::var(var)
                .map(Some)
                .map_err(|_| format!("{key}: ${var} is not set")),
            None => Ok(None),
        }
    }
}

/// Checks the clusters.
pub fn validate(clusters: &[KubernetesConfig]) -> Result<(), Problem> {
    let mut names = HashSet::new();
    for (i, k) in clusters.iter().enumerate() {
        let key = format!("kubernetes[{i}]");
        let name_ok = !k.name.is_empty()
            && k.name.len() <= 60
            && k.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !name_ok || !names.insert(k.name.clone()) {
            return Err(Problem::new(
                format!("{key}.name"),
                format!(
                    "`{}` must be 1–60 letters, digits, '-', '_' or '.', and unique",
                    k.name
                ),
            ));
        }
        let ok = reqwest::Url::parse(&k.url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            return Err(Problem::new(
                format!("{key}.url"),
                format!(
                    "`{}` is not an http(s) URL, e.g. https://kubernetes.default.svc",
                    k.url
                ),
            ));
        }
        if k.token_file.is_some() && k.token_env.is_some() {
            return Err(Problem::new(
                format!("{key}.token_env"),
                "set token_file or token_env, not both",
            ));
        }
        if let Some(ca) = &k.ca_file {
            if !ca.is_file() {
                return Err(Problem::new(
                    format!("{key}.ca_file"),
                    format!("{} is not a readable file", ca.display()),
                ));
            }
        }
        if k.interval_secs < 5 {
            return Err(Problem::new(
                format!("{key}.interval_secs"),
                "must be at least 5",
            ));
        }
        if k.timeout_ms < 100 {
            return Err(Problem::new(
                format!("{key}.timeout_ms"),
                "must be at least 100",
            ));
        }
    }
    Ok(())
}
