//! People following the status page: who (an email address, a Discord channel's webhook, a
//! webhook of their own), what about (components, incidents and/or maintenances), and whether they
//! have confirmed. The rules on what they type live here; the URL rules that need DNS live in the
//! server.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use super::follow_up::FieldError;

/// Longest address SMTP allows (RFC 5321: 254 octets in a path).
pub const MAX_EMAIL: usize = 254;
pub const MAX_URL: usize = 2048;
/// More components than any status page has; a longer list is a mistake or an attack.
pub const MAX_COMPONENTS: usize = 100;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SubscriberKind {
    Email,
    Discord,
    Webhook,
}

impl SubscriberKind {
    pub const ALL: [SubscriberKind; 3] = [
        SubscriberKind::Email,
        SubscriberKind::Discord,
        SubscriberKind::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<SubscriberKind> {
        s.parse().ok()
    }

    /// The form field (and API field) its target is typed into.
    pub fn target_field(self) -> &'static str {
        match self {
            SubscriberKind::Email => "email",
            SubscriberKind::Discord => "discord_webhook_url",
            SubscriberKind::Webhook => "webhook_url",
        }
    }
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SubscriberState {
    /// Waiting for the confirmation link to be followed; nothing else is sent.
    Pending,
    Active,
    /// The receiver is gone (Discord answered 404 or 401); nothing more is sent.
    Deactivated,
}

impl SubscriberState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> SubscriberState {
        s.parse().unwrap_or(SubscriberState::Pending)
    }
}

/// A subscriber as admins see it (`/ops/subscribers`, `GET /api/v1/subscribers`). Never public.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscriber {
    pub id: i64,
    pub kind: SubscriberKind,
    /// The address or URL.
    pub target: String,
    /// Component ids followed; empty means all.
    pub components: Vec<String>,
    pub incidents: bool,
    pub maintenances: bool,
    pub state: SubscriberState,
    /// Why it was deactivated.
    pub state_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// `public` (the page's form) or who added it.
    pub created_by: String,
    /// Messages delivered to it so far.
    pub delivered: i64,
    /// Messages waiting (or being retried).
    pub pending: i64,
}

/// How many subscribers there are of each kind, by state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriberCount {
    pub kind: String,
    pub pending: i64,
    pub active: i64,
    pub deactivated: i64,
}

/// What the subscribe form offers: set by the server from its configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscribeOffer {
    /// Subscriptions are taken at all.
    pub enabled: bool,
    /// A mail server is configured, so email is offered.
    pub email: bool,
    /// (id, name) of every component, in page order.
    pub components: Vec<(String, String)>,
}

/// One page of `/ops/subscribers`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriberPage {
    pub subscribers: Vec<Subscriber>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub counts: Vec<SubscriberCount>,
}

/// A request to follow the page, as typed: checked by [`NewSubscription::parse`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionInput {
    pub kind: String,
    pub target: String,
    pub components: Vec<String>,
    pub incidents: bool,
    pub maintenances: bool,
}

/// A request to follow the page, checked (the URL's reachability rules are the server's).
#[derive(Clone, Debug, PartialEq)]
pub struct NewSubscription {
    pub kind: SubscriberKind,
    /// The address (lower-cased domain) or the URL, trimmed.
    pub target: String,
    pub components: Vec<String>,
    pub incidents: bool,
    pub maintenances: bool,
}

