//! The PIN vault. Each member's PIN is kept as a sealed record (`seal.rs`): in `hashed` mode
//! a bcrypt hash of the PIN, in `encrypted` mode the PIN itself, either way sealed with
//! XChaCha20-Poly1305 under the master key from the key file, bound to the member id.
//! bcrypt runs on a bounded pool (`pool.rs`), never on the async workers. Wrong PINs count
//! against the member across every call (`crate::lockout`), persisted in the store.

pub mod force;
pub mod import;
pub mod keyfile;
pub mod lost;
pub mod pool;
pub mod rotate;
pub mod seal;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chrono::{DateTime, TimeZone, Utc};
use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub use keyfile::{KEY_BYTES, KeyFileError, KeyId, MasterKey, create_key_file, load_key_file};
use pool::{HashPool, PoolError};
use seal::{Header, Keyring, SealError, SecretKind};

use crate::config::{Config, PinPolicyConfig, VaultMode};
use crate::lockout::{self, Counter};
use crate::member::Member;
use crate::pin::{self, Rejection, StoredPin};
use crate::store::{Store, StoreError, tables};

/// The attempts-table kind of wrong PINs.
pub const PIN_ATTEMPTS: &str = "pin";

/// The attempts-table kind of wrong keypad answers (the dialog's questions), counted per
/// member across calls like wrong PINs, and cleared with them by an unlock.
pub const ANSWER_ATTEMPTS: &str = "answers";

/// The attempts-table kind that marks a forced PIN change for a member whose PIN the core
/// holds (`[core.rest.pin]`): the vault has no record whose flag could say it. It stands
/// only while the vault holds no record for the member; the PIN the member then sets (or
/// the core's PIN `keep` seals, flagged) takes it. An empty value.
pub const FORCE_CHANGE_MARK: &str = "force_pin_change";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error("the new PIN is refused: {0}")]
    Rejected(Rejection),
    #[error("member {0:?} has no PIN in the vault")]
    NoPin(String),
    #[error("bcrypt: {0}")]
    Hash(String),
    #[error("{0}")]
    Rotation(String),
}

crate::store::redb_errors_via_store!(VaultError);

/// What a PIN check and a PIN change need from the config, taken once per request.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: VaultMode,
    pub bcrypt_cost: u32,
    pub lockout: lockout::Policy,
    /// The lockout from keypad questions (`lockout.max_wrong_answers`).
    pub answer_lockout: lockout::Policy,
    pub policy: PinPolicyConfig,
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            mode: config.vault.mode,
            bcrypt_cost: config.vault.bcrypt_cost,
            lockout: lockout::Policy::pins(&config.lockout),
            answer_lockout: lockout::Policy::answers(&config.lockout),
            policy: config.pin_policy.clone(),
        }
    }
}

/// The answer to "is this the member's PIN?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    Correct {
        stored: StoredPin,
    },
    /// `tries_left: 0` means this wrong PIN locked the member.
    Wrong {
        tries_left: u32,
    },
    /// Locked before the PIN was looked at: nothing was compared.
    Locked {
        until: Option<DateTime<Utc>>,
    },
    NoPin,
}

/// Where a member stands with the vault, for agents and `member show` (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PinStatus {
    pub has_pin: bool,
    pub set_at: Option<DateTime<Utc>>,
    pub established: bool,
    pub force_change: bool,
    /// `bcrypt`, or `sealed` (encrypted mode, or imported and waiting for its hash); in
    /// `member show`, `core` when the vault holds none and the core checks PINs
    /// (`[core.rest.pin]`: the core may hold one; not when it said it holds none,
    /// `fields.has_pin`).
    pub storage: Option<String>,
    pub wrong_pins: u32,
    pub locked: bool,
    /// `null` while locked means until someone unlocks.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Where a member stands with keypad questions (`lockout.max_wrong_answers`), for `member
/// show`: wrong answers count across calls as wrong PINs do, and lock the member out of
/// questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerStatus {
    pub wrong_answers: u32,
    pub locked: bool,
    /// `null` while locked means until someone unlocks.
    pub locked_until: Option<DateTime<Utc>>,
}

/// What an unlock cleared: a run of wrong PINs, of wrong keypad answers, or both (either
/// may have locked the member).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleared {
    pub pins: bool,
    pub answers: bool,
}

impl Cleared {
    pub fn any(self) -> bool {
        self.pins || self.answers
    }

