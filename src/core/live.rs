//! The core adapter a running service uses, swapped by a reload: an admin who points
//! `[core.rest]` at a new gateway (or changes `core.type`, `core.timeout_ms` or the region)
//! and reloads gets it from the next call, as with every other reloadable setting. A reload
//! that leaves the core's settings alone keeps the adapter it had, and with it the state of
//! its circuit breaker.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use async_trait::async_trait;

use super::{CoreAdapter, CoreError, CorePin, IdentifierKind, PhoneMatch};
use crate::config::{Config, CoreConfig};
use crate::member::Member;
use crate::store::Store;

/// The settings an adapter is built from: a change to any of them builds a new one. The
/// gateway's CA file and the client certificate and key count by their contents, so a file
/// replaced in place (a renewed certificate) is read again. The key is kept as a digest.
#[derive(Debug, Clone, PartialEq)]
struct Built {
    core: CoreConfig,
    region: String,
    recent_change_days: u32,
    slash_dates: Option<crate::civil::SlashDates>,
    ca: Option<Vec<u8>>,
    client: Option<[u8; 32]>,
}

impl Built {
    fn of(config: &Config) -> Built {
        use sha2::Digest;
        let rest = config.core.rest.as_ref();
        let ca_file = rest.and_then(|r| r.ca_file.as_ref());
        let contents = |path: Option<&std::path::PathBuf>| path.and_then(|p| std::fs::read(p).ok());
        let client = rest.filter(|r| r.client_cert.is_some()).map(|r| {
            let mut digest = sha2::Sha256::new();
            for file in [r.client_cert.as_ref(), r.client_key.as_ref()] {
                let bytes = zeroize::Zeroizing::new(contents(file).unwrap_or_default());
                digest.update((bytes.len() as u64).to_le_bytes());
                digest.update(&bytes);
            }
            digest.finalize().into()
        });
        Built {
            core: config.core.clone(),
            region: config.enroll.default_region.clone(),
            recent_change_days: config.enroll.recent_change_days,
            slash_dates: config.enroll.slash_dates,
            ca: contents(ca_file),
            client,
        }
    }
}

/// An adapter built from the configuration, ready to be swapped in by [`LiveCore::swap`].
pub struct NextCore {
    built: Built,
    adapter: Arc<dyn CoreAdapter>,
}

impl NextCore {
    /// `embedded`, `rest`, ...
    pub fn kind(&self) -> &'static str {
        self.adapter.kind()
    }
}

/// Delegates every call to the adapter the configuration last named.
pub struct LiveCore {
    store: Arc<Store>,
    current: ArcSwap<(Built, Arc<dyn CoreAdapter>)>,
}

impl LiveCore {
    pub fn new(config: &Config, store: Arc<Store>) -> Result<LiveCore, CoreError> {
        let adapter = super::from_config(config, store.clone())?;
        Ok(LiveCore {
            store,
            current: ArcSwap::from_pointee((Built::of(config), adapter)),
        })
    }

    /// The adapter `config` needs, built but not yet in use: `None` when it needs the one
    /// in use. An error (a `[core.rest]` whose CA file cannot be read, say) refuses the
    /// reload before anything is swapped.
    pub fn prepare(&self, config: &Config) -> Result<Option<NextCore>, CoreError> {
        let built = Built::of(config);
        if self.current.load().0 == built {
            return Ok(None);
        }
        let adapter = super::from_config(config, self.store.clone())?;
        Ok(Some(NextCore { built, adapter }))
    }

    /// Put a prepared adapter in use: calls started from now on ask it.
    pub fn swap(&self, next: NextCore) {
        let open = next.adapter.breaker_open();
        let old = self.current.swap(Arc::new((next.built, next.adapter)));
        // retired first, so no call still out on it can set the gauge after this
        old.1.retire();
        metrics::gauge!(BREAKER_OPEN).set(f64::from(u8::from(open)));
    }

    fn adapter(&self) -> Arc<dyn CoreAdapter> {
        self.current.load().1.clone()
    }
}

