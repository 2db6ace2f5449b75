//! Calls by caller ID, held in memory: the agent's `GET /v1/calls?ani=...`.
//!
//! The store keeps no index of its own for this. A call's caller ID never changes after the
//! call starts, and an index keyed by phone number puts every new call on a different B-tree
//! leaf: in the one writer's commit that cost as much as storing the call itself
//! (BENCHMARKS.md, "Start a call and identify by ANI"). So the index is built from the
//! calls table when the service starts, a call is added once its start is durable, and the
//! sweep takes out the calls it deletes. A lookup reads the calls it names from the store;
//! one that is gone is skipped.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use redb::ReadableTable;
use serde::Deserialize;

use crate::store::{Store, StoreError, tables};

#[derive(Debug, Default)]
pub struct CallsByAni {
    /// E.164 -> the ids of the calls from it, oldest first.
    calls: RwLock<HashMap<String, Vec<String>>>,
}

/// The one field of a stored call the index needs; the rest of the row is skipped unread.
#[derive(Deserialize)]
struct AniOnly {
    ani: Option<String>,
}

impl CallsByAni {
    /// Every stored call with a caller ID.
    pub fn load(store: &Store) -> Result<CallsByAni, StoreError> {
        let txn = store.begin_read()?;
        let table = txn.open_table(tables::CALLS)?;
        let mut calls: HashMap<String, Vec<String>> = HashMap::new();
        let mut started = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            let id = k.value();
            let found: AniOnly = super::records::decode_as(id, v.value())?;
            if let Some(ani) = found.ani {
                started.push((ani, id.to_string()));
            }
        }
        for (ani, id) in started {
            calls.entry(ani).or_default().push(id);
        }
        Ok(CallsByAni {
            calls: RwLock::new(calls),
        })
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

    /// The ids of the calls from `e164`.
    pub fn ids(&self, e164: &str) -> Vec<String> {
        let calls = self.calls.read().unwrap_or_else(PoisonError::into_inner);
        calls.get(e164).cloned().unwrap_or_default()
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
