//! What subscribers receive: the public words of an incident or maintenance (never a monitor, a
//! node, an address or an internal note — those events never reach this queue), as a mail with a
//! plain-text and an HTML part, a Discord embed, or Statuspage's subscriber webhook JSON.

use serde_json::{json, Value};
use vigil_core::{
    model::{
        event::{EventData, IncidentNews},
        incident::{IncidentKind, Progress},
        status::{ComponentStatus, StatusSummary},
    },
    store::events::Event,
};

use crate::notify::render::{clip, incident_summary, GREEN};

/// Links a message carries: the page, the thing it is about, and how to stop.
pub struct Links {
    pub base: String,
    pub unsubscribe: String,
    pub confirm: String,
}

impl Links {
    pub fn new(public_url: &str, token: &str) -> Links {
        let base = public_url.trim_end_matches('/').to_string();
        Links {
            unsubscribe: format!("{base}/unsubscribe/{token}"),
            confirm: format!("{base}/subscribe/confirm/{token}"),
            base,
        }
    }
}

/// What an event says to the public: a subject line, the text, and the page it links to.
pub struct News {
    pub subject: String,
    pub text: String,
    pub url: String,
    pub colour: u32,
    pub incident_id: Option<i64>,
}

fn status_label(n: &IncidentNews) -> String {
    let kind = if n.kind == "maintenance" {
        IncidentKind::Maintenance
    } else {
        IncidentKind::Incident
    };
    Progress::parse(kind, &n.status)
        .map(Progress::label)
        .unwrap_or_else(|| n.status.clone())
}

pub fn news(e: &Event, base: &str) -> News {
    match &e.data {
        EventData::ComponentStatus(c) => News {
            subject: format!("{}: {}", c.name, c.to.label()),
            text: format!(
                "{} is now {} (was {}).",
                c.name,
                c.to.label().to_lowercase(),
                c.from.label().to_lowercase()
            ),
            url: base.to_string(),
            colour: if c.to == ComponentStatus::Operational {
                GREEN
            } else {
                crate::notify::render::RED
            },
            incident_id: None,
        },
        EventData::PostmortemPublished(p) => News {
            subject: format!("Post-mortem: {}", p.name),
            text: format!(
                "The post-mortem of \"{}\" is published: what happened, why, and what we are changing.",
                p.name
            ),
            url: format!("{base}/postmortems/{}", p.id),
            colour: GREEN,
            incident_id: Some(p.incident_id),
        },
        EventData::MaintenanceReminder(n) => News {
            subject: format!("Maintenance starts soon: {}", n.name),
            text: with_components(
                &format!("Scheduled maintenance \"{}\" starts soon.", n.name),
                n,
            ),
            url: format!("{base}/incidents/{}", n.id),
            colour: incident_summary(n).2,
            incident_id: Some(n.id),
        },
        data => match data.incident() {
            Some(n) => News {
                subject: format!(
                    "{}: {} — {}",
                    if n.kind == "maintenance" {
                        "Maintenance"
                    } else {
                        "Incident"
                    },
                    n.name,
                    status_label(n)
                ),
                text: with_components(
                    &if n.body.is_empty() {
                        format!("{} is now {}.", n.name, status_label(n).to_lowercase())
                    } else {
                        n.body.clone()
                    },
                    n,
                ),
                url: format!("{base}/incidents/{}", n.id),
                colour: incident_summary(n).2,
                incident_id: Some(n.id),
            },
            // Never queued (see `subscriber::audience`); said plainly if it ever were.
            None => News {
                subject: "Status update".into(),
                text: String::new(),
                url: base.to_string(),
                colour: GREEN,
                incident_id: None,
            },
        },
    }
}

