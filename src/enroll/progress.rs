//! Progress of a long enrollment: a bar on a terminal, plain lines in the journal otherwise.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Told how far a run has come.
pub trait Progress {
    /// A new phase: `checking` (counted in bytes), `deciding` or `applying` (rows),
    /// `indexes` (index entries copied), `copying` or `forgetting` (members), `verifying`,
    /// `comparing` or `pruning` (audit records).
    fn phase(&self, name: &str, total: u64);
    /// How far into the phase the run is.
    fn advance_to(&self, done: u64);
    fn finish(&self);
}

/// What a phase counts.
fn unit(phase: &str) -> &'static str {
    match phase {
        "checking" => "bytes",
        "copying" | "forgetting" => "members",
        "indexes" => "entries",
        "verifying" | "comparing" | "pruning" => "records",
        _ => "rows",
    }
}

/// `n` of a counted `unit` (plural, as [`fn@unit`] names them): `1 row`, `3 rows`.
pub fn counted(n: u64, unit: &str) -> String {
    match n {
        1 => format!("1 {}", unit.strip_suffix('s').unwrap_or(unit)),
        n => format!("{n} {unit}"),
    }
}

/// No output (tests, benchmarks).
pub struct Silent;

impl Progress for Silent {
    fn phase(&self, _: &str, _: u64) {}
    fn advance_to(&self, _: u64) {}
    fn finish(&self) {}
}

/// An indicatif bar, for a person at a terminal.
pub struct Bar {
    bar: indicatif::ProgressBar,
}

impl Bar {
    pub fn new() -> Self {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        Bar { bar }
    }
}

impl Default for Bar {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: u64) {
        let template = match unit(name) {
            "bytes" => "{prefix:>10} [{bar:40}] {bytes}/{total_bytes} ({eta})".to_string(),
            unit => format!("{{prefix:>10}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{eta}})"),
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_prefix(name.to_string());
        self.bar.set_length(total);
        self.bar.set_position(0);
    }

    fn advance_to(&self, done: u64) {
        self.bar.set_position(done);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Plain lines through `tracing` (the journal), at most every few seconds, and through an
/// optional sink (the admin socket's answer to a remote `callvault enroll`).
pub struct Lines<'a> {
    file: String,
    state: Mutex<(String, u64, Instant)>,
    sink: Option<&'a dyn Fn(String)>,
}

impl<'a> Lines<'a> {
    pub fn new(file: impl Into<String>, sink: Option<&'a dyn Fn(String)>) -> Self {
        Lines {
            file: file.into(),
            state: Mutex::new((String::new(), 0, Instant::now())),
            sink,
        }
    }

    fn say(&self, text: String) {
        tracing::info!(file = %self.file, "{text}");
        if let Some(sink) = self.sink {
            sink(format!("{}: {text}\n", self.file));
        }
    }
}

impl Progress for Lines<'_> {
    fn phase(&self, name: &str, total: u64) {
        if let Ok(mut s) = self.state.lock() {
            *s = (name.to_string(), total, Instant::now());
        }
        self.say(format!("{name}: {}", counted(total, unit(name))));
    }

    fn advance_to(&self, done: u64) {
        let line = match self.state.lock() {
            Ok(mut s) if s.2.elapsed() >= Duration::from_secs(2) => {
                s.2 = Instant::now();
                let pct = (done * 100).checked_div(s.1).unwrap_or(100);
                Some(format!("{}: {pct}% ({done}/{})", s.0, s.1))
            }
            _ => None,
        };
        if let Some(line) = line {
            self.say(line);
        }
    }

    fn finish(&self) {
        self.say("done".to_string());
    }
}

/// Tests: at every step of a long run, another writer commits (as the IVR's group
/// committer does), and the step fails if it cannot within 5 s: the run held the writer.
#[cfg(test)]
pub struct OtherWriter {
    store: std::sync::Arc<crate::store::Store>,
    got_in: std::sync::atomic::AtomicUsize,
    /// What the run told: each phase's name and total (`indexes 40`), then the positions
    /// it advanced to (`at 3`).
    pub told: std::sync::Mutex<Vec<String>>,
}

#[cfg(test)]
impl OtherWriter {
    pub fn new(store: std::sync::Arc<crate::store::Store>) -> Self {
        OtherWriter {
            store,
            got_in: Default::default(),
            told: Default::default(),
        }
    }

    /// How many times the other writer got in.
    pub fn times(&self) -> usize {
        self.got_in.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The record of what a run told, even after a step that panicked (its test fails anyway).
#[cfg(test)]
fn told<'a>(told: &'a std::sync::Mutex<Vec<String>>) -> std::sync::MutexGuard<'a, Vec<String>> {
    told.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
impl Progress for OtherWriter {
    fn phase(&self, name: &str, total: u64) {
        told(&self.told).push(format!("{name} {total}"));
        self.advance_to(0);
    }
    fn advance_to(&self, at: u64) {
        told(&self.told).push(format!("at {at}"));
        let (tx, rx) = std::sync::mpsc::channel();
        let store = self.store.clone();
        std::thread::spawn(move || {
            let committed = store.begin_write().and_then(|txn| txn.commit());
            let _ = tx.send(committed.is_ok());
        });
        let waited = rx.recv_timeout(Duration::from_secs(5));
        assert_eq!(waited, Ok(true), "the run held the store's writer");
        self.got_in
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    fn finish(&self) {}
}
