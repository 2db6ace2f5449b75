//! App intents: the credit union's app back end announces that a signed-in member is about
//! to call. The token is shown once; the store keeps only its SHA-256. Single use.

use chrono::{DateTime, Utc};
use rand::RngCore;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::store::{Store, StoreError, tables};

/// `POST /v1/intents`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntent {
    pub member_id: String,
    /// The phone the member will call from (E.164 or national). A call from it within the
    /// TTL counts as the intent when it is the member's verified number and the profile
    /// allows it (`app_intent_by_ani`) and no other member has that number. Any other
    /// number is not kept (the answer's `by_phone` is then false), and only the token counts.
    #[serde(default)]
    pub phone: Option<String>,
    /// Default `calls.intent_ttl_seconds`; at most `calls.intent_max_ttl_seconds` (3600
    /// unless configured; 86400 at the most).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400, nullable = false)]
    pub ttl_seconds: Option<u32>,
}

/// What announcing a call gives the app back end.
#[derive(Debug, Clone)]
pub struct Announced {
    /// Shown once.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Whether a call from the phone given can count as the intent: it is the member's
    /// verified number, and no other member's. False when no phone was given.
    pub by_phone: bool,
}

/// A stored intent (no token: only its hash is the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub member_id: String,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub created_by: String,
}

impl Intent {
    /// Whether the intent may still be used at `now`: before its end, and not from before
    /// the clock went back past it ([`crate::clock::went_back_past`]).
    pub fn stands_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now && !crate::clock::went_back_past(self.created_at, now)
    }
}

const PREFIX: &str = "cvi_";

/// A fresh token (shown once) and the hash it is stored under.
pub fn new_token() -> (Zeroizing<String>, String) {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    use base64::Engine;
    let token = Zeroizing::new(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref())
    ));
    let hash = token_hash(&token);
    (token, hash)
}

/// The key an intent is stored under.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

fn decode(bytes: &[u8]) -> Result<Intent, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("app intent: {e}")))
}

/// The unexpired intent a token names.
pub fn get(store: &Store, hash: &str, now: DateTime<Utc>) -> Result<Option<Intent>, StoreError> {
    let txn = store.begin_read()?;
    let table = txn.open_table(tables::INTENTS)?;
    let intent = table.get(hash)?.map(|v| decode(v.value())).transpose()?;
    Ok(intent.filter(|i| i.stands_at(now)))
}

/// The unexpired intent announced for a phone, with its hash.
pub fn for_phone(
    store: &Store,
    e164: &str,
    now: DateTime<Utc>,
) -> Result<Option<(String, Intent)>, StoreError> {
    let txn = store.begin_read()?;
    let phones = txn.open_table(tables::INTENT_PHONES)?;
    let Some(hash) = phones.get(e164)?.map(|v| v.value().to_string()) else {
        return Ok(None);
    };
    let table = txn.open_table(tables::INTENTS)?;
    let intent = table
        .get(hash.as_str())?
        .map(|v| decode(v.value()))
        .transpose()?;
    Ok(intent
        .filter(|i| i.stands_at(now) && i.phone.as_deref() == Some(e164))
        .map(|i| (hash, i)))
}

pub fn put(txn: &WriteTransaction, hash: &str, intent: &Intent) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(intent)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode an intent: {e}")))?;
    txn.open_table(tables::INTENTS)?
        .insert(hash, bytes.as_slice())?;
    if let Some(phone) = &intent.phone {
        txn.open_table(tables::INTENT_PHONES)?
            .insert(phone.as_str(), hash)?;
    }
    Ok(())
}

/// Use an intent up: remove it (and its phone entry). `None` if it is already gone.
pub fn take(txn: &WriteTransaction, hash: &str) -> Result<Option<Intent>, StoreError> {
    let intent = txn
        .open_table(tables::INTENTS)?
        .remove(hash)?
        .map(|v| decode(v.value()))
        .transpose()?;
    if let Some(phone) = intent.as_ref().and_then(|i| i.phone.as_deref()) {
        let mut phones = txn.open_table(tables::INTENT_PHONES)?;
        let points_here = phones.get(phone)?.is_some_and(|v| v.value() == hash);
        if points_here {
            phones.remove(phone)?;
        }
    }
    Ok(intent)
}

/// Delete expired intents; returns how many.
pub fn sweep(txn: &WriteTransaction, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let expired: Vec<String> = {
        let table = txn.open_table(tables::INTENTS)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            if decode(v.value())?.expires_at <= now {
                out.push(k.value().to_string());
            }
        }
        out
    };
    for hash in &expired {
        take(txn, hash)?;
    }
    Ok(expired.len() as u64)
}
