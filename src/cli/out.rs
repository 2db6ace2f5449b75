//! A command's standard output, closed early by its reader.
//!
//! `callvault audit export | head` or `| less` quit before the output ends. Rust ignores
//! SIGPIPE, so the next write fails with `BrokenPipe`: `println!` panics on it, and `?`
//! made it the command's error ("callvault: Broken pipe", exit 1). A command whose reader
//! left now stops there without a word, with the status `cat` has when SIGPIPE ends it
//! (141), so `set -o pipefail` scripts and `audit verify` keep their meaning. Only stdout
//! counts: a broken pipe to the service's admin socket is still an error, and so is a new
//! API key that could not be shown.
//!
//! Stderr gets [`tell!`]: its warnings and errors are dropped if stderr is closed, where
//! `eprintln!` would panic.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// 128 + SIGPIPE: the shell's status for a program that SIGPIPE ended.
pub const READER_GONE: u8 = 141;

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether a write to stdout found its reader gone.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// `writer` as stdout: a `BrokenPipe` from it is remembered for [`closed`].
pub struct Stdout<W>(W);

/// The process's stdout, locked.
pub fn stdout() -> Stdout<io::StdoutLock<'static>> {
    Stdout::new(io::stdout().lock())
}

impl<W: Write> Stdout<W> {
    pub fn new(writer: W) -> Self {
        Stdout(writer)
    }

    fn note<T>(result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            CLOSED.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Self::note(self.0.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Self::note(self.0.flush())
    }
}

/// Stderr for notes and progress, as [`tell!`] writes it: a write that fails is dropped,
/// so a command whose stderr is closed still does its work.
pub struct Notes;

/// The process's stderr, its write errors dropped.
pub fn stderr() -> Notes {
    Notes
}

impl Write for Notes {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `println!` for commands: to [`stdout`], its error returned (`?`) instead of a panic.
macro_rules! say {
    ($($arg:tt)*) => {
        ::std::io::Write::write_fmt(
            &mut $crate::cli::out::stdout(),
            format_args!("{}\n", format_args!($($arg)*)),
        )?
    };
}
pub(crate) use say;

/// `eprintln!` for commands: to stderr, and nothing if stderr is closed. `eprintln!`
/// panics when it cannot write (`callvault config check 2>&- `, or `2>&1 | head` on a
/// command that writes only warnings); a warning nobody can read is not worth a panic.
macro_rules! tell {
    ($($arg:tt)*) => {{
        let _ = ::std::io::Write::write_fmt(
            &mut $crate::cli::out::stderr(),
            format_args!("{}\n", format_args!($($arg)*)),
        );
    }};
}
pub(crate) use tell;

/// A warning or an error to stderr, as [`tell!`]; under systemd each line goes to the journal
/// at the level's priority (`journalctl -p err` shows why a command or the service's start
/// failed; `service::logging`).
pub fn tell_at(level: &tracing::Level, text: &str) {
    let mut out = stderr();
    let _ = match crate::service::logging::stderr_is_journal() {
        true => out.write_all(crate::service::logging::for_journal(level, text).as_bytes()),
        false => writeln!(out, "{text}"),
    };
}

#[cfg(test)]
mod tests;
