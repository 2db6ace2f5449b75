//! `callvault vault rotate-key`: seal every record again under a new master key, without
//! learning any PIN, in one transaction.
//!
//! Crash-safe order: the new key is written beside the old one (`vault.key.next`, 0600) and
//! loaded next to it, so records open under either while the rotation runs; one
//! transaction re-seals every record; only then does the new key replace the old file. A
//! crash at any point leaves a vault that opens (the service loads both keys when it finds
//! `vault.key.next`), and running the command again finishes the rotation.

use std::sync::Arc;

use redb::ReadableTable;

use serde::{Deserialize, Serialize};

use super::{Vault, VaultError, create_key_file, load_key_file, next_key_path, seal};
use crate::store::tables;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateReport {
    pub old_key_id: String,
    pub new_key_id: String,
    pub resealed: u64,
    /// An earlier, interrupted rotation was finished.
    pub resumed: bool,
}

impl Vault {
    pub fn rotate_key(&self) -> Result<RotateReport, VaultError> {
        let _one_rotation = self
            .rotation
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let old_key_id = load_key_file(&self.key_file)?.key_id();
        let next_path = next_key_path(&self.key_file);
        let resumed = next_path.exists();
        if !resumed {
            create_key_file(&next_path)?;
        }
        let next = Arc::new(load_key_file(&next_path)?);
        let new_key_id = next.key_id();
        let ring = {
            let before = self.keyring.load_full();
            if before.current_id() == next.id() {
                before
            } else {
                Arc::new(before.rotated_to(next.clone()))
            }
        };
        // From here new seals use the new key; records sealed under the old one still open.
        self.keyring.store(ring.clone());

        let txn = self.store.begin_write()?;
        let resealed = {
            let mut pins = txn.open_table(tables::PINS)?;
            let mut stale = Vec::new();
            for entry in pins.iter()? {
                let (k, v) = entry?;
                if seal::peek(k.value(), v.value())?.key_id != next.id() {
                    stale.push(k.value().to_string());
                }
            }
            for member_id in &stale {
                let resealed = match pins.get(member_id.as_str())? {
                    Some(v) => ring.reseal(member_id, v.value(), |_| {})?,
                    None => continue,
                };
                pins.insert(member_id.as_str(), resealed.as_slice())?;
            }
            stale.len() as u64
        };
        txn.commit()?;

        let rename = |e: std::io::Error| {
            VaultError::Rotation(format!(
                "every record is sealed under key {new_key_id}, but {} could not replace {}: \
                 {e}; both keys stay loaded — fix the cause and run `callvault vault \
                 rotate-key` again",
                next_path.display(),
                self.key_file.display()
            ))
        };
        std::fs::rename(&next_path, &self.key_file).map_err(rename)?;
        if let Some(dir) = self.key_file.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(rename)?;
        }
        self.keyring.store(Arc::new(ring.current_only()));
        Ok(RotateReport {
            old_key_id: if resumed && old_key_id == new_key_id {
                old_key_id.clone()
            } else {
                old_key_id
            },
            new_key_id,
            resealed,
            resumed,
        })
    }
}
