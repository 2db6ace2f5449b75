//! Ctrl-C (or SIGTERM, or the SIGHUP of a terminal that closed) during a command the
//! command line runs itself, the service being stopped. Killed mid-work, such a command would leave redb's "not closed cleanly" mark on
//! the store, even for a read-only `audit verify`, and the next opening would repair the
//! whole file. So the first signal only asks the work to stop where it safely can (a walk
//! between two records, a batch between two transactions): the command ends with
//! `interrupted`, the store is closed cleanly, and the exit status is 128 + the signal's
//! number, as a shell gives. A second signal ends the process at once.
//!
//! A command that goes through the running service closes its side of the admin socket
//! instead, which asks the service to stop the command at the same points, and waits for
//! the service's answer. A second signal stops the waiting; the service still stops the
//! command, and the store is the service's to close.

use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError, Weak};

use crate::store::{Store, StoreError};

/// The first signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The stores opened by this command, told to stop when the signal comes.
static WATCHED: Mutex<Vec<Weak<Store>>> = Mutex::new(Vec::new());
/// The connections to the service this command waits on, closed on our side when the
/// signal comes.
static WAITING: Mutex<Vec<UnixStream>> = Mutex::new(Vec::new());
static INSTALLED: Once = Once::new();

/// Handle Ctrl-C and SIGTERM from now on, as the module says. Once is enough; later calls
/// do nothing. Only for commands run without the service: `serve` has its own handling.
pub fn install() {
    INSTALLED.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            Ok(signals) => signals,
            // the default handling stays: the command is killed, as before
            Err(e) => {
                tracing::warn!(error = %e, "cannot handle Ctrl-C; it will stop the command at once");
                return;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("interrupt".into())
            .spawn(move || {
                for signal in signals.forever() {
                    received(signal);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot handle Ctrl-C; it will stop the command at once");
        }
    });
}

fn received(signal: i32) {
    let waiting = WAITING.lock().unwrap_or_else(PoisonError::into_inner);
    let remote = !waiting.is_empty();
    if RECEIVED
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        say(match remote {
            true => {
                "callvault: stopped waiting; the service stops the command where it safely can\n"
            }
            false => "callvault: stopped at once; the store is repaired when it is next opened\n",
        });
        std::process::exit(128 + signal);
    }
    for connection in waiting.iter() {
        let _ = connection.shutdown(Shutdown::Write);
    }
    let watched = WATCHED.lock().unwrap_or_else(PoisonError::into_inner);
    for store in watched.iter().filter_map(Weak::upgrade) {
        store.interrupt();
    }
    // at a terminal, off the line a progress bar is drawn on
    let off_the_bar = match std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        true => "\n",
        false => "",
    };
    say(&match remote {
        true => format!(
            "{off_the_bar}callvault: interrupted: the service stops the command where the \
             store stays consistent (Ctrl-C again to stop waiting for it)\n"
        ),
        false => format!(
            "{off_the_bar}callvault: interrupted: stopping where the store stays consistent \
             (Ctrl-C again to stop at once; the store would then be repaired when it is next \
             opened)\n"
        ),
    });
}

/// To stderr, which may be gone (the terminal closed: SIGHUP): never a panic, which would
/// end the thread that handles the next signal.
fn say(text: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
}

/// Tell `store`'s long work to stop when a signal comes ([`Store::interrupt`]), and handle
/// signals ([`install`]).
pub fn watch(store: &Arc<Store>) {
    install();
    // a command opens a store or two: the list is never long
    let mut watched = WATCHED.lock().unwrap_or_else(PoisonError::into_inner);
    watched.push(Arc::downgrade(store));
    if RECEIVED.load(Ordering::SeqCst) != 0 {
        store.interrupt();
    }
}

/// Close our side of `connection` to the service when a signal comes ([`install`]), which
/// asks the service to stop the command; its answer is still read.
pub fn watch_connection(connection: &UnixStream) {
    let Ok(ours) = connection.try_clone() else {
        // the default handling stays in effect for this command: Ctrl-C ends it, and so
        // closes the connection all the same
        return;
    };
    install();
    let mut waiting = WAITING.lock().unwrap_or_else(PoisonError::into_inner);
    if RECEIVED.load(Ordering::SeqCst) != 0 {
        let _ = ours.shutdown(Shutdown::Write);
    }
    waiting.push(ours);
}

/// `Err(Interrupted)` once a signal came: for work that has no [`Store`] of its own to ask
/// (an offline `db check`, a restore's check of the backup), through its progress.
pub fn go_on() -> Result<(), StoreError> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => Ok(()),
        _ => Err(StoreError::Interrupted),
    }
}

/// The exit status for a command that a signal interrupted (130 for Ctrl-C, 143 for
/// SIGTERM, 129 for SIGHUP), if one did.
pub fn exit_status() -> Option<u8> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => u8::try_from(128 + signal).ok(),
    }
}
