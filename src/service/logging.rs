//! The service's log lines: stderr (the journal under systemd), text or JSON, filtered by
//! `log.level` unless `RUST_LOG` is set. The filter can be replaced while serving, so a
//! reload applies a new `log.level` (turning debug on for a while needs no restart).

use std::io;
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

type SetFilter = Box<dyn Fn(EnvFilter) -> Result<(), String> + Send + Sync>;

/// Replaces the filter [`init`] installed; set only when `log.level` decides it (no
/// `RUST_LOG`).
static SET_FILTER: OnceLock<SetFilter> = OnceLock::new();

/// Log to stderr in `format`, at `level` (a tracing filter), or at `RUST_LOG`'s when it is
/// set. A second call, or one after another subscriber was set, changes nothing.
pub fn init(level: &str, format: LogFormat) {
    let from_env = EnvFilter::try_from_default_env().ok();
    let env_decides = from_env.is_some();
    let filter = from_env
        .or_else(|| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let lines = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_target(false);
    // the two formats' builders are different types: the same steps for each
    macro_rules! installed {
        ($lines:expr) => {{
            let lines = $lines.with_filter_reloading();
            let handle = lines.reload_handle();
            (lines.try_init().ok())
                .map(|()| Box::new(move |f| handle.reload(f).map_err(|e| e.to_string())) as _)
        }};
    }
    let set: Option<SetFilter> = match format {
        LogFormat::Text => installed!(lines.with_ansi(io::IsTerminal::is_terminal(&io::stderr()))),
        LogFormat::Json => installed!(lines.json().with_current_span(true)),
    };
    if let Some(set) = set.filter(|_| !env_decides) {
        let _ = SET_FILTER.set(set);
    }
}

/// What [`set_level`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelChange {
    /// The new filter applies from the next line.
    Applied,
    /// `RUST_LOG` decides the filter, and keeps deciding it.
    EnvDecides,
}

/// Apply `level` (a reload's `log.level`, already checked by the configuration's reader).
pub fn set_level(level: &str) -> Result<LevelChange, String> {
    let Some(set) = SET_FILTER.get() else {
        return Ok(LevelChange::EnvDecides);
    };
    let filter = EnvFilter::try_new(level).map_err(|e| format!("log.level {level:?}: {e}"))?;
    set(filter).map(|()| LevelChange::Applied)
}
