//! `[github]`: follow-ups tracked as GitHub issues. With a repository and a token, a new
//! follow-up can open an issue there, and the follow-up's status follows the state
//! (read with ETags every `poll_secs`, and at once when GitHub's `issues` webhook says so).

use std::path::PathBuf;

use serde::Deserialize;

use super::problem::Problem;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GithubConfig {
    /// `owner/name` of the repository issues are opened in. Empty: no sync.
    pub repository: String,
    /// The REST API's base URL; GitHub Enterprise Server's is `https://HOST/api/v3`.
    pub api_url: String,
    /// A file holding the token (a fine-grained token with Issues: read and write on the
    /// repository is enough), re-read at every request so a rotated token is picked up.
    pub token_file: Option<PathBuf>,
    /// Or the environment variable holding it.
    pub token_env: String,
    /// Open an issue for every new follow-up (the checklist's too) unless a request says
    /// `"github_issue": false`; otherwise only when one asks for it.
    pub open_by_default: bool,
    /// Labels put on the issues opened.
    pub labels: Vec<String>,
    /// Seconds between readings of each linked issue (conditional requests: a 304 does not count
    /// against GitHub's rate limit). Be polite with github.com: 60 or more.
    pub poll_secs: u64,
    /// A file holding the secret of the repository's webhook (`issues` events) sent to
    /// `/api/v1/github/webhook`; without it that endpoint answers 404 and polling alone applies.
    pub webhook_secret_file: Option<PathBuf>,
}

impl Default for GithubConfig {
    fn default() -> Self {
        GithubConfig {
            repository: String::new(),
            api_url: "https://api.github.com".into(),
            token_file: None,
            token_env: "GITHUB_TOKEN".into(),
            open_by_default: false,
            labels: vec!["follow-up".into()],
            poll_secs: 300,
            webhook_secret_file: None,
        }
    }
}

fn first_line(path: &PathBuf, key: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read github.{key} {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().trim().to_string();
    if line.is_empty() {
        return Err(format!("github.{key} {} is empty", path.display()));
    }
    Ok(line)
}

impl GithubConfig {
    pub fn enabled(&self) -> bool {
        !self.repository.is_empty()
    }

    /// The token, from the file when one is named, else from the environment variable.
    pub fn token(&self) -> Result<String, String> {
        if let Some(path) = &self.token_file {
            return first_line(path, "token_file");
        }
        std::env::var(&self.token_env)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                format!(
                    "github.repository is set but ${} is not (or set github.token_file)",
                    self.token_env
                )
            })
    }

    pub fn webhook_secret(&self) -> Option<Result<String, String>> {
        self.webhook_secret_file
            .as_ref()
            .map(|p| first_line(p, "webhook_secret_file"))
    }
}

pub fn validate(g: &GithubConfig) -> Result<(), Problem> {
    if !g.enabled() {
        return Ok(());
    }
    let parts: Vec<&str> = g.repository.split('/').collect();
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if parts.len() != 2 || !parts.iter().all(|p| name_ok(p)) {
        return Err(Problem::new(
            "github.repository",
            format!(
                "`{}` is not owner/name, e.g. example-org/infrastructure",
                g.repository
            ),
        ));
    }
    let url_ok = reqwest::Url::parse(&g.api_url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !url_ok {
        return Err(Problem::new(
            "github.api_url",
            format!(
                "`{}` is not an http(s) URL, e.g. https://api.github.com",
                g.api_url
            ),
        ));
    }
    g.token()
        .map_err(|e| Problem::new("github.token_file", e))?;
    if let Some(Err(e)) = g.webhook_secret() {
        return Err(Problem::new("github.webhook_secret_file", e));
    }
    if g.poll_secs < 1 {
        return Err(Problem::new("github.poll_secs", "must be at least 1"));
    }
    if let Some(bad) = g
        .labels
        .iter()
        .find(|l| l.trim().is_empty() || l.len() > 50)
    {
        return Err(Problem::new(
            "github.labels",
            format!("`{bad}` is empty or longer than 50 characters"),
        ));
    }
    Ok(())
}
