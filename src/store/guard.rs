//! redb is not hardened against every damaged file: a few of its page reads end in
//! `unreachable!()` (in release builds too) instead of an error. Opening a store file
//! (`serve`, `init`, a backup being restored) and checking one offline go through
//! [`catching`], so a damaged file is an error that names it, not a crash that leaves a
//! half-copied restore behind. A page read later, while serving, is not guarded. This relies on `panic = "unwind"`, the default that
//! Cargo.toml's release profile keeps.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is inside [`catching`], where a panic is an answer, not a bug to
    /// report on stderr.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// `f`'s result, or the message of the panic that ended it. The panic is not printed; one
/// outside `catching`, on this or any other thread, still is.
pub fn catching<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CATCHING.get() {
                previous(info)
            }
        }));
    });
    let outer = CATCHING.replace(true);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.set(outer);
    result.map_err(|payload| message(payload.as_ref()))
}

fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "redb stopped on a page it could not read".to_string()
    }
}

#[cfg(test)]
mod tests;
