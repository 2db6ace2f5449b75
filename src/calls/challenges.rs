//! Challenges around a call (seed 001): an agent sends the identified member a one-time code
//! or a push approval, checks the code the member reads out, or decides; the app answers a
//! push. An IVR `otp` step sends its code the same way and the caller keys it in.
//!
//! A challenge is stored only once its channel accepted it, together with the member's send
//! counter and the audit event, so a failed send leaves nothing half-done. Every state
//! change and the verdict it implies (the call and the member marked Verified / Not
//! Verified) commit in one transaction with their audit events.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::index::CallIndex;
use super::records::{self, Verification};
use super::{CallError, CallService};
use crate::audit::{AuditEvent, EventKind, Outcome};
use crate::challenge::{self, Challenge, ChallengeError, CheckResult, Sends, State};
use crate::config::{Config, OtpChannel};
use crate::dialog::{self, Call, CodeOutcome, OtpPending, StepView};
use crate::member::{Member, PhoneType};
use crate::notify::{self, Outgoing, SendError};
use crate::store::{Store, StoreError, tables};

/// `POST /v1/calls/{call_id}/challenges`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChallenge {
    pub channel: OtpChannel,
    /// Push only: send a code with the approval request (SMS and e-mail always carry one).
    #[serde(default)]
    pub with_code: Option<bool>,
}

/// The answer to a sent challenge.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChallengeSent {
    pub challenge_id: String,
    /// The channel it went out on: `sms` when a push fell back.
    pub channel: OtpChannel,
    /// `push` when the push could not reach the member and a text went instead.
    pub fallback_from: Option<OtpChannel>,
    pub with_code: bool,
    /// The destination, masked: `+1******4567`, `j***@cu.example`, `app`.
    pub sent_to: String,
    pub expires_in: u32,
    pub expires_at: DateTime<Utc>,
}

/// `GET /v1/challenges/{challenge_id}`: the agent's countdown.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChallengeView {
    pub challenge_id: String,
    pub call_id: String,
    pub member_id: String,
    pub channel: OtpChannel,
    pub fallback_from: Option<OtpChannel>,
    pub with_code: bool,
    pub sent_to: String,
    pub state: State,
    pub expires_in: u32,
    pub expires_at: DateTime<Utc>,
    pub attempts_left: u32,
    /// Push: the member's answer in the app (`null` until they answer).
    pub member_response: Option<bool>,
    /// `code`, `app`, `agent`, `too_many_wrong_codes`, `expired`, `replaced` (another
    /// challenge was sent on the call) or `key_rotated` (a vault key rotation left its code
    /// impossible to check), once decided.
    pub how: Option<String>,
    /// Sent by the call's IVR `otp` step: the caller keys its code, and agents can neither
    /// check nor decide it (`409 ivr_challenge`).
    pub by_ivr: bool,
}

/// `POST /v1/challenges/{challenge_id}/check`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckAnswer {
    pub result: CheckResult,
    pub attempts_left: u32,
    pub state: State,
}

fn view(c: &Challenge, now: DateTime<Utc>) -> ChallengeView {
    ChallengeView {
        challenge_id: c.challenge_id.clone(),
        call_id: c.call_id.clone(),
        member_id: c.member_id.clone(),
        channel: c.channel,
        fallback_from: c.fallback_from,
        with_code: c.with_code,
        sent_to: c.sent_to.clone(),
        state: c.state_at(now),
        expires_in: c.expires_in(now),
        expires_at: c.expires_at,
        attempts_left: if c.with_code { c.checks_left } else { 0 },
        member_response: c.member_response,
        how: c.how.clone(),
        by_ivr: c.for_ivr,
    }
}

fn corrupt(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub fn read(store: &Store, id: &str) -> Result<Option<Challenge>, StoreError> {
    get(&store.begin_read()?.open_table(tables::CHALLENGES)?, id)
}

fn read_in(txn: &WriteTransaction, id: &str) -> Result<Option<Challenge>, StoreError> {
    get(&txn.open_table(tables::CHALLENGES)?, id)
}

fn get(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<Challenge>, StoreError> {
    let value = table.get(id)?;
    value
        .map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(id, e)))
        .transpose()
}

fn write(txn: &WriteTransaction, c: &Challenge) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(c).map_err(|e| corrupt("cannot encode a challenge", e))?;
    txn.open_table(tables::CHALLENGES)?
        .insert(c.challenge_id.as_str(), bytes.as_slice())?;
    Ok(())
}

