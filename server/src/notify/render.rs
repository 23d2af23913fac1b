//! What a notification says, per channel kind: a Discord embed coloured by state (how the seed's
//! team learned of their outage), a Slack message, or the event itself as JSON.

use serde_json::{json, Value};
use vigil_core::store::events::Event;

/// Discord's customary colours.
pub const RED: u32 = 15_158_332;
pub const GREEN: u32 = 3_066_993;
pub const AMBER: u32 = 15_105_570;
pub const BLUE: u32 = 3_447_003;

/// Title, description and colour of an event, for people.
pub fn summary(e: &Event) -> (String, String, u32) {
    let p = &e.payload;
    let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
    match e.kind.as_str() {
        "monitor.state" => {
            let to = s("to");
            let colour = match to.as_str() {
                "down" => RED,
                "up" => GREEN,
                "degraded" => AMBER,
                _ => BLUE,
            };
            (
                format!("{} is {}", s("monitor"), to.to_uppercase()),
                format!(
                    "{} ({} → {}): {}",
                    s("component"),
                    s("from"),
                    to,
                    s("cause")
                ),
                colour,
            )
        }
        "source.stale" => (
            s("message"),
            format!("last error: {}", p["last_error"].as_str().unwrap_or("none")),
            RED,
        ),
        "source.fresh" => (s("message"), String::new(), GREEN),
        "resource.alert" => (
            s("message"),
            String::new(),
            if p["firing"] == true { RED } else { GREEN },
        ),
        "lb.ingress" => (
            format!("{} port {}: {}", s("nodebalancer"), p["port"], s("message")),
            String::new(),
            if p["broken"] == true { RED } else { GREEN },
        ),
        kind if kind.starts_with("incident.") || kind.starts_with("maintenance.") => {
            let colour = match s("status").as_str() {
                "resolved" | "completed" => GREEN,
                "monitoring" | "verifying" => AMBER,
                "scheduled" | "in_progress" => BLUE,
                _ => RED,
            };
            let affects = p["components"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let body = p["body"].as_str().unwrap_or_default();
            let description = match (body.is_empty(), affects.is_empty()) {
                (false, false) => format!("{body}\nAffects: {affects}"),
                (false, true) => body.to_string(),
                (true, false) => format!("Affects: {affects}"),
                (true, true) => String::new(),
            };
            (
                format!("[{}] {}", s("status"), s("name")),
                description,
                colour,
            )
        }
        "postmortem.published" => (
            format!("Post-mortem published: {}", s("name")),
            String::new(),
            GREEN,
        ),
        _ => (
            format!("{} {}", e.kind, e.subject),
            p["message"].as_str().unwrap_or_default().to_string(),
            BLUE,
        ),
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// Slack's escaping for message text: exactly `&`, `<` and `>`.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The request body for a channel of `kind`.
pub fn body(kind: &str, e: &Event, public_url: &str) -> Value {
    let (title, description, colour) = summary(e);
    match kind {
        "discord" => json!({
            "username": "Vigil",
            "allowed_mentions": { "parse": [] },
            "embeds": [{
                // Discord's limits: title 256, description 4096.
                "title": clip(&title, 256),
                "description": clip(&description, 4096),
                "color": colour,
                "timestamp": e.at.to_rfc3339(),
                "url": format!("{}/ops", public_url.trim_end_matches('/')),
                "footer": { "text": format!("Vigil · {}", e.kind) },
            }],
        }),
        "slack" => {
            // Slack reads `<…>` as links and mentions (`<!channel>`): escape what people typed.
            let (title, description) = (slack_escape(&title), slack_escape(&description));
            json!({
                "text": if description.is_empty() { title } else { format!("*{title}*\n{description}") },
            })
        }
        _ => json!({
            "id": e.id, "at": e.at, "kind": e.kind, "subject": e.subject,
            "title": title, "payload": e.payload,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, payload: Value) -> Event {
        Event {
            id: 7,
            at: chrono::DateTime::from_timestamp(1_612_015_200, 0).unwrap(),
            kind: kind.into(),
            subject: "monitor:site-http".into(),
            payload,
        }
    }

    #[test]
    fn monitor_down_is_a_red_embed() {
        let e = ev(
            "monitor.state",
            json!({"monitor": "site-http", "component": "Website", "from": "up", "to": "down", "cause": "HTTP 502"}),
        );
        let b = body("discord", &e, "https://status.example.org/");
        assert_eq!(b["embeds"][0]["title"], "site-http is DOWN");
        assert_eq!(b["embeds"][0]["color"], RED);
        assert_eq!(b["embeds"][0]["url"], "https://status.example.org/ops");
        let s = body("slack", &e, "");
        assert!(s["text"].as_str().unwrap().contains("HTTP 502"));
        assert_eq!(body("webhook", &e, "")["payload"]["to"], "down");
    }

    #[test]
    fn slack_text_cannot_mention_or_link() {
        let e = ev(
            "incident.created",
            json!({"name": "<!channel> db down", "status": "investigating", "body": "see <https://evil.example|here> & more"}),
        );
        let text = body("slack", &e, "")["text"].as_str().unwrap().to_string();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(text.contains("&lt;!channel&gt; db down"), "{text}");
        assert!(text.contains("&amp; more"), "{text}");
    }

    #[test]
    fn long_texts_are_clipped_to_discord_limits() {
        let e = ev(
            "source.stale",
            json!({"message": "x".repeat(400), "last_error": "y".repeat(5000)}),
        );
        let b = body("discord", &e, "");
        assert_eq!(
            b["embeds"][0]["title"].as_str().unwrap().chars().count(),
            256
        );
        assert!(
            b["embeds"][0]["description"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= 4096
        );
    }
}