/// One question to the core, counted in `/metrics` however it ends: with its answer, or
/// given up on by the caller (the dialog's `core.timeout_ms` ran out and dropped it).
struct Asked {
    core: &'static str,
    op: &'static str,
    started: Instant,
    result: &'static str,
}

impl Asked {
    fn new(core: &dyn CoreAdapter, op: &'static str) -> Asked {
        Asked {
            core: core.kind(),
            op,
            started: Instant::now(),
            result: "timeout",
        }
    }

    fn answered<T>(mut self, answer: Result<T, CoreError>) -> Result<T, CoreError> {
        self.result = match &answer {
            Ok(_) => "ok",
            Err(CoreError::Unavailable(_)) => "unavailable",
            Err(CoreError::BadAnswer(_)) => "bad_answer",
        };
        answer
    }
}

impl Drop for Asked {
    fn drop(&mut self) {
        let (core, op, result) = (self.core, self.op, self.result);
        metrics::counter!(REQUESTS, "core" => core, "op" => op, "result" => result).increment(1);
        metrics::histogram!(SECONDS, "core" => core, "op" => op)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// `callvault_core_requests_total{core,op,result}`.
pub const REQUESTS: &str = "callvault_core_requests_total";
/// `callvault_core_request_seconds{core,op}`.
pub const SECONDS: &str = "callvault_core_request_seconds";
/// `callvault_core_breaker_open`: 1 while the REST core's circuit breaker refuses calls.
pub const BREAKER_OPEN: &str = "callvault_core_breaker_open";

/// The descriptions `/metrics` gives the core's series.
pub fn describe_metrics() {
    metrics::describe_counter!(
        REQUESTS,
        "questions to the core adapter, by core, operation (phone, identifier, member, \
         member_by_phone, check, pin) and result (ok, unavailable, bad_answer, or timeout: given up \
         on when core.timeout_ms ran out)"
    );
    metrics::describe_histogram!(
        SECONDS,
        metrics::Unit::Seconds,
        "how long the core adapter took to answer, by core and operation"
    );
    metrics::describe_gauge!(
        BREAKER_OPEN,
        "1 while the REST core's circuit breaker is open or its one trial call is out (calls \
         then get transfer/core_unavailable at once), else 0"
    );
}

#[async_trait]
impl CoreAdapter for LiveCore {
    fn kind(&self) -> &'static str {
        self.current.load().1.kind()
    }

    fn breaker_open(&self) -> bool {
        self.current.load().1.breaker_open()
    }

    async fn find_by_phone(&self, e164: &str) -> Result<Vec<PhoneMatch>, CoreError> {
        let core = self.adapter();
        let asked = Asked::new(core.as_ref(), "phone");
        asked.answered(core.find_by_phone(e164).await)
    }

    async fn find_by_identifier(
        &self,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<Vec<String>, CoreError> {
        let core = self.adapter();
        let asked = Asked::new(core.as_ref(), "identifier");
        asked.answered(core.find_by_identifier(kind, value).await)
    }

    async fn member(&self, member_id: &str) -> Result<Option<Member>, CoreError> {
        let core = self.adapter();
        let asked = Asked::new(core.as_ref(), "member");
        asked.answered(core.member(member_id).await)
    }

    async fn member_by_phone(&self, e164: &str) -> Result<Option<Member>, CoreError> {
        let core = self.adapter();
        let asked = Asked::new(core.as_ref(), "member_by_phone");
        asked.answered(core.member_by_phone(e164).await)
    }

    async fn check(&self) -> Result<(), CoreError> {
        let core = self.adapter();
        let asked = Asked::new(core.as_ref(), "check");
        asked.answered(core.check().await)
    }

    fn checks_pins(&self) -> bool {
        self.current.load().1.checks_pins()
    }

    async fn check_pin(&self, member_id: &str, pin: &str) -> Result<CorePin, CoreError> {
        let core = self.adapter();
        let asked = Asked::new(core.as_ref(), "pin");
        asked.answered(core.check_pin(member_id, pin).await)
    }
}

#[cfg(test)]
mod tests;