/// Store a challenge its channel just accepted: the challenge, its place in its call's list
/// and the member's send count.
fn store_sent(txn: &WriteTransaction, c: &Challenge, now: DateTime<Utc>) -> Result<(), StoreError> {
    write(txn, c)?;
    txn.open_table(tables::CALL_CHALLENGES)?
        .insert((c.call_id.as_str(), c.challenge_id.as_str()), ())?;
    record_send(txn, &c.member_id, now)
}

/// End the agent challenges of `call` still waiting, as `new` is stored: the newest code is
/// the one that works (an IVR step's challenge is its dialog's, and stays). Returns their
/// events.
fn replace_waiting(
    txn: &WriteTransaction,
    index: &CallIndex,
    call: &Call,
    new: &Challenge,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let ids: Vec<String> = {
        let listed = txn.open_table(tables::CALL_CHALLENGES)?;
        let mut out = Vec::new();
        for row in listed.range((call.call_id.as_str(), "")..)? {
            let (key, ()) = row.map(|(k, v)| (k, v.value()))?;
            let (call_id, id) = key.value();
            if call_id != call.call_id {
                break;
            }
            out.push(id.to_string());
        }
        out
    };
    let mut events = Vec::new();
    for id in ids {
        // a call id used again after its first call was swept: not that call's
        let Some(mut c) = read_in(txn, &id)?.filter(|c| c.created_at >= call.started_at) else {
            continue;
        };
        if c.for_ivr || c.challenge_id == new.challenge_id {
            continue;
        }
        end_with_call(&mut c, Some(call));
        if let Some(next) = c.replaced(actor, now) {
            write(txn, &next)?;
            events.extend(settle_verdict(txn, index, &next, actor, now)?);
        }
    }
    Ok(events)
}

/// The tables the screen pop reads calls' challenges from, opened once for all the calls
/// of one answer (`GET /v1/calls?ani=...` shows up to 500).
pub(super) struct Listing {
    listed: redb::ReadOnlyTable<(&'static str, &'static str), ()>,
    challenges: redb::ReadOnlyTable<&'static str, &'static [u8]>,
}

impl Listing {
    pub(super) fn open(txn: &redb::ReadTransaction) -> Result<Self, StoreError> {
        Ok(Listing {
            listed: txn.open_table(tables::CALL_CHALLENGES)?,
            challenges: txn.open_table(tables::CHALLENGES)?,
        })
    }

    /// The challenges sent on `call` (by agents and by its IVR `otp` steps), the first sent
    /// first, as the screen pop shows them.
    pub(super) fn of_call(
        &self,
        call: &Call,
        now: DateTime<Utc>,
    ) -> Result<Vec<ChallengeView>, StoreError> {
        let mut out = Vec::new();
        for row in self.listed.range((call.call_id.as_str(), "")..)? {
            let (key, ()) = row.map(|(k, v)| (k, v.value()))?;
            let (call_id, id) = key.value();
            if call_id != call.call_id {
                break;
            }
            // a call id used again after its first call was swept: not that call's
            let Some(mut c) =
                get(&self.challenges, id)?.filter(|c| c.created_at >= call.started_at)
            else {
                continue;
            };
            end_with_call(&mut c, Some(call));
            out.push(c);
        }
        out.sort_by(|a, b| (a.created_at, &a.challenge_id).cmp(&(b.created_at, &b.challenge_id)));
        Ok(out.iter().map(|c| view(c, now)).collect())
    }
}

/// Delete challenges created before `keep` (their calls are deleted then too), and the send
/// counts of members with no send in the last hour. Returns how many challenges went.
pub(super) fn sweep(
    txn: &WriteTransaction,
    now: DateTime<Utc>,
    keep: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let old: Vec<(String, String)> = {
        let table = txn.open_table(tables::CHALLENGES)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            let c: Challenge =
                serde_json::from_slice(v.value()).map_err(|e| corrupt(k.value(), e))?;
            if c.created_at < keep {
                out.push((k.value().to_string(), c.call_id));
            }
        }
        out
    };
    let mut challenges = txn.open_table(tables::CHALLENGES)?;
    let mut listed = txn.open_table(tables::CALL_CHALLENGES)?;
    for (id, call_id) in &old {
        challenges.remove(id.as_str())?;
        listed.remove((call_id.as_str(), id.as_str()))?;
    }
    let idle: Vec<String> = {
        let table = txn.open_table(tables::CHALLENGE_SENDS)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            let s: Sends = serde_json::from_slice(v.value()).map_err(|e| corrupt(k.value(), e))?;
            if s.recent(now).at.is_empty() {
                out.push(k.value().to_string());
            }
        }
        out
    };
    let mut sends = txn.open_table(tables::CHALLENGE_SENDS)?;
    for member in &idle {
        sends.remove(member.as_str())?;
    }
    Ok(old.len() as u64)
}

