//! The world from the settings pages: components and monitors read by anyone signed in and
//! changed by admins, through the server's one write path (the same as the API's), so a form's
//! change is a revision like any other.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use vigil_core::model::world::{CheckOutcomeView, MonitorRow, RevisionView, SettingsView};

#[cfg(feature = "ssr")]
use super::guard;

/// A monitor form as posted: every field text, as typed. [`MonitorForm::to_doc`] reads it into
/// the TOML's fields, naming every field that does not read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonitorForm {
    /// The monitor being edited (empty: a new one).
    pub original: String,
    /// The revision the form was filled from (refused if the monitor moved on since).
    pub revision: String,
    pub name: String,
    pub component: String,
    pub kind: String,
    pub interval_secs: String,
    pub timeout_ms: String,
    pub url: String,
    pub method: String,
    /// Comma-separated status codes.
    pub expect_status: String,
    pub body_contains: String,
    pub body_not_contains: String,
    pub max_response_ms: String,
    pub cert_min_days: String,
    /// `on` when ticked; absent when not.
    pub follow_redirects: String,
    pub host: String,
    pub port: String,
    pub record_type: String,
    pub expect: String,
    pub resolver: String,
    pub secret: String,
    pub window_secs: String,
    pub up_query: String,
    /// One `Name: value` per line.
    pub headers: String,
    /// Comma-separated regions (`local` is this server).
    pub regions: String,
    pub quorum: String,
    /// Comma-separated load-balancer ports it is served through (`lke-ingress:443`).
    #[serde(default)]
    pub via: String,
}

