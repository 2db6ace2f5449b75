//! Codes by e-mail through the credit union's SMTP relay (lettre): plain for a relay on this
//! host, STARTTLS (required once chosen) or TLS from the first byte; AUTH only over TLS.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Channel, Outgoing, SendError};
use crate::config::{EmailConfig, SmtpSecurity};

pub struct Smtp {
    config: EmailConfig,
    /// Made once per configuration (its TLS settings read the CA files then); one that
    /// cannot be made keeps the reason, and each send fails with it.
    transport: Result<AsyncSmtpTransport<Tokio1Executor>, SendError>,
}

impl Smtp {
    pub fn new(config: EmailConfig) -> Smtp {
        let transport = Smtp::transport(&config);
        Smtp { config, transport }
    }

    fn transport(c: &EmailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            SendError::Failed(format!("notify.email: {what}: {e}"))
        };
        let tls = || -> Result<TlsParameters, SendError> {
            let mut params = TlsParameters::builder(c.host.clone());
            if let Some(path) = &c.ca_file {
                let bad =
                    |e: &dyn std::fmt::Display| failed(&format!("ca_file {}", path.display()), e);
                for cert in crate::tls::ca_file(path).map_err(|e| bad(&e))? {
                    let cert = Certificate::from_der(cert.to_vec()).map_err(|e| bad(&e))?;
                    params = params.add_root_certificate(cert);
                }
            }
            params.build_rustls().map_err(|e| failed("TLS set-up", &e))
        };
        let tls = match c.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::Starttls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(c.host.as_str())
            .port(c.port)
            .tls(tls)
            .timeout(Some(Duration::from_millis(c.timeout_ms)));
        if let (Some(user), Some(password)) = (&c.username, &c.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(builder.build())
    }
}

/// A `Message-ID` (RFC 5322 3.6.4) under the sender's own domain, as mail filters expect of
/// a message from it: 128 random bits, not the challenge's id, so it tells a reader nothing.
/// lettre adds none of itself, and not every relay does.
fn message_id(from: &Mailbox) -> String {
    use rand::Rng;
    let bits: u128 = rand::rngs::OsRng.r#gen();
    format!("<{bits:032x}@{}>", from.email.domain())
}

#[async_trait::async_trait]
impl Channel for Smtp {
    async fn send(&self, msg: &Outgoing) -> Result<(), SendError> {
        let c = &self.config;
        let from: Mailbox = c
            .from
            .parse()
            .map_err(|_| SendError::Failed("notify.email.from is not an address".into()))?;
        let to: Mailbox = msg.to.parse().map_err(|_| {
            SendError::Unreachable("the member's e-mail address is not valid".into())
        })?;
        let subject = msg.render_message(&c.subject);
        let body = msg.render_message(&c.body);
        let email = Message::builder()
            .message_id(Some(message_id(&from)))
            .from(from)
            .to(to)
            .subject(subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| SendError::Failed(format!("cannot build the message: {e}")))?;
        let transport = self.transport.as_ref().map_err(Clone::clone)?;
        let sent = tokio::time::timeout(
            Duration::from_millis(c.timeout_ms.saturating_mul(2)),
            transport.send(email),
        )
        .await;
        match sent {
            Ok(Ok(_)) => Ok(()),
            // lettre's errors name the stage and the relay's reply, never the message; a
            // reply may name the member's address (`550 5.1.1 <jane.doe@...>: Recipient
            // address rejected`), which the agent's answer and the log show masked
            Ok(Err(e)) => Err(SendError::Failed(format!(
                "SMTP relay {}:{}: {}",
                c.host,
                c.port,
                crate::member::mask_emails_in(&e.to_string())
            ))),
            Err(_) => Err(SendError::Failed(format!(
                "SMTP relay {}:{}: no answer within {} ms",
                c.host,
                c.port,
                c.timeout_ms.saturating_mul(2)
            ))),
        }
    }
}