fn sends(store: &Store, member_id: &str) -> Result<Sends, StoreError> {
    let txn = store.begin_read()?;
    let table = txn.open_table(tables::CHALLENGE_SENDS)?;
    let value = table.get(member_id)?;
    Ok(value
        .map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(member_id, e)))
        .transpose()?
        .unwrap_or_default())
}

/// Count a send against the member's hourly limit, in the transaction storing it.
fn record_send(
    txn: &WriteTransaction,
    member_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(tables::CHALLENGE_SENDS)?;
    let before: Sends = match table.get(member_id)? {
        Some(v) => serde_json::from_slice(v.value()).map_err(|e| corrupt(member_id, e))?,
        None => Sends::default(),
    };
    let bytes = serde_json::to_vec(&before.record(now)).map_err(|e| corrupt(member_id, e))?;
    table.insert(member_id, bytes.as_slice())?;
    Ok(())
}

/// Where a channel reaches the member: the verified mobile (not shared with another member,
/// not a landline) for SMS, the e-mail on file, the app for push.
fn destination(member: &Member, channel: OtpChannel) -> Option<(String, String)> {
    match channel {
        OtpChannel::Sms => member
            .identifying_phones()
            .find(|(_, verified)| *verified)
            .filter(|_| member.phone_type != PhoneType::Landline)
            .map(|(p, _)| (p.to_string(), crate::member::mask_phone(p))),
        OtpChannel::Email => member
            .email
            .as_ref()
            .filter(|e| e.contains('@'))
            .map(|e| (e.clone(), crate::member::mask_email(e))),
        OtpChannel::Push => Some((member.member_id.clone(), "app".into())),
    }
}

/// A challenge that went out, ready to store.
struct Delivered {
    challenge: Challenge,
    fallback_why: Option<String>,
}

/// Why a challenge could not go out.
#[derive(Debug)]
enum NotSent {
    NoChannel(OtpChannel),
    NoDestination(OtpChannel),
    Failed(String),
}

impl NotSent {
    /// The IVR's `otp: ...` reason.
    fn ivr_reason(&self) -> &'static str {
        match self {
            NotSent::NoChannel(_) => "no_channel",
            NotSent::NoDestination(_) => "no_destination",
            NotSent::Failed(_) => "send_failed",
        }
    }

    fn into_error(self) -> CallError {
        match self {
            NotSent::NoChannel(c) => CallError::BadRequest(
                "channel_unavailable",
                format!(
                    "no {} channel is configured ([notify.{}])",
                    c.as_str(),
                    c.as_str()
                ),
            ),
            NotSent::NoDestination(c) => CallError::NoDestination(match c {
                OtpChannel::Sms => "the member has no verified mobile number of their own for a \
                                    text (none on file, a landline, or one another member has too)"
                    .into(),
                OtpChannel::Email => "the member has no e-mail address on file".into(),
                OtpChannel::Push => "the member cannot get a push".into(),
            }),
            NotSent::Failed(why) => CallError::SendFailed(why),
        }
    }
}

fn audit_detail(c: &Challenge, fallback_why: Option<&str>) -> String {
    let mut d = format!(
        "{} to {}{}",
        c.channel.as_str(),
        c.sent_to,
        if c.with_code { ", with a code" } else { "" }
    );
    if let (Some(from), Some(why)) = (c.fallback_from, fallback_why) {
        d.push_str(&format!("; fallback from {}: {why}", from.as_str()));
    }
    d
}

