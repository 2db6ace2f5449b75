//! API keys: one role each, stored hashed, shown once at creation.
//!
//! A key reads `cvk_<id>_<secret>`: the 12-hex-digit id is public (it names the key in
//! logs and the audit log), the secret is 32 random bytes. The store keeps only SHA-256 of the
//! secret. A slow hash (bcrypt) buys nothing for a 256-bit random secret and would cost every
//! request milliseconds, so a plain digest compared in constant time is the right tool.

pub mod restored;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use arc_swap::ArcSwapOption;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::audit::{AuditEvent, EventKind, Outcome, append_in};
use crate::store::{Store, StoreError, tables};

const PREFIX: &str = "cvk_";
const ID_BYTES: usize = 6;
const SECRET_BYTES: usize = 32;

/// What a key may do.
#[derive(
    Debug,
    Clone,
    Copy,
    Serialize,
    Deserialize,
    PartialEq,
    Eq,
    Hash,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The IVR: the call dialog.
    Ivr,
    /// Contact-center agents: screen pop, checklist, challenges, unlock.
    Agent,
    /// The credit union's app back end: intents and push responses.
    App,
    /// Administration: keys, reload, member records.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ivr => "ivr",
            Role::Agent => "agent",
            Role::App => "app",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ivr" => Ok(Role::Ivr),
            "agent" => Ok(Role::Agent),
            "app" => Ok(Role::App),
            "admin" => Ok(Role::Admin),
            other => Err(KeyError::BadRole(other.to_string())),
        }
    }
}

/// A key as stored: never the secret, only its digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// hex SHA-256 of the secret part.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When a request last authenticated with it, to the second, as the service last wrote
    /// it down ([`KeyRing::write_use`]); absent for a key never used (and in records written
    /// before 2026-12-06, whose keys count as not used since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl StoredKey {
    pub fn decode(bytes: &[u8]) -> Result<StoredKey, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    fn encode(&self) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(self).map_err(|e| StoreError::Corrupt(format!("api key encode: {e}")))
    }

    pub fn info(&self) -> KeyInfo {
        KeyInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
            last_used_at: self.last_used_at,
        }
    }
}

/// What may be shown about a key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When a request last authenticated with the key (to the second); null for a key not
    /// used since it was created (or since 2026-12-06, when callvault began to note it).
    /// The service writes uses down once a minute and before it lists keys; after a crash
    /// the last minute's may be missing.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A freshly created key: the only moment its plaintext exists.
pub struct NewKey {
    pub info: KeyInfo,
    pub plaintext: Zeroizing<String>,
}

/// The authenticated client of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The key's public id; empty for a client certificate.
    pub id: String,
    pub name: String,
    pub role: Role,
    pub via: Credential,
    /// The person at the desk, as the client says (`X-Agent-Id`): a desktop or contact-center
    /// back end that holds one key for many agents names the one acting.
    pub agent: Option<String>,
}

/// The most characters an `X-Agent-Id` may have.
pub const AGENT_ID_MAX: usize = 64;

/// An `X-Agent-Id` as sent: 1 to 64 ASCII letters, digits, and `.`, `_`, `@`, `-`, `\` (a
/// login, an e-mail address, a Windows `DOMAIN\user` logon, a contact-center user id), so it
/// reads plainly in the audit log and cannot pass for another part of an actor (`/`, `:`).
/// Else what is wrong with it.
pub fn agent_id(raw: &str) -> Result<&str, String> {
    let allowed =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-' | b'\\');
    // the characters first: a count of bytes is a count of characters once they are ASCII
    match raw {
        "" => Err("X-Agent-Id is empty: name the agent, or leave the header out".into()),
        r if !r.bytes().all(allowed) => Err("X-Agent-Id may hold only ASCII letters, digits \
                                             and . _ @ - \\ (a login, DOMAIN\\user, or a user id)"
            .into()),
        r if r.len() > AGENT_ID_MAX => Err(format!(
            "X-Agent-Id has {} characters; at most {AGENT_ID_MAX}",
            r.len()
        )),
        r => Ok(r),
    }
}