fn bad(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

impl NewSubscription {
    pub fn parse(input: &SubscriptionInput) -> Result<NewSubscription, FieldError> {
        let kind = SubscriberKind::parse(input.kind.trim()).ok_or_else(|| {
            bad(
                "kind",
                format!("`{}` is not email, discord or webhook", input.kind.trim()),
            )
        })?;
        let target = match kind {
            SubscriberKind::Email => email(&input.target)?,
            SubscriberKind::Discord | SubscriberKind::Webhook => {
                let t = input.target.trim();
                if t.is_empty() {
                    return Err(bad(kind.target_field(), "paste the webhook's URL"));
                }
                if t.len() > MAX_URL {
                    return Err(bad(
                        kind.target_field(),
                        format!("a URL is at most {MAX_URL} characters"),
                    ));
                }
                t.to_string()
            }
        };
        if input.components.len() > MAX_COMPONENTS {
            return Err(bad(
                "components",
                format!("at most {MAX_COMPONENTS} components; leave them all unticked to follow every one"),
            ));
        }
        let mut components: Vec<String> = input
            .components
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        components.sort();
        components.dedup();
        if !input.incidents && !input.maintenances {
            return Err(bad(
                "events",
                "choose incidents, maintenances or both: otherwise nothing would ever be sent",
            ));
        }
        Ok(NewSubscription {
            kind,
            target,
            components,
            incidents: input.incidents,
            maintenances: input.maintenances,
        })
    }
}

/// An email address as SMTP will take it: one `@`, a local part of at most 64 characters, a
/// domain with a dot, no spaces or control characters, 254 characters in all. The domain is
/// lower-cased (it is case-insensitive); the local part is kept as typed (it may not be).
pub fn email(s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    let field = "email";
    if t.is_empty() {
        return Err(bad(field, "type the address to send updates to"));
    }
    if t.len() > MAX_EMAIL {
        return Err(bad(
            field,
            format!("an address is at most {MAX_EMAIL} characters"),
        ));
    }
    let Some((local, domain)) = t.rsplit_once('@') else {
        return Err(bad(
            field,
            format!("`{t}` has no @: type an address like name@example.org"),
        ));
    };
    let printable = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\\\"@".contains(c))
    };
    if !printable(local) || local.len() > 64 {
        return Err(bad(
            field,
            format!("`{t}`: the part before @ is empty, too long or has spaces or <>()[],;:\\\"@"),
        ));
    }
    let labels_ok = domain.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    if !domain.contains('.') || !labels_ok {
        return Err(bad(
            field,
            format!("`{domain}` is not a mail domain like example.org"),
        ));
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// Which subscribers an event is for, if any: incident news, or maintenance news. Internal
/// notes, monitors and everything behind `/ops` never reach a subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Incidents,
    Maintenances,
    /// A component's public status changed: webhook subscribers (Statuspage's
    /// `component_update`) who follow it. Mail and Discord hear of the incident instead, so a
    /// component that flaps does not fill inboxes.
    Components,
}

pub fn audience(kind: &str) -> Option<Audience> {
    match kind {
        "incident.opened" | "incident.updated" | "incident.resolved" | "postmortem.published" => {
            Some(Audience::Incidents)
        }
        "maintenance.scheduled"
        | "maintenance.reminder"
        | "maintenance.started"
        | "maintenance.updated"
        | "maintenance.completed" => Some(Audience::Maintenances),
        "component.status" => Some(Audience::Components),
        _ => None,
    }
}

/// A Discord webhook URL's path: `/api/webhooks/{numeric id}/{token}` (Discord's own shape).
pub fn is_discord_webhook_path(path: &str) -> bool {
    let mut parts = path.trim_end_matches('/').split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(""), Some("api"), Some("webhooks"), Some(id), Some(token), None)
            if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit())
                && !token.is_empty() && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    )
}