    /// The audit detail and the CLI's words.
    pub fn describe(self) -> &'static str {
        match (self.pins, self.answers) {
            (true, true) => "wrong-PIN and wrong-answer counts cleared",
            (true, false) => "wrong-PIN count cleared",
            (false, true) => "wrong-answer count cleared",
            (false, false) => "nothing to clear",
        }
    }
}

/// The whole vault at a glance (`callvault vault status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultStatus {
    pub mode: VaultMode,
    pub bcrypt_cost: u32,
    pub key_file: PathBuf,
    pub current_key_id: String,
    /// Keys that still open records: more than one while a rotation is unfinished.
    pub loaded_key_ids: Vec<String>,
    pub records: u64,
    /// Records by the key that sealed them.
    pub by_key: Vec<(String, u64)>,
    pub bcrypt_records: u64,
    /// Records holding a sealed PIN: encrypted mode, or imported PINs waiting for bcrypt.
    pub sealed_pin_records: u64,
    /// Members locked by wrong PINs.
    pub locked_members: u64,
    /// Members locked out of keypad questions by wrong answers.
    #[serde(default)]
    pub locked_for_questions: u64,
    pub rotation_pending: bool,
    /// Records of members who are not enrolled (embedded core only): members deleted
    /// before enrollment forgot their PINs, or rejected and removed by a row (a fraud
    /// flag), who keep theirs. `callvault member forget ID` forgets one.
    #[serde(default)]
    pub not_enrolled: Option<u64>,
    /// Members asked to choose a new PIN after their next correct one who have not yet:
    /// records flagged, and marks for PINs the core holds (`member force-pin-change`,
    /// `pins force-change`).
    #[serde(default)]
    pub force_change_pending: u64,
}

