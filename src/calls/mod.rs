//! Calls as a service: the I/O around the pure dialog (`src/dialog/`). For each step it
//! resolves what the dialog needs (the core's answer within `core.timeout_ms`, the vault's
//! PIN check, a new PIN checked and sealed), then runs the dialog and stores the call, the
//! member's counters and the step's audit events in one transaction through the audit
//! committer, so a step is durable, audited and answered together, or not at all.
//!
//! Also here: app intents (single-use tokens announcing a call), the agent checklist, each
//! member's last verification verdict, and the sweep that closes idle calls and deletes old
//! ones.

mod challenges;
mod checklist;
mod index;
mod intents;
mod naming;
mod records;
mod tally;
mod turns;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use arc_swap::ArcSwap;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use challenges::{ChallengeSent, ChallengeView, CheckAnswer, NewChallenge};
pub use checklist::{ChecklistQuestion, ChecklistView};
pub use index::{CallIndex, CallNumber};
pub use intents::{Announced, Intent, NewIntent};
pub(crate) use records::forget_verifications;
pub use records::{Verification, encode_call, number_call, read_call, save_encoded_step};
pub use tally::describe as describe_metrics;

use crate::audit::{AuditError, AuditEvent, AuditLog, EventKind, Outcome};
use crate::clock::Clock;
use crate::config::Config;
use crate::core::{CoreAdapter, CoreError, CorePin};
use crate::dialog::{
    self, Arrival, Call, CallerIdCheck, Expect, Found, Input, NewCall, PinResult, Rules, StepView,
    Trust,
};
use crate::lockout::{self, Counter};
use crate::member::Member;
use crate::member::phone::{normalize_ani, uri_param};
use crate::pin::{self, Rejection, Situation, Verdict};
use crate::store::{Store, StoreError, tables};
use crate::vault::{PinCheck, Settings, Vault, VaultError};

/// The kind of the per-member wrong-answer counter in the attempts table.
pub use crate::vault::ANSWER_ATTEMPTS;

/// Why a call request was refused (the API maps each to a status and code).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{1}")]
    BadRequest(&'static str, String),
    #[error("call {0:?} is already in use")]
    InUse(String),
    #[error("no call {}", named(.0))]
    NotFound(String),
    #[error("call {0:?} has ended")]
    Ended(String),
    #[error("call {0:?} changed while this input was being checked; send it again")]
    Concurrent(String),
    #[error(
        "this input answers STEP {sent} of call {call_id:?}, which is at STEP {current}; send the current STEP's `step`, or none"
    )]
    StepMismatch {
        call_id: String,
        sent: u64,
        current: u64,
    },
    #[error(
        "call {0:?} has no identified member yet: once the IVR has transferred the caller, \
         name the member the agent identified (POST /v1/calls/{{call_id}}/member)"
    )]
    NoMember(String),
    #[error("call {0:?} has no checklist: start it first (POST /v1/calls/{{call_id}}/checklist)")]
    NoChecklist(String),
    #[error("{0}")]
    Checklist(#[from] dialog::checklist::TickError),
    #[error("no member {}", crate::member::named(.0))]
    NoSuchMember(String),
    /// An agent may not name a member on this call now.
    #[error("{0}")]
    Naming(dialog::agent::NamingError),
    /// What the core's error says (`CoreError`'s text, which names the core already).
    #[error("{0}")]
    CoreUnavailable(String),
    #[error("{0}")]
    Challenge(crate::challenge::ChallengeError),
    #[error("no challenge {0:?}")]
    NoSuchChallenge(String),
    #[error(
        "too many challenges sent to this member in the last hour (otp.max_sends_per_hour); try again in {retry_after} s"
    )]
    TooManyChallenges { retry_after: u64 },
    #[error("{0}")]
    NoDestination(String),
    #[error("the challenge could not be sent: {0}")]
    SendFailed(String),
    #[error("{0}")]
    Internal(String),
    /// The store is closed after a failed write and is being reopened.
    #[error("{0}")]
    StoreClosed(String),
    #[error(transparent)]
    Audit(AuditError),
}

impl From<StoreError> for CallError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed { .. } => CallError::StoreClosed(e.to_string()),
            other => CallError::Internal(other.to_string()),
        }
    }
}

impl From<VaultError> for CallError {
    fn from(e: VaultError) -> Self {
        CallError::Internal(e.to_string())
    }
}

/// The most characters an `ani` or `dnis` may have: a SIP name-addr with a display name fits.
pub const NUMBER_FIELD_MAX: usize = 256;

/// Whether a call's `ani` or `dnis` may be taken: not over [`NUMBER_FIELD_MAX`] characters,
/// and no control characters, so what is kept and shown to agents is one line of text.
pub fn fits_number_field(value: &str) -> bool {
    value.chars().count() <= NUMBER_FIELD_MAX && !value.chars().any(char::is_control)
}

/// `POST /v1/calls`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartCall {
    /// The IVR's own id: 1–128 visible ASCII characters.
    #[schema(min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$")]
    pub call_id: String,
    /// E.164 or national, or a `tel:` or `sip:` URI holding one (`tel:+15551234567`, as
    /// Genesys Cloud's `Call.Ani`; `sip:+15551234567@host;user=phone`); `anonymous`,
    /// `restricted`, `unknown`, `private`, `unavailable`, `blocked`, `withheld`, `out of
    /// area` or empty: no caller ID. At most 256 characters,
    /// none of them a control character (`400 bad_ani`).
    #[serde(default)]
    #[schema(max_length = 256, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub ani: Option<String>,
    /// The dialed number, in the same forms as `ani`: picks the profile through `[[routing]]`.
    /// Anything else (an extension, a SIP user name) is kept as it is, and routed by a route
    /// that names it as a line's label (`5000`, in any case), else to the default profile.
    /// At most 256 characters, none of them a control character (`400 bad_dnis`).
    #[serde(default)]
    #[schema(max_length = 256, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub dnis: Option<String>,
    /// A token from `POST /v1/intents`: the member's app announced this call.
    #[serde(default)]
    pub app_token: Option<String>,
    /// What the carrier's STIR/SHAKEN check said of the caller ID (`verstat`, ATIS-1000074),
    /// when the IVR platform passes it on: `TN-Validation-Passed` (Twilio's
    /// `StirVerstat` adds the attestation, `-A`, `-B` or `-C`), `TN-Validation-Failed` or
    /// `No-TN-Validation`, any case. A `verstat` parameter in `ani`'s URI counts too. A
    /// caller ID that failed gives no `known_number` trust and finds no app intent by
    /// phone; any other value, or none, changes nothing. At most 256 characters, none of
    /// them a control character (`400 bad_verstat`).
    #[serde(default)]
    #[schema(
        max_length = 256,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "TN-Validation-Passed"
    )]
    pub verstat: Option<String>,
}