/// Discord's own hosts for webhooks.
pub const DISCORD_HOSTS: [&str; 5] = [
    "discord.com",
    "discordapp.com",
    "ptb.discord.com",
    "canary.discord.com",
    "www.discord.com",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str, target: &str) -> SubscriptionInput {
        SubscriptionInput {
            kind: kind.into(),
            target: target.into(),
            components: vec![],
            incidents: true,
            maintenances: true,
        }
    }

    #[test]
    fn addresses_are_checked_and_their_domain_lower_cased() {
        assert_eq!(email(" Ops@Example.ORG ").unwrap(), "Ops@example.org");
        for (typed, says) in [
            ("", "type the address"),
            ("ops.example.org", "has no @"),
            ("ops@localhost", "not a mail domain"),
            ("o ps@example.org", "before @"),
            ("ops@exa mple.org", "not a mail domain"),
            ("ops@-x.org", "not a mail domain"),
            ("<a>@example.org", "before @"),
        ] {
            let e = email(typed).unwrap_err();
            assert_eq!(e.field, "email");
            assert!(e.message.contains(says), "{typed}: {}", e.message);
        }
        assert!(email(&format!("{}@example.org", "a".repeat(65))).is_err());
        assert!(email(&format!("a@{}.org", "b".repeat(260))).is_err());
    }

    #[test]
    fn a_subscription_names_the_field_that_is_wrong() {
        let e = NewSubscription::parse(&input("pager", "x")).unwrap_err();
        assert_eq!(e.field, "kind");
        let e = NewSubscription::parse(&input("discord", " ")).unwrap_err();
        assert_eq!(e.field, "discord_webhook_url");
        let e = NewSubscription::parse(&input("webhook", &"h".repeat(3000))).unwrap_err();
        assert_eq!(e.field, "webhook_url");
        let mut none = input("email", "a@example.org");
        none.incidents = false;
        none.maintenances = false;
        assert_eq!(NewSubscription::parse(&none).unwrap_err().field, "events");
        let mut many = input("email", "a@example.org");
        many.components = (0..101).map(|i| i.to_string()).collect();
        assert_eq!(
            NewSubscription::parse(&many).unwrap_err().field,
            "components"
        );
        let mut dup = input("email", "a@example.org");
        dup.components = vec!["web".into(), " web".into(), "api".into(), "".into()];
        assert_eq!(
            NewSubscription::parse(&dup).unwrap().components,
            vec!["api", "web"]
        );
    }

    #[test]
    fn only_public_news_has_an_audience() {
        assert_eq!(audience("incident.updated"), Some(Audience::Incidents));
        assert_eq!(audience("postmortem.published"), Some(Audience::Incidents));
        assert_eq!(
            audience("maintenance.reminder"),
            Some(Audience::Maintenances)
        );
        assert_eq!(audience("component.status"), Some(Audience::Components));
        assert_eq!(audience("note.added"), None);
        assert_eq!(audience("monitor.state"), None);
        assert_eq!(audience("postmortem.unpublished"), None);
    }

    #[test]
    fn discord_webhook_paths_have_discords_shape() {
        assert!(is_discord_webhook_path("/api/webhooks/123456/abc-DEF_9"));
        assert!(!is_discord_webhook_path("/api/webhooks/abc/def"));
        assert!(!is_discord_webhook_path("/api/webhooks/123"));
        assert!(!is_discord_webhook_path("/api/webhooks/123/abc/extra"));
        assert!(!is_discord_webhook_path("/hook/123/abc"));
    }
}

/// What the subscribe page says after the form was sent without JavaScript. Its URL carries one
/// of these codes (`/subscribe?error=email`), never text: a link cannot make the page say
/// anything its owner did not write. The JSON API names the exact problem instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormNotice {
    Email,
    DiscordUrl,
    WebhookUrl,
    WebhookSecret,
    Components,
    Events,
    Kind,
    TooMany,
    Token,
    Form,
}

