//! One input at a time per call.
//!
//! An input is checked before its step is written: the core is asked, the vault checks a
//! PIN (and counts a wrong one at once, so that hanging up cannot undo it). Two inputs to
//! one call at the same time (an IVR retrying while its first try is still being checked)
//! would both be checked against the same step, and the second refused when it came to be
//! written: a PIN counted without its step or its audit record, and a 409 that sends the
//! IVR down its failure path. So each input waits for the one before it on the same call,
//! and then is checked against the step that one left.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Mutex as TurnLock, OwnedMutexGuard};

/// The calls with an input being handled, each with its queue of waiting inputs.
#[derive(Debug, Default)]
pub struct Turns {
    calls: Mutex<HashMap<String, Arc<TurnLock<()>>>>,
}

/// Held while one input of a call is handled; the next one goes when it drops.
pub struct Turn<'a> {
    turns: &'a Turns,
    call_id: String,
    lock: Arc<TurnLock<()>>,
    held: Option<OwnedMutexGuard<()>>,
}

impl Turns {
    /// Wait for the call's earlier inputs to be handled, then hold its turn.
    pub async fn take(&self, call_id: &str) -> Turn<'_> {
        let lock = self
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(call_id.to_string())
            .or_default()
            .clone();
        let held = lock.clone().lock_owned().await;
        Turn {
            turns: self,
            call_id: call_id.to_string(),
            lock,
            held: Some(held),
        }
    }

    /// Calls with an input in hand or waiting.
    #[cfg(test)]
    pub fn busy(&self) -> usize {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.held.take());
        let mut calls = self
            .turns
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // the map's handle and this one: nobody waits, so the call's entry goes
        if Arc::strong_count(&self.lock) == 2 {
            calls.remove(&self.call_id);
        }
    }
}

#[cfg(test)]
mod tests;