impl MonitorForm {
    /// The form filled from a stored monitor.
    pub fn of(row: &MonitorRow) -> MonitorForm {
        let d = &row.doc;
        let s = |k: &str| match &d[k] {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let list = |k: &str| {
            d[k].as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        MonitorForm {
            original: row.name.clone(),
            revision: row.revision.to_string(),
            name: row.name.clone(),
            component: s("component"),
            kind: s("kind"),
            interval_secs: s("interval_secs"),
            timeout_ms: s("timeout_ms"),
            url: s("url"),
            method: s("method"),
            expect_status: list("expect_status"),
            body_contains: s("body_contains"),
            body_not_contains: s("body_not_contains"),
            max_response_ms: s("max_response_ms"),
            cert_min_days: s("cert_min_days"),
            follow_redirects: if d["follow_redirects"] == false {
                String::new()
            } else {
                "on".into()
            },
            host: s("host"),
            port: s("port"),
            record_type: s("record_type"),
            expect: s("expect"),
            resolver: s("resolver"),
            secret: s("secret"),
            window_secs: s("window_secs"),
            up_query: s("up_query"),
            headers: d["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default(),
            regions: list("regions"),
            quorum: s("quorum"),
            via: match &d["via"] {
                serde_json::Value::String(v) => v.clone(),
                _ => list("via"),
            },
        }
    }

    /// The monitor with the TOML's field names; blank fields are left out (their defaults
    /// apply). Every field that does not read is named, all at once.
    #[cfg(feature = "ssr")]
    pub fn to_doc(&self) -> Result<serde_json::Value, String> {
        use serde_json::{json, Map, Value};
        let mut doc = Map::new();
        let mut problems = Vec::new();
        let mut text = |key: &str, v: &str| {
            if !v.trim().is_empty() {
                doc.insert(key.into(), Value::String(v.trim().to_string()));
            }
        };
        text("name", &self.name);
        text("component", &self.component);
        text("kind", &self.kind);
        text("url", &self.url);
        text("method", &self.method);
        text("body_contains", &self.body_contains);
        text("body_not_contains", &self.body_not_contains);
        text("host", &self.host);
        text("record_type", &self.record_type);
        text("expect", &self.expect);
        text("resolver", &self.resolver);
        text("secret", &self.secret);
        text("up_query", &self.up_query);
        for (key, v) in [
            ("interval_secs", &self.interval_secs),
            ("timeout_ms", &self.timeout_ms),
            ("max_response_ms", &self.max_response_ms),
            ("cert_min_days", &self.cert_min_days),
            ("port", &self.port),
            ("window_secs", &self.window_secs),
            ("quorum", &self.quorum),
        ] {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match v.parse::<u64>() {
                Ok(n) => {
                    doc.insert(key.into(), json!(n));
                }
                Err(_) => problems.push(format!("{key}: `{v}` is not a whole number")),
            }
        }
        let codes: Vec<&str> = self
            .expect_status
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if !codes.is_empty() {
            let mut parsed = Vec::new();
            for c in codes {
                match c.parse::<u16>() {
                    Ok(n) => parsed.push(n),
                    Err(_) => problems.push(format!(
                        "expect_status: `{c}` is not a status code (e.g. 200, 204)"
                    )),
                }
            }
            doc.insert("expect_status".into(), json!(parsed));
        }
        // Comma-separated lists: blank items dropped, an empty list left out.
        for (key, text) in [("regions", &self.regions), ("via", &self.via)] {
            let items: Vec<&str> = text
                .split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .collect();
            if !items.is_empty() {
                doc.insert(key.into(), json!(items));
            }
        }
        let mut headers = Map::new();
        for (i, line) in self.headers.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match line.split_once(':') {
                Some((k, v)) if !k.trim().is_empty() => {
                    headers.insert(k.trim().into(), Value::String(v.trim().into()));
                }
                _ => problems.push(format!("headers: line {} is not `Name: value`", i + 1)),
            }
        }
        if !headers.is_empty() {
            doc.insert("headers".into(), Value::Object(headers));
        }
        if self.kind == "http" && self.follow_redirects.is_empty() {
            doc.insert("follow_redirects".into(), json!(false));
        }
        if problems.is_empty() {
            Ok(Value::Object(doc))
        } else {
            Err(format!("monitor `{}`: {}", self.name, problems.join("; ")))
        }
    }
}

#[cfg(feature = "ssr")]
fn desk() -> Result<std::sync::Arc<dyn vigil_core::model::world::WorldDesk>, ServerFnError> {
    use_context::<std::sync::Arc<dyn vigil_core::model::world::WorldDesk>>()
        .ok_or_else(|| ServerFnError::new("the settings cannot be reached on this server"))
}

/// A refusal from the write path: the caller's to fix.
#[cfg(feature = "ssr")]
fn refused(message: String) -> ServerFnError {
    guard::set_status(http::StatusCode::BAD_REQUEST);
    ServerFnError::new(message)
}

#[cfg(feature = "ssr")]
async fn change(op: vigil_core::model::world::WorldOp) -> Result<i64, ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::ConfigWrite).await?;
    desk()?.change(who, op).await.map_err(refused)
}

/// The world, and whether the caller may change it (admins; others read).
#[server]
pub async fn get_settings() -> Result<(SettingsView, bool), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::Read).await?;
    let view = desk()?.settings().await.map_err(ServerFnError::new)?;
    Ok((view, who.allows(Scope::ConfigWrite)))
}

