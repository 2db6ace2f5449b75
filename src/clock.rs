//! Time is injected so that expiry, lockout and audit times are testable without sleeping.

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// How far `now` reads before `earlier`, a time the clock gave before it, when that is more
/// than a second (less is a slew's noise): the clock went back since (an NTP step after
/// running fast, a clock set by hand, a virtual machine restored from a snapshot).
pub fn went_back(earlier: DateTime<Utc>, now: DateTime<Utc>) -> Option<chrono::Duration> {
    let behind = earlier - now;
    (behind > chrono::Duration::seconds(1)).then_some(behind)
}

/// Whether the clock [`went_back`] past `made`, the time something that expires was made at:
/// what was due to expire would live on by as much. One-time codes and app intents are then
/// over, as if expired: the member is asked again rather than a code kept alive.
pub fn went_back_past(made: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    went_back(made, now).is_some()
}
