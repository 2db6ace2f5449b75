//! Calls by caller ID, held in memory: the agent's `GET /v1/calls?ani=...`.
//!
//! The store keeps no index of its own for this. A call's caller ID never changes after the
//! call starts, and an index keyed by phone number puts every new call on a different B-tree
//! leaf: in the one writer's commit that cost as much as storing the call itself
//! (BENCHMARKS.md, "Where a call start's time goes"). So the index is built from the
//! calls table in the background when the service starts (lookups wait for it; nothing else
//! does), a call is added once its start is durable, and the sweep takes out the calls it
//! deletes. A lookup reads the calls it names from the store and keeps those still there
//! from that number, so an entry the sweep removed while the index was loading is harmless.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, PoisonError, RwLock};

use serde::Deserialize;

use crate::store::{Store, StoreError};

#[derive(Debug, Default)]
pub struct CallsByAni {
    /// E.164 -> the ids of the calls from it.
    calls: RwLock<HashMap<String, Vec<String>>>,
    state: Mutex<Load>,
    loaded: Condvar,
}

#[derive(Debug, Default, Clone)]
enum Load {
    #[default]
    Loading,
    Ready,
    Failed(String),
}

/// The one field of a stored call the index needs; the rest of the row is skipped unread.
#[derive(Deserialize)]
struct AniOnly {
    ani: Option<String>,
}

impl CallsByAni {
    /// Add every stored call with a caller ID, then answer lookups. Calls added meanwhile
    /// are kept.
    pub fn load(&self, store: &Store) {
        let began = std::time::Instant::now();
        let outcome = match stored(store) {
            Ok(found) => {
                tracing::info!(
                    calls = found.len(),
                    ms = began.elapsed().as_millis() as u64,
                    "indexed the stored calls by caller ID"
                );
                let mut calls = self.calls.write().unwrap_or_else(PoisonError::into_inner);
                for (ani, id) in found {
                    calls.entry(ani).or_default().push(id);
                }
                // one pass for calls added while loading, however many one number has
                for ids in calls.values_mut() {
                    ids.sort_unstable();
                    ids.dedup();
                }
                Load::Ready
            }
            Err(StoreError::Stopping) => Load::Failed(StoreError::Stopping.to_string()),
            Err(e) => {
                tracing::error!(error = %e, "cannot index the stored calls by caller ID");
                Load::Failed(e.to_string())
            }
        };
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = outcome;
        self.loaded.notify_all();
    }

    pub fn add(&self, ani: &str, call_id: &str) {
        let mut calls = self.calls.write().unwrap_or_else(PoisonError::into_inner);
        let ids = calls.entry(ani.to_string()).or_default();
        if !ids.iter().any(|id| id == call_id) {
            ids.push(call_id.to_string());
        }
    }

    pub fn remove(&self, ani: &str, call_id: &str) {
        let mut calls = self.calls.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(ids) = calls.get_mut(ani) {
            ids.retain(|id| id != call_id);
            if ids.is_empty() {
                calls.remove(ani);
            }
        }
    }

    /// The ids of the calls from `e164`, once the stored calls are indexed (this blocks
    /// until then).
    pub fn ids(&self, e164: &str) -> Result<Vec<String>, StoreError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while matches!(*state, Load::Loading) {
            state = self
                .loaded
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if let Load::Failed(why) = &*state {
            return Err(StoreError::Corrupt(format!(
                "the calls could not be indexed by caller ID at start-up: {why}"
            )));
        }
        drop(state);
        let calls = self.calls.read().unwrap_or_else(PoisonError::into_inner);
        Ok(calls.get(e164).cloned().unwrap_or_default())
    }

    /// How many numbers have calls.
    #[cfg(test)]
    pub fn numbers(&self) -> usize {
        self.calls
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// (caller ID, call id) of every stored call that has a caller ID.
fn stored(store: &Store) -> Result<Vec<(String, String)>, StoreError> {
    let mut found = Vec::new();
    super::records::each_stored(store, |id, call: AniOnly| {
        if let Some(ani) = call.ani {
            found.push((ani, id.to_string()));
        }
    })?;
    Ok(found)
}