/// What the caller did at the current step.
#[derive(Debug, Clone)]
pub enum CallerInput {
    Digits(Zeroizing<String>),
    NoInput,
    OptOut,
}

/// The member part of a screen pop.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallViewMember {
    pub member_id: String,
    pub name: Option<String>,
    /// Who identified the member: `ivr` (the caller ID, a keyed identifier or an app
    /// intent), or `agent` (named by an agent after the IVR handed the call over without
    /// one: `POST /v1/calls/{call_id}/member`).
    pub identified_by: IdentifiedBy,
    /// The member's last verification verdict, from any call or agent.
    pub last_verification: Option<Verification>,
}

/// Who identified a call's member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentifiedBy {
    Ivr,
    Agent,
}

/// `GET /v1/calls/{call_id}`: everything known about a call.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallView {
    pub call_id: String,
    pub ani: Option<String>,
    /// What the carrier's STIR/SHAKEN check said of the caller ID, when the IVR passed it
    /// on (`verstat`): `failed` means the number was likely spoofed, and gave no
    /// `known_number` trust. Null when nothing was said.
    pub caller_id_check: Option<CallerIdCheck>,
    pub dnis: Option<String>,
    pub profile: String,
    pub status: dialog::Status,
    pub member: Option<CallViewMember>,
    pub trust: Option<Trust>,
    pub methods_passed: Vec<String>,
    pub methods_failed: Vec<String>,
    pub step: StepView,
    pub verified: Option<bool>,
    /// The agent's checklist as it stands, without the expected answers (`POST
    /// .../checklist` shows those to agents); null until an agent starts it.
    pub checklist: Option<checklist::ChecklistView>,
    /// The one-time codes and push approvals sent on this call (by agents and by the IVR's
    /// `otp` steps), the first sent first, each as `GET /v1/challenges/{challenge_id}`
    /// shows it: an agent who joins the call, or reloads the desktop, finds the one still
    /// waiting.
    pub challenges: Vec<ChallengeView>,
    pub active: bool,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// The most calls one sweep transaction closes or deletes, so that a sweep with much to do
/// holds the writer for a few milliseconds at a time, between other requests' commits.
pub const SWEEP_BATCH: usize = 128;

/// What `sweep` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub expired: u64,
    pub deleted: u64,
    pub intents_deleted: u64,
    pub challenges_deleted: u64,
}

pub struct CallService {
    store: Arc<Store>,
    audit: AuditLog,
    core: Arc<dyn CoreAdapter>,
    vault: Arc<Vault>,
    clock: Arc<dyn Clock>,
    config: Arc<ArcSwap<Config>>,
    /// Each stored call's number, by its id and caller ID.
    index: Arc<CallIndex>,
    /// One input at a time per call.
    turns: turns::Turns,
    /// The channels codes go out on, made once per configuration.
    channels: crate::notify::LiveChannels,
}

/// The dialog's rules from one configuration snapshot.
fn rules(config: &Config, now: DateTime<Utc>) -> Rules<'_> {
    Rules {
        pin_policy: &config.pin_policy,
        answer_lockout: lockout::Policy::answers(&config.lockout),
        new_pin_attempts: config.pin_change.attempts,
        now,
    }
}

/// What the carrier said of a call's caller ID (`verstat`, in the request or in `ani`'s
/// URI), and whether a value given was no `verstat`: such a value is logged, at most every
/// ten minutes, and counts as none given. With no caller ID there is nothing to check.
fn caller_id_check(req: &StartCall, has_ani: bool) -> (Option<CallerIdCheck>, bool) {
    static LOGGED: crate::throttle::Throttle =
        crate::throttle::Throttle::new(std::time::Duration::from_secs(600));
    if !has_ani {
        return (None, false);
    }
    let in_ani = req.ani.as_deref().and_then(|a| uri_param(a, "verstat"));
    let (check, unreadable) = dialog::caller_id::of_call(req.verstat.as_deref(), in_ani);
    if let Some(value) = &unreadable {
        crate::throttled!(
            warn,
            LOGGED,
            call_id = %req.call_id,
            "a call's verstat {value:?} is not TN-Validation-Passed, TN-Validation-Failed or \
             No-TN-Validation: taken as not given. Check what the IVR passes as verstat"
        );
    }
    (check, unreadable.is_some())
}

/// A call id as a message names it: quoted when it could be one (`"c1"`); else what one is,
/// not the 20,000 characters of a path that is none.
fn named(call_id: &str) -> String {
    match valid_call_id(call_id) {
        true => format!("{call_id:?}"),
        false => "with that id: a call_id is 1 to 128 visible ASCII characters".into(),
    }
}

/// `call_id`: 1–128 visible ASCII characters.
pub fn valid_call_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The owned form of a resolved input, carried into the committer.
enum Resolved {
    NoInput,
    OptOut,
    CoreDown,
    /// The call's member is no longer known to the core (removed since they were identified).
    MemberGone,
    Identifier(Option<Box<(Member, bool)>>),
    /// A PIN checked, by the vault or (`true`) by the core.
    Pin(PinResult, bool),
    Answer(Zeroizing<String>),
    NewPin(Result<Vec<u8>, Rejection>),
    Confirm(Result<(), Rejection>),
    /// The new PIN to confirm could not be read back: [`Input::NewPinLost`].
    NewPinLost,
    Code {
        pending: dialog::OtpPending,
        /// Whether the keyed code is right; `None` when the vault key its MAC was made under
        /// has been rotated away, so that no code can be checked.
        right: Option<bool>,
    },
}

