//! The few GitHub REST endpoints follow-up sync uses: create an issue, read one (with ETags and
//! 304s, as GitHub answers conditional requests), bearer-token auth answering 401, 404 for a
//! deleted issue, rate-limit headers. Tests close, reopen and delete issues as people would on
//! github.com.

use std::sync::{Arc, Mutex};

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    /// `open` or `closed`.
    pub state: String,
    /// `completed`, `not_planned`, `reopened` or none.
    pub state_reason: Option<String>,
    pub deleted: bool,
    /// Bumped on every change: the ETag.
    version: u64,
}

#[derive(Default)]
struct Repo {
    issues: Vec<Issue>,
    /// Every request as "METHOD path status", in order.
    log: Vec<String>,
}

/// A handle on the simulated repository `owner/repo`: change its issues while it serves.
#[derive(Clone)]
pub struct GithubSim {
    repo: Arc<Mutex<Repo>>,
    owner: String,
    name: String,
    token: Arc<Mutex<String>>,
}

impl GithubSim {
    pub fn new(repository: &str, token: &str) -> Self {
        let (owner, name) = repository.split_once('/').expect("owner/name");
        GithubSim {
            repo: Arc::default(),
            owner: owner.into(),
            name: name.into(),
            token: Arc::new(Mutex::new(token.into())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Repo> {
        self.repo.lock().expect("github sim poisoned")
    }

    /// The token GitHub accepts from now on (a rotated or revoked one answers 401).
    pub fn set_token(&self, token: &str) {
        *self.token.lock().expect("github sim poisoned") = token.into();
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.lock().issues.clone()
    }

    /// Requests so far, as "METHOD path status".
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    fn change(&self, number: u64, f: impl FnOnce(&mut Issue)) {
        let mut r = self.lock();
        let issue = r
            .issues
            .iter_mut()
            .find(|i| i.number == number)
            .expect("no such issue");
        f(issue);
        issue.version += 1;
    }

    /// Closed as done (`completed`) or as `not_planned`.
    pub fn close(&self, number: u64, reason: &str) {
        self.change(number, |i| {
            i.state = "closed".into();
            i.state_reason = Some(reason.into());
        });
    }

    pub fn reopen(&self, number: u64) {
        self.change(number, |i| {
            i.state = "open".into();
            i.state_reason = Some("reopened".into());
        });
    }

    pub fn delete(&self, number: u64) {
        self.change(number, |i| i.deleted = true);
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/repos/{owner}/{repo}/issues", post(create))
            .route("/repos/{owner}/{repo}/issues/{number}", get(read))
            .with_state(self.clone())
    }

    /// Serves on an ephemeral 127.0.0.1 port; returns the API's base URL.
    pub async fn serve(&self) -> std::io::Result<String> {
        crate::nodes::serve_free(self.router()).await
    }

    /// GitHub's checks before any endpoint: the repository, the token, the headers it asks for.
    fn refuse(&self, headers: &HeaderMap, owner: &str, repo: &str) -> Option<Response> {
        let token = self.token.lock().expect("github sim poisoned").clone();
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if auth != Some(format!("Bearer {token}").as_str()) {
            return Some(message(StatusCode::UNAUTHORIZED, "Bad credentials"));
        }
        if headers.get(header::USER_AGENT).is_none() {
            return Some(message(
                StatusCode::FORBIDDEN,
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
            ));
        }
        if owner != self.owner || repo != self.name {
            return Some(message(StatusCode::NOT_FOUND, "Not Found"));
        }
        None
    }

    fn logged(&self, what: String, r: Response) -> Response {
        self.lock()
            .log
            .push(format!("{what} {}", r.status().as_u16()));
        r
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        Json(json!({ "message": text, "documentation_url": "https://docs.github.com/rest" })),
    )
        .into_response()
}

fn body(owner: &str, repo: &str, i: &Issue) -> Value {
    json!({
        "id": 1_000_000 + i.number,
        "number": i.number,
        "title": i.title,
        "body": i.body,
        "labels": i.labels.iter().map(|l| json!({ "name": l })).collect::<Vec<_>>(),
        "state": i.state,
        "state_reason": i.state_reason,
        "html_url": format!("https://github.com/{owner}/{repo}/issues/{}", i.number),
        "url": format!("https://api.github.com/repos/{owner}/{repo}/issues/{}", i.number),
    })
}

const RATE: [(&str, &str); 2] = [
    ("x-ratelimit-limit", "5000"),
    ("x-ratelimit-remaining", "4999"),
];

#[derive(Deserialize)]
struct NewIssue {
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    labels: Vec<String>,
}

async fn create(
    State(sim): State<GithubSim>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Json(new): Json<NewIssue>,
) -> Response {
    let what = format!("POST /repos/{owner}/{repo}/issues");
    if let Some(r) = sim.refuse(&headers, &owner, &repo) {
        return sim.logged(what, r);
    }
    if new.title.trim().is_empty() {
        return sim.logged(
            what,
            message(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed"),
        );
    }
    let issue = {
        let mut r = sim.lock();
        let issue = Issue {
            number: r.issues.len() as u64 + 1,
            title: new.title,
            body: new.body,
            labels: new.labels,
            state: "open".into(),
            state_reason: None,
            deleted: false,
            version: 1,
        };
        r.issues.push(issue.clone());
        issue
    };
    let r = (StatusCode::CREATED, RATE, Json(body(&owner, &repo, &issue))).into_response();
    sim.logged(what, r)
}

async fn read(
    State(sim): State<GithubSim>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
) -> Response {
    let what = format!("GET /repos/{owner}/{repo}/issues/{number}");
    if let Some(r) = sim.refuse(&headers, &owner, &repo) {
        return sim.logged(what, r);
    }
    let issue = sim
        .lock()
        .issues
        .iter()
        .find(|i| i.number == number)
        .cloned();
    let r = match issue {
        None => message(StatusCode::NOT_FOUND, "Not Found"),
        Some(i) if i.deleted => message(StatusCode::NOT_FOUND, "Not Found"),
        Some(i) => {
            let etag = format!("W/\"{}-{}\"", i.number, i.version);
            let same = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some(etag.as_str());
            if same {
                (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response()
            } else {
                ([(header::ETAG, etag)], RATE, Json(body(&owner, &repo, &i))).into_response()
            }
        }
    };
    sim.logged(what, r)
}
