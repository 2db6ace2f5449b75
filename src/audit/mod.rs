//! The tamper-evident audit log: append-only records in the store, each carrying the SHA-256
//! of the record before it. Records are appended inside a write transaction by
//! [`append_in`] (so an action and its audit record commit together), usually through the
//! group committer in [`AuditLog`], which lets many concurrent requests share one fsync.
//!
//! Nothing secret is ever written here: events carry names, ids and outcomes, never a PIN,
//! a code, an SSN or an API key (only a key's public id).

pub mod anchor;
mod committer;
pub mod prune;

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use anchor::{Anchor, AnchorReport};
pub use committer::{AuditError, AuditLog};

use crate::store::{StoreError, tables};

/// `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The audit head (last sequence number and hash) in the meta table, so a truncated tail
/// is detected too.
const HEAD_KEY: &str = "audit_head";
/// Once older records are pruned (`audit prune`), the last pruned record's sequence number
/// and hash, in the meta table: the chain continues from it.
const BASE_KEY: &str = "audit_base";

/// What happened.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ServiceStarted,
    ServiceStopped,
    ConfigReloaded,
    ConfigReloadRefused,
    /// A request came without a usable API key, with a wrong one, or a revoked one.
    AuthFailed,
    /// A valid key was used on an endpoint its role may not call.
    AuthForbidden,
    ApiKeyCreated,
    ApiKeyRevoked,
    DbBackup,
    DbRestored,
    /// The store file's free space was given back to the disk (`db compact`).
    DbCompacted,
    /// Records older than a date, kept in an export, were removed (`audit prune`).
    AuditPruned,
    /// An `audit prune` that takes more than one transaction began removing records (its
    /// first slice); the detail names every record it is to remove. An `audit_pruned` event
    /// follows, or a failed one that says how far it got; neither means it was cut short
    /// (the records from the first named up to the chain's base are gone).
    AuditPruneStarted,
    AuditExported,
    /// A pre-enrollment file was applied (or dry-run); the detail carries its counts.
    EnrollmentRun,
    /// A pre-enrollment file was refused whole (not UTF-8, no header, ...).
    EnrollmentFailed,
    /// Files older than `enroll.keep_days` were removed from `processed/`, `failed/` and
    /// `outbox/`; the detail carries the counts per folder.
    EnrollmentFilesRemoved,
    /// Members an enrollment deleted were forgotten: their PIN records, wrong-answer
    /// counters and last verdicts. The detail carries the counts.
    MembersForgotten,
    /// A PIN import began writing (its first slice of rows). A `pins_imported` event
    /// follows with the counts, or a failed one; neither means the import was interrupted.
    PinsImportStarted,
    /// PINs were imported from a core (`callvault pins import`); the detail carries counts.
    PinsImported,
    /// The vault's records were sealed again under a new key.
    VaultKeyRotated,
    /// PIN records sealed under a key that is lost for good were removed
    /// (`callvault vault forget-key`); the detail carries the key id and the count.
    VaultKeyForgotten,
    /// A member's PIN lockout was cleared by an agent or admin.
    MemberUnlocked,
    /// An agent or admin asked a member to choose a new PIN (with the member), or an admin
    /// asked many (`pins force-change`: no member; the detail says whom and the counts).
    PinChangeForced,
    /// A member set a new PIN (activation or a change).
    PinSet,
    /// A keyed PIN was checked (pass or fail; never the digits).
    PinChecked,
    /// A member's wrong PINs (or wrong answers) reached the lockout threshold.
    MemberLocked,
    /// An IVR started a call; the detail says the profile and whether there was a caller ID.
    CallStarted,
    /// The call's member was found (by caller id, keyed identifier or app intent).
    CallIdentified,
    /// A keyed identifier found no one (or no input came).
    IdentificationFailed,
    /// A verification method was answered (pass or fail; never the digits).
    MethodChecked,
    CallAuthenticated,
    /// The dialog sent the caller to an agent; the detail is the reason.
    CallTransferred,
    /// The IVR reported the hang-up.
    CallEnded,
    /// A call without input for the configured time was closed.
    CallExpired,
    /// A correct PIN sent the member through activation (seed 003).
    ActivationStarted,
    /// A correct PIN sent the member through a forced PIN change.
    PinChangeStarted,
    /// A new PIN was refused by the policy or its confirmation.
    PinRefused,
    /// An agent opened the checklist; one event per expected answer shown.
    AnswerRevealed,
    /// An agent ticked a checklist question.
    ChecklistAnswered,
    /// An agent's verdict marked the call and the member Verified / Not Verified.
    MemberVerified,
    /// The app back end announced a call.
    IntentCreated,
    /// A call used an app intent.
    IntentUsed,
    /// A challenge went out (channel, masked destination, any fallback; never the code).
    ChallengeSent,
    /// A challenge could not be sent (the channel's error; nothing was stored).
    ChallengeFailed,
    /// A code was checked against a challenge (right / wrong; never the digits).
    ChallengeChecked,
    /// The app answered a push (approve / deny).
    ChallengePushResponse,
    /// A challenge was decided: approved, denied (by the app, the agent or wrong codes) or
    /// expired.
    ChallengeDecided,
}