impl CallService {
    /// Reads every stored call's number, id and caller ID first (small rows: about half a
    /// second for 480,000 calls on the 2-core build machine), so the index is whole from the
    /// first request.
    pub fn new(
        store: Arc<Store>,
        audit: AuditLog,
        core: Arc<dyn CoreAdapter>,
        vault: Arc<Vault>,
        clock: Arc<dyn Clock>,
        config: Arc<ArcSwap<Config>>,
    ) -> Result<CallService, StoreError> {
        let index = Arc::new(CallIndex::load(&store)?);
        Ok(CallService {
            store,
            audit,
            core,
            vault,
            clock,
            config,
            index,
            turns: turns::Turns::default(),
            channels: Default::default(),
        })
    }

    /// The service is stopping: long scans of the stored calls (the sweep's) give up, so
    /// that the store closes cleanly when the process ends.
    pub fn stop_scans(&self) {
        self.store.stop_scans();
    }

    /// Run core lookups under `core.timeout_ms`: a slow core is `CoreUnavailable`.
    async fn core_call<T>(
        &self,
        timeout_ms: u64,
        fut: impl std::future::Future<Output = Result<T, CoreError>>,
    ) -> Result<T, CoreError> {
        match tokio::time::timeout(StdDuration::from_millis(timeout_ms), fut).await {
            Ok(r) => r,
            Err(_) => Err(CoreError::Unavailable(format!(
                "no answer within {timeout_ms} ms"
            ))),
        }
    }

    /// A member and whether they have a PIN.
    async fn member_with_pin(&self, member_id: &str) -> Result<Option<(Member, bool)>, CoreError> {
        let Some(member) = self.core.member(member_id).await? else {
            return Ok(None);
        };
        self.with_pin(member).map(Some)
    }

    /// A member named on a call from `ani` (keyed by the caller, or named by an agent), and
    /// whether they have a PIN. A caller ID that is the member's verified number, but another
    /// member's too (a REST core's joint-account number), gives no known_number trust: it is
    /// withdrawn from them for this call, as the embedded directory withdraws a shared
    /// number at enrollment.
    async fn member_on_number(
        &self,
        ani: Option<&str>,
        member_id: &str,
    ) -> Result<Option<(Member, bool)>, CoreError> {
        let Some((mut member, has_pin)) = self.member_with_pin(member_id).await? else {
            return Ok(None);
        };
        if let Some(a) = ani
            && dialog::trust_for(Some(a), &member) == Trust::KnownNumber
            && !self.stands_for(a, &member).await?
        {
            member.withdrawn_phones.push(a.to_string());
        }
        Ok(Some((member, has_pin)))
    }

    /// Whether `e164` stands for `member` alone: it is their verified number, and no other
    /// member's. A number two members share (a joint account's one mobile) says nothing of
    /// which of them is calling, or holds the phone a code is texted to; identification by
    /// caller ID asks such a caller for an identifier. For app intents by phone and codes
    /// by text.
    async fn stands_for(&self, e164: &str, member: &Member) -> Result<bool, CoreError> {
        if dialog::trust_for(Some(e164), member) != Trust::KnownNumber {
            return Ok(false);
        }
        Ok(matches!(
            self.core.find_by_phone(e164).await?.as_slice(),
            [one] if one.member_id == member.member_id
        ))
    }

    /// The member, and whether they have a PIN to be asked: one in the vault, or (with
    /// `[core.rest.pin]`) one the core may hold: unless it said it holds none
    /// (`fields.has_pin`), it says so at the PIN step, and the call goes on as for a member
    /// without one.
    fn with_pin(&self, member: Member) -> Result<(Member, bool), CoreError> {
        let has_pin = (self.core.checks_pins() && member.core_has_pin != Some(false))
            || self
                .vault
                .has_pin(&member.member_id)
                .map_err(|e| CoreError::Unavailable(e.to_string()))?;
        Ok((member, has_pin))
    }

    /// A keyed PIN the vault holds none for, checked by the core (`[core.rest.pin]`) and
    /// counted in the member's wrong-PIN run as the vault counts its own. A right one is
    /// sealed into the vault with `keep`. `None` when the core did not answer (within
    /// `core.timeout_ms`) or answered nothing readable: the call is transferred as
    /// `core_unavailable`, and nothing is counted.
    async fn core_pin_check(
        &self,
        member: &Member,
        digits: &Zeroizing<String>,
        cfg: &Config,
        now: DateTime<Utc>,
    ) -> Result<Option<PinCheck>, CallError> {
        let timeout = cfg.core.timeout_ms;
        let said = self
            .core_call(timeout, self.core.check_pin(&member.member_id, digits))
            .await;
        let correct = match said {
            Ok(CorePin::Correct) => true,
            Ok(CorePin::Wrong) => false,
            Ok(CorePin::NotHeld) => return Ok(Some(PinCheck::NoPin)),
            Err(_) => return Ok(None),
        };
        let id = member.member_id.clone();
        let settings = Settings::from_config(cfg);
        let check = (self.vault)
            .count_core_check(id.clone(), correct, settings.clone(), now)
            .await?;
        let keep = cfg.core_pin().is_some_and(|p| p.keep);
        if correct && keep {
            self.vault
                .keep_core_pin(id, digits.clone(), settings, now)
                .await?;
        }
        Ok(Some(check))
    }

