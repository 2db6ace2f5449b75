//! Core adapters: how the dialog learns about members. One small trait; each core is one file
//! implementing it plus a `[core] type = "..."` variant in the config.

pub mod breaker;
pub mod embedded;
pub mod live;
pub mod rest;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::{Config, CoreKind};
use crate::member::Member;
use crate::store::{Store, StoreError};

pub use embedded::EmbeddedCore;
pub use live::LiveCore;

/// A member a phone number identifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneMatch {
    pub member_id: String,
    pub first_name: Option<String>,
    /// The number is the member's verified mobile (trust `known_number`), not another phone.
    pub verified: bool,
    /// The number is the member's mobile, but withdrawn: it gives no `known_number` trust (a
    /// REST core's member whom the pre-enrollment rules would not enroll). The embedded
    /// directory's withdrawn numbers identify no one, so they are never matched.
    #[serde(default)]
    pub withdrawn: bool,
}

impl PhoneMatch {
    /// How `member` matches the number `e164` they were found by: `verified` when it is
    /// their mobile and not withdrawn (as a REST core withdraws one the pre-enrollment rules
    /// would not trust), so that `member find` says the trust a call gets.
    pub fn of(member: Member, e164: &str) -> PhoneMatch {
        let verified = member
            .identifying_phones()
            .any(|(p, verified)| verified && p == e164);
        let withdrawn = member.mobile_phone.as_deref() == Some(e164) && !verified;
        PhoneMatch {
            verified,
            withdrawn,
            first_name: member.first_name,
            member_id: member.member_id,
        }
    }
}

/// What a caller can key in to say who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    MemberNumber,
    AccountNumber,
    Phone,
}

impl IdentifierKind {
    pub const ALL: [IdentifierKind; 3] = [
        IdentifierKind::MemberNumber,
        IdentifierKind::AccountNumber,
        IdentifierKind::Phone,
    ];

    /// The name a profile lists it by, as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::MemberNumber => "member_number",
            IdentifierKind::AccountNumber => "account_number",
            IdentifierKind::Phone => "phone",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CoreError {
    /// The core did not answer in time, refused, or its breaker is open. The dialog answers
    /// `transfer/core_unavailable`.
    #[error("the core is unavailable: {0}")]
    Unavailable(String),
    /// The core answered, but not in a shape callvault can read.
    #[error("the core's answer cannot be read: {0}")]
    BadAnswer(String),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        CoreError::Unavailable(e.to_string())
    }
}

/// What the core said of a PIN it was asked to check ([`CoreAdapter::check_pin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorePin {
    Correct,
    Wrong,
    /// The core holds no PIN for the member (or knows no such member).
    NotHeld,
}

/// How one of a remote core's mapped fields was read for a member (`member show`), never
/// its value: for a site mapping its gateway (`core.rest.fields`), which fields it gets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldRead {
    /// The key under `core.rest.fields`.
    pub field: String,
    /// Its JSON pointer ("" when not mapped).
    pub pointer: String,
    pub read: Read,
    /// What an unreadable value should have been.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

/// See [`FieldRead`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Read {
    Read,
    /// Not in the answer, null or blank.
    Absent,
    /// There, in no shape callvault reads: left out, as if absent, and logged.
    Unreadable,
    /// Its pointer is "": the gateway does not provide it.
    NotMapped,
}

/// How the dialog reaches the core banking system.
#[async_trait]
pub trait CoreAdapter: Send + Sync {
    /// `embedded`, `rest`, ...
    fn kind(&self) -> &'static str;
    /// The members an E.164 number identifies (none, one, or several sharing it).
    async fn find_by_phone(&self, e164: &str) -> Result<Vec<PhoneMatch>, CoreError>;
    /// The member ids a keyed-in identifier names.
    async fn find_by_identifier(
        &self,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<Vec<String>, CoreError>;
    /// Everything a verification needs about one member.
    async fn member(&self, member_id: &str) -> Result<Option<Member>, CoreError>;
    /// [`CoreAdapter::member`], with how each field of the core's answer was read (for
    /// `member show`, which asks the configured adapter itself, not the service's
    /// [`LiveCore`]). An adapter that maps no fields reports none.
    async fn member_read(
        &self,
        member_id: &str,
    ) -> Result<Option<(Member, Vec<FieldRead>)>, CoreError> {
        Ok(self.member(member_id).await?.map(|m| (m, Vec::new())))
    }
    /// The member a number identifies when it identifies exactly one (identification by
    /// ANI); `None` when it names no one or several. An adapter that can answer both in one
    /// read overrides this.
    async fn member_by_phone(&self, e164: &str) -> Result<Option<Member>, CoreError> {
        match self.find_by_phone(e164).await?.as_slice() {
            [one] => self.member(&one.member_id).await,
            _ => Ok(None),
        }
    }
    /// Whether the core answers (readiness).
    async fn check(&self) -> Result<(), CoreError>;
    /// Whether the core checks the PINs the vault does not hold ([`CoreAdapter::check_pin`]).
    fn checks_pins(&self) -> bool {
        false
    }
    /// Ask the core whether `pin` is the member's PIN. Asked once, never retried (a core
    /// may count wrong PINs itself). An adapter that does not check PINs holds none.
    async fn check_pin(&self, _member_id: &str, _pin: &str) -> Result<CorePin, CoreError> {
        Ok(CorePin::NotHeld)
    }
    /// Whether a circuit breaker refuses calls now, or has its one trial call out. An
    /// adapter without one: never.
    fn breaker_open(&self) -> bool {
        false
    }
    /// A reload has swapped this adapter out: calls still out on it finish, but it no
    /// longer sets the service's gauges (the adapter in use does).
    fn retire(&self) {}
}

/// The adapter the configuration names.
pub fn from_config(config: &Config, store: Arc<Store>) -> Result<Arc<dyn CoreAdapter>, CoreError> {
    match config.core.kind {
        CoreKind::Embedded => Ok(Arc::new(EmbeddedCore::new(store, config.enroll.region()))),
        CoreKind::Rest => {
            let rest = config.core.rest.clone().ok_or_else(|| {
                CoreError::Unavailable("core.type = \"rest\" needs a [core.rest] section".into())
            })?;
            Ok(Arc::new(
                rest::RestCore::new(rest, config.core.timeout_ms, config.enroll.region())?
                    .with_recent_change_days(config.enroll.recent_change_days)
                    .with_slash_dates(config.enroll.slash_dates),
            ))
        }
    }
}
