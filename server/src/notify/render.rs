//! What a notification says, per channel kind: a Discord embed coloured by state (how the seed's
//! team learned of their outage), a Slack message, or the event itself as JSON.

use serde_json::{json, Value};
use vigil_core::{
    model::{
        event::{EventData, IncidentNews, Tone},
        monitor::MonitorStatus,
    },
    store::events::Event,
};

/// Discord's customary colours.
pub const RED: u32 = 15_158_332;
pub const GREEN: u32 = 3_066_993;
pub const AMBER: u32 = 15_105_570;
pub const BLUE: u32 = 3_447_003;

/// Title, description and colour of an event, for people.
pub fn summary(e: &Event) -> (String, String, u32) {
    let colour = |tone: Tone| match tone {
        Tone::Bad => RED,
        Tone::Good => GREEN,
        Tone::Info => BLUE,
    };
    match &e.data {
        EventData::MonitorState(m) => (
            format!("{} is {}", m.monitor, m.to.as_str().to_uppercase()),
            format!(
                "{} ({} → {}): {}",
                m.component,
                m.from.as_str(),
                m.to.as_str(),
                m.cause
            ),
            match m.to {
                MonitorStatus::Down => RED,
                MonitorStatus::Up => GREEN,
                MonitorStatus::Degraded => AMBER,
                _ => BLUE,
            },
        ),
        EventData::SourceStale(s) => (
            s.message.clone(),
            format!("last error: {}", s.last_error.as_deref().unwrap_or("none")),
            RED,
        ),
        EventData::Ingress(i) => (
            format!("{} port {}: {}", i.nodebalancer, i.port, i.message),
            String::new(),
            colour(e.data.tone()),
        ),
        EventData::PostmortemPublished(p) => (
            format!("Post-mortem published: {}", p.name),
            String::new(),
            GREEN,
        ),
        data => match data.incident() {
            Some(n) => incident_summary(n),
            None => (data.message(), String::new(), colour(data.tone())),
        },
    }
}

pub fn incident_summary(n: &IncidentNews) -> (String, String, u32) {
    let colour = match n.status.as_str() {
        "resolved" | "completed" => GREEN,
        "monitoring" | "verifying" => AMBER,
        "scheduled" | "in_progress" => BLUE,
        _ => RED,
    };
    let affects = n.components.join(", ");
    let description = match (n.body.is_empty(), affects.is_empty()) {
        (false, false) => format!("{}\nAffects: {affects}", n.body),
        (false, true) => n.body.clone(),
        (true, false) => format!("Affects: {affects}"),
        (true, true) => String::new(),
    };
    (format!("[{}] {}", n.status, n.name), description, colour)
}

pub fn clip(s: &str, max: usize) -> String {
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

/// The request body for a channel of `kind`. `likely` is the first line of the incident's chain
/// of causes ("likely cause: …"), for the team's channels only.
pub fn body(kind: &str, e: &Event, public_url: &str, likely: Option<&str>) -> Value {
    let (title, mut description, colour) = summary(e);
    if let Some(l) = likely {
        description = if description.is_empty() {
            l.to_string()
        } else {
            format!("{l}\n{description}")
        };
    }
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
                "footer": { "text": format!("Vigil · {}", e.kind()) },
            }],
        }),
        "slack" => {
            // Slack reads `<…>` as links and mentions (`<!channel>`): escape what people typed.
            let (title, description) = (slack_escape(&title), slack_escape(&description));
            json!({
                "text": if description.is_empty() { title } else { format!("*{title}*\n{description}") },
            })
        }
        _ => {
            // The stored form, as webhook receivers have always had it.
            let (kind, payload) = e.data.to_parts();
            json!({
                "id": e.id, "at": e.at, "kind": kind, "subject": e.subject,
                "title": title, "payload": payload, "likely_cause": likely,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, payload: Value) -> Event {
        let data = EventData::parse(kind, payload);
        assert!(!matches!(data, EventData::Other { .. }), "{data:?}");
        Event {
            id: 7,
            at: chrono::DateTime::from_timestamp(1_612_015_200, 0).unwrap(),
            subject: "monitor:site-http".into(),
            data,
        }
    }

    #[test]
    fn monitor_down_is_a_red_embed() {
        let e = ev(
            "monitor.state",
            json!({"monitor_id": 1, "monitor": "site-http", "component": "Website", "from": "up", "to": "down",
                   "cause": "HTTP 502", "at": "2021-01-30T14:00:00Z"}),
        );
        let b = body("discord", &e, "https://status.example.org/", None);
        assert_eq!(b["embeds"][0]["title"], "site-http is DOWN");
        assert_eq!(b["embeds"][0]["color"], RED);
        assert_eq!(b["embeds"][0]["url"], "https://status.example.org/ops");
        let s = body("slack", &e, "", None);
        assert!(s["text"].as_str().unwrap().contains("HTTP 502"));
        assert_eq!(body("webhook", &e, "", None)["payload"]["to"], "down");
    }

    #[test]
    fn an_incident_message_leads_with_its_likely_cause() {
        let e = ev(
            "incident.opened",
            json!({"id": 1, "kind": "incident", "name": "Website down", "status": "investigating",
                   "impact": "major", "body": "", "components": ["Website"]}),
        );
        let likely = "likely cause: lke-node-b memory pressure (requests 113 % of allocatable)";
        let b = body("discord", &e, "", Some(likely));
        assert_eq!(
            b["embeds"][0]["description"],
            format!("{likely}\nAffects: Website")
        );
        assert_eq!(
            body("webhook", &e, "", Some(likely))["likely_cause"],
            likely
        );
        assert!(body("slack", &e, "", None)["text"]
            .as_str()
            .unwrap()
            .ends_with("Affects: Website"));
    }

    #[test]
    fn slack_text_cannot_mention_or_link() {
        let e = ev(
            "incident.opened",
            json!({"id": 1, "kind": "incident", "name": "<!channel> db down", "status": "investigating",
                   "impact": "major", "body": "see <https://evil.example|here> & more", "components": []}),
        );
        let text = body("slack", &e, "", None)["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(text.contains("&lt;!channel&gt; db down"), "{text}");
        assert!(text.contains("&amp; more"), "{text}");
    }

    #[test]
    fn long_texts_are_clipped_to_discord_limits() {
        let e = ev(
            "source.stale",
            json!({"source": "prometheus:lke", "kind": "prometheus", "last_success": null,
                   "message": "x".repeat(400), "last_error": "y".repeat(5000)}),
        );
        let b = body("discord", &e, "", None);
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