/// What a client authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// An API key.
    Key,
    /// A client certificate mapped in `[[server.clients]]`.
    Cert,
}

impl Client {
    /// A client certificate's client, by its mapped name.
    pub fn from_cert(name: &str, role: Role) -> Client {
        Client {
            id: String::new(),
            name: name.to_string(),
            role,
            via: Credential::Cert,
            agent: None,
        }
    }

    /// How the client appears in the audit log: `key:NAME` or `cert:NAME`, and
    /// `/agent:ID` after it when the request named its agent.
    pub fn actor(&self) -> String {
        let by = match self.via {
            Credential::Key => format!("key:{}", self.name),
            Credential::Cert => format!("cert:{}", self.name),
        };
        match &self.agent {
            Some(agent) => format!("{by}/agent:{agent}"),
            None => by,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "an active {role} key is named {name:?} already: give the new key another name, or \
         revoke that one first"
    )]
    NameTaken { name: String, role: Role },
    /// `meant`: an active key's name the one given is a slip of (`admn` for `admin`).
    #[error("no active key named {name:?}{}", meant.as_ref().map(|m| format!("; did you mean {m:?}?")).unwrap_or_default())]
    NoSuchKey { name: String, meant: Option<String> },
    #[error(
        "{name:?} is the last active admin key: without it no key could manage keys over the \
         API. Create another admin key first, or revoke this one on the host (`callvault key \
         revoke {name}`)"
    )]
    LastAdmin { name: String },
    #[error("key names are 1-64 characters of letters, digits, '.', '-' and '_': {0}")]
    BadName(String),
    #[error("unknown role {0:?} (ivr, agent, app or admin)")]
    BadRole(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

macro_rules! key_store_err {
    ($($t:ty),*) => {$(
        impl From<$t> for KeyError {
            fn from(e: $t) -> Self {
                KeyError::Store(e.into())
            }
        }
    )*};
}
key_store_err!(
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::TransactionError
);

/// Why a presented key was not accepted. The text is safe to show and to audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Missing,
    Malformed,
    Unknown,
    Revoked,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Missing => "no API key presented",
            Rejection::Malformed => "API key is malformed",
            Rejection::Unknown => "API key is not valid",
            Rejection::Revoked => "API key has been revoked",
        }
    }
}

/// What is wrong with a key's name, if anything: said in [`KeyError::BadName`].
fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return Some(format!("{c:?} is not one of them"));
    }
    (name.len() > 64).then(|| format!("the name has {} characters", name.len()))
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Create a key and its audit record in one transaction.
pub fn create(
    store: &Store,
    name: &str,
    role: Role,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<NewKey, KeyError> {
    if let Some(problem) = name_problem(name) {
        return Err(KeyError::BadName(problem));
    }
    let mut rng = rand::rngs::OsRng;
    let mut id_bytes = [0u8; ID_BYTES];
    rng.fill_bytes(&mut id_bytes);
    let mut secret_bytes = Zeroizing::new([0u8; SECRET_BYTES]);
    rng.fill_bytes(secret_bytes.as_mut());
    let id = hex::encode(id_bytes);
    let secret = Zeroizing::new(URL_SAFE_NO_PAD.encode(secret_bytes.as_ref()));
    let stored = StoredKey {
        id: id.clone(),
        name: name.to_string(),
        role,
        hash: hex::encode(digest(&secret)),
        created_at: now,
        revoked_at: None,
        last_used_at: None,
    };
    let txn = store.begin_write()?;
    if let Some(active) = active_by_name(&txn, name)? {
        return Err(KeyError::NameTaken {
            name: name.to_string(),
            role: active.role,
        });
    }
    txn.open_table(tables::API_KEYS)?
        .insert(id.as_str(), stored.encode()?.as_slice())?;
    append_in(
        &txn,
        now,
        [
            AuditEvent::new(actor, EventKind::ApiKeyCreated, Outcome::Ok)
                .detail(format!("name={name} role={role} id={id}")),
        ],
    )?;
    let committed = txn.commit();
    store.keys_changed();
    committed?;
    Ok(NewKey {
        info: stored.info(),
        plaintext: Zeroizing::new(format!("{PREFIX}{id}_{}", secret.as_str())),
    })
}

/// Whether revoking may leave no active admin key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastAdmin {
    /// Over the API: the last admin key is what manages keys there, so it is kept.
    Keep,
    /// On the host (`callvault key revoke`), where `key create` needs no key.
    MayGo,
}

