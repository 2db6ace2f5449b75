//! Challenges (seed 001): a one-time code by SMS or e-mail, or a push approval to the
//! member's app with or without a code. Pure state and rules here; sending, storing and
//! marking verdicts is the calls service's (`src/calls/challenges.rs`).
//!
//! A challenge is `waiting` until it is approved (right code; the app's approval of a push
//! without a code; the agent's approval after the app approved a push), denied (the app or
//! the agent says no; `otp.max_checks` wrong codes) or expired (`otp.ttl_seconds` passed,
//! or an agent sent another challenge on the call).
//! Once decided it stays decided: a used code does not work twice.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::OtpChannel;

/// Digits in a code.
pub const CODE_DIGITS: u32 = 6;

/// A fresh code: six digits, uniform, from the operating system's CSPRNG.
pub fn new_code() -> Zeroizing<String> {
    let n: u32 = rand::rngs::OsRng.gen_range(0..10u32.pow(CODE_DIGITS));
    Zeroizing::new(format!("{n:06}"))
}

/// A challenge id: `ch_` and 128 random bits, base64url.
pub fn new_id() -> String {
    use base64::Engine;
    let bytes: [u8; 16] = rand::rngs::OsRng.r#gen();
    format!(
        "ch_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn valid_id(id: &str) -> bool {
    id.len() == 25
        && id.starts_with("ch_")
        && id[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Waiting,
    Approved,
    Denied,
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Approved => "approved",
            State::Denied => "denied",
            State::Expired => "expired",
        }
    }
}

/// A challenge as stored. The code itself is never kept: only its MAC under a key derived
/// from the vault key (`code_mac`, hex), so the store alone cannot test guesses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub challenge_id: String,
    pub call_id: String,
    pub member_id: String,
    pub channel: OtpChannel,
    /// Push was asked for but could not reach the member: this went by SMS instead.
    pub fallback_from: Option<OtpChannel>,
    pub with_code: bool,
    /// The destination, masked (`+1******4567`, `j***@cu.example`, `app`).
    pub sent_to: String,
    pub code_mac: Option<String>,
    pub state: State,
    pub checks_left: u32,
    /// Push: the member's answer in the app.
    pub member_response: Option<bool>,
    /// Sent by an IVR `otp` step (its verdict is the dialog's) rather than by an agent.
    pub for_ivr: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// `key:NAME` of whoever decided.
    pub decided_by: Option<String>,
    /// `code`, `app`, `agent`, `too_many_wrong_codes`, `expired`, `key_rotated`, `replaced`.
    pub how: Option<String>,
}

/// `POST /v1/challenges/{id}/check`'s `result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    Approved,
    Denied,
    Expired,
    WrongCode,
}

/// Why an action on a challenge is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("the challenge is already {}", .0.as_str())]
    Decided(State),
    #[error("this challenge has no code: the member answers in the app")]
    NoCode,
    #[error("the member has not approved the push in the app yet")]
    AwaitingMember,
    #[error("only a push challenge takes the app's response")]
    NotPush,
    #[error("the app has already answered this push")]
    AlreadyAnswered,
    #[error("approving needs the member's proof first: check the code they read out")]
    ProofMissing,
    #[error("this challenge belongs to an IVR step: the caller keys the code in")]
    InIvr,
}

impl Challenge {
    /// The state as of `now`: a waiting challenge past its time is expired, and so is one the
    /// clock went back past ([`crate::clock::went_back_past`]).
    pub fn state_at(&self, now: DateTime<Utc>) -> State {
        match self.state {
            State::Waiting
                if now >= self.expires_at || crate::clock::went_back_past(self.created_at, now) =>
            {
                State::Expired
            }
            s => s,
        }
    }

    /// Whole seconds left (0 once decided or expired).
    pub fn expires_in(&self, now: DateTime<Utc>) -> u32 {
        match self.state_at(now) {
            State::Waiting => {
                let ms = (self.expires_at - now).num_milliseconds().max(0);
                u32::try_from((ms + 999) / 1000).unwrap_or(u32::MAX)
            }
            _ => 0,
        }
    }

    fn decide(&mut self, state: State, how: &str, by: &str, now: DateTime<Utc>) {
        self.state = state;
        self.how = Some(how.into());
        self.decided_by = Some(by.into());
        self.decided_at = Some(now);
    }

    /// Settle a lapsed challenge; returns whether it just expired.
    pub fn settle(&mut self, now: DateTime<Utc>) -> bool {
        if self.state == State::Waiting && self.state_at(now) == State::Expired {
            self.decide(State::Expired, "expired", "system", now);
            return true;
        }
        false
    }

