//! Repeated error lines, thinned. While the store is closed (a full disk), every IVR step
//! fails the same way; a line per failure would be hundreds a second, and journald's rate
//! limit would then drop the service's other lines too, the "open again" one among them.
//! A [`Throttle`] lets the first line through, then at most one per interval, each saying
//! how many like it were left out since the last.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one line per `every`; counts the rest.
#[derive(Debug)]
pub struct Throttle {
    every: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Instant>,
    left_out: u64,
}

impl Throttle {
    pub const fn new(every: Duration) -> Throttle {
        Throttle {
            every,
            state: Mutex::new(State {
                last: None,
                left_out: 0,
            }),
        }
    }

    /// Whether a line may be written at `now`: `Some(n)`, with `n` the lines left out since
    /// the last one written, or `None` to leave this one out.
    pub fn admit(&self, now: Instant) -> Option<u64> {
        let Ok(mut s) = self.state.lock() else {
            return Some(0);
        };
        match s.last {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                s.left_out += 1;
                None
            }
            _ => {
                s.last = Some(now);
                Some(std::mem::take(&mut s.left_out))
            }
        }
    }
}

/// Log `$($log)*` through `tracing::error!` when the throttle admits it, with a `left_out`
/// field counting the lines it thinned since the last (none when it thinned none).
#[macro_export]
macro_rules! throttled_error {
    ($throttle:expr, $($field:tt)*) => {
        $crate::throttled!(error, $throttle, $($field)*)
    };
}

/// [`throttled_error!`] at another level: `throttled!(warn, THROTTLE, fields..., "message")`.
#[macro_export]
macro_rules! throttled {
    ($level:ident, $throttle:expr, $($field:tt)*) => {
        match $throttle.admit(::std::time::Instant::now()) {
            // the first line, or one with none like it left out since: no count to give
            Some(0) => ::tracing::$level!($($field)*),
            Some(left_out) => ::tracing::$level!(left_out, $($field)*),
            None => {}
        }
    };
}

#[cfg(test)]
mod tests;
