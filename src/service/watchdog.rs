//! systemd's watchdog (`WatchdogSec=` in the unit): while every HTTPS worker's event loop
//! runs, `WATCHDOG=1` goes to systemd a few times per period. A worker that stops running
//! (a request blocking its thread, a lock never released) holds every connection it has, and
//! the IVR's calls on them wait out their timeouts; the pings stop, the log says which worker
//! and for how long, and systemd restarts the service once the period passes with none
//! (`Restart=on-failure` in the unit). Without `WATCHDOG_USEC` in the environment (a start
//! outside systemd, or a unit without `WatchdogSec=`) nothing is sent.
//!
//! Each worker's beat is the lag probe's timer ([`super::worker_lag_probe`]), which runs on
//! that worker's event loop: a beat is the proof that the loop turns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// The period systemd gives (`WATCHDOG_USEC`), when it watches this process: as
/// `sd_watchdog_enabled(3)` reads it, `WATCHDOG_PID`, if set, must be this process's id.
pub fn period(usec: Option<&str>, pid: Option<&str>) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    match pid {
        Some(pid) if pid.trim().parse::<u32>().ok() != Some(std::process::id()) => None,
        _ => Some(Duration::from_micros(usec)),
    }
}

/// The period from this process's environment.
pub fn period_from_env() -> Option<Duration> {
    let var = |name| std::env::var(name).ok();
    period(
        var("WATCHDOG_USEC").as_deref(),
        var("WATCHDOG_PID").as_deref(),
    )
}

/// The last beat of each running worker, as milliseconds since `start`.
pub struct Heartbeats {
    start: Instant,
    /// A worker's slot lives as long as its probe task; one whose worker ended (its event
    /// loop dropped the task) no longer upgrades, and is forgotten.
    slots: Mutex<Vec<Weak<AtomicU64>>>,
}

/// One worker's slot, beaten by its probe.
pub struct Beat {
    start: Instant,
    last: Arc<AtomicU64>,
}

impl Beat {
    pub fn now(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl Default for Heartbeats {
    fn default() -> Self {
        Heartbeats {
            start: Instant::now(),
            slots: Mutex::default(),
        }
    }
}

impl Heartbeats {
    /// A slot for a worker that starts now.
    pub fn join(&self) -> Beat {
        let beat = Beat {
            start: self.start,
            last: Arc::new(AtomicU64::new(0)),
        };
        beat.now();
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.retain(|slot| slot.strong_count() > 0);
        slots.push(Arc::downgrade(&beat.last));
        beat
    }

    /// How long ago each running worker last beat, in the order they joined.
    fn silences(&self, now: Instant) -> Vec<Duration> {
        let now = now.saturating_duration_since(self.start);
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .iter()
            .filter_map(Weak::upgrade)
            .map(|last| now.saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed))))
            .collect()
    }
}

/// What one look at the workers finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every worker beat within the limit (or none runs yet): ping.
    Alive,
    /// Worker `index` (from 1) has not beaten for `silent`: no ping.
    Stuck { index: usize, silent: Duration },
}

/// The verdict on `silences` (each worker's), with `limit` the longest silence allowed: the
/// longest silence over it names its worker.
pub fn verdict(silences: &[Duration], limit: Duration) -> Verdict {
    silences
        .iter()
        .enumerate()
        .filter(|(_, silent)| **silent > limit)
        .max_by_key(|(_, silent)| **silent)
        .map_or(Verdict::Alive, |(i, silent)| Verdict::Stuck {
            index: i + 1,
            silent: *silent,
        })
}

/// The shortest time between two looks at the workers, whatever the period: a `WatchdogSec=`
/// of a few milliseconds is a mistake systemd will show, not a reason to spin.
const LOOK_AT_MOST_EVERY: Duration = Duration::from_millis(50);

/// How often to look at the workers under `period`, and the longest silence a worker may
/// keep: a third of it (at most every [`LOOK_AT_MOST_EVERY`]), and half of it, so that a
/// ping goes well within the period while every worker runs.
fn pacing(period: Duration) -> (Duration, Duration) {
    ((period / 3).max(LOOK_AT_MOST_EVERY), period / 2)
}

/// Ping systemd every third of `period` while the workers beat, a worker's silence of half
/// the period being the most allowed ([`pacing`]). Runs until the service stops (its task
/// is aborted).
pub async fn keep(heartbeats: Arc<Heartbeats>, period: Duration) {
    let (every, limit) = pacing(period);
    tracing::info!(
        period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX),
        "systemd's watchdog is on: pinging while every HTTPS worker runs"
    );
    let mut stuck = false;
    loop {
        let now = verdict(&heartbeats.silences(Instant::now()), limit);
        let look = look(stuck, now);
        stuck = matches!(now, Verdict::Stuck { .. });
        match look {
            Look::Ping { again: true } => {
                tracing::warn!("every HTTPS worker runs again; pinging systemd's watchdog")
            }
            Look::Ping { again: false } | Look::StillStuck => {}
            Look::Stuck { index, silent } => tracing::error!(
                worker = index,
                silent_ms = u64::try_from(silent.as_millis()).unwrap_or(u64::MAX),
                "an HTTPS worker's event loop has not run for {} s (blocked or starved: its \
                 connections wait); systemd's watchdog is no longer pinged, and restarts the \
                 service {} s after the last ping",
                silent.as_secs(),
                period.as_secs()
            ),
        }
        if let Look::Ping { .. } = look {
            let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
        }
        tokio::time::sleep(every).await;
    }
}

/// What one look at the workers does, after a look that found them `stuck` or not.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// Ping systemd; `again` once a stuck worker runs again (said, once).
    Ping { again: bool },
    /// A worker is stuck, found now: said once, and systemd no longer pinged.
    Stuck { index: usize, silent: Duration },
    /// Still stuck: nothing said again, no ping.
    StillStuck,
}

fn look(stuck: bool, now: Verdict) -> Look {
    match (stuck, now) {
        (stuck, Verdict::Alive) => Look::Ping { again: stuck },
        (false, Verdict::Stuck { index, silent }) => Look::Stuck { index, silent },
        (true, Verdict::Stuck { .. }) => Look::StillStuck,
    }
}

#[cfg(test)]
mod tests;