    /// Another challenge was sent on the same call: one still waiting ends now (`how`:
    /// `replaced`), so the member has one code to read out, the newest, and a caller has
    /// no second code to guess at. `None` when there is nothing to end: decided already,
    /// or past its time (it stays as its clock left it).
    pub fn replaced(&self, by: &str, now: DateTime<Utc>) -> Option<Challenge> {
        if self.state_at(now) != State::Waiting {
            return None;
        }
        let mut next = self.clone();
        next.decide(State::Expired, "replaced", by, now);
        Some(next)
    }

    /// The vault key the code's MAC was made under was rotated away: no code can be checked
    /// any more, so a waiting challenge is over, as if its time had run out (`how`:
    /// `key_rotated`), rather than counting the member's right code as wrong.
    pub fn key_gone(&self, now: DateTime<Utc>) -> Result<(Challenge, CheckResult), ChallengeError> {
        let mut next = self.clone();
        if next.settle(now) {
            return Ok((next, CheckResult::Expired));
        }
        if next.state != State::Waiting {
            return Err(ChallengeError::Decided(next.state));
        }
        next.decide(State::Expired, "key_rotated", "system", now);
        Ok((next, CheckResult::Expired))
    }

    /// A keyed code, already compared (in constant time) by the caller: `right`.
    pub fn check(
        &self,
        right: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(Challenge, CheckResult), ChallengeError> {
        let mut next = self.clone();
        if next.settle(now) {
            return Ok((next, CheckResult::Expired));
        }
        if next.state != State::Waiting {
            return Err(ChallengeError::Decided(next.state));
        }
        if !next.with_code {
            return Err(ChallengeError::NoCode);
        }
        if next.channel == OtpChannel::Push && next.member_response != Some(true) {
            return Err(ChallengeError::AwaitingMember);
        }
        if right {
            next.decide(State::Approved, "code", by, now);
            return Ok((next, CheckResult::Approved));
        }
        next.checks_left = next.checks_left.saturating_sub(1);
        if next.checks_left == 0 {
            next.decide(State::Denied, "too_many_wrong_codes", by, now);
            return Ok((next, CheckResult::Denied));
        }
        Ok((next, CheckResult::WrongCode))
    }

    /// The app's answer to a push.
    pub fn push_response(
        &self,
        approve: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Challenge, ChallengeError> {
        let mut next = self.clone();
        if next.channel != OtpChannel::Push {
            return Err(ChallengeError::NotPush);
        }
        if next.settle(now) {
            return Ok(next);
        }
        if next.state != State::Waiting {
            return Err(ChallengeError::Decided(next.state));
        }
        if next.member_response.is_some() {
            return Err(ChallengeError::AlreadyAnswered);
        }
        next.member_response = Some(approve);
        match (approve, next.with_code) {
            (false, _) => next.decide(State::Denied, "app", by, now),
            (true, false) => next.decide(State::Approved, "app", by, now),
            // the member approved; the agent still hears the code
            (true, true) => {}
        }
        Ok(next)
    }

    /// The agent's own approve / deny. Denying is always possible while waiting; approving
    /// needs the member's approval of a push (the agent vouches for the code they heard).
    pub fn agent_decision(
        &self,
        approve: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Challenge, ChallengeError> {
        let mut next = self.clone();
        if next.settle(now) {
            return Ok(next);
        }
        if next.state != State::Waiting {
            return Err(ChallengeError::Decided(next.state));
        }
        if !approve {
            next.decide(State::Denied, "agent", by, now);
            return Ok(next);
        }
        if next.channel == OtpChannel::Push && next.member_response == Some(true) {
            next.decide(State::Approved, "agent", by, now);
            return Ok(next);
        }
        Err(ChallengeError::ProofMissing)
    }
}

/// Sends to one member within the last hour, kept per member across calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sends {
    /// Unix seconds of each send in the window.
    pub at: Vec<i64>,
}

impl Sends {
    /// The window as of `now`.
    pub fn recent(&self, now: DateTime<Utc>) -> Sends {
        let from = (now - Duration::hours(1)).timestamp();
        Sends {
            at: self.at.iter().copied().filter(|t| *t > from).collect(),
        }
    }

    /// `None` when another send is allowed, else the seconds until one is.
    pub fn wait(&self, limit: u32, now: DateTime<Utc>) -> Option<u64> {
        let recent = self.recent(now);
        if (recent.at.len() as u64) < u64::from(limit) {
            return None;
        }
        let oldest = recent.at.iter().copied().min().unwrap_or(now.timestamp());
        Some(
            u64::try_from(oldest + 3600 - now.timestamp())
                .unwrap_or(0)
                .max(1),
        )
    }

    pub fn record(&self, now: DateTime<Utc>) -> Sends {
        let mut next = self.recent(now);
        next.at.push(now.timestamp());
        next
    }
}

#[cfg(test)]
mod tests;
