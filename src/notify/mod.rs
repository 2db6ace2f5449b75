//! The channels a challenge goes out on: SMTP e-mail, an SMS gateway over HTTP, and a push
//! webhook to the credit union's app back end. Each is a [`Channel`]; adding a fourth means
//! one new file implementing it and a config section.
//!
//! No error from here carries the code: gateway answers are reported by status only (a
//! gateway may echo the message), and transport errors without their URL.

pub mod email;
pub mod http;
pub mod template;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use crate::config::{Config, NotifyConfig, OtpChannel};

/// One challenge to deliver.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub challenge_id: String,
    pub member_id: String,
    pub call_id: String,
    /// E.164 for SMS, an address for e-mail, the member id for push.
    pub to: String,
    /// The code, when the challenge has one (push may go without).
    pub code: Option<Zeroizing<String>>,
    pub ttl_seconds: u32,
    pub expires_at: DateTime<Utc>,
}

impl Outgoing {
    /// The placeholders of a code message.
    fn message_vars(&self) -> [(&'static str, String); 3] {
        [
            (
                "code",
                self.code
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            ),
            ("minutes", self.ttl_seconds.div_ceil(60).to_string()),
            ("seconds", self.ttl_seconds.to_string()),
        ]
    }

    fn render_message(&self, template: &str) -> Zeroizing<String> {
        let vars = self.message_vars();
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Zeroizing::new(template::render(template, &refs, template::no_escape))
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// The channel cannot reach this member (push: no app, notifications off).
    #[error("{0}")]
    Unreachable(String),
    /// The channel failed: relay or gateway down, refused, too slow, misconfigured.
    #[error("{0}")]
    Failed(String),
}

#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    async fn send(&self, msg: &Outgoing) -> Result<(), SendError>;
}

/// `callvault_notify_sends_total{channel,result}`.
pub const SENDS: &str = "callvault_notify_sends_total";
/// `callvault_notify_send_seconds{channel}`.
pub const SEND_SECONDS: &str = "callvault_notify_send_seconds";

/// The descriptions `/metrics` gives the channels' series.
pub fn describe_metrics() {
    metrics::describe_counter!(
        SENDS,
        "challenges handed to a channel (sms, email, push), by result: sent, unreachable \
         (push: the app back end cannot reach this member; a text goes instead) or failed \
         (the gateway, relay or back end failed, refused or was too slow)"
    );
    metrics::describe_histogram!(
        SEND_SECONDS,
        metrics::Unit::Seconds,
        "how long a channel took to take a challenge, by channel"
    );
}

/// The result label of a send.
fn result_label(sent: &Result<(), SendError>) -> &'static str {
    match sent {
        Ok(()) => "sent",
        Err(SendError::Unreachable(_)) => "unreachable",
        Err(SendError::Failed(_)) => "failed",
    }
}

/// Hand `msg` to `channel` (of kind `kind`), counted and timed in `/metrics`, so that a
/// gateway that fails or slows down shows before agents report it.
pub async fn send(
    kind: OtpChannel,
    channel: &dyn Channel,
    msg: &Outgoing,
) -> Result<(), SendError> {
    let started = std::time::Instant::now();
    let sent = channel.send(msg).await;
    let name = kind.as_str();
    metrics::counter!(SENDS, "channel" => name, "result" => result_label(&sent)).increment(1);
    metrics::histogram!(SEND_SECONDS, "channel" => name).record(started.elapsed().as_secs_f64());
    sent
}

/// The channels one configuration names, each made once: an HTTP gateway's client with its
/// CA files, client certificate and kept connections; the SMTP relay's TLS settings.
#[derive(Default)]
pub struct Channels {
    email: Option<Arc<dyn Channel>>,
    sms: Option<Arc<dyn Channel>>,
    push: Option<Arc<dyn Channel>>,
}

impl Channels {
    pub fn of(config: &NotifyConfig) -> Channels {
        Channels {
            email: (config.email.clone()).map(|c| Arc::new(email::Smtp::new(c)) as _),
            sms: (config.sms.clone()).map(|c| Arc::new(http::SmsGateway::new(c)) as _),
            push: (config.push.clone()).map(|c| Arc::new(http::PushWebhook::new(c)) as _),
        }
    }

    /// The channel for `kind`, or none when its section is absent.
    pub fn get(&self, kind: OtpChannel) -> Option<Arc<dyn Channel>> {
        match kind {
            OtpChannel::Email => self.email.clone(),
            OtpChannel::Sms => self.sms.clone(),
            OtpChannel::Push => self.push.clone(),
        }
    }
}

/// The [`Channels`] of the configuration in use. They are made again the first time a send
/// meets a configuration they were not made from, so that a reload takes a changed
/// `[notify]` and a CA file or client certificate renewed in place; until then they are
/// kept, and a gateway's connections with them.
#[derive(Default)]
pub struct LiveChannels {
    current: arc_swap::ArcSwapOption<(Arc<Config>, Arc<Channels>)>,
}

impl LiveChannels {
    pub fn of(&self, config: &Arc<Config>) -> Arc<Channels> {
        if let Some(current) = &*self.current.load()
            && Arc::ptr_eq(&current.0, config)
        {
            return current.1.clone();
        }
        let made = Arc::new(Channels::of(&config.notify));
        self.current
            .store(Some(Arc::new((config.clone(), made.clone()))));
        made
    }
}

#[cfg(test)]
mod tests;