    /// `POST /v1/calls`.
    pub async fn start(&self, req: StartCall, actor: &str) -> Result<StepView, CallError> {
        if !valid_call_id(&req.call_id) {
            return Err(CallError::BadRequest(
                "bad_call_id",
                "call_id must be 1 to 128 visible ASCII characters".into(),
            ));
        }
        for (field, code, value) in [
            ("ani", "bad_ani", &req.ani),
            ("dnis", "bad_dnis", &req.dnis),
            ("verstat", "bad_verstat", &req.verstat),
        ] {
            if value.as_deref().is_some_and(|v| !fits_number_field(v)) {
                return Err(CallError::BadRequest(
                    code,
                    format!(
                        "{field} must be at most {NUMBER_FIELD_MAX} characters, with no control characters"
                    ),
                ));
            }
        }
        let cfg = self.config.load_full();
        let region = cfg.enroll.region();
        let ani = req.ani.as_deref().and_then(|a| normalize_ani(a, region));
        let (caller_id_check, verstat_unreadable) = caller_id_check(&req, ani.is_some());
        let dnis =
            (req.dnis.as_deref()).and_then(|d| crate::profile::dialed(&cfg.routing, d, region));
        if self.index.number(&req.call_id).is_some() {
            return Err(CallError::InUse(req.call_id));
        }
        let (profile_name, profile) = cfg.profile_for(dnis.as_deref());
        let now = self.clock.now();
        let timeout = cfg.core.timeout_ms;

        // An app intent: its token, or its announced phone within the TTL.
        // an empty token (a form's `app_token=`) is no token
        let token_hash = req
            .app_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(intents::token_hash);
        let mut intent = match &token_hash {
            Some(h) => intents::get(&self.store, h, now)?.map(|i| (h.clone(), i)),
            None => None,
        };
        let token_found = intent.is_some();
        if intent.is_none()
            && profile.app_intent_by_ani
            && caller_id_check != Some(CallerIdCheck::Failed)
            && let Some(a) = &ani
        {
            intent = intents::for_phone(&self.store, a, now)?;
        }

        let looked_up = self
            .core_call(timeout, async {
                if let Some((_, i)) = &intent {
                    // An intent found by phone counts only from a number that stands for its
                    // member alone; one that does not count (or whose member is gone) leaves
                    // the call to be identified by its caller ID, as if there were none.
                    let member = self.member_with_pin(&i.member_id).await?;
                    let counts = match (&member, &token_hash, &ani) {
                        (None, _, _) => false,
                        (Some(_), Some(_), _) => true,
                        (Some((m, _)), None, Some(a)) => self.stands_for(a, m).await?,
                        (Some(_), None, None) => false,
                    };
                    if counts {
                        return Ok((member, None));
                    }
                }
                if !profile.identify_by_ani {
                    return Ok((None, None));
                }
                let Some(a) = &ani else {
                    return Ok((None, None));
                };
                match self.core.member_by_phone(a).await? {
                    Some(one) => Ok((None, Some(Some(self.with_pin(one)?)))),
                    None => Ok((None, Some(None))),
                }
            })
            .await;
        let (by_intent, by_ani, core_down) = match looked_up {
            Ok((i, a)) => (i, a, false),
            Err(e) => {
                tracing::warn!(call_id = %req.call_id, error = %e, "core unavailable at call start");
                (None, None, true)
            }
        };
        let used_intent = by_intent
            .as_ref()
            .and_then(|_| intent.as_ref().map(|(h, _)| h.clone()));
        // A token that authenticates no one is worth an audit record: a replayed or guessed
        // one is how an attack on app intents would show.
        let token_refused = match (&token_hash, &used_intent) {
            (Some(_), None) => Some(match (token_found, core_down) {
                (false, _) => "not valid: unknown, used already, or expired",
                (true, true) => "not used: the core could not be reached",
                (true, false) => "not used: its member is not enrolled",
            }),
            _ => None,
        };

        let new = NewCall {
            call_id: req.call_id.clone(),
            ani: ani.clone(),
            caller_id_check,
            dnis,
            profile_name,
            profile,
        };
        let r = rules(&cfg, now);
        let transition = match (&by_intent, &by_ani, core_down) {
            (_, _, true) => dialog::start(new, Arrival::Ani(Found::CoreUnavailable), &r),
            (Some((m, has_pin)), _, _) => dialog::start(
                new,
                Arrival::Intent {
                    member: m,
                    has_pin: *has_pin,
                },
                &r,
            ),
            (None, Some(Some((m, has_pin))), _) => dialog::start(
                new,
                Arrival::Ani(Found::One {
                    member: m,
                    has_pin: *has_pin,
                }),
                &r,
            ),
            (None, Some(None), _) => dialog::start(new, Arrival::Ani(Found::NoneOrMany), &r),
            (None, None, _) => dialog::start(new, Arrival::NoCallerId, &r),
        };
        let view = dialog::step_view(&transition.call, &r);
        let send_code = (dialog::expects(&transition.call) == Expect::SendCode)
            .then(|| transition.call.clone());
        let who = actor.to_string();
        let row = records::encode_call(&transition.call)?;
        // what /metrics counts once it is stored (labels only: the call moves to the writer)
        let started_trust = tally::trust(&transition.call);
        let ended_at_once = tally::ended(&transition.call);
        let index = self.index.clone();
        // the number the start took, given back if its commit fails
        let taken = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let took = taken.clone();
        let outcome = self
            .audit
            .transact(move |txn| {
                let call = &transition.call;
                // Refused before anything is written: the batch commits whatever a job wrote.
                if index.number(&call.call_id).is_some() {
                    return Ok((Err(CallError::InUse(call.call_id.clone())), vec![]));
                }
                let mut events = Vec::new();
                if let Some(why) = token_refused {
                    events.push(
                        AuditEvent::new(&who, EventKind::IntentUsed, Outcome::Denied)
                            .call(call.call_id.clone())
                            .detail(format!("app token {why}")),
                    );
                }
                if let Some(hash) = &used_intent {
                    let Some(i) = intents::take(txn, hash)? else {
                        // another call used it first
                        return Ok((Err(CallError::Concurrent(call.call_id.clone())), vec![]));
                    };
                    events.push(
                        AuditEvent::new(&who, EventKind::IntentUsed, Outcome::Ok)
                            .call(call.call_id.clone())
                            .member(i.member_id),
                    );
                }
                // the one writer checked the id just above, so this takes it
                let number = index
                    .reserve(&call.call_id, call.ani.as_deref(), call.started_at)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("call {} taken twice", call.call_id))
                    })?;
                took.store(number, std::sync::atomic::Ordering::SeqCst);
                records::number_call(txn, number, call)?;
                let mut all =
                    records::save_encoded_step(txn, &index, &transition, &row, None, &who, now)?;
                events.append(&mut all);
                Ok((Ok(()), events))
            })
            .await;
        let outcome = match outcome {
            Ok((outcome, _)) => outcome,
            Err(e) => {
                let number = taken.load(std::sync::atomic::Ordering::SeqCst);
                if number != 0 {
                    self.index.release(&req.call_id, ani.as_deref(), number);
                }
                return Err(CallError::Audit(e));
            }
        };
        match outcome {
            Ok(()) => {
                tally::record_start(started_trust, ended_at_once);
                tally::record_caller_id_check(caller_id_check, verstat_unreadable);
                match send_code {
                    Some(call) => self.send_ivr_code(call, actor).await,
                    None => Ok(view),
                }
            }
            // lost a race for a single-use intent: start without it
            Err(CallError::Concurrent(_)) if req.app_token.is_some() || intent.is_some() => {
                Box::pin(self.start(
                    StartCall {
                        app_token: None,
                        ..req
                    },
                    actor,
                ))
                .await
            }
            Err(e) => Err(e),
        }
    }

    /// `POST /v1/calls/{call_id}/input`: answer the call's current STEP. `step`, when the
    /// IVR sends it, is the number of the STEP this input answers: a new input must answer
    /// the current one, and the input that answered the one before, sent again, gets the
    /// current STEP without being taken twice.
    pub async fn input(
        &self,
        call_id: &str,
        input: CallerInput,
        step: Option<u64>,
        actor: &str,
    ) -> Result<StepView, CallError> {
        // after the call's earlier inputs, against the step they left
        let _turn = self.turns.take(call_id).await;
        let cfg = self.config.load_full();
        let now = self.clock.now();
        let seen = records::read_seen(&self.store, &self.index, call_id)?
            .ok_or_else(|| CallError::NotFound(call_id.to_string()))?;
        let call = &seen.call;
        if call.ended_at.is_some() {
            return Err(CallError::Ended(call_id.to_string()));
        }
        let r = rules(&cfg, now);
        match dialog::answering(step, call.inputs) {
            dialog::Answering::Current => {}
            dialog::Answering::Taken => {
                metrics::counter!("callvault_inputs_repeated_total").increment(1);
                tracing::info!(
                    call_id,
                    step = call.inputs,
                    "an input sent again after it was taken: answered with the current STEP"
                );
                return Ok(dialog::step_view(call, &r));
            }
            dialog::Answering::Other { sent, current } => {
                return Err(CallError::StepMismatch {
                    call_id: call_id.to_string(),
                    sent,
                    current,
                });
            }
        }
        if dialog::is_done(call) {
            return Ok(dialog::step_view(call, &r));
        }
        if dialog::expects(call) == Expect::SendCode {
            // an earlier send was interrupted: send it now, the input answers nothing
            return self.send_ivr_code(seen.call, actor).await;
        }
        let (resolved, known) = self.resolve(call, input, &cfg, now).await?;
        let version = call.version;
        let who = actor.to_string();
        let cfg2 = cfg.clone();
        let id = call_id.to_string();
        let index = self.index.clone();
        let (next, _) = self
            .audit
            .transact(move |txn| {
                let Some(call) = records::reread_in(txn, &index, &id, seen)? else {
                    return Ok((Err(CallError::NotFound(id.clone())), vec![]));
                };
                if call.ended_at.is_some() {
                    return Ok((Err(CallError::Ended(id.clone())), vec![]));
                }
                // cannot happen while inputs and agents' changes take turns; kept as a guard
                if call.version != version {
                    return Ok((Err(CallError::Concurrent(id.clone())), vec![]));
                }
                let mut code_events = Vec::new();
                let r = rules(&cfg2, now);
                let member_id = call.member.as_ref().map(|m| m.member_id.clone());
                let counter = match &member_id {
                    Some(m) => crate::vault::read_counter(
                        &txn.open_table(tables::ATTEMPTS)?,
                        m,
                        ANSWER_ATTEMPTS,
                    )?,
                    None => Counter::default(),
                };
                // (an identifier the core found carries its member in the input itself)
                let member = known.as_ref();
                let input = match &resolved {
                    Resolved::NoInput => Input::NoInput,
                    Resolved::OptOut => Input::OptOut,
                    Resolved::CoreDown => Input::CoreUnavailable,
                    Resolved::MemberGone => Input::MemberGone,
                    Resolved::Identifier(Some(found)) => Input::Identifier(Found::One {
                        member: &found.0,
                        has_pin: found.1,
                    }),
                    Resolved::Identifier(None) => Input::Identifier(Found::NoneOrMany),
                    Resolved::Pin(p, _) => Input::Pin(p.clone()),
                    Resolved::Answer(d) => match &known {
                        Some(m) => Input::Answer {
                            digits: d.as_str(),
                            member: m,
                            counter,
                        },
                        None => Input::CoreUnavailable,
                    },
                    Resolved::NewPin(p) => Input::NewPin(p.clone()),
                    Resolved::Confirm(c) => Input::Confirm(*c),
                    Resolved::NewPinLost => Input::NewPinLost,
                    Resolved::Code { pending, right } => {
                        let (outcome, events) =
                            Self::ivr_code_check(txn, &index, pending, *right, &who, now)?;
                        code_events = events;
                        Input::Code(outcome)
                    }
                };
                let mut transition = dialog::answer(&call, input, member, &r);
                if let Resolved::Pin(_, true) = &resolved {
                    // the audit record says who checked it
                    for e in &mut transition.events {
                        if e.kind == EventKind::PinChecked {
                            e.detail.push_str(" (checked by the core)");
                        }
                    }
                }
                code_events.extend(records::save_step(
                    txn,
                    &index,
                    &transition,
                    Some(&call),
                    &who,
                    now,
                )?);
                Ok((Ok((transition.call, transition.locked)), code_events))
            })
            .await
            .map_err(CallError::Audit)?;
        let (next, locked) = next?;
        // the call was going on (a call whose dialog had ended returned above)
        if let Some(f) = tally::ended(&next) {
            tally::record_ending(f, tally::dialog_seconds(&next));
        }
        if let Some(by) = locked {
            tally::record_lock(by);
        }
        if dialog::expects(&next) == Expect::SendCode {
            return self.send_ivr_code(next, actor).await;
        }
        Ok(dialog::step_view(&next, &r))
    }

    /// Do the I/O the call's current step needs. Also returns the identified member's
    /// facts, fresh from the core (the dialog needs them to move past questions).
    async fn resolve(
        &self,
        call: &Call,
        input: CallerInput,
        cfg: &Config,
        now: DateTime<Utc>,
    ) -> Result<(Resolved, Option<Member>), CallError> {
        let timeout = cfg.core.timeout_ms;
        if let CallerInput::OptOut = input {
            return Ok((Resolved::OptOut, None));
        }
        let member = match &call.member {
            Some(cm) => match self
                .core_call(timeout, self.core.member(&cm.member_id))
                .await
            {
                Ok(Some(m)) => Some(m),
                Ok(None) => return Ok((Resolved::MemberGone, None)),
                Err(_) => return Ok((Resolved::CoreDown, None)),
            },
            None => None,
        };
        let digits = match input {
            CallerInput::Digits(d) => d,
            CallerInput::NoInput | CallerInput::OptOut => return Ok((Resolved::NoInput, member)),
        };
        let resolved = match (dialog::expects(call), &member) {
            (Expect::Nothing | Expect::SendCode, _) => Resolved::NoInput,
            (Expect::Identifier, _) => {
                let found = self
                    .core_call(timeout, async {
                        let mut ids: Vec<String> = Vec::new();
                        for kind in &call.profile.identifiers {
                            for id in self.core.find_by_identifier(*kind, &digits).await? {
                                if !ids.contains(&id) {
                                    ids.push(id);
                                }
                            }
                        }
                        match ids.as_slice() {
                            [one] => self.member_on_number(call.ani.as_deref(), one).await,
                            _ => Ok(None),
                        }
                    })
                    .await;
                match found {
                    Ok(f) => Resolved::Identifier(f.map(Box::new)),
                    Err(_) => Resolved::CoreDown,
                }
            }
            (_, None) => Resolved::CoreDown,
            (Expect::Question(_), Some(_)) => Resolved::Answer(digits),
            (Expect::Code, Some(_)) => match &call.otp {
                Some(pending) => Resolved::Code {
                    pending: pending.clone(),
                    right: self.ivr_code_is_right(pending, &digits)?,
                },
                None => Resolved::NoInput,
            },
            (Expect::Pin, Some(member)) => {
                let mut check = self
                    .vault
                    .check_pin(
                        member.member_id.clone(),
                        digits.clone(),
                        Settings::from_config(cfg),
                        now,
                    )
                    .await?;
                let by_core = matches!(check, PinCheck::NoPin) && self.core.checks_pins();
                if by_core {
                    match self.core_pin_check(member, &digits, cfg, now).await? {
                        Some(c) => check = c,
                        None => return Ok((Resolved::CoreDown, Some(member.clone()))),
                    }
                }
                let r = rules(cfg, now);
                Resolved::Pin(
                    match check {
                        PinCheck::Correct { stored } => {
                            let verdict = pin::assess(&Situation {
                                keyed: Some(&digits),
                                stored: Some(stored),
                                member,
                                activation: call.profile.activation.active_scenarios(),
                                force_change: &cfg.pin_change.scenarios,
                                on_conflict: cfg.pin_change.on_conflict,
                                policy: &cfg.pin_policy,
                                now,
                            });
                            let current = match verdict {
                                Verdict::Proceed | Verdict::NoPin => None,
                                _ => Some(self.vault.seal_for_call(&call.call_id, &digits)?),
                            };
                            PinResult::Correct { verdict, current }
                        }
                        PinCheck::Wrong { tries_left } => PinResult::Wrong { tries_left },
                        PinCheck::Locked { .. } => PinResult::Locked,
                        PinCheck::NoPin => PinResult::NoPin {
                            verdict: dialog::no_pin_verdict(&call.profile, member, &r),
                        },
                    },
                    by_core,
                )
            }
            (Expect::NewPin(_), Some(member)) => {
                let current = self.current_pin(call)?;
                Resolved::NewPin(
                    match pin::check_new_pin(
                        &cfg.pin_policy,
                        &digits,
                        member,
                        current.as_ref().map(|c| c.as_str()),
                    ) {
                        Ok(()) => Ok(self.vault.seal_for_call(&call.call_id, &digits)?),
                        Err(r) => Err(r),
                    },
                )
            }
            (Expect::ConfirmPin, Some(member)) => {
                let dialog::Phase::ConfirmPin { pending, .. } = &call.phase else {
                    return Ok((Resolved::NoInput, Some(member.clone())));
                };
                let Some(new_pin) = self.vault.open_for_call_if_kept(&call.call_id, pending)?
                else {
                    return Ok((Resolved::NewPinLost, Some(member.clone())));
                };
                let current = self.current_pin(call)?;
                let set = self
                    .vault
                    .set_pin(
                        member.clone(),
                        new_pin,
                        digits,
                        current,
                        Settings::from_config(cfg),
                        now,
                    )
                    .await;
                Resolved::Confirm(match set {
                    Ok(()) => Ok(()),
                    Err(VaultError::Rejected(r)) => Err(r),
                    Err(e) => return Err(e.into()),
                })
            }
        };
        Ok((resolved, member))
    }

    /// The PIN the caller keyed before being asked for a new one, for the policy's "not the
    /// same as the current PIN". `None` when there is none, or when a vault key rotation
    /// since left it unreadable: that one check is then skipped for this call.
    fn current_pin(&self, call: &Call) -> Result<Option<Zeroizing<String>>, CallError> {
        let Some(sealed) = call.current_pin.as_deref() else {
            return Ok(None);
        };
        Ok(self.vault.open_for_call_if_kept(&call.call_id, sealed)?)
    }

    /// `GET /v1/calls/{call_id}/step`: the call's current STEP, once any input being taken
    /// is done, for an IVR that lost an answer (or whose retried start was `409`).
    pub async fn current_step(&self, call_id: &str) -> Result<StepView, CallError> {
        let _turn = self.turns.take(call_id).await;
        let call = read_call(&self.store, &self.index, call_id)?
            .ok_or_else(|| CallError::NotFound(call_id.to_string()))?;
        if call.ended_at.is_some() {
            return Err(CallError::Ended(call_id.to_string()));
        }
        let cfg = self.config.load_full();
        Ok(dialog::step_view(&call, &rules(&cfg, self.clock.now())))
    }

    /// `DELETE /v1/calls/{call_id}`: the caller hung up. The record stays for agents until
    /// `calls.keep_hours` pass.
    pub async fn hang_up(&self, call_id: &str, actor: &str) -> Result<(), CallError> {
        // an input keyed before the hang-up still gets its step and its audit record
        let _turn = self.turns.take(call_id).await;
        let now = self.clock.now();
        let id = call_id.to_string();
        let index = self.index.clone();
        let actor = actor.to_string();
        let closed = self
            .audit
            .transact(move |txn| {
                let Some(mut call) = records::read_call_in(txn, &index, &id)? else {
                    return Ok((Err(CallError::NotFound(id.clone())), vec![]));
                };
                if call.ended_at.is_some() {
                    return Ok((Ok(None), vec![]));
                }
                let closed = tally::closed(&call, tally::Close::HungUp);
                call.ended_at = Some(now);
                call.current_pin = None;
                call.version += 1;
                records::write_call(txn, &index, &call)?;
                let event = records::event_for(&call, &actor, EventKind::CallEnded, Outcome::Ok)
                    .detail("the caller hung up");
                Ok((Ok(closed), vec![event]))
            })
            .await
            .map_err(CallError::Audit)?
            .0?;
        if let Some(f) = closed {
            tally::record(f);
        }
        Ok(())
    }

    /// `GET /v1/calls/{call_id}`.
    pub fn view(&self, call_id: &str) -> Result<CallView, CallError> {
        let txn = self.store.begin_read()?;
        let call = records::read_call_at(&txn, &self.index, call_id)?
            .ok_or_else(|| CallError::NotFound(call_id.to_string()))?;
        self.to_view(&txn, &challenges::Listing::open(&txn)?, call)
    }

    /// `call` as an agent sees it, with its member's verdict read from `txn`, the snapshot
    /// the call was read from.
    fn to_view(
        &self,
        txn: &redb::ReadTransaction,
        challenges: &challenges::Listing,
        call: Call,
    ) -> Result<CallView, CallError> {
        let cfg = self.config.load();
        let r = rules(&cfg, self.clock.now());
        let step = dialog::step_view(&call, &r);
        let member = match &call.member {
            Some(m) => Some(CallViewMember {
                member_id: m.member_id.clone(),
                name: m.name.clone(),
                identified_by: match call.named_by_agent {
                    true => IdentifiedBy::Agent,
                    false => IdentifiedBy::Ivr,
                },
                last_verification: records::verification(txn, &m.member_id)?,
            }),
            None => None,
        };
        let sent = challenges.of_call(&call, self.clock.now())?;
        Ok(CallView {
            call_id: call.call_id,
            ani: call.ani,
            caller_id_check: call.caller_id_check,
            dnis: call.dnis,
            profile: call.profile_name,
            status: step.status,
            member,
            trust: call.trust,
            methods_passed: call.methods_passed,
            methods_failed: call.methods_failed,
            step,
            verified: call.verified,
            checklist: call
                .checklist
                .as_ref()
                .map(|state| checklist::checklist_view(state, &call.profile, None)),
            challenges: sent,
            active: call.ended_at.is_none(),
            started_at: call.started_at,
            updated_at: call.updated_at,
            ended_at: call.ended_at,
        })
    }

    /// `GET /v1/calls?ani=...&active=true&limit=N`: the newest `limit` calls, newest first.
    /// Only those are read: a number that called thousands of times (a test line, a
    /// spoofed caller ID) costs no more than one that called `limit` times, and with
    /// `active_only` the calls known closed are skipped unread.
    pub fn find_by_ani(
        &self,
        ani: &str,
        active_only: bool,
        limit: usize,
    ) -> Result<Vec<CallView>, CallError> {
        let cfg = self.config.load();
        let Some(e164) = normalize_ani(ani, cfg.enroll.region()) else {
            let why = match crate::member::phone::withheld(ani) {
                // its calls are not kept under it: every withheld number would be one caller
                true => {
                    "ani is a withheld caller ID, which finds no call: look the call up \
                         by its call_id (GET /v1/calls/{call_id})"
                }
                false => "ani must be a phone number (E.164, national, or a tel: or sip: URI)",
            };
            return Err(CallError::BadRequest("bad_ani", why.into()));
        };
        // numbers follow the order calls start in: the newest first
        let mut numbers = self.index.from_ani(&e164);
        numbers.sort_unstable_by_key(|n| std::cmp::Reverse(*n));
        let candidates = numbers
            .into_iter()
            .filter(|n| !active_only || self.index.maybe_open(*n));
        let txn = self.store.begin_read()?;
        let calls = records::calls_in(&txn, candidates, limit, |c| {
            // an id the index kept for a deleted call may since name a call from elsewhere
            c.ani.as_deref() == Some(e164.as_str()) && (!active_only || c.ended_at.is_none())
        })?;
        self.newest_first(&txn, calls)
    }

    /// `calls` as agents see them, the newest first (of calls started at the same time, in
    /// the order given), read from `txn`.
    fn newest_first(
        &self,
        txn: &redb::ReadTransaction,
        mut calls: Vec<Call>,
    ) -> Result<Vec<CallView>, CallError> {
        calls.sort_by_key(|c| std::cmp::Reverse(c.started_at));
        let listing = challenges::Listing::open(txn)?;
        calls
            .into_iter()
            .map(|c| self.to_view(txn, &listing, c))
            .collect()
    }

    /// `GET /v1/calls?active=true&limit=N` with no `ani`: the newest `limit` calls from any
    /// number (with `active_only`, those still going), newest first: a supervisor's list, or
    /// a desk that has no call id. The calls still going come from the in-memory index once
    /// the first sweep has run; before it (just after a start), from the stored calls, the
    /// newest first.
    pub fn find_recent(&self, active_only: bool, limit: usize) -> Result<Vec<CallView>, CallError> {
        let txn = self.store.begin_read()?;
        let keep = |c: &Call| !active_only || c.ended_at.is_none();
        let calls = match self.index.open_newest_first().filter(|_| active_only) {
            Some(numbers) => records::calls_in(&txn, numbers, limit, keep)?,
            None => records::newest_calls(&txn, limit, keep)?,
        };
        self.newest_first(&txn, calls)
    }

    /// `POST /v1/intents`.
    pub async fn create_intent(&self, req: NewIntent, actor: &str) -> Result<Announced, CallError> {
        let cfg = self.config.load_full();
        let now = self.clock.now();
        let ttl = req.ttl_seconds.unwrap_or(cfg.calls.intent_ttl_seconds);
        if ttl == 0 || ttl > cfg.calls.intent_max_ttl_seconds {
            return Err(CallError::BadRequest(
                "bad_ttl",
                format!(
                    "ttl_seconds must be 1 to {} (calls.intent_max_ttl_seconds)",
                    cfg.calls.intent_max_ttl_seconds
                ),
            ));
        }
        let phone = match req.phone.as_deref() {
            Some(p) => Some(normalize_ani(p, cfg.enroll.region()).ok_or_else(|| {
                CallError::BadRequest("bad_phone", "phone must be a phone number".into())
            })?),
            None => None,
        };
        if !crate::member::plausible_member_id(&req.member_id) {
            // no core is asked of an id that can be none
            return Err(CallError::NoSuchMember(req.member_id));
        }
        let looked_up = self
            .core_call(cfg.core.timeout_ms, async {
                let Some(member) = self.core.member(&req.member_id).await? else {
                    return Ok(None);
                };
                let stands = match &phone {
                    Some(p) => self.stands_for(p, &member).await?,
                    None => false,
                };
                Ok(Some(stands))
            })
            .await
            .map_err(|e| CallError::CoreUnavailable(e.to_string()))?;
        let Some(by_phone) = looked_up else {
            return Err(CallError::NoSuchMember(req.member_id));
        };
        // Only a number that stands for the member alone can stand for the intent at a
        // call's start. Any other is not kept: it would never count, and it must not take
        // the place of an intent another member announced for that number.
        let phone = phone.filter(|_| by_phone);
        let (token, hash) = intents::new_token();
        let intent = Intent {
            member_id: req.member_id,
            phone,
            created_at: now,
            expires_at: now + Duration::seconds(i64::from(ttl)),
            created_by: actor.to_string(),
        };
        let expires_at = intent.expires_at;
        let actor = actor.to_string();
        let detail = match (by_phone, req.phone.is_some()) {
            (true, _) => format!("ttl {ttl} s; a call from the member's verified number counts"),
            (false, true) => format!(
                "ttl {ttl} s; token only: the phone given is not the member's verified number, \
                 or another member's too"
            ),
            (false, false) => format!("ttl {ttl} s; token only"),
        };
        self.audit
            .transact(move |txn| {
                intents::put(txn, &hash, &intent)?;
                let event = AuditEvent::new(&actor, EventKind::IntentCreated, Outcome::Ok)
                    .member(intent.member_id.clone())
                    .detail(detail);
                Ok(((), vec![event]))
            })
            .await
            .map_err(CallError::Audit)?;
        Ok(Announced {
            token: token.to_string(),
            expires_at,
            by_phone,
        })
    }

    /// Close calls idle for `calls.idle_minutes`, delete closed calls older than
    /// `calls.keep_hours`, and drop expired intents.
    ///
    /// The scan of every stored call runs in a read transaction on a blocking thread, so it
    /// never holds up the one writer (with a few hundred thousand stored calls it takes
    /// seconds). Only the calls it finds go to the writer, at most [`SWEEP_BATCH`] to a
    /// transaction, and each is checked again there.
    pub async fn sweep(&self) -> Result<Swept, CallError> {
        let began = std::time::Instant::now();
        let cfg = self.config.load_full();
        let now = self.clock.now();
        let idle = now - Duration::minutes(i64::from(cfg.calls.idle_minutes));
        let keep = now - Duration::hours(i64::from(cfg.calls.keep_hours));
        let due = self.sweep_scan(idle, keep).await?.due;
        let mut batches: Vec<Vec<CallNumber>> = due
            .chunks(SWEEP_BATCH)
            .map(<[CallNumber]>::to_vec)
            .collect();
        if batches.is_empty() {
            batches.push(Vec::new()); // the intents and challenges are swept in any case
        }
        let mut swept = Swept::default();
        for (n, numbers) in batches.into_iter().enumerate() {
            let ((s, deleted), _) = self
                .audit
                .transact(move |txn| records::sweep(txn, &numbers, n == 0, now, idle, keep))
                .await
                .map_err(CallError::Audit)?;
            self.index.closed(&deleted.closed);
            for f in deleted.unfinished {
                tally::record(f);
            }
            for (id, ani, number) in &deleted.deleted {
                self.index.release(id, ani.as_deref(), *number);
            }
            swept.expired += s.expired;
            swept.deleted += s.deleted;
            swept.intents_deleted += s.intents_deleted;
            swept.challenges_deleted += s.challenges_deleted;
        }
        metrics::histogram!("callvault_calls_sweep_seconds").record(began.elapsed().as_secs_f64());
        Ok(swept)
    }

    /// The calls a sweep should close or delete. The first sweep after a start reads every
    /// stored call, and so learns which are open. Later sweeps take the idle ones from the
    /// index and read only the calls started before `keep` (the first rows): the work no
    /// longer grows with the calls kept.
    async fn sweep_scan(
        &self,
        idle: DateTime<Utc>,
        keep: DateTime<Utc>,
    ) -> Result<records::Scan, CallError> {
        let store = self.store.clone();
        let index = self.index.clone();
        let scan = tokio::task::spawn_blocking(move || {
            if index.open_complete() {
                let mut scan = records::scan(&store, records::Reach::Oldest, idle, keep)?;
                scan.due.extend(index.idle(idle));
                scan.due.sort_unstable();
                scan.due.dedup();
                Ok(scan)
            } else {
                let scan = records::scan(&store, records::Reach::All, idle, keep)?;
                index.merge_open(&scan.open);
                Ok::<_, StoreError>(scan)
            }
        })
        .await
        .map_err(|e| CallError::Internal(format!("the sweep's scan stopped: {e}")))??;
        metrics::counter!("callvault_calls_sweep_rows_read_total").increment(scan.read);
        Ok(scan)
    }
}

#[cfg(test)]
mod tests;
