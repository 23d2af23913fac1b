//! Follow-ups tracked as GitHub issues (`[github]`), on the replica holding the `github` lease:
//! opens an issue for each follow-up that wants one, and reads each linked issue every
//! `poll_secs` with its ETag (a 304 costs nothing against the rate limit), so the follow-up's
//! status follows the issue's state. GitHub's `issues` webhook (`http::github_webhook`) makes a
//! change felt at once; polling is what makes it certain. The sync is the data source `github`:
//! a wrong token or an unreachable API makes it stale, saying why.

use std::time::Duration;

/// The largest issue read back (GitHub caps an issue's body at 64 KB of text).
const MAX_ISSUE: usize = 1 << 20;

use reqwest::{header, StatusCode};
use serde::Deserialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::store::follow_up_issues::{self as issues, ToOpen, ToRead};

use crate::config::github::GithubConfig;

/// The data source the sync reports as.
pub const SOURCE: &str = super::registry::GITHUB;
/// Work taken per pass.
const BATCH: i64 = 50;
/// How long GitHub may take to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Starts the sync on whichever replica holds the `github` lease.
pub fn start(
    config: &GithubConfig,
    public_url: &str,
    pool: PgPool,
    cluster: &crate::cluster::Cluster,
    shutdown: CancellationToken,
) {
    if !config.enabled() {
        return;
    }
    let sync = Sync {
        config: config.clone(),
        public_url: public_url.trim_end_matches('/').to_string(),
        http: crate::workers::http_client(),
        pool,
    };
    cluster.run_exclusive("github", shutdown, move |held| sync.clone().run(held));
}

#[derive(Clone)]
pub struct Sync {
    config: GithubConfig,
    public_url: String,
    http: reqwest::Client,
    pool: PgPool,
}

/// What one request came to.
#[derive(Debug)]
enum Answer {
    Ok(reqwest::Response),
    NotModified,
    /// This item will not work as asked (deleted issue, validation): said on it.
    Item(StatusCode, String),
    /// Nothing will work until someone acts or time passes (token, repository, rate limit):
    /// the pass stops, and waits this long when GitHub said.
    Stop(String, Option<Duration>),
}

#[derive(Deserialize)]
struct Issue {
    number: i64,
    html_url: String,
    state: String,
    state_reason: Option<String>,
}

/// A pass stopped by the database, in the sync's failure shape.
fn db(e: vigil_core::store::StoreError) -> (String, Option<Duration>) {
    (format!("database: {e}"), None)
}

/// Seconds GitHub asks to wait: `retry-after`, or until `x-ratelimit-reset` when none remain.
fn wait_asked(headers: &header::HeaderMap) -> Option<Duration> {
    let num = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    if let Some(secs) = num("retry-after") {
        return Some(Duration::from_secs(secs.max(1) as u64));
    }
    if num("x-ratelimit-remaining") == Some(0) {
        let reset = num("x-ratelimit-reset")?;
        let secs = (reset - chrono::Utc::now().timestamp()).clamp(1, 3600);
        return Some(Duration::from_secs(secs as u64));
    }
    None
}