#[cfg(feature = "ssr")]
fn blank_to_none(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Creates a component (`original` empty) or changes one.
#[server]
pub async fn save_component(
    #[server(default)] original: String,
    id: String,
    name: String,
    #[server(default)] group: String,
    #[server(default)] description: String,
    #[server(default)] revision: String,
) -> Result<i64, ServerFnError> {
    let doc = serde_json::json!({
        "id": id.trim(),
        "name": name.trim(),
        "group": blank_to_none(group),
        "description": blank_to_none(description),
    });
    let doc = match doc {
        serde_json::Value::Object(mut m) => {
            m.retain(|_, v| !v.is_null());
            serde_json::Value::Object(m)
        }
        other => other,
    };
    change(vigil_core::model::world::WorldOp::PutComponent {
        original: blank_to_none(original),
        doc,
        expected_revision: revision.trim().parse().ok(),
    })
    .await
}

#[server]
pub async fn delete_component(id: String) -> Result<i64, ServerFnError> {
    change(vigil_core::model::world::WorldOp::DeleteComponent { id }).await
}

/// Moves a component one place `up` or `down` on the page.
#[server]
pub async fn move_component(id: String, direction: String) -> Result<i64, ServerFnError> {
    change(vigil_core::model::world::WorldOp::MoveComponent {
        id,
        up: direction == "up",
    })
    .await
}

/// Creates or changes a monitor; then the browser goes back to the settings.
#[server]
pub async fn save_monitor(form: MonitorForm) -> Result<i64, ServerFnError> {
    let doc = form.to_doc().map_err(refused)?;
    let revision = change(vigil_core::model::world::WorldOp::PutMonitor {
        original: blank_to_none(form.original.clone()),
        doc,
        expected_revision: form.revision.trim().parse().ok(),
    })
    .await?;
    leptos_axum::redirect("/ops/settings");
    Ok(revision)
}

#[server]
pub async fn delete_monitor(name: String) -> Result<i64, ServerFnError> {
    let revision = change(vigil_core::model::world::WorldOp::DeleteMonitor { name }).await?;
    leptos_axum::redirect("/ops/settings");
    Ok(revision)
}

/// Runs the monitor in `form` once from the server, without saving it. Admins.
#[server]
pub async fn check_monitor(form: MonitorForm) -> Result<CheckOutcomeView, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::ConfigWrite).await?;
    let doc = form.to_doc().map_err(refused)?;
    desk()?.check_now(doc).await.map_err(refused)
}

/// The newest revisions first.
#[server]
pub async fn get_world_history() -> Result<(Vec<RevisionView>, bool), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::Read).await?;
    let history = desk()?.history(100).await.map_err(ServerFnError::new)?;
    Ok((history, who.allows(Scope::ConfigWrite)))
}

/// Makes the world what it was after `revision`, as a new revision.
#[server]
pub async fn restore_world(revision: i64) -> Result<i64, ServerFnError> {
    change(vigil_core::model::world::WorldOp::Restore { revision }).await
}

/// Sets the public page's title, description and links (one `Name | https://…` per line).
#[server]
pub async fn save_page(
    title: String,
    #[server(default)] description: String,
    #[server(default)] links: String,
    #[server(default)] revision: String,
) -> Result<i64, ServerFnError> {
    let mut problems = Vec::new();
    let links: Vec<serde_json::Value> = links
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .filter_map(|(i, line)| match line.split_once('|') {
            Some((name, url)) => Some(serde_json::json!({"name": name.trim(), "url": url.trim()})),
            None => {
                problems.push(format!(
                    "links, line {}: write `Name | https://example.com/…`",
                    i + 1
                ));
                None
            }
        })
        .collect();
    if !problems.is_empty() {
        return Err(refused(problems.join("; ")));
    }
    let mut doc = serde_json::json!({"title": title.trim(), "links": links});
    if let Some(d) = blank_to_none(description) {
        doc["description"] = d.into();
    }
    // Created or replaced: the write path decides under the world's lock.
    change(vigil_core::model::world::WorldOp::PutSetting {
        kind: "page".into(),
        original: None,
        doc,
        expected_revision: revision.trim().parse().ok(),
    })
    .await
}

/// Creates (`original` empty) or changes a source, channel or alert rule written as TOML, with
/// the section's field names (a source's `kind` among them).
#[server]
pub async fn save_setting(
    kind: String,
    #[server(default)] original: String,
    text: String,
    #[server(default)] revision: String,
) -> Result<i64, ServerFnError> {
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        refused(format!(
            "{kind}: the settings do not read as TOML: {}",
            e.message()
        ))
    })?;
    let doc = serde_json::to_value(table).map_err(|e| refused(e.to_string()))?;
    change(vigil_core::model::world::WorldOp::PutSetting {
        kind,
        original: blank_to_none(original),
        doc,
        expected_revision: revision.trim().parse().ok(),
    })
    .await
}

#[server]
pub async fn delete_setting(kind: String, id: String) -> Result<i64, ServerFnError> {
    change(vigil_core::model::world::WorldOp::DeleteSetting { kind, id }).await
}
