//! A restored store's API keys set against those of the store it replaces (`db restore`).
//! A backup holds the keys as they were when it was taken: a key revoked since (a desk's
//! key that leaked, say) would be active again once the backup is restored, and a key made
//! since is not in it. The restore keeps every such revocation and names the keys it lacks.

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{KeyInfo, StoredKey};
use crate::audit::{AuditEvent, EventKind, Outcome, append_in};
use crate::store::{Store, StoreError, tables};

/// What a restore did with the replaced store's keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Carried {
    /// Keys revoked in the replaced store after the backup was taken, revoked in the
    /// restored one too (as of their revocation).
    pub kept_revoked: Vec<KeyInfo>,
    /// Keys active in the replaced store that the backup does not hold (made after it was
    /// taken): their clients are refused until a key is made again.
    pub not_in_backup: Vec<KeyInfo>,
}

/// In `restored`, revoke each key that `replaced` (every key of the store it replaces,
/// [`super::list`]) holds revoked, each revocation audited; keep the later of each key's
/// two last uses; and name the active keys of `replaced` that `restored` lacks. One
/// transaction.
pub fn keep_revocations(
    restored: &Store,
    replaced: &[KeyInfo],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Carried, StoreError> {
    let txn = restored.begin_write()?;
    let mut carried = Carried::default();
    let mut events = Vec::new();
    {
        let mut table = txn.open_table(tables::API_KEYS)?;
        for old in replaced {
            let held = match table.get(old.id.as_str())? {
                Some(v) => Some(
                    StoredKey::decode(v.value())
                        .map_err(|e| StoreError::Corrupt(format!("api key {}: {e}", old.id)))?,
                ),
                None => None,
            };
            let Some(mut key) = held else {
                if old.revoked_at.is_none() {
                    carried.not_in_backup.push(old.clone());
                }
                continue;
            };
            // a use the backup missed (the later time stays)
            let used_since = old.last_used_at > key.last_used_at;
            if used_since {
                key.last_used_at = old.last_used_at;
            }
            match old.revoked_at {
                Some(at) if key.revoked_at.is_none() => {
                    key.revoked_at = Some(at);
                    table.insert(key.id.as_str(), key.encode()?.as_slice())?;
                    events.push(
                        AuditEvent::new(actor, EventKind::ApiKeyRevoked, Outcome::Ok).detail(
                            format!(
                                "name={} role={} id={}: revoked at {} after the restored \
                                 backup was taken, and kept revoked",
                                key.name,
                                key.role,
                                key.id,
                                at.to_rfc3339()
                            ),
                        ),
                    );
                    carried.kept_revoked.push(key.info());
                }
                _ if used_since => {
                    table.insert(key.id.as_str(), key.encode()?.as_slice())?;
                }
                _ => {}
            }
        }
    }
    if !events.is_empty() {
        append_in(&txn, now, events)?;
    }
    txn.commit()?;
    Ok(carried)
}

#[cfg(test)]
mod tests;