impl Sync {
    pub async fn run(self, held: CancellationToken) {
        let period = Duration::from_secs(self.config.poll_secs.clamp(1, 5));
        let mut every = crate::workers::ticker(period);
        while crate::workers::next_tick(&mut every, &held).await {
            let outcome = self.pass().await;
            if let Err((e, _)) = &outcome {
                tracing::warn!(error = %e, "GitHub follow-up sync");
            }
            let wait = outcome.as_ref().err().and_then(|(_, w)| *w);
            crate::sources::registry::report(&self.pool, SOURCE, outcome.map_err(|(e, _)| e)).await;
            if let Some(wait) = wait {
                tokio::select! {
                    _ = held.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }

    /// Opens what is waiting, then reads what is due. Public for tests.
    pub async fn pass(&self) -> Result<(), (String, Option<Duration>)> {
        let token = self.config.token().map_err(|e| (e, None))?;
        let every = chrono::Duration::seconds(self.config.poll_secs as i64);
        for item in issues::to_open(&self.pool, self.config.open_by_default, every, BATCH)
            .await
            .map_err(db)?
        {
            self.open(&token, &item).await?;
        }
        for item in issues::to_read(&self.pool, every, BATCH)
            .await
            .map_err(db)?
        {
            self.read(&token, &item).await?;
        }
        Ok(())
    }

    fn url(&self, tail: &str) -> String {
        format!(
            "{}/repos/{}/issues{tail}",
            self.config.api_url.trim_end_matches('/'),
            self.config.repository
        )
    }

    async fn send(&self, req: reqwest::RequestBuilder, token: &str) -> Answer {
        let sent = req
            .bearer_auth(token)
            .header(header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .timeout(TIMEOUT)
            .send()
            .await;
        let r = match sent {
            Ok(r) => r,
            Err(e) => {
                return Answer::Stop(
                    format!(
                        "GitHub cannot be reached ({}): {e}",
                        crate::redact::url(&self.config.api_url)
                    ),
                    None,
                )
            }
        };
        let status = r.status();
        let repo = &self.config.repository;
        match status {
            s if s.is_success() => Answer::Ok(r),
            StatusCode::NOT_MODIFIED => Answer::NotModified,
            StatusCode::UNAUTHORIZED => Answer::Stop(
                "GitHub answered 401 Unauthorized: the token is wrong, expired or revoked (github.token_file)".into(),
                None,
            ),
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
                if wait_asked(r.headers()).is_some() =>
            {
                let wait = wait_asked(r.headers());
                Answer::Stop(
                    format!("GitHub's rate limit ({}): waiting as asked", status.as_u16()),
                    wait,
                )
            }
            StatusCode::FORBIDDEN => Answer::Stop(
                format!("GitHub answered 403 Forbidden: the token may not write issues in {repo}"),
                None,
            ),
            StatusCode::GONE => Answer::Stop(format!("issues are disabled in {repo}"), None),
            other => {
                let text = crate::capped::read(r, crate::capped::ANSWER_EXCERPT)
                    .await
                    .map(|c| c.excerpt(crate::capped::ANSWER_EXCERPT))
                    .unwrap_or_default();
                let said = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_string))
                    .unwrap_or_default();
                Answer::Item(other, format!("GitHub answered {}: {said}", other.as_u16()))
            }
        }
    }

    fn issue_text(&self, f: &ToOpen) -> String {
        let owner = f.owner.as_deref().unwrap_or("nobody yet");
        let due = f
            .due_on
            .map_or_else(|| "no date".to_string(), |d| d.to_string());
        format!(
            "A follow-up of the post-mortem **{}**: {}/ops/incidents/{}\n\n\
             Owner in Vigil: {owner} · due: {due}\n\n\
             Vigil follows this issue: closing it as completed marks the follow-up done, closing \
             it as not planned marks it won't do, reopening it opens it again.",
            f.postmortem, self.public_url, f.incident_id
        )
    }

    /// GitHub answered 2xx with something that is not an issue: said on the item.
    async fn not_an_issue(
        &self,
        id: i64,
        e: crate::capped::ReadError,
    ) -> Result<(), (String, Option<Duration>)> {
        issues::failed(
            &self.pool,
            id,
            &format!("GitHub's answer is not an issue: {e}"),
        )
        .await
        .map_err(db)
    }

    async fn open(&self, token: &str, f: &ToOpen) -> Result<(), (String, Option<Duration>)> {
        let body = serde_json::json!({
            "title": f.title,
            "body": self.issue_text(f),
            "labels": self.config.labels,
        });
        match self
            .send(self.http.post(self.url("")).json(&body), token)
            .await
        {
            Answer::Ok(r) => match crate::capped::json::<Issue>(r, MAX_ISSUE).await {
                Ok(issue) => issues::opened(&self.pool, f.id, issue.number, &issue.html_url)
                    .await
                    .map_err(db),
                Err(e) => self.not_an_issue(f.id, e).await,
            },
            Answer::NotModified => Ok(()),
            Answer::Item(StatusCode::NOT_FOUND, _) => {
                let e = format!(
                    "GitHub answered 404 for {}: the repository does not exist or the token cannot see it",
                    self.config.repository
                );
                issues::failed(&self.pool, f.id, &e).await.map_err(db)?;
                Err((e, None))
            }
            Answer::Item(_, e) => issues::failed(&self.pool, f.id, &e).await.map_err(db),
            Answer::Stop(e, wait) => {
                issues::failed(&self.pool, f.id, &e).await.map_err(db)?;
                Err((e, wait))
            }
        }
    }

    async fn read(&self, token: &str, f: &ToRead) -> Result<(), (String, Option<Duration>)> {
        let mut req = self.http.get(self.url(&format!("/{}", f.number)));
        if let Some(etag) = &f.etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        match self.send(req, token).await {
            Answer::Ok(r) => {
                let etag = r
                    .headers()
                    .get(header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                match crate::capped::json::<Issue>(r, MAX_ISSUE).await {
                    Ok(issue) => {
                        let changed = issues::read(
                            &self.pool,
                            f.id,
                            &issue.state,
                            issue.state_reason.as_deref(),
                            etag.as_deref(),
                        )
                        .await
                        .map_err(db)?;
                        if let Some(status) = changed {
                            tracing::info!(follow_up = f.id, issue = f.number, status = status.as_str(), "follow-up follows its GitHub issue");
                        }
                        Ok(())
                    }
                    Err(e) => self.not_an_issue(f.id, e).await,
                }
            }
            Answer::NotModified => issues::unchanged(&self.pool, f.id).await.map_err(db),
            Answer::Item(StatusCode::NOT_FOUND, _) => issues::deleted(
                &self.pool,
                f.id,
                &format!(
                    "GitHub answered 404 for issue #{}: it was deleted, transferred or hidden; the follow-up keeps its status",
                    f.number
                ),
            )
            .await
            .map_err(db),
            Answer::Item(_, e) => issues::failed(&self.pool, f.id, &e).await.map_err(db),
            Answer::Stop(e, wait) => {
                issues::failed(&self.pool, f.id, &e).await.map_err(db)?;
                Err((e, wait))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_github_asks_for() {
        let mut h = header::HeaderMap::new();
        assert_eq!(wait_asked(&h), None);
        h.insert("x-ratelimit-remaining", "12".parse().unwrap());
        assert_eq!(wait_asked(&h), None);
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        let reset = chrono::Utc::now().timestamp() + 30;
        h.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
        let w = wait_asked(&h).unwrap().as_secs();
        assert!((29..=30).contains(&w), "{w}");
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(wait_asked(&h), Some(Duration::from_secs(7)));
    }
}
