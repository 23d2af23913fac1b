//! Sending subscribers' mail over SMTP (lettre): pooled connections, STARTTLS or TLS as
//! configured, and RFC 8058 one-click unsubscribe headers on every message.

use std::time::Duration;

use lettre::{
    message::{
        header::{HeaderName, HeaderValue},
        Mailbox, MultiPart,
    },
    transport::smtp::{authentication::Credentials, PoolConfig},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use super::render::Mail;
use crate::config::subscribers::{SmtpConfig, SmtpSecurity};
use crate::outbox::policy::Outcome;

const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The transport for `[smtp]` (checked when the configuration was loaded).
    pub fn new(c: &SmtpConfig) -> anyhow::Result<Mailer> {
        let host = c.host.clone().unwrap_or_default();
        let mut b = match c.security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&host)?,
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host),
        }
        .port(c.port())
        .timeout(Some(Duration::from_millis(c.timeout_ms)))
        .pool_config(PoolConfig::new().max_size(c.max_connections));
        if let (Some(user), Some(password)) = (
            c.username.clone(),
            c.password().map_err(anyhow::Error::msg)?,
        ) {
            b = b.credentials(Credentials::new(user, password));
        }
        Ok(Mailer {
            transport: b.build(),
            from: c.from.parse()?,
        })
    }

    /// Sends one mail to `to`, with its unsubscribe link (none for a confirmation: there is
    /// nothing to leave yet).
    pub async fn send(&self, to: &str, mail: Mail, unsubscribe: Option<&str>) -> Outcome {
        let to: Mailbox = match to.parse() {
            Ok(m) => m,
            Err(e) => {
                return Outcome::Gone {
                    status: None,
                    error: format!("the address cannot be mailed: {e}"),
                }
            }
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject);
        if let Some(url) = unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(LIST_UNSUBSCRIBE, format!("<{url}>")))
                .raw_header(HeaderValue::new(
                    LIST_UNSUBSCRIBE_POST,
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let message =
            match builder.multipart(MultiPart::alternative_plain_html(mail.text, mail.html)) {
                Ok(m) => m,
                Err(e) => {
                    return Outcome::Gone {
                        status: None,
                        error: format!("the mail cannot be built: {e}"),
                    }
                }
            };
        match self.transport.send(message).await {
            Ok(r) => Outcome::Delivered(u16::from(r.code())),
            Err(e) => {
                let status = e.status().map(u16::from);
                if e.is_permanent() {
                    // 5xx: the server refuses this recipient (no such mailbox, …).
                    Outcome::Gone {
                        status,
                        error: format!("the mail server refused it: {e}"),
                    }
                } else {
                    Outcome::Retry {
                        status,
                        error: format!("the mail server did not take it: {e}"),
                    }
                }
            }
        }
    }
}
