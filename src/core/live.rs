//! The core adapter a running service uses, swapped by a reload: an admin who points
//! `[core.rest]` at a new gateway (or changes `core.type`, `core.timeout_ms` or the region)
//! and reloads gets it from the next call, as with every other reloadable setting. A reload
//! that leaves the core's settings alone keeps the adapter it had, and with it the state of
//! its circuit breaker.

use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;

use super::{CoreAdapter, CoreError, IdentifierKind, PhoneMatch};
use crate::config::{Config, CoreConfig};
use crate::member::Member;
use crate::store::Store;

/// The settings an adapter is built from: a change to any of them builds a new one. The
/// gateway's CA file counts by its contents, so a CA replaced in place is read again.
#[derive(Debug, Clone, PartialEq)]
struct Built {
    core: CoreConfig,
    region: String,
    ca: Option<Vec<u8>>,
}

impl Built {
    fn of(config: &Config) -> Built {
        let ca_file = config.core.rest.as_ref().and_then(|r| r.ca_file.as_ref());
        Built {
            core: config.core.clone(),
            region: config.enroll.default_region.clone(),
            ca: ca_file.and_then(|path| std::fs::read(path).ok()),
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
        self.current.store(Arc::new((next.built, next.adapter)));
    }

    fn adapter(&self) -> Arc<dyn CoreAdapter> {
        self.current.load().1.clone()
    }
}

#[async_trait]
impl CoreAdapter for LiveCore {
    fn kind(&self) -> &'static str {
        self.current.load().1.kind()
    }

    async fn find_by_phone(&self, e164: &str) -> Result<Vec<PhoneMatch>, CoreError> {
        self.adapter().find_by_phone(e164).await
    }

    async fn find_by_identifier(
        &self,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<Vec<String>, CoreError> {
        self.adapter().find_by_identifier(kind, value).await
    }

    async fn member(&self, member_id: &str) -> Result<Option<Member>, CoreError> {
        self.adapter().member(member_id).await
    }

    async fn member_by_phone(&self, e164: &str) -> Result<Option<Member>, CoreError> {
        self.adapter().member_by_phone(e164).await
    }

    async fn check(&self) -> Result<(), CoreError> {
        self.adapter().check().await
    }
}

#[cfg(test)]
mod tests;
