//! A circuit breaker for a remote core: after `threshold` failures in a row it opens, and
//! calls fail at once (the dialog answers `core_unavailable` instead of waiting on a dead
//! core). After `open_for` one trial call is let through; its success closes the breaker, its
//! failure opens it again. Pure: time is passed in.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One trial call is out.
    HalfOpen,
}

#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    state: State,
}

impl Breaker {
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            open_for,
            state: State::Closed { failures: 0 },
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// May a call go out now?
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.state {
            State::Closed { .. } => true,
            State::Open { until } if now >= until => {
                self.state = State::HalfOpen;
                true
            }
            State::Open { .. } | State::HalfOpen => false,
        }
    }

    /// The outcome of a call that was allowed.
    pub fn record(&mut self, ok: bool, now: Instant) {
        self.state = match (self.state, ok) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            (_, false) => State::Open {
                until: now + self.open_for,
            },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_recovers_through_one_trial() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let mut b = Breaker::new(3, secs(30));
        // Failures below the threshold keep it closed; a success resets the count.
        for _ in 0..2 {
            assert!(b.allow(t0));
            b.record(false, t0);
        }
        b.record(true, t0);
        assert_eq!(b.state(), State::Closed { failures: 0 });
        for _ in 0..3 {
            assert!(b.allow(t0));
            b.record(false, t0);
        }
        assert_eq!(
            b.state(),
            State::Open {
                until: t0 + secs(30)
            }
        );
        assert!(!b.allow(t0 + secs(29)), "open: calls fail fast");
        assert!(b.allow(t0 + secs(30)), "after the wait, one trial");
        assert!(!b.allow(t0 + secs(30)), "only one trial at a time");
        b.record(false, t0 + secs(31));
        assert_eq!(
            b.state(),
            State::Open {
                until: t0 + secs(61)
            }
        );
        assert!(b.allow(t0 + secs(61)));
        b.record(true, t0 + secs(61));
        assert!(b.allow(t0 + secs(61)));
        assert_eq!(b.state(), State::Closed { failures: 0 });
    }

    #[test]
    fn a_threshold_of_one_opens_on_the_first_failure() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, Duration::from_secs(5));
        assert!(b.allow(t0));
        b.record(false, t0);
        assert!(!b.allow(t0));
    }
}
