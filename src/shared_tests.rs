//! Helpers for the unit tests of more than one module.

use std::cell::RefCell;

thread_local! {
    /// What this thread's events are written to while [`logged`] listens on it.
    static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// The writer of the tests' one subscriber: into [`CAPTURED`] on a thread that listens,
/// nowhere on the others.
struct ToThisThread;

impl std::io::Write for ToThisThread {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with(|c| {
            if let Some(lines) = c.borrow_mut().as_mut() {
                lines.extend_from_slice(b);
            }
        });
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines `f` logs on this thread, as the service's log would show them.
///
/// One global subscriber serves every test, writing each thread's events to that thread's
/// listener. A subscriber per test (`with_default`) lost an event now and then: tracing
/// caches, per callsite and across threads, whether any subscriber listens, and a callsite
/// first reached by a test on another thread with none could be cached as never logged
/// while this one listened.
pub fn logged(f: impl FnOnce()) -> String {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(|| ToThisThread)
            .with_ansi(false)
            .finish();
        // (a test binary has no other global subscriber)
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    f();
    let text = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    String::from_utf8(text).unwrap()
}

/// `text` as UTF-16 with its byte-order mark, little-endian (as Windows writes it) or
/// big-endian: a file as Excel's "Unicode Text" or PowerShell 5's `>` saves it.
pub fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mark = match little_endian {
        true => [0xFF, 0xFE],
        false => [0xFE, 0xFF],
    };
    let units = text.encode_utf16().flat_map(|u| match little_endian {
        true => u.to_le_bytes(),
        false => u.to_be_bytes(),
    });
    mark.into_iter().chain(units).collect()
}