fn time(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

/// Count one check in the member's wrong-PIN run, in `txn`; the run after it.
fn count_in(
    txn: &redb::WriteTransaction,
    member_id: &str,
    correct: bool,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Counter, VaultError> {
    let mut attempts = txn.open_table(tables::ATTEMPTS)?;
    // read inside the write: another path may have moved it since a read
    let counter = read_counter(&attempts, member_id, PIN_ATTEMPTS)?;
    let after = match correct {
        true => counter.correct(),
        false => counter.wrong(&settings.lockout, now),
    };
    write_counter(&mut attempts, member_id, PIN_ATTEMPTS, after)?;
    Ok(after)
}

/// What a counted check says: right, or wrong with the tries left (0: it locked the member).
fn counted(
    correct: bool,
    stored: StoredPin,
    after: Counter,
    settings: &Settings,
    now: DateTime<Utc>,
) -> PinCheck {
    if correct {
        return PinCheck::Correct { stored };
    }
    match after.state(&settings.lockout, now) {
        lockout::State::Open { tries_left } => PinCheck::Wrong { tries_left },
        lockout::State::Locked { .. } => PinCheck::Wrong { tries_left: 0 },
    }
}

fn stored_pin(h: &Header) -> StoredPin {
    StoredPin {
        established: h.established,
        set_at: time(h.set_at),
        flagged: h.flagged,
    }
}

/// The associated data a call's sealed PINs are bound to (never a member id: a `call:`
/// prefix cannot be one).
fn call_context(call_id: &str) -> String {
    format!("call:{call_id}")
}

/// The path of the key a rotation is moving to, beside the key file.
pub fn next_key_path(key_file: &Path) -> PathBuf {
    let mut s = key_file.as_os_str().to_owned();
    s.push(".next");
    PathBuf::from(s)
}

pub(crate) fn read_counter(
    table: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    member_id: &str,
    kind: &str,
) -> Result<Counter, StoreError> {
    Ok(table
        .get((member_id, kind))?
        .and_then(|v| postcard::from_bytes(v.value()).ok())
        .unwrap_or_default())
}

/// Whether a forced PIN change is marked for the member ([`FORCE_CHANGE_MARK`]).
fn force_change_marked(
    attempts: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    member_id: &str,
) -> Result<bool, StoreError> {
    Ok(attempts.get((member_id, FORCE_CHANGE_MARK))?.is_some())
}

pub(crate) fn write_counter(
    table: &mut redb::Table<(&'static str, &'static str), &'static [u8]>,
    member_id: &str,
    kind: &str,
    counter: Counter,
) -> Result<(), StoreError> {
    if counter.is_clear() {
        table.remove((member_id, kind))?;
    } else {
        let bytes = postcard::to_allocvec(&counter)
            .map_err(|e| StoreError::Corrupt(format!("attempt counter: {e}")))?;
        table.insert((member_id, kind), bytes.as_slice())?;
    }
    Ok(())
}

/// Whether `member_id` has a wrong-answer counter of any kind in `attempts`.
pub(crate) fn has_counters(
    attempts: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    member_id: &str,
) -> Result<bool, StoreError> {
    let past = counters_end(member_id);
    let mut counters = attempts.range((member_id, "")..(past.as_str(), ""))?;
    Ok(counters.next().transpose()?.is_some())
}

/// The first member id after `member_id` in key order (`id\0`): the counters of one member
/// are the keys from `(id, "")` up to `(counters_end(id), "")`.
fn counters_end(member_id: &str) -> String {
    format!("{member_id}\0")
}

/// Forget members callvault no longer holds (enrollment deleted them, or an admin forgot
/// one), in the caller's transaction: each one's PIN record and every wrong-answer counter
/// of theirs, so a member id that comes back, or is given to someone else, starts without
/// a PIN. Returns how many PIN records there were.
pub(crate) fn forget_members<'a>(
    txn: &redb::WriteTransaction,
    member_ids: impl IntoIterator<Item = &'a str>,
) -> Result<u64, StoreError> {
    let mut pins = txn.open_table(tables::PINS)?;
    let mut attempts = txn.open_table(tables::ATTEMPTS)?;
    let mut had_pins = 0u64;
    for id in member_ids {
        had_pins += u64::from(pins.remove(id)?.is_some());
        let past = counters_end(id);
        attempts.retain_in((id, "")..(past.as_str(), ""), |_, _| false)?;
    }
    Ok(had_pins)
}

/// How many PIN records belong to no enrolled member (see [`VaultStatus::not_enrolled`]).
pub fn pins_not_enrolled(store: &Store) -> Result<u64, StoreError> {
    let txn = store.begin_read()?;
    let pins = txn.open_table(tables::PINS)?;
    let members = txn.open_table(tables::LIVE_MEMBERS.members)?;
    let mut n = 0;
    for entry in pins.iter()? {
        let (id, _) = entry?;
        n += u64::from(members.get(id.value())?.is_none());
    }
    Ok(n)
}

/// A stored code MAC (`KEYID:HEX`) as the key id and the MAC's bytes; `None` when it is
/// not that shape.
fn split_code_mac(stored: &str) -> Option<([u8; 4], Vec<u8>)> {
    let (id_hex, mac_hex) = stored.split_once(':')?;
    let id = <[u8; 4]>::try_from(hex::decode(id_hex).ok()?.as_slice()).ok()?;
    Some((id, hex::decode(mac_hex).ok()?))
}

const STRIPES: usize = 256;

fn code_message(challenge_id: &str, code: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(challenge_id.len() + 1 + code.len());
    m.extend_from_slice(challenge_id.as_bytes());
    m.push(0);
    m.extend_from_slice(code.as_bytes());
    m
}

pub struct Vault {
    store: Arc<Store>,
    keyring: ArcSwap<Keyring>,
    pool: HashPool,
    key_file: PathBuf,
    /// PIN checks and changes of one member run one at a time, so parallel guesses cannot
    /// outrun the lockout counter.
    stripes: Box<[Mutex<()>]>,
    /// One rotation at a time.
    rotation: Mutex<()>,
    /// Held shared by whoever seals a record, from loading the keyring until the record is
    /// committed; held exclusively by the end of a rotation. So no record sealed under the
    /// old key can be committed after the rotation's last look (see `rotate`).
    sealing: std::sync::RwLock<()>,
}

impl Vault {
    /// Open the vault: load the key file (refusing loose permissions) and, when a rotation
    /// was interrupted, the key it was moving to.
    pub fn open(store: Arc<Store>, key_file: &Path, threads: usize) -> Result<Vault, VaultError> {
        let current = load_key_file(key_file)?;
        let next_path = next_key_path(key_file);
        let mut ring = Keyring::new(current);
        if next_path.exists() {
            let next = load_key_file(&next_path)?;
            tracing::warn!(
                next = %next.key_id(),
                "an unfinished key rotation was found; run `callvault vault rotate-key` to finish it"
            );
            ring = ring.rotated_to(Arc::new(next));
        }
        Ok(Vault {
            store,
            keyring: ArcSwap::from_pointee(ring),
            pool: HashPool::new(threads)?,
            key_file: key_file.to_path_buf(),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            rotation: Mutex::new(()),
            sealing: std::sync::RwLock::new(()),
        })
    }

    /// The keys that open records: the current one, and the one before while a rotation is
    /// unfinished.
    pub fn keyring_ids(&self) -> Vec<keyfile::KeyId> {
        self.keyring.load().key_ids()
    }

    pub fn key_id(&self) -> String {
        self.keyring.load().current().key_id()
    }

    pub fn pool(&self) -> &HashPool {
        &self.pool
    }

    /// Run `work` with the vault on the bcrypt pool, never on an async worker.
    async fn on_pool<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
    ) -> Result<T, VaultError> {
        let vault = self.clone();
        self.pool.run(move || work(&vault)).await?
    }

    /// The shared hold of a writer that seals (see `sealing`).
    pub(crate) fn sealing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.sealing
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn stripe(&self, member_id: &str) -> std::sync::MutexGuard<'_, ()> {
        let h = member_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let m = &self.stripes[(h % STRIPES as u64) as usize];
        m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Check a keyed PIN on the pool.
    pub async fn check_pin(
        self: &Arc<Self>,
        member_id: String,
        pin: Zeroizing<String>,
        settings: Settings,
        now: DateTime<Utc>,
    ) -> Result<PinCheck, VaultError> {
        self.on_pool(move |v| v.check_pin_now(&member_id, &pin, &settings, now))
            .await
    }

    /// Check a keyed PIN on this thread (the pool's, or a test's).
    pub fn check_pin_now(
        &self,
        member_id: &str,
        pin: &str,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<PinCheck, VaultError> {
        let _one_at_a_time = self.stripe(member_id);
        let (counter, record) = {
            let txn = self.store.begin_read()?;
            let attempts = txn.open_table(tables::ATTEMPTS)?;
            let counter = read_counter(&attempts, member_id, PIN_ATTEMPTS)?;
            let pins = txn.open_table(tables::PINS)?;
            let record = pins.get(member_id)?.map(|v| v.value().to_vec());
            (counter, record)
        };
        if let lockout::State::Locked { until } = counter.state(&settings.lockout, now) {
            return Ok(PinCheck::Locked { until });
        }
        let Some(record) = record else {
            return Ok(PinCheck::NoPin);
        };
        let ring = self.keyring.load_full();
        let opened = ring.open(member_id, &record)?;
        let correct = match opened.header.kind {
            SecretKind::Bcrypt => {
                let hash =
                    std::str::from_utf8(&opened.secret).map_err(|_| SealError::Malformed {
                        member: member_id.to_string(),
                        why: "bcrypt hash is not text".into(),
                    })?;
                bcrypt::verify(pin, hash).map_err(|e| VaultError::Hash(e.to_string()))?
            }
            SecretKind::Pin => bool::from(opened.secret.as_slice().ct_eq(pin.as_bytes())),
        };
        // A sealed PIN waiting for its hash gets it at its first correct use.
        let upgraded = if correct
            && opened.header.kind == SecretKind::Pin
            && settings.mode == VaultMode::Hashed
        {
            let hash = Zeroizing::new(
                bcrypt::hash(pin, settings.bcrypt_cost)
                    .map_err(|e| VaultError::Hash(e.to_string()))?,
            );
            let header = Header {
                kind: SecretKind::Bcrypt,
                ..opened.header
            };
            let sealing = self.sealing();
            let sealed = self
                .keyring
                .load()
                .seal(member_id, header, hash.as_bytes())?;
            Some((sealed, sealing))
        } else {
            None
        };
        // The usual correct check changes nothing: no write, no fsync.
        if correct && upgraded.is_none() && counter.is_clear() {
            return Ok(PinCheck::Correct {
                stored: stored_pin(&opened.header),
            });
        }
        let txn = self.store.begin_write()?;
        let after = count_in(&txn, member_id, correct, settings, now)?;
        if let Some((sealed, _sealing)) = &upgraded {
            let mut pins = txn.open_table(tables::PINS)?;
            let unchanged = pins.get(member_id)?.is_some_and(|v| v.value() == record);
            if unchanged {
                pins.insert(member_id, sealed.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(counted(
            correct,
            stored_pin(&opened.header),
            after,
            settings,
            now,
        ))
    }

    /// Count a PIN the core checked ([`crate::core::CoreAdapter::check_pin`]: the vault
    /// holds none for the member) in the member's wrong-PIN run, as
    /// [`Vault::check_pin`] counts its own: a right one clears the run, a wrong one adds to
    /// it and may lock the member. The caller checked the lock first (`check_pin` said
    /// `NoPin`, which it says only of a member not locked). A right PIN is the member's own
    /// (established) and, as callvault knows no date it was set, is taken as set `now`: the
    /// age scenario of `[pin_change]` does not apply to it.
    pub async fn count_core_check(
        self: &Arc<Self>,
        member_id: String,
        correct: bool,
        settings: Settings,
        now: DateTime<Utc>,
    ) -> Result<PinCheck, VaultError> {
        self.on_pool(move |v| v.count_core_check_now(&member_id, correct, &settings, now))
            .await
    }

    fn count_core_check_now(
        &self,
        member_id: &str,
        correct: bool,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<PinCheck, VaultError> {
        let _one_at_a_time = self.stripe(member_id);
        let txn = self.store.begin_write()?;
        let stored = StoredPin {
            established: true,
            set_at: now,
            flagged: force_change_marked(&txn.open_table(tables::ATTEMPTS)?, member_id)?,
        };
        let after = count_in(&txn, member_id, correct, settings, now)?;
        txn.commit()?;
        Ok(counted(correct, stored, after, settings, now))
    }

    /// Set a member's new PIN: the policy, then the confirmation, then bcrypt on the pool.
    /// `current` is the PIN being replaced when the caller just keyed it.
    pub async fn set_pin(
        self: &Arc<Self>,
        member: Member,
        new_pin: Zeroizing<String>,
        confirm: Zeroizing<String>,
        current: Option<Zeroizing<String>>,
        settings: Settings,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        pin::check_new_pin(
            &settings.policy,
            &new_pin,
            &member,
            current.as_ref().map(|c| c.as_str()),
        )
        .map_err(VaultError::Rejected)?;
        if !bool::from(new_pin.as_bytes().ct_eq(confirm.as_bytes())) {
            return Err(VaultError::Rejected(Rejection::ConfirmMismatch));
        }
        self.on_pool(move |v| v.store_pin_now(&member.member_id, &new_pin, true, &settings, now))
            .await
    }

    /// Seal `pin` as the member's PIN on this thread (no policy: callers apply it). Clears
    /// the flag and the wrong-PIN run.
    pub fn store_pin_now(
        &self,
        member_id: &str,
        pin: &str,
        established: bool,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        self.store_pin_if(member_id, pin, established, settings, now, true)
            .map(|_| ())
    }

    /// Seal a PIN the core found right (`[core.rest.pin]` with `keep`) as the member's own
    /// (established), so that the vault checks it from then on; unless the vault holds one
    /// by now (a PIN set by another call meanwhile stays). A forced change marked for the
    /// member ([`FORCE_CHANGE_MARK`]) becomes the record's flag. Whether it was kept.
    pub async fn keep_core_pin(
        self: &Arc<Self>,
        member_id: String,
        pin: Zeroizing<String>,
        settings: Settings,
        now: DateTime<Utc>,
    ) -> Result<bool, VaultError> {
        self.on_pool(move |v| v.store_pin_if(&member_id, &pin, true, &settings, now, false))
            .await
    }

    /// [`Vault::store_pin_now`]; with `replace` false, only when the member has no PIN
    /// record, and flagged when a forced change is marked for them. Whether it stored the
    /// PIN. The mark goes either way: the record says it from then on.
    fn store_pin_if(
        &self,
        member_id: &str,
        pin: &str,
        established: bool,
        settings: &Settings,
        now: DateTime<Utc>,
        replace: bool,
    ) -> Result<bool, VaultError> {
        let (kind, secret) = match settings.mode {
            VaultMode::Hashed => (
                SecretKind::Bcrypt,
                Zeroizing::new(
                    bcrypt::hash(pin, settings.bcrypt_cost)
                        .map_err(|e| VaultError::Hash(e.to_string()))?
                        .into_bytes(),
                ),
            ),
            VaultMode::Encrypted => (SecretKind::Pin, Zeroizing::new(pin.as_bytes().to_vec())),
        };
        let _one_at_a_time = self.stripe(member_id);
        // a PIN the member chose answers a forced change; one kept from the core does not
        let flagged = !replace && {
            let txn = self.store.begin_read()?;
            force_change_marked(&txn.open_table(tables::ATTEMPTS)?, member_id)?
        };
        let header = Header {
            key_id: [0; 4],
            kind,
            set_at: now.timestamp(),
            established,
            flagged,
        };
        let _sealing = self.sealing();
        let sealed = self.keyring.load().seal(member_id, header, &secret)?;
        let txn = self.store.begin_write()?;
        {
            let mut pins = txn.open_table(tables::PINS)?;
            if !replace && pins.get(member_id)?.is_some() {
                return Ok(false);
            }
            pins.insert(member_id, sealed.as_slice())?;
            let mut attempts = txn.open_table(tables::ATTEMPTS)?;
            attempts.remove((member_id, PIN_ATTEMPTS))?;
            attempts.remove((member_id, FORCE_CHANGE_MARK))?;
        }
        txn.commit()?;
        Ok(true)
    }

    /// Whether the member has a PIN in the vault (no secret is opened).
    pub fn has_pin(&self, member_id: &str) -> Result<bool, VaultError> {
        let txn = self.store.begin_read()?;
        Ok(txn.open_table(tables::PINS)?.get(member_id)?.is_some())
    }

    /// Seal a PIN a call holds between steps (the PIN being replaced, a new PIN waiting for
    /// its confirmation) under the vault key, bound to that call: the call record never
    /// holds one in the clear.
    pub fn seal_for_call(&self, call_id: &str, pin: &str) -> Result<Vec<u8>, VaultError> {
        let header = Header {
            key_id: [0; 4],
            kind: SecretKind::Pin,
            set_at: 0,
            established: false,
            flagged: false,
        };
        Ok(self
            .keyring
            .load()
            .seal(&call_context(call_id), header, pin.as_bytes())?)
    }

    /// [`Vault::open_for_call`], or `None` when the key it was sealed under has been rotated
    /// away since (a call's sealed PIN is not sealed again by a rotation: it lives minutes).
    pub fn open_for_call_if_kept(
        &self,
        call_id: &str,
        sealed: &[u8],
    ) -> Result<Option<Zeroizing<String>>, VaultError> {
        match self.open_for_call(call_id, sealed) {
            Ok(pin) => Ok(Some(pin)),
            Err(VaultError::Seal(SealError::UnknownKey { .. })) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Open what [`Vault::seal_for_call`] sealed for the same call.
    pub fn open_for_call(
        &self,
        call_id: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<String>, VaultError> {
        let opened = self.keyring.load().open(&call_context(call_id), sealed)?;
        let text = std::str::from_utf8(&opened.secret).map_err(|_| SealError::Malformed {
            member: call_context(call_id),
            why: "sealed PIN is not text".into(),
        })?;
        Ok(Zeroizing::new(text.to_string()))
    }

    /// A one-time code's MAC, bound to its challenge, under a key derived from the vault
    /// key: `KEYID:HEX`. The store alone cannot test guesses against it.
    pub fn code_mac(&self, challenge_id: &str, code: &str) -> Result<String, VaultError> {
        let ring = self.keyring.load();
        let id = ring.current_id();
        let mac = ring
            .mac(id, "otp", &code_message(challenge_id, code))
            .ok_or_else(|| VaultError::Rotation("the current vault key is not loaded".into()))?;
        Ok(format!("{}:{}", hex::encode(id), hex::encode(mac)))
    }

    /// Whether the master key `stored` (a [`Vault::code_mac`]) was made under is still loaded.
    /// Not once a key rotation has finished: no code can be checked against such a MAC any
    /// more, and its challenge is over (not a wrong code).
    pub fn code_key_loaded(&self, stored: &str) -> bool {
        split_code_mac(stored).is_some_and(|(id, _)| self.keyring.load().key_ids().contains(&id))
    }

    /// Whether `code` is the one [`Vault::code_mac`] made `stored` from, compared in constant
    /// time. A MAC under a key no longer loaded matches nothing.
    pub fn code_matches(&self, challenge_id: &str, code: &str, stored: &str) -> bool {
        use subtle::ConstantTimeEq;
        let Some((id, want)) = split_code_mac(stored) else {
            return false;
        };
        match self
            .keyring
            .load()
            .mac(id, "otp", &code_message(challenge_id, code))
        {
            Some(got) => bool::from(got.as_slice().ct_eq(want.as_slice())),
            None => false,
        }
    }

    /// Clear a member's runs of wrong PINs and of wrong keypad answers, and so the lock
    /// either put on them. Returns which there were.
    pub fn unlock(&self, member_id: &str) -> Result<Cleared, VaultError> {
        let txn = self.store.begin_write()?;
        let cleared = {
            let mut attempts = txn.open_table(tables::ATTEMPTS)?;
            let pins = attempts.remove((member_id, PIN_ATTEMPTS))?.is_some();
            let answers = attempts.remove((member_id, ANSWER_ATTEMPTS))?.is_some();
            Cleared { pins, answers }
        };
        txn.commit()?;
        Ok(cleared)
    }

    /// Ask the member to choose a new PIN after their next correct one: the flag of their
    /// record, or, when the vault holds none and `core_holds` (the core checks PINs,
    /// `[core.rest.pin]`), a [`FORCE_CHANGE_MARK`] that the next PIN the core finds right
    /// carries. `NoPin` otherwise.
    pub fn flag_force_change(&self, member_id: &str, core_holds: bool) -> Result<(), VaultError> {
        let _one_at_a_time = self.stripe(member_id);
        let _sealing = self.sealing();
        let ring = self.keyring.load();
        let txn = self.store.begin_write()?;
        {
            let mut pins = txn.open_table(tables::PINS)?;
            let resealed = match pins.get(member_id)? {
                Some(v) => Some(ring.reseal(member_id, v.value(), |h| h.flagged = true)?),
                None if core_holds => None,
                None => return Err(VaultError::NoPin(member_id.to_string())),
            };
            match resealed {
                Some(record) => {
                    pins.insert(member_id, record.as_slice())?;
                }
                None => {
                    txn.open_table(tables::ATTEMPTS)?
                        .insert((member_id, FORCE_CHANGE_MARK), [].as_slice())?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// A member's standing, without any secret.
    pub fn pin_status(
        &self,
        member_id: &str,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<PinStatus, VaultError> {
        let txn = self.store.begin_read()?;
        let counter = read_counter(&txn.open_table(tables::ATTEMPTS)?, member_id, PIN_ATTEMPTS)?;
        let header = match txn.open_table(tables::PINS)?.get(member_id)? {
            Some(v) => Some(self.keyring.load().open(member_id, v.value())?.header),
            None => None,
        };
        let force_change = match header {
            Some(h) => h.flagged,
            None => force_change_marked(&txn.open_table(tables::ATTEMPTS)?, member_id)?,
        };
        let standing = counter.standing(&settings.lockout, now);
        Ok(PinStatus {
            has_pin: header.is_some(),
            set_at: header.map(|h| time(h.set_at)),
            established: header.is_some_and(|h| h.established),
            force_change,
            storage: header.map(|h| match h.kind {
                SecretKind::Bcrypt => "bcrypt".to_string(),
                SecretKind::Pin => "sealed".to_string(),
            }),
            wrong_pins: standing.wrong,
            locked: standing.locked,
            locked_until: standing.locked_until,
        })
    }

    /// A member's standing with keypad questions.
    pub fn answer_status(
        &self,
        member_id: &str,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<AnswerStatus, VaultError> {
        let txn = self.store.begin_read()?;
        let counter = read_counter(
            &txn.open_table(tables::ATTEMPTS)?,
            member_id,
            ANSWER_ATTEMPTS,
        )?;
        let standing = counter.standing(&settings.answer_lockout, now);
        Ok(AnswerStatus {
            wrong_answers: standing.wrong,
            locked: standing.locked,
            locked_until: standing.locked_until,
        })
    }

    /// Counts over the whole vault (headers only: nothing is decrypted).
    pub fn status(
        &self,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<VaultStatus, VaultError> {
        let ring = self.keyring.load();
        let txn = self.store.begin_read()?;
        let pins = txn.open_table(tables::PINS)?;
        let mut by_key: Vec<(String, u64)> = Vec::new();
        let (mut bcrypt, mut sealed, mut force_change_pending) = (0, 0, 0);
        for entry in pins.iter()? {
            let (k, v) = entry?;
            let header = seal::peek(k.value(), v.value())?;
            force_change_pending += u64::from(header.flagged);
            match header.kind {
                SecretKind::Bcrypt => bcrypt += 1,
                SecretKind::Pin => sealed += 1,
            }
            let id = hex::encode(header.key_id);
            match by_key.iter_mut().find(|(k, _)| *k == id) {
                Some((_, n)) => *n += 1,
                None => by_key.push((id, 1)),
            }
        }
        let attempts = txn.open_table(tables::ATTEMPTS)?;
        let (mut locked, mut locked_for_questions) = (0, 0);
        for entry in attempts.iter()? {
            let (k, v) = entry?;
            let (member_id, kind) = k.value();
            // a mark stands only while the vault holds no record of the member
            if kind == FORCE_CHANGE_MARK && pins.get(member_id)?.is_none() {
                force_change_pending += 1;
            }
            let (policy, count) = match kind {
                PIN_ATTEMPTS => (&settings.lockout, &mut locked),
                ANSWER_ATTEMPTS => (&settings.answer_lockout, &mut locked_for_questions),
                _ => continue,
            };
            if let Ok(c) = postcard::from_bytes::<Counter>(v.value())
                && c.standing(policy, now).locked
            {
                *count += 1;
            }
        }
        Ok(VaultStatus {
            mode: settings.mode,
            bcrypt_cost: settings.bcrypt_cost,
            key_file: self.key_file.clone(),
            current_key_id: ring.current().key_id(),
            loaded_key_ids: ring.key_ids().into_iter().map(hex::encode).collect(),
            records: pins.len()?,
            by_key,
            bcrypt_records: bcrypt,
            sealed_pin_records: sealed,
            locked_members: locked,
            locked_for_questions,
            rotation_pending: next_key_path(&self.key_file).exists(),
            not_enrolled: None,
            force_change_pending,
        })
    }

    /// Give up to `limit` sealed PINs after `after` (a member id) their bcrypt hash, in
    /// hashed mode, one pool job at a time and only while the pool is otherwise idle, so
    /// live PIN checks never wait for it. Returns how many were upgraded and where to go on
    /// from (`None`: the end was reached).
    pub async fn upgrade_sealed(
        self: &Arc<Self>,
        after: Option<String>,
        limit: usize,
        settings: &Settings,
    ) -> Result<(usize, Option<String>), VaultError> {
        if settings.mode != VaultMode::Hashed {
            return Ok((0, None));
        }
        let (waiting, cursor) = {
            let txn = self.store.begin_read()?;
            let pins = txn.open_table(tables::PINS)?;
            let range = match after.as_deref() {
                Some(a) => {
                    pins.range::<&str>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))?
                }
                None => pins.range::<&str>(..)?,
            };
            let mut ids = Vec::new();
            let mut cursor = None;
            for entry in range {
                let (k, v) = entry?;
                if seal::peek(k.value(), v.value())?.kind == SecretKind::Pin {
                    ids.push(k.value().to_string());
                    if ids.len() >= limit {
                        cursor = Some(k.value().to_string());
                        break;
                    }
                }
            }
            (ids, cursor)
        };
        let mut done = 0;
        for member_id in waiting {
            while self.pool.busy() > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let vault = self.clone();
            let cost = settings.bcrypt_cost;
            if self
                .pool
                .run(move || vault.upgrade_one(&member_id, cost))
                .await??
            {
                done += 1;
            }
        }
        Ok((done, cursor))
    }

    fn upgrade_one(&self, member_id: &str, cost: u32) -> Result<bool, VaultError> {
        let _one_at_a_time = self.stripe(member_id);
        let ring = self.keyring.load();
        let record = {
            let txn = self.store.begin_read()?;
            let pins = txn.open_table(tables::PINS)?;
            pins.get(member_id)?.map(|v| v.value().to_vec())
        };
        let Some(record) = record else {
            return Ok(false);
        };
        let opened = ring.open(member_id, &record)?;
        if opened.header.kind != SecretKind::Pin {
            return Ok(false);
        }
        let pin = std::str::from_utf8(&opened.secret).map_err(|_| SealError::Malformed {
            member: member_id.to_string(),
            why: "sealed PIN is not text".into(),
        })?;
        let hash =
            Zeroizing::new(bcrypt::hash(pin, cost).map_err(|e| VaultError::Hash(e.to_string()))?);
        let _sealing = self.sealing();
        let sealed = self.keyring.load().seal(
            member_id,
            Header {
                kind: SecretKind::Bcrypt,
                ..opened.header
            },
            hash.as_bytes(),
        )?;
        let txn = self.store.begin_write()?;
        {
            let mut pins = txn.open_table(tables::PINS)?;
            let unchanged = pins.get(member_id)?.is_some_and(|v| v.value() == record);
            if !unchanged {
                return Ok(false);
            }
            pins.insert(member_id, sealed.as_slice())?;
        }
        txn.commit()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