/// How it ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Denied,
    Failed,
}

/// One event to record. `detail` is free text and must never hold a secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEvent {
    /// `key:NAME` for an API client, `cli` / `cli(uid=N)` for the command line, `system`.
    pub actor: String,
    pub kind: EventKind,
    pub call_id: Option<String>,
    pub member_id: Option<String>,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(actor: impl Into<String>, kind: EventKind, outcome: Outcome) -> Self {
        AuditEvent {
            actor: actor.into(),
            kind,
            call_id: None,
            member_id: None,
            outcome,
            detail: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn call(mut self, call_id: impl Into<String>) -> Self {
        self.call_id = Some(call_id.into());
        self
    }

    pub fn member(mut self, member_id: impl Into<String>) -> Self {
        self.member_id = Some(member_id.into());
        self
    }
}

/// A stored record: the event, its place in the chain, and the chain hashes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: u64,
    /// RFC 3339, UTC, microseconds. Kept as the exact string that was hashed.
    pub time: String,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// `time` as [`record_time`] writes it.
    #[cfg(test)]
    fn seal(seq: u64, time: String, event: AuditEvent, prev_hash: String) -> Self {
        let mut record = AuditRecord {
            seq,
            time,
            event,
            prev_hash,
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        record
    }

    /// What sealing a record (the tests' `AuditRecord::seal`) and encoding it give, the
    /// stored JSON and the hash, with the event written to JSON once instead of twice. The
    /// hash's input nests the event's JSON under `"event"` ([`chain_hash`]); the stored
    /// record has the event's fields flat (`#[serde(flatten)]`), so its bytes are that same
    /// JSON without its braces, between the record's own fields. Byte for byte what serde
    /// writes for the record (a test compares them over many events): the committer, which
    /// every IVR step waits for, encoded each event twice, once with serde's slower
    /// flattening.
    fn seal_encoded(
        seq: u64,
        time: &str,
        event: &AuditEvent,
        prev_hash: &str,
    ) -> serde_json::Result<(Vec<u8>, String)> {
        let event = serde_json::to_vec(event)?;
        let fields = event
            .strip_prefix(b"{")
            .and_then(|e| e.strip_suffix(b"}"))
            .filter(|f| !f.is_empty())
            .ok_or_else(|| serde::ser::Error::custom("an audit event is a non-empty object"))?;
        let head = record_head(seq, time)?;
        let prev = serde_json::to_string(prev_hash)?;
        let hash = chain_hash(&head, &event, &prev);
        let mut stored = Vec::with_capacity(head.len() + fields.len() + prev.len() + 90);
        stored.extend_from_slice(head.as_bytes());
        stored.extend_from_slice(fields);
        stored.extend_from_slice(b",\"prev_hash\":");
        stored.extend_from_slice(prev.as_bytes());
        stored.extend_from_slice(b",\"hash\":\"");
        stored.extend_from_slice(hash.as_bytes());
        stored.extend_from_slice(b"\"}");
        Ok((stored, hash))
    }

    /// SHA-256 over the canonical JSON of the record without its hash ([`chain_hash`]).
    pub fn compute_hash(&self) -> String {
        // Serializing plain structs of strings and enums to JSON cannot fail.
        let head = record_head(self.seq, &self.time).unwrap_or_default();
        let event = serde_json::to_vec(&self.event).unwrap_or_default();
        let prev = serde_json::to_string(&self.prev_hash).unwrap_or_default();
        chain_hash(&head, &event, &prev)
    }

    pub fn time(&self) -> Option<DateTime<Utc>> {
        read_time(&self.time)
    }
}

/// A stored record as the chain's checks read it: its place, time, member and call, and its
/// hashes, whatever event it holds. A record written by a later version (a kind or a field
/// this version does not know, as after a rollback) reads the same, and its hash is
/// computed from its stored bytes ([`Framed::computed_hash`]), so it verifies, exports and
/// prunes as any other.
#[derive(Deserialize)]
pub(crate) struct Framed {
    pub seq: u64,
    pub time: String,
    #[serde(default)]
    pub member_id: Option<String>,
    #[serde(default)]
    pub call_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl Framed {
    pub fn decode(bytes: &[u8]) -> serde_json::Result<Framed> {
        serde_json::from_slice(bytes)
    }

    pub fn time(&self) -> Option<DateTime<Utc>> {
        read_time(&self.time)
    }

    /// The chain's hash of the record stored as `bytes`. A record is stored as its head, its
    /// event's fields, then `prev_hash` and `hash` ([`AuditRecord::seal_encoded`]), so the
    /// event's JSON is the bytes between: hashed as they are, the event need not be
    /// understood. Bytes laid out otherwise are read as an [`AuditRecord`] and hashed from
    /// it, as before; `None` when they do not read as one either.
    pub fn computed_hash(&self, bytes: &[u8]) -> Option<String> {
        let head = record_head(self.seq, &self.time).ok()?;
        let prev = serde_json::to_string(&self.prev_hash).ok()?;
        let tail = format!(
            ",\"prev_hash\":{prev},\"hash\":{}}}",
            serde_json::to_string(&self.hash).ok()?
        );
        let fields = bytes
            .strip_prefix(head.as_bytes())
            .and_then(|rest| rest.strip_suffix(tail.as_bytes()))
            .filter(|fields| !fields.is_empty());
        match fields {
            Some(fields) => {
                let mut event = Vec::with_capacity(fields.len() + 2);
                event.push(b'{');
                event.extend_from_slice(fields);
                event.push(b'}');
                Some(chain_hash(&head, &event, &prev))
            }
            None => serde_json::from_slice::<AuditRecord>(bytes)
                .ok()
                .map(|r| r.compute_hash()),
        }
    }
}

/// A record's first two fields as JSON, with the comma after them: `{"seq":7,"time":"...",`.
fn record_head(seq: u64, time: &str) -> serde_json::Result<String> {
    Ok(format!(
        "{{\"seq\":{seq},\"time\":{},",
        serde_json::to_string(time)?
    ))
}

/// The chain's hash of a record: SHA-256, in hex, of its canonical JSON without the hash,
/// `{"seq":..,"time":..,"event":{..},"prev_hash":".."}` (compact, fields in that order, the
/// event nested), from the record's head ([`record_head`]), the event's JSON and the previous
/// hash as a JSON string. This is the format every stored chain was hashed in; a test holds
/// it to serde's encoding of those four fields.
fn chain_hash(head: &str, event_json: &[u8], prev_json: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(head.as_bytes());
    hasher.update(b"\"event\":");
    hasher.update(event_json);
    hasher.update(b",\"prev_hash\":");
    hasher.update(prev_json.as_bytes());
    hasher.update(b"}");
    hex::encode(hasher.finalize())
}

/// A stored record's time, if it reads as one.
fn read_time(stored: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(stored)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A record's time as it is stored and hashed.
fn record_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[derive(Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

/// The head, or the base, stored under `key` in the meta table.
fn read_mark(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<Head>, StoreError> {
    let value = meta.get(key)?;
    value
        .map(|v| {
            serde_json::from_slice::<Head>(v.value())
                .map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))
        })
        .transpose()
}

/// The one field of the newest record an append needs: its hash. Read alone, so that a
/// record of a kind this version does not know (one a newer version wrote before it was
/// rolled back) does not stop every later audit write, and every call with it.
#[derive(Deserialize)]
struct Sealed {
    hash: String,
    #[serde(default)]
    time: String,
}

/// `callvault_clock_went_back_total`.
pub const CLOCK_WENT_BACK: &str = "callvault_clock_went_back_total";

/// How far before the previous record's time (`previous`, as stored) a record made `now`
/// would be dated, when the clock [`went back`](crate::clock::went_back) since it.
pub fn went_back(previous: &str, now: DateTime<Utc>) -> Option<chrono::Duration> {
    crate::clock::went_back(read_time(previous)?, now)
}

/// Append events inside `txn`, continuing the chain from the last stored record.
/// Returns the sequence number of the last event appended.
pub fn append_in(
    txn: &WriteTransaction,
    now: DateTime<Utc>,
    events: impl IntoIterator<Item = AuditEvent>,
) -> Result<u64, StoreError> {
    let mut table = txn.open_table(tables::AUDIT)?;
    let (mut seq, mut prev) = match table.last()? {
        Some((k, v)) => {
            let record: Sealed = serde_json::from_slice(v.value())
                .map_err(|e| StoreError::Corrupt(format!("audit record {}: {e}", k.value())))?;
            if let Some(behind) = went_back(&record.time, now) {
                clock_went_back(k.value(), &record.time, now, behind);
            }
            (k.value(), record.hash)
        }
        // a new store (`audit prune` always keeps the newest record)
        None => (0, GENESIS_HASH.to_string()),
    };
    let time = record_time(now);
    for event in events {
        seq += 1;
        let (bytes, hash) = AuditRecord::seal_encoded(seq, &time, &event, &prev)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode audit record: {e}")))?;
        table.insert(seq, bytes.as_slice())?;
        prev = hash;
    }
    let head = serde_json::to_vec(&Head {
        seq,
        hash: prev.clone(),
    })
    .map_err(|e| StoreError::Corrupt(format!("cannot encode audit head: {e}")))?;
    txn.open_table(tables::META)?
        .insert(HEAD_KEY, head.as_slice())?;
    Ok(seq)
}

/// Say that the records about to follow record `seq` (dated `previous`) are dated `behind`
/// before it: counted, and logged at most every ten minutes. Records keep their order by
/// number whatever their times say, but whoever reads the log by time must know, and the
/// clock's source wants looking at.
fn clock_went_back(seq: u64, previous: &str, now: DateTime<Utc>, behind: chrono::Duration) {
    static LOGGED: crate::throttle::Throttle =
        crate::throttle::Throttle::new(std::time::Duration::from_secs(600));
    metrics::counter!(CLOCK_WENT_BACK).increment(1);
    crate::throttled!(
        warn,
        LOGGED,
        record = seq + 1,
        behind_ms = behind.num_milliseconds(),
        "the system clock went back: audit record {} is dated {}, {} s before record {seq} \
         ({previous}). The records keep their order by number, but their times no longer \
         follow it; check the clock's source (timedatectl; chronyc tracking)",
        seq + 1,
        record_time(now),
        behind.num_milliseconds() as f64 / 1000.0
    );
}

/// What `audit verify` found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    /// The first sequence number at which the chain does not hold, and why.
    pub first_bad: Option<BadRecord>,
    /// Records dated more than a second before the record before them: the system clock
    /// went back there. The chain holds regardless (its order is by number), but whoever
    /// reads the log by time must know. Counted over the records read.
    #[serde(default)]
    pub clock_went_back: u64,
    /// The first such record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_went_back: Option<WentBack>,
}

/// A record dated before the one before it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WentBack {
    pub seq: u64,
    /// How far before the previous record's time, in milliseconds.
    pub behind_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BadRecord {
    pub seq: u64,
    pub reason: String,
}

/// Walk the whole chain, from its first record or, once older ones were pruned, from the
/// base they left. Detects a modified record (hash), a deleted one (gap or broken link), a
/// reordered one (sequence number not matching its place) and a cut tail (head).
pub fn verify(txn: &ReadTransaction) -> Result<VerifyReport, StoreError> {
    verify_with(txn, &crate::enroll::progress::Silent)
}

/// How many records [`verify_with`] walks between two words to its progress.
const VERIFY_TOLD_EVERY: u64 = 16_384;

/// [`verify`], telling `progress` how far it is (phase `verifying`, in records): a log of
/// millions of records takes a while.
pub fn verify_with(
    txn: &ReadTransaction,
    progress: &dyn crate::enroll::Progress,
) -> Result<VerifyReport, StoreError> {
    let table = txn.open_table(tables::AUDIT)?;
    let meta = txn.open_table(tables::META)?;
    progress.phase("verifying", redb::ReadableTableMetadata::len(&table)?);
    let (mut expected, mut prev) = match read_mark(&meta, BASE_KEY)? {
        Some(base) => (base.seq + 1, base.hash),
        None => (1u64, GENESIS_HASH.to_string()),
    };
    let mut records = 0u64;
    let mut clock_went_back = 0u64;
    let mut first_went_back: Option<WentBack> = None;
    let mut last_time: Option<DateTime<Utc>> = None;
    let bad = |seq: u64, reason: &str| VerifyReport {
        records: 0,
        first_bad: Some(BadRecord {
            seq,
            reason: reason.to_string(),
        }),
        clock_went_back: 0,
        first_went_back: None,
    };
    for entry in table.iter()? {
        let (k, v) = entry?;
        let key = k.value();
        records += 1;
        if records.is_multiple_of(VERIFY_TOLD_EVERY) {
            progress.advance_to(records);
            progress.go_on()?;
        }
        let finish = |mut report: VerifyReport| {
            report.records = records;
            report.clock_went_back = clock_went_back;
            report.first_went_back = first_went_back.clone();
            Ok(report)
        };
        if key != expected {
            return finish(bad(expected, "record missing (sequence gap)"));
        }
        let bytes = v.value();
        let record = match Framed::decode(bytes) {
            Ok(r) => r,
            Err(_) => return finish(bad(key, "record does not decode")),
        };
        if record.seq != key {
            return finish(bad(key, "record is out of place (reordered)"));
        }
        if record.prev_hash != prev {
            return finish(bad(key, "chain broken: previous-hash does not match"));
        }
        if record.computed_hash(bytes).as_deref() != Some(record.hash.as_str()) {
            return finish(bad(
                key,
                "record modified: hash does not match its contents",
            ));
        }
        let time = record.time();
        if let (Some(previous), Some(at)) = (last_time, time)
            && let Some(behind) = crate::clock::went_back(previous, at)
        {
            clock_went_back += 1;
            first_went_back.get_or_insert(WentBack {
                seq: key,
                behind_ms: behind.num_milliseconds(),
            });
        }
        last_time = time.or(last_time);
        prev = record.hash;
        expected += 1;
    }
    let head = read_mark(&meta, HEAD_KEY)?;
    let last = expected - 1;
    let first_bad = match head {
        Some(h) if h.seq > last => Some(BadRecord {
            seq: last + 1,
            reason: format!("records {}..={} missing from the end", last + 1, h.seq),
        }),
        Some(h) if h.seq == last && h.hash != prev => Some(BadRecord {
            seq: last,
            reason: "last record does not match the recorded head".to_string(),
        }),
        None if last > 0 => Some(BadRecord {
            seq: last,
            reason: "no audit head recorded".to_string(),
        }),
        _ => None,
    };
    Ok(VerifyReport {
        records,
        first_bad,
        clock_went_back,
        first_went_back,
    })
}

/// Write records at or after `since` as JSON lines. Returns how many were written.
pub fn export(
    txn: &ReadTransaction,
    since: Option<DateTime<Utc>>,
    out: &mut dyn Write,
) -> Result<u64, StoreError> {
    let select = Selection {
        since,
        ..Selection::default()
    };
    export_selected(txn, &select, out)
}

/// Which records an export writes: every one, unless a field narrows it. Each field set must
/// hold of a record for it to be written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Records at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Records before this time.
    pub until: Option<DateTime<Utc>>,
    /// Records with a sequence number above this one: an export that goes on from the last
    /// record of an earlier one, with nothing twice and nothing missed (a time can be shared
    /// by many records; a sequence number cannot).
    pub after: Option<u64>,
    /// Records about this member.
    pub member_id: Option<String>,
    /// Records of this call.
    pub call_id: Option<String>,
}

impl Selection {
    /// Whether only some records of those after `after` are written, so each must be read.
    fn reads_records(&self) -> bool {
        self.since.is_some()
            || self.until.is_some()
            || self.member_id.is_some()
            || self.call_id.is_some()
    }

    fn takes(&self, record: &Framed) -> bool {
        let time = record.time();
        let is =
            |wanted: &Option<String>, found: &Option<String>| wanted.is_none() || wanted == found;
        self.since
            .is_none_or(|since| time.is_none_or(|t| t >= since))
            && self
                .until
                .is_none_or(|until| time.is_none_or(|t| t < until))
            && is(&self.member_id, &record.member_id)
            && is(&self.call_id, &record.call_id)
    }

    /// The selection in words, for the export's own audit record: `since START` and each
    /// narrowing besides.
    pub fn describe(&self) -> String {
        let mut words = format!(
            "since {}",
            self.since
                .map(|s| s.to_rfc3339())
                .unwrap_or_else(|| "start".into())
        );
        if let Some(until) = self.until {
            words.push_str(&format!(", until {}", until.to_rfc3339()));
        }
        if let Some(seq) = self.after {
            words.push_str(&format!(", after record {seq}"));
        }
        if let Some(member) = &self.member_id {
            words.push_str(&format!(", of member {member}"));
        }
        if let Some(call) = &self.call_id {
            words.push_str(&format!(", of call {call}"));
        }
        words
    }
}

/// Write the records `select` takes as JSON lines, in sequence order. Returns how many were
/// written.
pub fn export_selected(
    txn: &ReadTransaction,
    select: &Selection,
    out: &mut dyn Write,
) -> Result<u64, StoreError> {
    let mut written = 0;
    export_counted(
        txn,
        select,
        out,
        &crate::enroll::progress::Silent,
        &mut written,
    )?;
    Ok(written)
}

/// [`export_selected`], telling `progress` how far it is (phase `exporting`, in records
/// read) every [`VERIFY_TOLD_EVERY`] records and asking it then whether to go on
/// ([`Progress::go_on`](crate::enroll::Progress::go_on)), and counting the records written
/// in `written` as it goes: an export that fails or is stopped has still handed out the
/// records written before, and its audit record says how many.
pub fn export_counted(
    txn: &ReadTransaction,
    select: &Selection,
    out: &mut dyn Write,
    progress: &dyn crate::enroll::Progress,
    written: &mut u64,
) -> Result<(), StoreError> {
    let table = txn.open_table(tables::AUDIT)?;
    let mut read = 0u64;
    let first = match select.after {
        Some(seq) => match seq.checked_add(1) {
            Some(next) => next,
            None => return Ok(()),
        },
        None => 0,
    };
    // the records to read: those after `after`, the first being the log's first or later
    let from = match table.first()? {
        Some((seq, _)) => first.max(seq.value()),
        None => first,
    };
    let last = table.last()?.map_or(0, |(seq, _)| seq.value());
    progress.phase("exporting", (last + 1).saturating_sub(from));
    for entry in table.range(first..)? {
        let (seq, v) = entry?;
        read += 1;
        if read.is_multiple_of(VERIFY_TOLD_EVERY) {
            progress.advance_to(read);
            progress.go_on()?;
        }
        let bytes = v.value();
        if select.reads_records() {
            let record = Framed::decode(bytes).map_err(|e| {
                StoreError::Corrupt(format!(
                    "audit record {} cannot be read ({e}): `callvault audit verify` says more; \
                     an export without --since, --until, --member or --call copies it as stored",
                    seq.value()
                ))
            })?;
            if !select.takes(&record) {
                continue;
            }
        }
        let io = |e| StoreError::Io {
            action: "cannot write the export to",
            path: "output".into(),
            error: e,
        };
        out.write_all(bytes).map_err(io)?;
        out.write_all(b"\n").map_err(io)?;
        *written += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
