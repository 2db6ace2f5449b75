//! `[notify.email]`, `[notify.sms]`, `[notify.push]`: the channels one-time codes and push
//! approvals go out on. A channel left out of the file is not offered.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigIssue, Secret};
use crate::notify::template;

/// Placeholders of a code message (e-mail body, SMS text).
pub const MESSAGE_VARS: &[&str] = &["code", "minutes", "seconds"];
/// Placeholders of the SMS gateway's request body.
pub const SMS_BODY_VARS: &[&str] = &["to", "text", "challenge_id"];
/// Placeholders of the SMS gateway's URL.
pub const SMS_URL_VARS: &[&str] = &["to"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NotifyConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushConfig>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    #[default]
    Smtp,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain text: only for a relay on this host.
    None,
    /// Plain connect, then STARTTLS (required: a relay that does not offer it is an error).
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EmailConfig {
    #[serde(rename = "type")]
    pub kind: EmailKind,
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// SMTP AUTH user; none: no AUTH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// PEM CA to trust for the relay (besides the system's roots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// `verify@cu.example` or `Credit Union <verify@cu.example>`.
    pub from: String,
    /// Placeholders: `{code}`, `{minutes}`, `{seconds}`.
    pub subject: String,
    /// Placeholders: `{code}` (required), `{minutes}`, `{seconds}`.
    pub body: String,
    pub timeout_ms: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            kind: EmailKind::Smtp,
            host: "127.0.0.1".into(),
            port: 25,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            ca_file: None,
            from: String::new(),
            subject: "Your verification code".into(),
            body: "Your verification code is {code}. It expires in {minutes} minute(s).\n\
                   We will never ask you for this code except while you are on a call \
                   you made to us.\n"
                .into(),
            timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmsKind {
    #[default]
    Http,
}

/// How the SMS gateway's body is encoded (and so how values are escaped into it).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    #[default]
    Json,
    Form,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SmsConfig {
    #[serde(rename = "type")]
    pub kind: SmsKind,
    /// POSTed to; placeholder `{to}` (E.164, URL-escaped).
    pub url: String,
    /// A header sent with every request, e.g. `Authorization` / `Bearer ...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_value: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// PEM certificate (chain) callvault presents to a gateway that asks for one (mutual
    /// TLS), with its key in `client_key`; set both or neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    pub encoding: BodyEncoding,
    /// Placeholders `{to}`, `{text}`, `{challenge_id}`, escaped for `encoding`.
    pub body: String,
    /// The message: `{code}` (required), `{minutes}`, `{seconds}`.
    pub text: String,
    pub timeout_ms: u64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            kind: SmsKind::Http,
            url: String::new(),
            auth_header: None,
            auth_value: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            encoding: BodyEncoding::Json,
            body: "{{\"to\": \"{to}\", \"text\": \"{text}\"}}".into(),
            text: "Your verification code is {code}. It expires in {minutes} min.".into(),
            timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    #[default]
    Webhook,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PushConfig {
    #[serde(rename = "type")]
    pub kind: PushKind,
    /// The app back end's endpoint; it gets one JSON POST per push (see the README).
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_value: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// PEM certificate (chain) callvault presents to a gateway that asks for one (mutual
    /// TLS), with its key in `client_key`; set both or neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    pub timeout_ms: u64,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            kind: PushKind::Webhook,
            url: String::new(),
            auth_header: None,
            auth_value: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            timeout_ms: 5_000,
        }
    }
}

impl NotifyConfig {
    /// Whether the section of `kind`'s channel is in the file.
    pub fn offers(&self, kind: super::OtpChannel) -> bool {
        match kind {
            super::OtpChannel::Email => self.email.is_some(),
            super::OtpChannel::Sms => self.sms.is_some(),
            super::OtpChannel::Push => self.push.is_some(),
        }
    }

    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut check = |result: Result<(), String>, key: &str| {
            if let Err(message) = result {
                issues.push(ConfigIssue::new(format!("notify.{key}"), message));
            }
        };
        let need = |ok: bool, why: &str| if ok { Ok(()) } else { Err(why.to_string()) };
        let timeout = |ms: u64| need((100..=60_000).contains(&ms), "must be 100 to 60000");
        let header = |h: &Option<String>, v: &Option<Secret>| {
            need(
                h.is_some() == v.is_some(),
                "auth_header and auth_value must be set together",
            )
        };
        if let Some(e) = &self.email {
            check(
                need(!e.host.trim().is_empty(), "must not be empty"),
                "email.host",
            );
            check(need(e.port != 0, "must not be 0"), "email.port");
            check(
                need(
                    e.from.parse::<lettre::message::Mailbox>().is_ok(),
                    "must be an address like verify@cu.example or \"Name <verify@cu.example>\"",
                ),
                "email.from",
            );
            check(
                need(
                    e.username.is_some() == e.password.is_some(),
                    "username and password must be set together",
                ),
                "email.password",
            );
            check(
                need(
                    e.username.is_none() || e.security != SmtpSecurity::None,
                    "AUTH is refused without TLS: set security = \"starttls\" or \"tls\"",
                ),
                "email.security",
            );
            check(
                template::check(&e.subject, MESSAGE_VARS, &[]),
                "email.subject",
            );
            check(
                template::check(&e.body, MESSAGE_VARS, &["code"]),
                "email.body",
            );
            check(timeout(e.timeout_ms), "email.timeout_ms");
        }
        if let Some(s) = &self.sms {
            check(
                super::endpoint_url(&s.url)
                    .and_then(|()| template::check(&s.url, SMS_URL_VARS, &[]))
                    .and_then(|()| fixed_host(&s.url)),
                "sms.url",
            );
            check(header(&s.auth_header, &s.auth_value), "sms.auth_value");
            if let Err((key, why)) = super::client_pair_set(&s.client_cert, &s.client_key) {
                check(Err(why), &format!("sms.{key}"));
            }
            check(
                template::check(&s.body, SMS_BODY_VARS, &["text"]),
                "sms.body",
            );
            check(
                template::check(&s.text, MESSAGE_VARS, &["code"]),
                "sms.text",
            );
            check(timeout(s.timeout_ms), "sms.timeout_ms");
        }
        if let Some(p) = &self.push {
            check(super::endpoint_url(&p.url), "push.url");
            check(header(&p.auth_header, &p.auth_value), "push.auth_value");
            if let Err((key, why)) = super::client_pair_set(&p.client_cert, &p.client_key) {
                check(Err(why), &format!("push.{key}"));
            }
            check(timeout(p.timeout_ms), "push.timeout_ms");
        }
        issues
    }
}

/// The SMS gateway's host, fixed: `{to}` may stand in its path or query, not in its host,
/// since the gateway's client (its proxy, its pooled connections) is made once for the host.
fn fixed_host(url: &str) -> Result<(), String> {
    match crate::outbound::host(url).is_some_and(|host| host.contains(['{', '}'])) {
        true => Err("a placeholder may stand in the path or query, not in the host".into()),
        false => Ok(()),
    }
}
