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

/// Whether `now` reads more than a second before `made`, the time something that expires was
/// made at: the clock went back since (an NTP step after running fast, a clock set by hand),
/// and what was due to expire would live on by as much. One-time codes and app intents are
/// then over, as if expired: the member is asked again rather than a code kept alive.
pub fn went_back_past(made: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < made - chrono::Duration::seconds(1)
}