fn with_components(text: &str, n: &IncidentNews) -> String {
    if n.components.is_empty() {
        text.to_string()
    } else {
        format!("{text}\n\nAffected: {}", n.components.join(", "))
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A mail: subject, plain text, HTML.
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn html_page(
    title: &str,
    paragraphs: &[String],
    action: Option<(&str, &str)>,
    foot: &str,
) -> String {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
        .collect();
    let button = action
        .map(|(label, href)| {
            format!(
                "<p><a href=\"{}\" style=\"display:inline-block;padding:8px 14px;background:#1f6feb;color:#fff;text-decoration:none;border-radius:4px\">{}</a></p>",
                escape(href),
                escape(label)
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;max-width:36em\">\
         <h2>{}</h2>{body}{button}<hr><p style=\"color:#555;font-size:small\">{foot}</p></body></html>",
        escape(title)
    )
}

pub fn confirmation_mail(title: &str, links: &Links) -> Mail {
    let subject = format!("Confirm your subscription to {title}");
    let intro = format!(
        "Someone — hopefully you — asked to receive {title}'s incident and maintenance updates at this address."
    );
    let text = format!(
        "{intro}\n\nConfirm here: {}\n\nIf it was not you, ignore this mail: nothing more will be sent, and the request lapses on its own.\n",
        links.confirm
    );
    let html = html_page(
        &subject,
        &[intro, "If it was not you, ignore this mail: nothing more will be sent, and the request lapses on its own.".into()],
        Some(("Confirm subscription", &links.confirm)),
        &format!("{} · {}", escape(title), escape(&links.base)),
    );
    Mail {
        subject,
        text,
        html,
    }
}

pub fn event_mail(title: &str, e: &Event, links: &Links) -> Mail {
    let n = news(e, &links.base);
    let subject = format!("[{title}] {}", n.subject);
    let text = format!(
        "{}\n\n{}\n\nDetails: {}\n\n--\nYou receive this because you follow {title} ({}).\nUnsubscribe: {}\n",
        n.subject, n.text, n.url, links.base, links.unsubscribe
    );
    let foot = format!(
        "You receive this because you follow {} (<a href=\"{}\">status page</a>). <a href=\"{}\">Unsubscribe</a>.",
        escape(title),
        escape(&links.base),
        escape(&links.unsubscribe)
    );
    let html = html_page(
        &n.subject,
        std::slice::from_ref(&n.text),
        Some(("View on the status page", &n.url)),
        &foot,
    );
    Mail {
        subject,
        text,
        html,
    }
}

/// Discord: the confirmation message (its arrival confirms) and updates as embeds.
pub fn discord(title: &str, e: Option<&Event>, links: &Links) -> Value {
    let (embed_title, description, url, colour) = match e {
        None => (
            format!("Following {title}"),
            format!(
                "This channel will receive {title}'s incident and maintenance updates. To stop them, open {}",
                links.unsubscribe
            ),
            links.base.clone(),
            GREEN,
        ),
        Some(e) => {
            let n = news(e, &links.base);
            (n.subject, n.text, n.url, n.colour)
        }
    };
    json!({
        "username": clip(title, 80),
        "allowed_mentions": { "parse": [] },
        "embeds": [{
            "title": clip(&embed_title, 256),
            "description": clip(&description, 4096),
            "url": url,
            "color": colour,
            "timestamp": e.map(|e| e.at).unwrap_or_else(chrono::Utc::now).to_rfc3339(),
            "footer": { "text": clip(&format!("{title} · unsubscribe: {}", links.unsubscribe), 2048) },
        }],
    })
}

fn page(summary: &StatusSummary, base: &str) -> Value {
    json!({
        "id": base,
        "status_indicator": summary.indicator.as_str(),
        "status_description": summary.description,
    })
}

fn meta(links: &Links) -> Value {
    json!({
        "unsubscribe": links.unsubscribe,
        "documentation": format!("{}/api/v1/openapi.json", links.base),
    })
}

/// Statuspage's subscriber webhook: `meta`, `page`, and the `incident` with its update. A
/// maintenance is an incident with `scheduled_*` fields there too. A component's change is
/// `component_update` with the `component` as it is now.
pub fn webhook(summary: &StatusSummary, e: &Event, links: &Links) -> Value {
    if let EventData::ComponentStatus(c) = &e.data {
        let created_at = summary
            .components
            .iter()
            .find(|s| s.id == c.component_id)
            .map(|s| s.created_at);
        return json!({
            "meta": meta(links),
            "page": page(summary, &links.base),
            "component_update": {
                "id": e.id.to_string(),
                "component_id": c.component_id,
                "created_at": e.at,
                "old_status": c.from.as_str(),
                "new_status": c.to.as_str(),
            },
            "component": {
                "id": c.component_id,
                "name": c.name,
                "status": c.to.as_str(),
                "created_at": created_at,
                "updated_at": e.at,
            },
        });
    }
    let n = news(e, &links.base);
    let incident = match &e.data {
        EventData::PostmortemPublished(p) => json!({
            "id": p.incident_id.to_string(),
            "name": p.name,
            "postmortem_body": n.text,
            "postmortem_published_at": e.at,
            "shortlink": n.url,
        }),
        data => match data.incident() {
            Some(i) => json!({
                "id": i.id.to_string(),
                "name": i.name,
                "status": if matches!(data, EventData::MaintenanceReminder(_)) { "scheduled" } else { i.status.as_str() },
                "impact": i.impact,
                "updated_at": e.at,
                "shortlink": n.url,
                "components": i.components.iter().map(|c| json!({ "name": c })).collect::<Vec<_>>(),
                "incident_updates": [{
                    "id": e.id.to_string(),
                    "incident_id": i.id.to_string(),
                    "status": i.status,
                    "body": n.text,
                    "created_at": e.at,
                    "updated_at": e.at,
                }],
            }),
            None => json!({}),
        },
    };
    json!({ "meta": meta(links), "page": page(summary, &links.base), "incident": incident })
}

/// The webhook's confirmation: it goes live when the receiver (or a person reading what it
/// received) POSTs to `confirm_url`. The signing key is sent once, here, to the receiver only.
pub fn webhook_verification(summary: &StatusSummary, links: &Links, secret: &str) -> Value {
    json!({
        "meta": meta(links),
        "page": page(summary, &links.base),
        "verification": {
            "confirm_url": links.confirm,
            "secret": secret,
            "message": "POST to confirm_url (no body needed) to start receiving updates; every request is signed: X-Vigil-Signature-256 is sha256=HMAC-SHA256(secret, body) in hex.",
        },
    })
}
