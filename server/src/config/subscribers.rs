//! `[smtp]` (where subscribers' mail leaves from) and `[subscribers]` (who may follow the page,
//! and how hard the form may be used).

use std::path::PathBuf;

use serde::Deserialize;

use super::problem::Problem;

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP, upgraded with STARTTLS (required): port 587.
    #[default]
    Starttls,
    /// TLS from the first byte: port 465.
    Tls,
    /// No encryption at all: only for a relay on the same host or a test server.
    None,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// The mail server; email subscriptions are offered only when this is set.
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// Or a file holding it (first line).
    pub password_file: Option<PathBuf>,
    /// The sender: `Status <status@example.org>`.
    pub from: String,
    pub timeout_ms: u64,
    /// Connections kept open to the server while a fan-out runs.
    pub max_connections: u32,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: None,
            port: None,
            security: SmtpSecurity::default(),
            username: None,
            password_env: None,
            password_file: None,
            from: String::new(),
            timeout_ms: 10_000,
            max_connections: 8,
        }
    }
}

impl SmtpConfig {
    pub fn enabled(&self) -> bool {
        self.host.as_deref().is_some_and(|h| !h.trim().is_empty())
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }

    pub fn password(&self) -> Result<Option<String>, String> {
        match (&self.password_env, &self.password_file) {
            (None, None) => Ok(None),
            (Some(var), None) => std::env::var(var)
                .map(Some)
                .map_err(|_| format!("the environment variable `{var}` is not set")),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|s| Some(s.lines().next().unwrap_or_default().to_string()))
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
            (Some(_), Some(_)) => Err("give password_env or password_file, not both".into()),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubscribersConfig {
    /// Offer following the page at all (the form, the JSON endpoint, the footer link).
    pub enabled: bool,
    /// Allow webhook URLs that resolve to loopback, private, link-local or metadata addresses,
    /// and plain http. Only for tests and closed networks: otherwise anyone could make Vigil
    /// call into the network it runs in.
    pub allow_private_targets: bool,
    /// Maintenances are announced this many minutes before they start.
    pub reminder_minutes: u64,
    /// An unconfirmed request lapses after this many hours.
    pub confirm_hours: u64,
    /// One address or URL gets at most one confirmation per this many minutes.
    pub resend_minutes: u64,
    /// Requests one client address (an IPv6 /64) may make per hour (the form and the JSON
    /// endpoint), counted in the database so replicas share it.
    pub per_ip_per_hour: u32,
    /// Confirmations the public side may cause per hour, all targets together.
    pub max_confirmations_per_hour: u32,
    /// Messages in flight at once during a fan-out.
    pub concurrency: usize,
}

impl Default for SubscribersConfig {
    fn default() -> Self {
        SubscribersConfig {
            enabled: true,
            allow_private_targets: false,
            reminder_minutes: 60,
            confirm_hours: 48,
            resend_minutes: 10,
            per_ip_per_hour: 20,
            max_confirmations_per_hour: 200,
            concurrency: 64,
        }
    }
}

pub fn validate(smtp: &SmtpConfig, s: &SubscribersConfig) -> Result<(), Problem> {
    if smtp.enabled() {
        if smtp.from.trim().is_empty() {
            return Err(Problem::new(
                "smtp.from",
                "say who mail comes from, like `Status <status@example.org>`",
            ));
        }
        if smtp.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(Problem::new(
                "smtp.from",
                format!(
                    "`{}` is not a mailbox like `Status <status@example.org>`",
                    smtp.from
                ),
            ));
        }
        smtp.password()
            .map_err(|e| Problem::new("smtp.password_env", e))?;
        if (smtp.password_env.is_some() || smtp.password_file.is_some()) && smtp.username.is_none()
        {
            return Err(Problem::new(
                "smtp.username",
                "a password needs a username to go with it",
            ));
        }
        if smtp.max_connections == 0 {
            return Err(Problem::new("smtp.max_connections", "must be at least 1"));
        }
    }
    if s.reminder_minutes == 0 {
        return Err(Problem::new(
            "subscribers.reminder_minutes",
            "must be at least 1",
        ));
    }
    if s.confirm_hours == 0 {
        return Err(Problem::new(
            "subscribers.confirm_hours",
            "must be at least 1",
        ));
    }
    if s.per_ip_per_hour == 0 {
        return Err(Problem::new(
            "subscribers.per_ip_per_hour",
            "must be at least 1 (set enabled = false to close the form)",
        ));
    }
    if s.concurrency == 0 {
        return Err(Problem::new(
            "subscribers.concurrency",
            "must be at least 1",
        ));
    }
    Ok(())
}
