//! Wrong-answer lockout as a pure state machine: the time is passed in, nothing is stored
//! here. The vault keeps one [`Counter`] per member (and per kind of secret) in the store,
//! shared by every call, agent and channel, so a caller who hangs up and calls again gets
//! no fresh tries.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::config::LockoutConfig;

/// How many wrong answers lock a member out, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Wrong answers in a row that lock the member (at least 1).
    pub max_wrong: u32,
    /// How long a lock lasts; `None`: until someone unlocks the member.
    pub lock_for: Option<Duration>,
    /// A run of wrong answers is forgotten after this long without another one;
    /// `None`: only a correct answer or an unlock clears it.
    pub reset_after: Option<Duration>,
}

impl Policy {
    /// The wrong-answer lockout (keypad questions) the config describes.
    pub fn answers(config: &LockoutConfig) -> Policy {
        Policy {
            max_wrong: config.max_wrong_answers.max(1),
            ..Policy::pins(config)
        }
    }

    /// The PIN lockout the config describes.
    pub fn pins(config: &LockoutConfig) -> Policy {
        let minutes = |m: u32| (m > 0).then(|| Duration::minutes(i64::from(m)));
        Policy {
            max_wrong: config.max_wrong_pins.max(1),
            lock_for: minutes(config.lock_minutes),
            reset_after: minutes(config.reset_minutes),
        }
    }
}

/// One member's wrong-answer run. Times are Unix seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub wrong: u32,
    pub last_wrong_at: Option<i64>,
    pub locked_at: Option<i64>,
}

/// Where a member stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open {
        tries_left: u32,
    },
    /// `until: None` means until someone unlocks the member.
    Locked {
        until: Option<DateTime<Utc>>,
    },
}

impl Counter {
    /// The counter as it stands at `now`: an expired lock or a forgotten run is cleared.
    fn settled(self, policy: &Policy, now: DateTime<Utc>) -> Counter {
        let now = now.timestamp();
        if let Some(locked_at) = self.locked_at {
            return match policy.lock_for {
                Some(d) if locked_at.saturating_add(d.num_seconds()) <= now => Counter::default(),
                _ => self,
            };
        }
        match (policy.reset_after, self.last_wrong_at) {
            (Some(d), Some(last)) if last.saturating_add(d.num_seconds()) <= now => {
                Counter::default()
            }
            _ => self,
        }
    }

    pub fn state(self, policy: &Policy, now: DateTime<Utc>) -> State {
        let c = self.settled(policy, now);
        match c.locked_at {
            Some(at) => State::Locked {
                until: policy
                    .lock_for
                    .and_then(|d| Utc.timestamp_opt(at, 0).single().map(|t| t + d)),
            },
            None => State::Open {
                tries_left: policy.max_wrong.saturating_sub(c.wrong),
            },
        }
    }

    /// A wrong answer at `now`. A locked member's counter does not move (the lock is not
    /// extended by further tries).
    pub fn wrong(self, policy: &Policy, now: DateTime<Utc>) -> Counter {
        let mut c = self.settled(policy, now);
        if c.locked_at.is_some() {
            return c;
        }
        c.wrong = c.wrong.saturating_add(1);
        c.last_wrong_at = Some(now.timestamp());
        if c.wrong >= policy.max_wrong {
            c.locked_at = Some(now.timestamp());
        }
        c
    }

    /// A correct answer clears the run (callers check [`Counter::state`] first: a locked
    /// member's answer is never checked).
    pub fn correct(self) -> Counter {
        Counter::default()
    }

    pub fn is_clear(&self) -> bool {
        *self == Counter::default()
    }

    /// Where the member stands at `now`, as `member show` tells it: the wrong answers of
    /// the run (those that locked the member, while locked), and whether and until when
    /// the member is locked.
    pub fn standing(self, policy: &Policy, now: DateTime<Utc>) -> Standing {
        match self.state(policy, now) {
            State::Locked { until } => Standing {
                wrong: self.wrong,
                locked: true,
                locked_until: until,
            },
            State::Open { tries_left } => Standing {
                wrong: policy.max_wrong.saturating_sub(tries_left),
                locked: false,
                locked_until: None,
            },
        }
    }
}

/// A member's run of wrong answers of one kind, as [`Counter::standing`] reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    pub wrong: u32,
    pub locked: bool,
    /// While locked: when the lock ends; `None` means until someone unlocks the member.
    pub locked_until: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests;
