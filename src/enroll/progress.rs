//! Progress of a long enrollment: a bar on a terminal, plain lines in the journal otherwise.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Told how far a run has come.
pub trait Progress {
    /// A new phase: `checking` (counted in bytes), `deciding`, `applying` or `backing up`
    /// (rows), `indexes` (index entries copied), `copying`, `forgetting` or `reading`
    /// (members), `verifying`, `comparing`, `pruning` or `exporting` (audit records),
    /// `comparing copy` (bytes of an exported copy of the log).
    fn phase(&self, name: &str, total: u64);
    /// How far into the phase the run is.
    fn advance_to(&self, done: u64);
    fn finish(&self);
    /// `Err` once the work should stop where it safely can (the service is stopping, the
    /// command was interrupted): long walks ask as they tell how far they are.
    fn go_on(&self) -> Result<(), crate::store::StoreError> {
        Ok(())
    }
}

/// Progress told to `inner`, with the work stopped when `stop` says so ([`Progress::go_on`]):
/// the store's [`crate::store::Store::go_on`], or the command line's interrupt.
pub struct Stoppable<'a, F> {
    inner: &'a dyn Progress,
    stop: F,
}

impl<'a, F: Fn() -> Result<(), crate::store::StoreError>> Stoppable<'a, F> {
    pub fn new(inner: &'a dyn Progress, stop: F) -> Self {
        Stoppable { inner, stop }
    }
}

impl<F: Fn() -> Result<(), crate::store::StoreError>> Progress for Stoppable<'_, F> {
    fn phase(&self, name: &str, total: u64) {
        self.inner.phase(name, total);
    }
    fn advance_to(&self, done: u64) {
        self.inner.advance_to(done);
    }
    fn finish(&self) {
        self.inner.finish();
    }
    fn go_on(&self) -> Result<(), crate::store::StoreError> {
        (self.stop)().and_then(|()| self.inner.go_on())
    }
}

/// What a phase counts.
fn unit(phase: &str) -> &'static str {
    match phase {
        "checking" | "comparing copy" => "bytes",
        "copying" | "forgetting" | "reading" => "members",
        "indexes" => "entries",
        "verifying" | "comparing" | "pruning" | "exporting" => "records",
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

/// How long work that is usually over at once goes on before [`AfterAWhile`] shows it.
pub const A_WHILE: Duration = Duration::from_secs(1);

/// Progress that says nothing until the work has gone on for `after`: a check that is over
/// at once (most stores, most days) prints no bar and no lines; one that takes a while
/// shows where it is, from the phase it is in.
pub struct AfterAWhile<'a> {
    inner: &'a dyn Progress,
    /// When the while is over.
    deadline: Mutex<Instant>,
    /// The phase not yet told (`None` once the inner progress is told everything).
    pending: Mutex<Option<(String, u64)>>,
    telling: std::sync::atomic::AtomicBool,
}

impl<'a> AfterAWhile<'a> {
    pub fn new(inner: &'a dyn Progress, after: Duration) -> Self {
        AfterAWhile {
            inner,
            deadline: Mutex::new(Instant::now() + after),
            pending: Mutex::new(None),
            telling: Default::default(),
        }
    }

    fn telling(&self) -> bool {
        self.telling.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn over(&self) -> bool {
        self.deadline.lock().is_ok_and(|d| Instant::now() >= *d)
    }

    /// Tests: the while is over now.
    #[cfg(test)]
    fn end_the_while(&self) {
        if let Ok(mut deadline) = self.deadline.lock() {
            *deadline = Instant::now();
        }
    }
}

impl Progress for AfterAWhile<'_> {
    fn phase(&self, name: &str, total: u64) {
        if self.telling() {
            self.inner.phase(name, total);
        } else if let Ok(mut pending) = self.pending.lock() {
            *pending = Some((name.to_string(), total));
        }
    }

    fn advance_to(&self, done: u64) {
        if !self.telling() && self.over() {
            self.telling
                .store(true, std::sync::atomic::Ordering::Relaxed);
            let pending = self.pending.lock().ok().and_then(|mut p| p.take());
            if let Some((name, total)) = pending {
                self.inner.phase(&name, total);
            }
        }
        if self.telling() {
            self.inner.advance_to(done);
        }
    }

    fn finish(&self) {
        if self.telling() {
            self.inner.finish();
        }
    }

    fn go_on(&self) -> Result<(), crate::store::StoreError> {
        self.inner.go_on()
    }
}

/// Long work the command line does itself (the service stopped), usually over at once, on
/// `what` (`store`, a file): once it has gone on for [`A_WHILE`], a bar for a person at a
/// terminal, or plain lines on stderr for a script, as the same work shows through the
/// service. The work stops where it safely can once `stop` says so ([`Progress::go_on`]);
/// it then ends without a last `done`.
pub fn on_stderr<T>(
    what: &str,
    stop: impl Fn() -> Result<(), crate::store::StoreError>,
    work: impl FnOnce(&dyn Progress) -> T,
) -> T {
    let sink = |line: String| {
        use std::io::Write;
        let _ = std::io::stderr().write_all(line.as_bytes());
    };
    let shown: Box<dyn Progress> = match std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        true => Box::new(Bar::new()),
        false => Box::new(Lines::new(what, Some(&sink))),
    };
    let after = AfterAWhile::new(shown.as_ref(), A_WHILE);
    let progress = Stoppable::new(&after, stop);
    let done = work(&progress);
    if progress.go_on().is_ok() {
        progress.finish();
    }
    done
}

/// An indicatif bar, for a person at a terminal.
pub struct Bar {
    bar: indicatif::ProgressBar,
}

impl Bar {
    pub fn new() -> Self {
        // drawn from the first phase on: before, a bar of length 0 shows full
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(0),
            indicatif::ProgressDrawTarget::hidden(),
        );
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
        if self.bar.is_hidden() {
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
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

/// Tests: what a progress was told, a pair a call: `(phase, total)`, `("at", done)`,
/// `("finish", 0)`.
#[cfg(test)]
#[derive(Default)]
pub struct Told(pub std::sync::Mutex<Vec<(String, u64)>>);

#[cfg(test)]
impl Progress for Told {
    fn phase(&self, name: &str, total: u64) {
        told(&self.0).push((name.to_string(), total));
    }
    fn advance_to(&self, done: u64) {
        told(&self.0).push(("at".to_string(), done));
    }
    fn finish(&self) {
        told(&self.0).push(("finish".to_string(), 0));
    }
}

/// The record of what a run told, even after a step that panicked (its test fails anyway).
#[cfg(test)]
fn told<T>(told: &std::sync::Mutex<Vec<T>>) -> std::sync::MutexGuard<'_, Vec<T>> {
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

#[cfg(test)]
mod tests;
