//! The HTTP channels: the SMS gateway (URL and body templates from config) and the push
//! webhook to the app back end (a fixed JSON body, documented in the README).

use std::time::Duration;

use serde_json::json;

use super::template::{self, form_escape, json_escape};
use super::{Channel, Outgoing, SendError};
use crate::config::{BodyEncoding, PushConfig, Secret, SmsConfig};

/// The client for one gateway ([`crate::outbound::Gateway`]): a total timeout, redirects
/// not followed. Made once per configuration, so that its connections are kept and reused
/// between sends; one that cannot be made keeps the reason, and each send fails with it.
fn client(
    gateway: crate::outbound::Gateway,
    timeout_ms: u64,
) -> Result<reqwest::Client, SendError> {
    let builder = reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms))
        .connect_timeout(Duration::from_millis(timeout_ms.min(3_000)))
        // a 307 would re-send the code and the gateway's key to an address the
        // configuration never named: redirects are answers, not followed
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("callvault/", env!("CARGO_PKG_VERSION")));
    gateway.client(builder).map_err(SendError::Failed)
}

/// A gateway's redirect, refused with what to change.
fn redirected(what: &str, section: &str, status: reqwest::StatusCode) -> SendError {
    SendError::Failed(format!(
        "{what} answered {status}; redirects are not followed: set {section}.url to the address that answers"
    ))
}

/// What a transport error says, without the URL (it may hold the member's number).
fn transport_error(what: &str, e: reqwest::Error) -> SendError {
    SendError::Failed(format!("{what}: {}", crate::outbound::failure(&e)))
}

pub struct SmsGateway {
    config: SmsConfig,
    client: Result<reqwest::Client, SendError>,
}

impl SmsGateway {
    pub fn new(config: SmsConfig) -> SmsGateway {
        let gateway = crate::outbound::Gateway {
            section: "notify.sms",
            url: &config.url,
            ca_file: config.ca_file.as_deref(),
            client_cert: config.client_cert.as_deref(),
            client_key: config.client_key.as_deref(),
        };
        let client = client(gateway, config.timeout_ms);
        SmsGateway { config, client }
    }
}

#[async_trait::async_trait]
impl Channel for SmsGateway {
    async fn send(&self, msg: &Outgoing) -> Result<(), SendError> {
        let c = &self.config;
        let text = msg.render_message(&c.text);
        let vars = [
            ("to", msg.to.as_str()),
            ("text", text.as_str()),
            ("challenge_id", msg.challenge_id.as_str()),
        ];
        let url = template::render(&c.url, &vars[..1], form_escape);
        let (body, content_type) = match c.encoding {
            BodyEncoding::Json => (
                zeroize::Zeroizing::new(template::render(&c.body, &vars, json_escape)),
                "application/json",
            ),
            BodyEncoding::Form => (
                zeroize::Zeroizing::new(template::render(&c.body, &vars, form_escape)),
                "application/x-www-form-urlencoded",
            ),
        };
        let request = (self.client.as_ref().map_err(Clone::clone)?)
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.to_string());
        let answer =
            crate::outbound::with_auth(request, c.auth_header.as_deref(), c.auth_value.as_ref())
                .send()
                .await
                .map_err(|e| transport_error("SMS gateway", e))?;
        let verdict = sms_verdict(answer.status());
        if verdict.is_err() {
            log_refusal("the SMS gateway", answer, c.auth_value.as_ref()).await;
        }
        verdict
    }
}

/// What the SMS gateway's answer means: sent (2xx), or failed, a redirect naming the key to
/// fix.
fn sms_verdict(status: reqwest::StatusCode) -> Result<(), SendError> {
    if status.is_success() {
        Ok(())
    } else if status.is_redirection() {
        Err(redirected("SMS gateway", "notify.sms", status))
    } else {
        Err(SendError::Failed(format!("SMS gateway answered {status}")))
    }
}

pub struct PushWebhook {
    config: PushConfig,
    client: Result<reqwest::Client, SendError>,
}

impl PushWebhook {
    pub fn new(config: PushConfig) -> PushWebhook {
        let gateway = crate::outbound::Gateway {
            section: "notify.push",
            url: &config.url,
            ca_file: config.ca_file.as_deref(),
            client_cert: config.client_cert.as_deref(),
            client_key: config.client_key.as_deref(),
        };
        let client = client(gateway, config.timeout_ms);
        PushWebhook { config, client }
    }
}

#[async_trait::async_trait]
impl Channel for PushWebhook {
    async fn send(&self, msg: &Outgoing) -> Result<(), SendError> {
        let c = &self.config;
        let code = msg.code.as_ref().map(|c| c.to_string());
        let body = zeroize::Zeroizing::new(
            json!({
                "challenge_id": msg.challenge_id,
                "member_id": msg.member_id,
                "call_id": msg.call_id,
                "with_code": code.is_some(),
                "code": code,
                "expires_at": msg.expires_at,
                "expires_in": msg.ttl_seconds,
                "respond_to": format!("/v1/challenges/{}/push-response", msg.challenge_id),
            })
            .to_string(),
        );
        let request = (self.client.as_ref().map_err(Clone::clone)?)
            .post(&c.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let answer =
            crate::outbound::with_auth(request, c.auth_header.as_deref(), c.auth_value.as_ref())
                .send()
                .await
                .map_err(|e| transport_error("app back end", e))?;
        let verdict = push_verdict(answer.status());
        if let Err(SendError::Failed(_)) = verdict {
            log_refusal("the app back end", answer, c.auth_value.as_ref()).await;
        }
        verdict
    }
}

/// Log what a gateway said when it refused a message (Twilio's `{"code": 21211, "message":
/// "Invalid 'To' Phone Number"}`, a gateway's "sender id not registered"): the failure's own
/// message has only the status, and the reason is often in the answer. The agent's answer
/// and the audit record keep only the status. The code is six digits, so
/// [`crate::outbound::said`] masks it wherever the gateway echoes it.
async fn log_refusal(what: &str, answer: reqwest::Response, sent_key: Option<&Secret>) {
    let status = answer.status().as_u16();
    if let Some(said) = crate::outbound::said(answer, sent_key).await {
        tracing::warn!(status, said = %said, "{what} refused a message");
    }
}

/// What the app back end's answer means: pushed (2xx); the member cannot be reached this
/// way (`404`, `409`, `410`, `422`: the challenge may fall back to a text); or failed.
fn push_verdict(status: reqwest::StatusCode) -> Result<(), SendError> {
    match status.as_u16() {
        200..=299 => Ok(()),
        300..=399 => Err(redirected("app back end", "notify.push", status)),
        // the back end knows the member but cannot push to them (no app, notifications
        // off): seed 001's case for falling back to a text message
        404 | 409 | 410 | 422 => Err(SendError::Unreachable(format!(
            "the app back end cannot push to this member ({status})"
        ))),
        _ => Err(SendError::Failed(format!("app back end answered {status}"))),
    }
}

#[cfg(test)]
mod tests;