/// Revoke the active key with this name (kept, marked revoked, for the record).
pub fn revoke(
    store: &Store,
    name: &str,
    actor: &str,
    now: DateTime<Utc>,
    last_admin: LastAdmin,
) -> Result<KeyInfo, KeyError> {
    let txn = store.begin_write()?;
    let active = active_keys(&txn)?;
    let Some(mut key) = active.iter().find(|k| k.name == name).cloned() else {
        let meant = crate::spelling::nearest(name, active.iter().map(|k| k.name.as_str()));
        return Err(KeyError::NoSuchKey {
            name: name.into(),
            meant: meant.map(str::to_string),
        });
    };
    let admins = active.iter().filter(|k| k.role == Role::Admin).count();
    if last_admin == LastAdmin::Keep && key.role == Role::Admin && admins == 1 {
        return Err(KeyError::LastAdmin { name: name.into() });
    }
    key.revoked_at = Some(now);
    txn.open_table(tables::API_KEYS)?
        .insert(key.id.as_str(), key.encode()?.as_slice())?;
    append_in(
        &txn,
        now,
        [
            AuditEvent::new(actor, EventKind::ApiKeyRevoked, Outcome::Ok)
                .detail(format!("name={name} role={} id={}", key.role, key.id)),
        ],
    )?;
    let committed = txn.commit();
    store.keys_changed();
    committed?;
    Ok(key.info())
}

fn active_by_name(txn: &WriteTransaction, name: &str) -> Result<Option<StoredKey>, KeyError> {
    Ok(active_keys(txn)?.into_iter().find(|k| k.name == name))
}

/// The active keys, in the table's order.
fn active_keys(txn: &WriteTransaction) -> Result<Vec<StoredKey>, KeyError> {
    let table = txn.open_table(tables::API_KEYS)?;
    let mut active = Vec::new();
    for entry in table.iter()? {
        let (_, v) = entry?;
        let key = StoredKey::decode(v.value())
            .map_err(|e| StoreError::Corrupt(format!("api key: {e}")))?;
        if key.revoked_at.is_none() {
            active.push(key);
        }
    }
    Ok(active)
}

/// Every key, active and revoked, oldest first.
pub fn list(txn: &ReadTransaction) -> Result<Vec<KeyInfo>, KeyError> {
    let table = txn.open_table(tables::API_KEYS)?;
    let mut keys = Vec::new();
    for entry in table.iter()? {
        let (_, v) = entry?;
        let key = StoredKey::decode(v.value())
            .map_err(|e| StoreError::Corrupt(format!("api key: {e}")))?;
        keys.push(key.info());
    }
    keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
    Ok(keys)
}

/// Whether any active admin key exists (so `init` does not mint a second one).
pub fn has_active_admin(txn: &ReadTransaction) -> Result<bool, KeyError> {
    Ok(list(txn)?
        .iter()
        .any(|k| k.role == Role::Admin && k.revoked_at.is_none()))
}