/// The events and verdict of a challenge that was just decided (agent challenges only: an
/// IVR step's verdict is the dialog's).
fn settle_verdict(
    txn: &WriteTransaction,
    index: &CallIndex,
    c: &Challenge,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let outcome = match c.state {
        State::Approved => Outcome::Ok,
        State::Denied => Outcome::Denied,
        State::Expired => Outcome::Failed,
        State::Waiting => return Ok(vec![]),
    };
    let how = c.how.clone().unwrap_or_default();
    let mut events = vec![
        AuditEvent::new(actor, EventKind::ChallengeDecided, outcome)
            .call(c.call_id.clone())
            .member(c.member_id.clone())
            .detail(format!(
                "{} {} ({how})",
                c.channel.as_str(),
                c.state.as_str()
            )),
    ];
    let verified = match c.state {
        State::Approved => true,
        State::Denied => false,
        _ => return Ok(events),
    };
    if c.for_ivr {
        return Ok(events);
    }
    let method = format!("challenge:{}", c.channel.as_str());
    if let Some(mut call) = records::read_call_in(txn, index, &c.call_id)? {
        call.verified = Some(verified);
        match verified {
            true => call.methods_passed.push(method.clone()),
            false => call.methods_failed.push(method.clone()),
        }
        call.version += 1;
        call.updated_at = now;
        records::write_call(txn, index, &call)?;
    }
    records::set_verification(
        txn,
        &c.member_id,
        &Verification {
            verified,
            at: now,
            call_id: c.call_id.clone(),
            by: actor.to_string(),
            how: method.clone(),
        },
    )?;
    events.push(challenge_event(
        c,
        actor,
        EventKind::MemberVerified,
        verified,
        Outcome::Denied,
        format!(
            "{method}: {}",
            if verified { "verified" } else { "not verified" }
        ),
    ));
    Ok(events)
}

/// A challenge lives no longer than its call: once the caller has hung up (or the call was
/// closed as idle), nobody on the line is being verified, so a code read out or an approval
/// in the app after that finds it expired, and marks neither the call nor the member.
fn end_with_call(c: &mut Challenge, call: Option<&Call>) {
    let ended = match call {
        Some(call) => call.ended_at,
        // the call's record is gone: swept hours after it ended
        None => Some(c.created_at),
    };
    if let Some(ended) = ended {
        c.expires_at = c.expires_at.min(ended);
    }
}

/// An audit event about a challenge: `Ok` when `ok`, else `otherwise`.
fn challenge_event(
    c: &Challenge,
    actor: &str,
    kind: EventKind,
    ok: bool,
    otherwise: Outcome,
    detail: impl Into<String>,
) -> AuditEvent {
    AuditEvent::new(actor, kind, if ok { Outcome::Ok } else { otherwise })
        .call(c.call_id.clone())
        .member(c.member_id.clone())
        .detail(detail)
}

/// The event of a code check (never the code).
fn checked_event(c: &Challenge, actor: &str, right: bool) -> AuditEvent {
    let detail = if right { "code right" } else { "code wrong" };
    challenge_event(
        c,
        actor,
        EventKind::ChallengeChecked,
        right,
        Outcome::Failed,
        detail,
    )
}

fn challenge_error(e: ChallengeError) -> CallError {
    CallError::Challenge(e)
}

