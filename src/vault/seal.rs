//! A sealed PIN record: what the vault keeps for each member.
//!
//! Layout: a format byte, the length of the header, the header (postcard: key id, secret
//! kind, set time, flags), a 24-byte nonce, then the secret sealed with XChaCha20-Poly1305.
//! The associated data binds the member id and the whole header (key id included), so a
//! record copied to another member, or a header edited to clear a flag, fails to open.

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::keyfile::{KeyId, MasterKey};

const FORMAT: u8 = 1;
const NONCE_BYTES: usize = 24;
const AAD_DOMAIN: &[u8] = b"callvault/pin/1\0";

/// What the sealed secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretKind {
    /// A bcrypt hash of the PIN (`[vault] mode = "hashed"`).
    Bcrypt,
    /// The PIN itself: `mode = "encrypted"`, or an imported PIN waiting for its bcrypt hash.
    Pin,
}

/// The record's header: public facts, authenticated but not secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub key_id: KeyId,
    pub kind: SecretKind,
    /// When the PIN was set (Unix seconds).
    pub set_at: i64,
    /// The member chose this PIN (not a placeholder from a core migration).
    pub established: bool,
    /// An admin or agent asked for a PIN change.
    pub flagged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("PIN record of member {member}: sealed under key {key_id}, which is not loaded")]
    UnknownKey { member: String, key_id: String },
    #[error(
        "PIN record of member {member} does not open: it was altered or belongs to another member"
    )]
    Tampered { member: String },
    #[error("PIN record of member {member} is malformed: {why}")]
    Malformed { member: String, why: String },
    #[error("sealing a PIN record failed")]
    Seal,
}

/// The keys the vault can open records with: the current one seals, earlier ones (during a
/// rotation) still open.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: Arc<MasterKey>,
    previous: Vec<Arc<MasterKey>>,
}

/// An opened record. The secret is wiped when this is dropped.
pub struct Opened {
    pub header: Header,
    pub secret: Zeroizing<Vec<u8>>,
}

/// A record's parts: header bytes, nonce, ciphertext.
type Parts<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// Split a record into its header bytes, nonce and ciphertext without opening it.
fn split<'a>(member_id: &str, bytes: &'a [u8]) -> Result<Parts<'a>, SealError> {
    let malformed = |why: &str| SealError::Malformed {
        member: member_id.to_string(),
        why: why.to_string(),
    };
    match bytes {
        [FORMAT, len, rest @ ..] => {
            let len = usize::from(*len);
            if rest.len() < len + NONCE_BYTES + 16 {
                return Err(malformed("too short"));
            }
            let (header, rest) = rest.split_at(len);
            let (nonce, sealed) = rest.split_at(NONCE_BYTES);
            Ok((header, nonce, sealed))
        }
        [FORMAT] => Err(malformed("too short")),
        [other, ..] => Err(malformed(&format!("unknown format {other}"))),
        [] => Err(malformed("empty")),
    }
}

/// Read a record's header without the key (for status and background work). The header is
/// only trusted once [`Keyring::open`] has authenticated it.
pub fn peek(member_id: &str, bytes: &[u8]) -> Result<Header, SealError> {
    let (header, _, _) = split(member_id, bytes)?;
    postcard::from_bytes(header).map_err(|e| SealError::Malformed {
        member: member_id.to_string(),
        why: e.to_string(),
    })
}

fn aad(member_id: &str, header: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_DOMAIN.len() + member_id.len() + 1 + header.len());
    aad.extend_from_slice(AAD_DOMAIN);
    aad.extend_from_slice(member_id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(header);
    aad
}

impl Keyring {
    pub fn new(current: MasterKey) -> Keyring {
        Keyring {
            current: Arc::new(current),
            previous: Vec::new(),
        }
    }

    /// A ring that seals with `next` and still opens everything this one opens.
    pub fn rotated_to(&self, next: Arc<MasterKey>) -> Keyring {
        let mut previous = vec![self.current.clone()];
        previous.extend(self.previous.iter().cloned());
        previous.retain(|k| k.id() != next.id());
        Keyring {
            current: next,
            previous,
        }
    }

    /// The same ring without the earlier keys (a rotation is complete).
    pub fn current_only(&self) -> Keyring {
        Keyring {
            current: self.current.clone(),
            previous: Vec::new(),
        }
    }

    pub fn current(&self) -> &Arc<MasterKey> {
        &self.current
    }

    pub fn current_id(&self) -> KeyId {
        self.current.id()
    }

    /// The ids of every loaded key, current first.
    pub fn key_ids(&self) -> Vec<KeyId> {
        std::iter::once(&self.current)
            .chain(self.previous.iter())
            .map(|k| k.id())
            .collect()
    }

    /// HMAC-SHA256 of `message` under a key derived from master key `id` for `purpose`.
    /// `None` when that key is no longer loaded.
    pub fn mac(&self, id: KeyId, purpose: &str, message: &[u8]) -> Option<[u8; 32]> {
        use hmac::{Mac, digest::KeyInit};
        use sha2::Digest;
        let master = self.key(id)?;
        let mut derive = sha2::Sha256::new();
        derive.update(b"callvault/mac/v1\0");
        derive.update(purpose.as_bytes());
        derive.update([0]);
        derive.update(master.bytes());
        let subkey = zeroize::Zeroizing::new(<[u8; 32]>::from(derive.finalize()));
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(subkey.as_ref()).ok()?;
        mac.update(message);
        Some(mac.finalize().into_bytes().into())
    }

    fn key(&self, id: KeyId) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(self.previous.iter())
            .find(|k| k.id() == id)
            .map(|k| k.as_ref())
    }

    /// Seal `secret` for `member_id` under the current key; the header's key id is set here.
    pub fn seal(
        &self,
        member_id: &str,
        mut header: Header,
        secret: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        header.key_id = self.current.id();
        let header_bytes = postcard::to_allocvec(&header).map_err(|_| SealError::Seal)?;
        let header_len = u8::try_from(header_bytes.len()).map_err(|_| SealError::Seal)?;
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(Key::from_slice(self.current.bytes()));
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: &aad(member_id, &header_bytes),
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(2 + header_bytes.len() + NONCE_BYTES + sealed.len());
        out.push(FORMAT);
        out.push(header_len);
        out.extend_from_slice(&header_bytes);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Open a record of `member_id` with whichever loaded key sealed it.
    pub fn open(&self, member_id: &str, bytes: &[u8]) -> Result<Opened, SealError> {
        let (header_bytes, nonce, sealed) = split(member_id, bytes)?;
        let header = peek(member_id, bytes)?;
        let key = self
            .key(header.key_id)
            .ok_or_else(|| SealError::UnknownKey {
                member: member_id.to_string(),
                key_id: hex::encode(header.key_id),
            })?;
        let cipher = XChaCha20Poly1305::new(Key::from_slice(key.bytes()));
        let secret = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad(member_id, header_bytes),
                },
            )
            .map_err(|_| SealError::Tampered {
                member: member_id.to_string(),
            })?;
        Ok(Opened {
            header,
            secret: Zeroizing::new(secret),
        })
    }

    /// Open and seal again under the current key, changing the header with `edit`. The
    /// secret is never interpreted.
    pub fn reseal(
        &self,
        member_id: &str,
        bytes: &[u8],
        edit: impl FnOnce(&mut Header),
    ) -> Result<Vec<u8>, SealError> {
        let mut opened = self.open(member_id, bytes)?;
        edit(&mut opened.header);
        self.seal(member_id, opened.header, &opened.secret)
    }
}

#[cfg(test)]
#[path = "seal_tests.rs"]
mod tests;