/// The public id of a presented key, if it has the right shape; safe to log.
pub fn public_id(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (id, _) = rest.split_once('_')?;
    (id.len() == ID_BYTES * 2 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// The API keys, held in memory for checking the key every request presents, so that a
/// check reads no table and decodes no record. The store counts changes to its keys table
/// ([`Store::keys_generation`]: [`create`] and [`revoke`] note theirs once their commit has
/// ended, and a reopened file counts as one), and a check that finds the count moved reads
/// the table again first. A revoked key is therefore refused by every check that begins after
/// the revocation's commit, as it was when each check read the table.
#[derive(Default)]
pub struct KeyRing {
    held: ArcSwapOption<Held>,
}

/// The keys table as of one generation, by public id.
struct Held {
    generation: u64,
    keys: HashMap<String, Result<HeldKey, String>>,
}

/// A stored key with its digest decoded; `Err` holds why its record could not be read.
struct HeldKey {
    digest: [u8; 32],
    client: Client,
    revoked: bool,
    used: Arc<Use>,
}

/// When a key was last used, in seconds since the epoch (0: not since the service started),
/// and how much of that is written down. Carried from one generation of the held keys to
/// the next, so a key created or revoked meanwhile loses no other key's use.
#[derive(Default)]
struct Use {
    seen: AtomicI64,
    written: AtomicI64,
}

impl Use {
    /// A request authenticated with the key at `at` (seconds). A load, and a store at most
    /// once a second per key: every request of a busy IVR key passes here.
    fn saw(&self, at: i64) {
        if self.seen.load(Ordering::Relaxed) < at {
            self.seen.fetch_max(at, Ordering::Relaxed);
        }
    }
}

impl KeyRing {
    pub fn new() -> KeyRing {
        KeyRing::default()
    }

    /// Check a presented key, at `now`. Constant-time on the secret's digest. A key that
    /// passes is noted as used at `now` (written down by [`KeyRing::write_use`]).
    pub fn authenticate(
        &self,
        store: &Store,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Client, AuthError> {
        let id = public_id(presented).ok_or(AuthError::Rejected(Rejection::Malformed))?;
        let secret = &presented[PREFIX.len() + id.len() + 1..];
        let held = self.current(store)?;
        let key = match held.keys.get(id) {
            Some(Ok(key)) => key,
            Some(Err(why)) => {
                return Err(StoreError::Corrupt(format!("api key {id}: {why}")).into());
            }
            None => return Err(AuthError::Rejected(Rejection::Unknown)),
        };
        if !bool::from(digest(secret).as_slice().ct_eq(key.digest.as_slice())) {
            return Err(AuthError::Rejected(Rejection::Unknown));
        }
        if key.revoked {
            return Err(AuthError::Rejected(Rejection::Revoked));
        }
        key.used.saw(now.timestamp());
        Ok(key.client.clone())
    }

    /// Write down, in one transaction, when each key used since the last time was last
    /// used: the service does it once a minute, before it lists keys, and as it stops. A
    /// record keeps the later of its own time and the one seen (a store restored from an
    /// older copy). A key whose record has gone (a restore) or cannot be read is passed
    /// over. Says how many records were written; with none to write, no transaction.
    pub fn write_use(&self, store: &Store) -> Result<usize, KeyError> {
        let Some(held) = self.held.load_full() else {
            return Ok(0);
        };
        let due: Vec<(&str, &Use, i64)> = held
            .keys
            .iter()
            .filter_map(|(id, key)| {
                let used = &key.as_ref().ok()?.used;
                let seen = used.seen.load(Ordering::Relaxed);
                (seen > used.written.load(Ordering::Relaxed)).then_some((
                    id.as_str(),
                    &**used,
                    seen,
                ))
            })
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let txn = store.begin_write()?;
        let mut written = 0;
        {
            let mut table = txn.open_table(tables::API_KEYS)?;
            for (id, _, seen) in &due {
                let Some(at) = DateTime::from_timestamp(*seen, 0) else {
                    continue;
                };
                let stored = match table.get(*id)? {
                    Some(value) => StoredKey::decode(value.value()).ok(),
                    None => None,
                };
                let Some(mut stored) = stored else { continue };
                if stored.last_used_at.is_some_and(|t| t >= at) {
                    continue;
                }
                stored.last_used_at = Some(at);
                table.insert(*id, stored.encode()?.as_slice())?;
                written += 1;
            }
        }
        txn.commit()?;
        for (_, used, seen) in due {
            used.written.fetch_max(seen, Ordering::Relaxed);
        }
        Ok(written)
    }

    /// [`KeyRing::write_use`], a failure logged: the uses stay noted, for the next time.
    pub fn write_use_or_log(&self, store: &Store) {
        if let Err(e) = self.write_use(store) {
            tracing::warn!(error = %e, "writing down when API keys were last used");
        }
    }

    /// The keys as the store holds them now.
    fn current(&self, store: &Store) -> Result<Arc<Held>, StoreError> {
        // read before the table: a change committed meanwhile leaves the count ahead of what
        // is held, and the next check reads the table again
        let generation = store.keys_generation();
        if let Some(held) = self.held.load_full()
            && held.generation == generation
        {
            return Ok(held);
        }
        let before = self.held.load_full();
        let txn = store.begin_read()?;
        let table = txn.open_table(tables::API_KEYS)?;
        let mut keys = HashMap::new();
        for entry in table.iter()? {
            let (id, value) = entry?;
            let id = id.value().to_string();
            let used = before
                .as_ref()
                .and_then(|b| b.keys.get(&id)?.as_ref().ok())
                .map(|k| k.used.clone())
                .unwrap_or_default();
            keys.insert(id, held_key(value.value(), used));
        }
        let held = Arc::new(Held { generation, keys });
        self.held.store(Some(held.clone()));
        Ok(held)
    }
}

fn held_key(bytes: &[u8], used: Arc<Use>) -> Result<HeldKey, String> {
    let stored = StoredKey::decode(bytes).map_err(|e| e.to_string())?;
    let digest = hex::decode(&stored.hash)
        .ok()
        .and_then(|d| <[u8; 32]>::try_from(d).ok())
        .ok_or("hash is not 32 bytes of hex")?;
    Ok(HeldKey {
        digest,
        used,
        revoked: stored.revoked_at.is_some(),
        client: Client {
            id: stored.id,
            name: stored.name,
            role: stored.role,
            via: Credential::Key,
            agent: None,
        },
    })
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{}", .0.as_str())]
    Rejected(Rejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Pull the key out of a request's headers: `Authorization: Bearer`, `X-Api-Key`, or HTTP
/// Basic. Basic carries the key as its password (any user name) or, the way Stripe's and
/// Twilio's keys are sent (`curl -u KEY:`), as its user name with no password. A key pasted
/// with the quotes it had in a JSON or TOML file is read without them.
pub fn from_headers<'a>(
    authorization: Option<&'a str>,
    x_api_key: Option<&'a str>,
) -> Result<Zeroizing<String>, Rejection> {
    if let Some(key) = x_api_key {
        return Ok(bare(key));
    }
    let Some(auth) = authorization else {
        return Err(Rejection::Missing);
    };
    let (scheme, rest) = auth.trim().split_once(' ').ok_or(Rejection::Malformed)?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(bare(rest));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .map_err(|_| Rejection::Malformed)?,
        );
        let text = std::str::from_utf8(&decoded).map_err(|_| Rejection::Malformed)?;
        let (user, password) = text.split_once(':').ok_or(Rejection::Malformed)?;
        return Ok(bare(if password.is_empty() { user } else { password }));
    }
    Err(Rejection::Malformed)
}

/// A presented key without the blanks around it, or the one pair of quotes around it
/// (`"cvk_..."`): no key holds a blank or a quote.
fn bare(key: &str) -> Zeroizing<String> {
    let key = key.trim();
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|q| key.strip_prefix(*q)?.strip_suffix(*q));
    Zeroizing::new(unquoted.unwrap_or(key).trim().to_string())
}

#[cfg(test)]
mod tests;