impl CallService {
    /// Pick the destination, make the code, and hand the challenge to its channel (falling
    /// back from push to SMS when the push cannot reach the member). Nothing is stored here.
    async fn deliver(
        &self,
        cfg: &Arc<Config>,
        call: &Call,
        member: &Member,
        wanted: OtpChannel,
        with_code: bool,
        for_ivr: bool,
    ) -> Result<Delivered, NotSent> {
        let now = self.clock.now();
        let ttl = cfg.otp.ttl_seconds;
        let id = challenge::new_id();
        // why the push did not go, once a text is tried instead
        let mut push_failed: Option<NotSent> = None;
        let mut channel = wanted;
        let mut with_code = with_code || wanted != OtpChannel::Push;
        let mut outcome: Result<(String, Option<Zeroizing<String>>), NotSent> =
            Err(NotSent::NoChannel(wanted));
        // only a push falls back, and only to a text with a code; a text or an e-mail that
        // failed is not sent again (the gateway may have sent it, and a second one would
        // carry another code)
        let fallback = (wanted == OtpChannel::Push).then_some(OtpChannel::Sms);
        let channels = self.channels.of(cfg);
        for attempt in std::iter::once(wanted).chain(fallback) {
            if attempt != wanted {
                match std::mem::replace(&mut outcome, Err(NotSent::NoChannel(attempt))) {
                    Ok(sent) => {
                        outcome = Ok(sent);
                        break;
                    }
                    Err(why) => push_failed = Some(why),
                }
                channel = OtpChannel::Sms;
                with_code = true;
            }
            let Some(sender) = channels.get(channel) else {
                outcome = Err(NotSent::NoChannel(channel));
                continue;
            };
            let Some((to, masked)) = destination(member, channel) else {
                outcome = Err(NotSent::NoDestination(channel));
                continue;
            };
            // A code to a mobile another member has too (a REST core's joint-account
            // number; the embedded directory withdraws such numbers at enrollment) proves
            // only that the caller holds that phone, not which member they are.
            if channel == OtpChannel::Sms {
                match self
                    .core_call(cfg.core.timeout_ms, self.stands_for(&to, member))
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        outcome = Err(NotSent::NoDestination(channel));
                        continue;
                    }
                    Err(e) => {
                        outcome = Err(NotSent::Failed(format!(
                            "the core could not say whose number the mobile is: {e}"
                        )));
                        continue;
                    }
                }
            }
            let code = with_code.then(challenge::new_code);
            let msg = Outgoing {
                challenge_id: id.clone(),
                member_id: member.member_id.clone(),
                call_id: call.call_id.clone(),
                to,
                code: code.clone(),
                ttl_seconds: ttl,
                expires_at: now + Duration::seconds(i64::from(ttl)),
            };
            outcome = match notify::send(channel, sender.as_ref(), &msg).await {
                Ok(()) => Ok((masked, code)),
                Err(SendError::Unreachable(why)) | Err(SendError::Failed(why)) => {
                    tracing::warn!(
                        call_id = %call.call_id,
                        channel = channel.as_str(),
                        error = %why,
                        "a challenge could not be sent"
                    );
                    Err(NotSent::Failed(why))
                }
            };
            if outcome.is_ok() {
                break;
            }
        }
        let fallback_why = push_failed.as_ref().map(|why| match why {
            NotSent::NoChannel(_) => "push is not configured".to_string(),
            NotSent::NoDestination(_) => "no app".to_string(),
            NotSent::Failed(why) => why.clone(),
        });
        let (sent_to, code) = outcome.map_err(|e| match (e, push_failed) {
            // both failed: the answer and the audit record say why the push did too
            (NotSent::Failed(why), Some(NotSent::Failed(first))) => {
                NotSent::Failed(format!("{why} (after the push: {first})"))
            }
            // no text could go instead: the push's failure is the answer, not the text's
            // channel the agent never asked for
            (NotSent::NoChannel(_), Some(first @ NotSent::Failed(_))) => first,
            (NotSent::NoDestination(_), Some(NotSent::Failed(first))) => NotSent::Failed(format!(
                "{first} (and no text instead: the member has no verified mobile number of \
                 their own)"
            )),
            (e, _) => e,
        })?;
        let code_mac = match &code {
            Some(c) => Some(
                self.vault
                    .code_mac(&id, c)
                    .map_err(|e| NotSent::Failed(e.to_string()))?,
            ),
            None => None,
        };
        // the clock restarts when the channel accepted it
        let sent_at = self.clock.now();
        Ok(Delivered {
            challenge: Challenge {
                challenge_id: id,
                call_id: call.call_id.clone(),
                member_id: member.member_id.clone(),
                channel,
                fallback_from: (channel != wanted).then_some(wanted),
                with_code,
                sent_to,
                code_mac,
                state: State::Waiting,
                checks_left: cfg.otp.max_checks,
                member_response: None,
                for_ivr,
                created_at: sent_at,
                expires_at: sent_at + Duration::seconds(i64::from(ttl)),
                decided_at: None,
                decided_by: None,
                how: None,
            },
            fallback_why,
        })
    }

    /// The member's facts and whether another challenge may go out now.
    async fn challenge_member(&self, cfg: &Config, member_id: &str) -> Result<Member, CallError> {
        let member = self
            .core_call(cfg.core.timeout_ms, self.core.member(member_id))
            .await
            .map_err(|e| CallError::CoreUnavailable(e.to_string()))?
            .ok_or_else(|| CallError::NoSuchMember(member_id.to_string()))?;
        self.check_send_limit(cfg, member_id)?;
        Ok(member)
    }

    /// `TooManyChallenges` when the member has had `otp.max_sends_per_hour` in the last hour.
    fn check_send_limit(&self, cfg: &Config, member_id: &str) -> Result<(), CallError> {
        match sends(&self.store, member_id)?.wait(cfg.otp.max_sends_per_hour, self.clock.now()) {
            Some(retry_after) => Err(CallError::TooManyChallenges { retry_after }),
            None => Ok(()),
        }
    }

    /// `POST /v1/calls/{call_id}/challenges`.
    pub async fn send_challenge(
        &self,
        call_id: &str,
        req: NewChallenge,
        actor: &str,
    ) -> Result<ChallengeSent, CallError> {
        let cfg = self.config.load_full();
        let call = super::read_call(&self.store, &self.index, call_id)?
            .ok_or_else(|| CallError::NotFound(call_id.to_string()))?;
        if call.ended_at.is_some() {
            return Err(CallError::Ended(call_id.to_string()));
        }
        let Some(cm) = call.member.clone() else {
            return Err(CallError::NoMember(call_id.to_string()));
        };
        if req.with_code == Some(false) && req.channel != OtpChannel::Push {
            return Err(CallError::BadRequest(
                "bad_challenge",
                "with_code = false is for push only: a text or e-mail is its code".into(),
            ));
        }
        let configured = |c| cfg.notify.offers(c);
        let offered = configured(req.channel)
            || (req.channel == OtpChannel::Push && configured(OtpChannel::Sms));
        if !offered {
            return Err(NotSent::NoChannel(req.channel).into_error());
        }
        let member = self.challenge_member(&cfg, &cm.member_id).await?;
        let delivered = self
            .deliver(
                &cfg,
                &call,
                &member,
                req.channel,
                req.with_code.unwrap_or(false),
                false,
            )
            .await;
        let now = self.clock.now();
        let who = actor.to_string();
        let delivered = match delivered {
            Ok(d) => d,
            Err(not_sent) => {
                let event =
                    records::event_for(&call, &who, EventKind::ChallengeFailed, Outcome::Failed)
                        .detail(format!(
                            "{}: {}",
                            req.channel.as_str(),
                            not_sent.ivr_reason()
                        ));
                self.audit
                    .transact(move |_| Ok(((), vec![event])))
                    .await
                    .map_err(CallError::Audit)?;
                return Err(not_sent.into_error());
            }
        };
        let c = delivered.challenge;
        let answer = ChallengeSent {
            challenge_id: c.challenge_id.clone(),
            channel: c.channel,
            fallback_from: c.fallback_from,
            with_code: c.with_code,
            sent_to: c.sent_to.clone(),
            expires_in: c.expires_in(now),
            expires_at: c.expires_at,
        };
        let detail = audit_detail(&c, delivered.fallback_why.as_deref());
        let index = self.index.clone();
        self.audit
            .transact(move |txn| {
                let mut events = replace_waiting(txn, &index, &call, &c, &who, now)?;
                store_sent(txn, &c, now)?;
                events.push(
                    AuditEvent::new(&who, EventKind::ChallengeSent, Outcome::Ok)
                        .call(c.call_id.clone())
                        .member(c.member_id.clone())
                        .detail(detail),
                );
                Ok(((), events))
            })
            .await
            .map_err(CallError::Audit)?;
        Ok(answer)
    }

    /// `GET /v1/challenges/{challenge_id}`.
    pub fn challenge(&self, id: &str) -> Result<ChallengeView, CallError> {
        let mut c =
            read(&self.store, id)?.ok_or_else(|| CallError::NoSuchChallenge(id.to_string()))?;
        let call = records::read_call(&self.store, &self.index, &c.call_id)?;
        end_with_call(&mut c, call.as_ref());
        Ok(view(&c, self.clock.now()))
    }

    /// Apply `change` to a stored agent challenge in one transaction with its events and
    /// verdict. `change` returns the next state and extra events, or why not.
    async fn change_challenge<T: Send + 'static>(
        &self,
        id: &str,
        actor: &str,
        change: impl FnOnce(
            &Challenge,
            DateTime<Utc>,
        ) -> Result<(Challenge, T, Vec<AuditEvent>), ChallengeError>
        + Send
        + 'static,
    ) -> Result<(Challenge, T), CallError> {
        // a verdict changes the call: it waits for an IVR input in hand on the same call
        let call_id = read(&self.store, id)?.map(|c| c.call_id);
        let _turn = match &call_id {
            Some(call_id) => Some(self.turns.take(call_id).await),
            None => None,
        };
        let now = self.clock.now();
        let id = id.to_string();
        let who = actor.to_string();
        let index = self.index.clone();
        let changed = self
            .audit
            .transact(move |txn| {
                let Some(mut before) = read_in(txn, &id)? else {
                    return Ok((Err(CallError::NoSuchChallenge(id.clone())), vec![]));
                };
                if before.for_ivr {
                    return Ok((Err(CallError::Challenge(ChallengeError::InIvr)), vec![]));
                }
                let call = records::read_call_in(txn, &index, &before.call_id)?;
                end_with_call(&mut before, call.as_ref());
                let (after, out, mut events) = match change(&before, now) {
                    Ok(x) => x,
                    Err(e) => return Ok((Err(challenge_error(e)), vec![])),
                };
                write(txn, &after)?;
                let decided = before.state != after.state;
                if decided {
                    events.extend(settle_verdict(txn, &index, &after, &who, now)?);
                }
                Ok((Ok((after, out, decided)), events))
            })
            .await
            .map_err(CallError::Audit)?
            .0?;
        let (after, out, decided) = changed;
        // an agent challenge's verdict (an expiry is none), as `settle_verdict` marks it
        if decided && matches!(after.state, State::Approved | State::Denied) {
            super::tally::record_verdict(
                "challenge",
                after.channel.as_str(),
                after.state == State::Approved,
            );
        }
        Ok((after, out))
    }

    /// `POST /v1/challenges/{challenge_id}/check`: the code the member read out.
    pub async fn check_challenge(
        &self,
        id: &str,
        code: Zeroizing<String>,
        actor: &str,
    ) -> Result<CheckAnswer, CallError> {
        let c = read(&self.store, id)?.ok_or_else(|| CallError::NoSuchChallenge(id.to_string()))?;
        let right = self.code_is_right(&c, &code);
        let key_gone = !self.code_key_usable(&c);
        let who = actor.to_string();
        let (after, result) = self
            .change_challenge(id, actor, move |c, now| {
                let (next, result) = match key_gone {
                    true => c.key_gone(now)?,
                    false => c.check(right, &who, now)?,
                };
                let event = checked_event(c, &who, right);
                let events = match result {
                    CheckResult::Expired => vec![],
                    _ => vec![event],
                };
                Ok((next, result, events))
            })
            .await?;
        Ok(CheckAnswer {
            result,
            attempts_left: after.checks_left,
            state: after.state,
        })
    }

    /// Whether a code could still be checked against `c`: false once the vault key its MAC
    /// was made under has been rotated away. (A challenge without a code has nothing to
    /// check; [`Challenge::check`] says so.)
    fn code_key_usable(&self, c: &Challenge) -> bool {
        c.code_mac
            .as_deref()
            .is_none_or(|mac| self.vault.code_key_loaded(mac))
    }

    /// Whether a keyed code is the challenge's, compared in constant time.
    fn code_is_right(&self, c: &Challenge, code: &str) -> bool {
        let well_formed = code.len() == challenge::CODE_DIGITS as usize
            && code.bytes().all(|b| b.is_ascii_digit());
        match &c.code_mac {
            Some(mac) => well_formed & self.vault.code_matches(&c.challenge_id, code, mac),
            None => false,
        }
    }

    /// `POST /v1/challenges/{challenge_id}/decision`: the agent's own approve / deny.
    pub async fn decide_challenge(
        &self,
        id: &str,
        approve: bool,
        actor: &str,
    ) -> Result<ChallengeView, CallError> {
        let who = actor.to_string();
        let (after, ()) = self
            .change_challenge(id, actor, move |c, now| {
                Ok((c.agent_decision(approve, &who, now)?, (), vec![]))
            })
            .await?;
        Ok(view(&after, self.clock.now()))
    }

    /// `POST /v1/challenges/{challenge_id}/push-response`: the app's approve / deny.
    pub async fn push_response(
        &self,
        id: &str,
        approve: bool,
        actor: &str,
    ) -> Result<ChallengeView, CallError> {
        let who = actor.to_string();
        let (after, ()) = self
            .change_challenge(id, actor, move |c, now| {
                let next = c.push_response(approve, &who, now)?;
                let event = challenge_event(
                    c,
                    &who,
                    EventKind::ChallengePushResponse,
                    approve,
                    Outcome::Denied,
                    if approve {
                        "approved in the app"
                    } else {
                        "denied in the app"
                    },
                );
                let events = if next.state == State::Expired {
                    vec![]
                } else {
                    vec![event]
                };
                Ok((next, (), events))
            })
            .await?;
        Ok(view(&after, self.clock.now()))
    }

    /// An IVR `otp` step: send its code, then let the dialog ask for it (or move on when it
    /// cannot be sent). Returns the call's STEP.
    pub(super) async fn send_ivr_code(
        &self,
        call: Call,
        actor: &str,
    ) -> Result<StepView, CallError> {
        let cfg = self.config.load_full();
        let channel = cfg.otp.ivr_channel;
        // One fetch from the core serves both the delivery and the dialog's next step.
        let member = match &call.member {
            Some(cm) => self
                .core_call(cfg.core.timeout_ms, self.core.member(&cm.member_id))
                .await
                .ok()
                .flatten(),
            None => None,
        };
        let sent: Result<Delivered, &'static str> = match (&call.member, &member) {
            (None, _) => Err("no_member"),
            (Some(_), None) => Err("core_unavailable"),
            (Some(cm), Some(m)) => match self.check_send_limit(&cfg, &cm.member_id) {
                Ok(()) => self
                    .deliver(&cfg, &call, m, channel, true, true)
                    .await
                    .map_err(|e| e.ivr_reason()),
                Err(CallError::TooManyChallenges { .. }) => Err("too_many_codes"),
                Err(e) => return Err(e),
            },
        };
        let now = self.clock.now();
        let who = actor.to_string();
        let version = call.version;
        let id = call.call_id.clone();
        let index = self.index.clone();
        let cfg2 = cfg.clone();
        let (next, _) = self
            .audit
            .transact(move |txn| {
                let Some(call) = records::read_call_in(txn, &index, &id)? else {
                    return Ok((Err(CallError::NotFound(id.clone())), vec![]));
                };
                if call.version != version || call.ended_at.is_some() {
                    return Ok((Err(CallError::Concurrent(id.clone())), vec![]));
                }
                let r = super::rules(&cfg2, now);
                let mut events = Vec::new();
                let input = match &sent {
                    Ok(d) => {
                        store_sent(txn, &d.challenge, now)?;
                        events.push(
                            records::event_for(&call, &who, EventKind::ChallengeSent, Outcome::Ok)
                                .detail(audit_detail(&d.challenge, d.fallback_why.as_deref())),
                        );
                        dialog::Input::CodeSent(Ok(OtpPending {
                            challenge_id: d.challenge.challenge_id.clone(),
                            checks_left: d.challenge.checks_left,
                        }))
                    }
                    Err(why) => dialog::Input::CodeSent(Err(why)),
                };
                let transition = match &member {
                    Some(m) => dialog::advance(&call, input, Some(m), &r),
                    None => dialog::advance(&call, dialog::Input::CoreUnavailable, None, &r),
                };
                events.extend(records::save_step(
                    txn,
                    &index,
                    &transition,
                    Some(&call),
                    &who,
                    now,
                )?);
                Ok((Ok(transition.call), events))
            })
            .await
            .map_err(CallError::Audit)?;
        let next = next?;
        if let Some(f) = super::tally::ended(&next) {
            super::tally::record_ending(f, super::tally::dialog_seconds(&next));
        }
        let r = super::rules(&cfg, self.clock.now());
        Ok(dialog::step_view(&next, &r))
    }

    /// Check a keyed code for an IVR `otp` step inside the step's transaction: the
    /// challenge's new state, the dialog's input, and the events.
    pub(super) fn ivr_code_check(
        txn: &WriteTransaction,
        index: &CallIndex,
        pending: &OtpPending,
        right: Option<bool>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(CodeOutcome, Vec<AuditEvent>), StoreError> {
        let Some(c) = read_in(txn, &pending.challenge_id)? else {
            return Ok((CodeOutcome::Failed("code_expired"), vec![]));
        };
        let checked = match right {
            Some(right) => c.check(right, actor, now),
            None => c.key_gone(now),
        };
        let right = right.unwrap_or(false);
        let (next, result) = match checked {
            Ok(x) => x,
            Err(ChallengeError::Decided(State::Expired)) => {
                return Ok((CodeOutcome::Failed("code_expired"), vec![]));
            }
            Err(_) => return Ok((CodeOutcome::Failed("wrong_code"), vec![])),
        };
        write(txn, &next)?;
        let mut events = Vec::new();
        if result != CheckResult::Expired {
            events.push(checked_event(&c, actor, right));
        }
        events.extend(settle_verdict(txn, index, &next, actor, now)?);
        let outcome = match result {
            CheckResult::Approved => CodeOutcome::Approved,
            CheckResult::WrongCode => CodeOutcome::Wrong {
                checks_left: next.checks_left,
            },
            CheckResult::Denied => CodeOutcome::Failed("wrong_code"),
            CheckResult::Expired => CodeOutcome::Failed("code_expired"),
        };
        Ok((outcome, events))
    }

    /// Whether a code keyed at the IVR is the pending challenge's: `None` when no code can be
    /// checked against it any more (its vault key was rotated away).
    pub(super) fn ivr_code_is_right(
        &self,
        pending: &OtpPending,
        code: &str,
    ) -> Result<Option<bool>, CallError> {
        Ok(match read(&self.store, &pending.challenge_id)? {
            Some(c) if !self.code_key_usable(&c) => None,
            Some(c) => Some(self.code_is_right(&c, code)),
            None => Some(false),
        })
    }
}

#[cfg(test)]
mod tests;
