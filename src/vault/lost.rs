//! PIN records sealed under a key the service does not hold: a vault key file that is not
//! the one the store was sealed with (a store restored without its key, `init` run where
//! the key was missing). The service refuses to start on them rather than answer every
//! PIN with an error; `callvault vault forget-key` removes them when that key is lost for
//! good.

use chrono::Utc;
use redb::ReadableTable;

use super::{Vault, VaultError, seal};
use crate::audit::{AuditEvent, EventKind, Outcome, append_in};
use crate::store::{Store, tables};

/// The key id (hex) of a PIN record no loaded key opens, looking at the first and the last
/// record only, so that a start stays quick however many there are: a key put in the
/// place of another leaves every record under the other; an unfinished rotation has both
/// keys loaded.
pub fn unloaded_key_in_use(vault: &Vault) -> Result<Option<String>, VaultError> {
    let loaded: Vec<String> = (vault.keyring_ids().into_iter()).map(hex::encode).collect();
    key_outside(&vault.store, &loaded)
}

/// As [`unloaded_key_in_use`], against the key ids (hex) `keys`. A record whose header
/// cannot be read names no key (`db check` reports it).
pub fn key_outside(store: &Store, keys: &[String]) -> Result<Option<String>, VaultError> {
    let txn = store.begin_read()?;
    let pins = txn.open_table(tables::PINS)?;
    for (member, sealed) in [pins.first()?, pins.last()?].into_iter().flatten() {
        let Some(id) = key_of(member.value(), sealed.value()) else {
            continue;
        };
        if !keys.contains(&id) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// The id (hex) of the key that sealed a PIN record, when its header reads.
fn key_of(member: &str, sealed: &[u8]) -> Option<String> {
    seal::peek(member, sealed)
        .ok()
        .map(|header| hex::encode(header.key_id))
}

/// Why the service will not start on a store whose PINs `found` sealed.
pub fn mismatch_message(found: &str, vault: &Vault) -> String {
    format!(
        "the vault's PIN records are sealed under key {found}, but the vault key file {} \
         holds key {}: it is not the key this store was sealed with, and no PIN could be \
         checked. Put back the key file that goes with this store (kept with its backup) and \
         start again. If that key is lost for good, no one can open those PINs: \
         `callvault vault forget-key {found}` removes them, and the members set a PIN again \
         (activation) on their next call",
        vault.key_file.display(),
        vault.key_id()
    )
}

/// What [`forget_key`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Forgot {
    /// This many records sealed under the key were removed (with an audit record).
    Removed(u64),
    /// The key is one the vault holds: its records open, and are kept.
    Loaded,
}

/// Remove every PIN record sealed under `key_id` (8 hex digits), and its member's wrong-PIN
/// count, unless the key is one of `loaded`, in one transaction with its audit record. A record whose header cannot be read
/// is left for `db check` to report.
pub fn forget_key(
    store: &Store,
    key_id: &str,
    loaded: &[String],
    actor: &str,
) -> Result<Forgot, VaultError> {
    let key_id = key_id.to_ascii_lowercase();
    if loaded.contains(&key_id) {
        return Ok(Forgot::Loaded);
    }
    let txn = store.begin_write()?;
    let step = (|| -> Result<u64, VaultError> {
        let mut pins = txn.open_table(tables::PINS)?;
        let mut under = Vec::new();
        for entry in pins.iter()? {
            let (member, sealed) = entry?;
            if key_of(member.value(), sealed.value()).is_some_and(|id| id == key_id) {
                under.push(member.value().to_string());
            }
        }
        // and the wrong-PIN runs against the PINs that are gone, as setting a PIN clears
        // them: a member locked then would otherwise stay locked out of activation
        let mut attempts = txn.open_table(tables::ATTEMPTS)?;
        for member in &under {
            pins.remove(member.as_str())?;
            attempts.remove((member.as_str(), super::PIN_ATTEMPTS))?;
        }
        let removed = under.len() as u64;
        let event =
            AuditEvent::new(actor, EventKind::VaultKeyForgotten, Outcome::Ok).detail(format!(
                "key {key_id}: {} sealed under it removed",
                crate::enroll::progress::counted(removed, "PIN records")
            ));
        append_in(&txn, Utc::now(), [event])?;
        Ok(removed)
    })();
    match step {
        Ok(removed) => {
            txn.commit()?;
            Ok(Forgot::Removed(removed))
        }
        Err(e) => {
            match &e {
                VaultError::Store(store) => txn.failed(store),
                _ => txn.abort()?,
            }
            Err(e)
        }
    }
}
