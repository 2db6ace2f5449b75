//! The vault's master key file: 32 random bytes, readable by the service user only. This
//! module owns the key's life: creation at `init` and at rotation, and the permission check
//! that makes the service refuse to start.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub const KEY_BYTES: usize = 32;

/// The first four bytes of the SHA-256 of a key: names it without revealing it.
pub type KeyId = [u8; 4];

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error(
        "vault key file {path} is readable or writable by group or others (mode {mode:04o}), \
         and callvault uses no key others may read: run `chmod 600 {path}`"
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("vault key file {path} must hold exactly {KEY_BYTES} bytes, it holds {len}")]
    BadLength { path: PathBuf, len: u64 },
    #[error("vault key file {path} does not exist (run `callvault init`)")]
    Missing { path: PathBuf },
    #[error("vault key file {path}: {error}")]
    Io { path: PathBuf, error: io::Error },
}

/// The master key, wiped from memory when dropped. Never printed.
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_BYTES]>,
}

impl MasterKey {
    /// A short public fingerprint that names this key (for `vault status` and rotation).
    pub fn key_id(&self) -> String {
        hex::encode(self.id())
    }

    /// The fingerprint as the bytes each sealed record carries.
    pub fn id(&self) -> KeyId {
        let d = Sha256::digest(self.bytes.as_ref());
        [d[0], d[1], d[2], d[3]]
    }

    pub fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.bytes
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.key_id())
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyFileError + '_ {
    move |error| KeyFileError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Create the key file with 32 random bytes and mode 0600. Returns false if it already
/// existed (it is never overwritten).
pub fn create_key_file(path: &Path) -> Result<bool, KeyFileError> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        crate::store::create_private_dir(dir).map_err(|e| KeyFileError::Io {
            path: dir.to_path_buf(),
            error: io::Error::other(e.to_string()),
        })?;
    }
    let mut key = Zeroizing::new([0u8; KEY_BYTES]);
    rand::rngs::OsRng.fill_bytes(key.as_mut());
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path))?;
    file.write_all(key.as_ref()).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    Ok(true)
}

/// Load the key, refusing a file that group or others can read or write.
pub fn load_key_file(path: &Path) -> Result<MasterKey, KeyFileError> {
    check_key_file(path)?;
    let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(bytes.as_mut()))
        .map_err(io_err(path))?;
    Ok(MasterKey { bytes })
}

/// What `load_key_file` checks before it reads: the file is there, closed to group and
/// others, and of a key's length. Needs no read permission (`config check` as an admin).
pub fn check_key_file(path: &Path) -> Result<(), KeyFileError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(KeyFileError::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    if meta.len() != KEY_BYTES as u64 {
        return Err(KeyFileError::BadLength {
            path: path.to_path_buf(),
            len: meta.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "keyfile_tests.rs"]
mod tests;