impl FormNotice {
    const ALL: [FormNotice; 10] = [
        FormNotice::Email,
        FormNotice::DiscordUrl,
        FormNotice::WebhookUrl,
        FormNotice::WebhookSecret,
        FormNotice::Components,
        FormNotice::Events,
        FormNotice::Kind,
        FormNotice::TooMany,
        FormNotice::Token,
        FormNotice::Form,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FormNotice::Email => "email",
            FormNotice::DiscordUrl => "discord_webhook_url",
            FormNotice::WebhookUrl => "webhook_url",
            FormNotice::WebhookSecret => "webhook_secret",
            FormNotice::Components => "components",
            FormNotice::Events => "events",
            FormNotice::Kind => "kind",
            FormNotice::TooMany => "too_many",
            FormNotice::Token => "token",
            FormNotice::Form => "form",
        }
    }

    pub fn parse_code(s: &str) -> Option<FormNotice> {
        Self::ALL.into_iter().find(|n| n.code() == s)
    }

    /// The notice for a problem the checks named by its field.
    pub fn for_field(field: &str) -> FormNotice {
        Self::parse_code(field)
            .filter(|n| !matches!(n, FormNotice::TooMany | FormNotice::Token))
            .unwrap_or(FormNotice::Form)
    }

    /// What the page shows: the field, and what it takes. `retry` is the wait, in seconds, of a
    /// [`FormNotice::TooMany`].
    pub fn message(self, retry: Option<u64>) -> String {
        match self {
            FormNotice::Email => "Email address: enter one address, such as you@example.org (at most 254 characters).".into(),
            FormNotice::DiscordUrl => "Discord webhook URL: paste the URL from the channel's settings (Integrations → Webhooks → Copy Webhook URL); it starts with https://discord.com/api/webhooks/.".into(),
            FormNotice::WebhookUrl => "Webhook URL: an https URL on the public internet, which answers the verification request we send to it.".into(),
            FormNotice::WebhookSecret => "Signing key: 16 to 200 characters, or leave it empty to have one made.".into(),
            FormNotice::Components => "Components: choose among the components listed below, or none to hear about all.".into(),
            FormNotice::Events => "What to receive: tick incidents, maintenances, or both.".into(),
            FormNotice::Kind => "How: choose one of the ways offered below.".into(),
            FormNotice::TooMany => format!(
                "Too many requests: try again in {} seconds.",
                retry.unwrap_or(60)
            ),
            FormNotice::Token => "Link: it has expired or was already used to unsubscribe; subscribe again below.".into(),
            FormNotice::Form => "The request could not be taken; check the fields and try again.".into(),
        }
    }
}

#[cfg(test)]
mod form_notice_tests {
    use super::FormNotice;

    #[test]
    fn every_code_reads_back_and_unknown_text_is_no_notice() {
        for n in FormNotice::ALL {
            assert_eq!(FormNotice::parse_code(n.code()), Some(n));
        }
        assert_eq!(FormNotice::parse_code("Your account is suspended"), None);
        assert_eq!(FormNotice::for_field("email"), FormNotice::Email);
        assert_eq!(FormNotice::for_field("token"), FormNotice::Form);
        assert_eq!(FormNotice::for_field("anything"), FormNotice::Form);
        assert!(FormNotice::TooMany.message(Some(42)).contains("42 seconds"));
    }
}

/// The spelling of a target that throttles count by: one inbox however it is written. Mail
/// providers ignore case and deliver `name+tag@` to `name@`; URLs are counted lowercased.
pub fn throttle_key(kind: SubscriberKind, target: &str) -> String {
    let t = target.trim().to_lowercase();
    match kind {
        SubscriberKind::Email => match t.rsplit_once('@') {
            Some((local, domain)) => {
                let local = local.split('+').next().unwrap_or(local);
                format!("email:{local}@{domain}")
            }
            None => format!("email:{t}"),
        },
        other => format!("{}:{t}", other.as_str()),
    }
}

#[cfg(test)]
mod throttle_key_tests {
    use super::{throttle_key, SubscriberKind};

    #[test]
    fn one_inbox_is_one_key_however_it_is_written() {
        let k = |t| throttle_key(SubscriberKind::Email, t);
        assert_eq!(k("Victim@Example.org"), k("victim+1@example.org"));
        assert_eq!(k("victim+a+b@example.org"), "email:victim@example.org");
        assert_ne!(k("victim@example.org"), k("other@example.org"));
        assert_ne!(
            throttle_key(SubscriberKind::Webhook, "https://a.example/x"),
            k("https://a.example/x")
        );
    }
}
