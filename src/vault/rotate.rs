//! `callvault vault rotate-key`: seal every record again under a new master key, without
//! learning any PIN.
//!
//! Crash-safe order: the new key is written beside the old one (`vault.key.next`, 0600) and
//! loaded next to it, so records open under either while the rotation runs; the records are
//! re-sealed in write transactions of [`ROTATE_BATCH`]; only once all are does the new key
//! replace the old file. A crash at any point leaves a vault that opens (the service loads
//! both keys when it finds `vault.key.next`), and running the command again finishes the
//! rotation. The batches keep the store's one writer free between them: a rotation of a
//! million records while serving delays IVR steps by one batch at most, not by the whole
//! rotation (about 8 s here).
//!
//! PINs set, upgraded or imported meanwhile may have been sealed with the keyring as it was
//! before the rotation began, and committed behind the batches. So the rotation ends by
//! taking [`Vault::sealing`] exclusively (no sealer in flight, none starting) and re-sealing
//! whatever a last scan finds under another key; only then is the old key dropped.

use std::ops::Bound;
use std::sync::Arc;

use redb::{ReadableTable, ReadableTableMetadata};

use serde::{Deserialize, Serialize};

use super::{Vault, VaultError, create_key_file, load_key_file, next_key_path, seal};
use crate::enroll::Progress;
use crate::store::{StoreError, tables};

/// Records re-sealed per write transaction (about 15 ms of the writer's time each).
pub const ROTATE_BATCH: usize = 2_000;

/// The writer's turn for everyone else between two batches.
const BETWEEN_BATCHES: std::time::Duration = std::time::Duration::from_millis(2);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateReport {
    pub old_key_id: String,
    pub new_key_id: String,
    pub resealed: u64,
    /// An earlier, interrupted rotation was finished.
    pub resumed: bool,
}

/// Up to `batch` PIN records after the member id `after` (from the first without one), in
/// key order: one batch of a walk over the vault.
pub(super) fn records_after(
    pins: &impl ReadableTable<&'static str, &'static [u8]>,
    after: Option<&str>,
    batch: usize,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let from = match after {
        Some(k) => Bound::Excluded(k),
        None => Bound::Unbounded,
    };
    let mut chunk = Vec::with_capacity(batch);
    for entry in pins.range::<&str>((from, Bound::Unbounded))?.take(batch) {
        let (k, v) = entry?;
        chunk.push((k.value().to_string(), v.value().to_vec()));
    }
    Ok(chunk)
}

impl Vault {
    /// Re-seal, in one transaction, the records a scan finds under any key but `next_id`.
    fn reseal_stragglers(&self, ring: &seal::Keyring, next_id: [u8; 4]) -> Result<u64, VaultError> {
        let stale = {
            let txn = self.store.begin_read()?;
            let pins = txn.open_table(tables::PINS)?;
            let mut stale = Vec::new();
            for entry in pins.iter()? {
                let (k, v) = entry?;
                if seal::peek(k.value(), v.value())?.key_id != next_id {
                    stale.push(k.value().to_string());
                }
            }
            stale
        };
        if stale.is_empty() {
            return Ok(0);
        }
        let txn = self.store.begin_write()?;
        {
            let mut pins = txn.open_table(tables::PINS)?;
            for member_id in &stale {
                let again = match pins.get(member_id.as_str())? {
                    Some(v) => ring.reseal(member_id, v.value(), |_| {})?,
                    None => continue,
                };
                pins.insert(member_id.as_str(), again.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(stale.len() as u64)
    }

    pub fn rotate_key(&self, progress: &dyn Progress) -> Result<RotateReport, VaultError> {
        self.rotate_key_in_batches(progress, ROTATE_BATCH)
    }

    pub(super) fn rotate_key_in_batches(
        &self,
        progress: &dyn Progress,
        batch: usize,
    ) -> Result<RotateReport, VaultError> {
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
        // the service's user must read the new key: owned as the old one is, also when root
        // runs the rotation with the service stopped
        crate::store::same_owner_as(&self.key_file, &next_path).map_err(|e| {
            VaultError::Rotation(format!(
                "cannot give {} the owner of {}: {e}",
                next_path.display(),
                self.key_file.display()
            ))
        })?;
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

        let total = self.store.begin_read()?.open_table(tables::PINS)?.len()?;
        progress.phase("resealing", total);
        let mut resealed = 0u64;
        let mut seen = 0u64;
        let mut after: Option<String> = None;
        loop {
            // the service is stopping (or Ctrl-C, or the command's client gone): both keys
            // stay, and running the rotation again (after the next start) finishes it
            if let Err(stop) = self.store.go_on().and_then(|()| progress.go_on()) {
                let (why, when) = match stop {
                    StoreError::Interrupted => ("interrupted", ""),
                    _ => ("the service is stopping", " once it has started"),
                };
                return Err(VaultError::Rotation(format!(
                    "{why}: {seen} of {total} records were looked at under key {new_key_id}; \
                     run `callvault vault rotate-key` again{when}, to finish"
                )));
            }
            let txn = self.store.begin_write()?;
            let done = {
                let mut pins = txn.open_table(tables::PINS)?;
                let mut chunk = records_after(&pins, after.as_deref(), batch)?;
                for (member_id, sealed) in &chunk {
                    // checked inside this batch's transaction: a PIN set since is left alone
                    if seal::peek(member_id, sealed)?.key_id != next.id() {
                        let again = ring.reseal(member_id, sealed, |_| {})?;
                        pins.insert(member_id.as_str(), again.as_slice())?;
                        resealed += 1;
                    }
                }
                seen += chunk.len() as u64;
                let last_batch = chunk.len() < batch;
                after = chunk.pop().map(|(k, _)| k);
                last_batch
            };
            txn.commit()?;
            progress.advance_to(seen.min(total));
            if done {
                break;
            }
            // redb's writer lock is not fair: taken again at once, it would starve the
            // group committer (measured: calls waited 3.3 s). A pause lets it in.
            std::thread::sleep(BETWEEN_BATCHES);
        }
        progress.finish();
        // Writers that loaded the keyring before it changed may have committed records under
        // the old key behind the batches. With every sealer held off, look once more.
        let _no_sealing = self
            .sealing
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        resealed += self.reseal_stragglers(&ring, next.id())?;

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
            old_key_id,
            new_key_id,
            resealed,
            resumed,
        })
    }
}
