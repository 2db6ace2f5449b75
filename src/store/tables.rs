//! Every table of the redb file, in one place. A new table is added here and to
//! [`copy_all`], so that backups carry it (a test checks that no table is left out).

use redb::{
    ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};

use super::StoreError;

/// Small records about the file itself: `schema_version`, `created_at`, the audit head.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new(META_NAME);
const META_NAME: &str = "meta";
/// API keys by key id; the value is a JSON [`crate::keys::StoredKey`] (hash only, never the key).
pub const API_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new(API_KEYS_NAME);
const API_KEYS_NAME: &str = "api_keys";
/// The hash-chained audit log by sequence number; the value is a JSON [`crate::audit::AuditRecord`].
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new(AUDIT_NAME);
const AUDIT_NAME: &str = "audit";

/// Enrolled members by member id; the value is an encoded [`crate::member::MemberRecord`]
/// (a format byte, then postcard).
pub const MEMBERS: TableDefinition<&str, &[u8]> = TableDefinition::new(MEMBERS_NAME);
const MEMBERS_NAME: &str = "members";
/// The phone index: which members claim a number (mobile or other phone; lookups skip the
/// numbers a member has had withdrawn). Bucketed: the key is the number less its last two
/// digits, the value that bucket's entries (see [`bucket_merge`]). A lookup is one read; a
/// million-member load writes tens of thousands of buckets instead of millions of keys,
/// which matters because each redb insert costs in proportion to its leaf's entries.
pub const PHONE_INDEX: TableDefinition<&str, &str> = TableDefinition::new(PHONE_INDEX_NAME);
const PHONE_INDEX_NAME: &str = "phone_index";
/// The account index, bucketed the same way.
pub const ACCOUNT_INDEX: TableDefinition<&str, &str> = TableDefinition::new(ACCOUNT_INDEX_NAME);
const ACCOUNT_INDEX_NAME: &str = "account_index";

/// The member tables an enrollment writes: the live ones that lookups read, or the staging
/// copy a run that changes many rows builds in short transactions and swaps in whole at its
/// end (`crate::enroll::staged`). Staging tables exist only while such a run is under way
/// (or after one that crashed, until the next run or start-up drops them); they are in no
/// backup.
#[derive(Clone, Copy)]
pub struct MemberTables {
    pub members: TableDefinition<'static, &'static str, &'static [u8]>,
    pub phones: TableDefinition<'static, &'static str, &'static str>,
    pub accounts: TableDefinition<'static, &'static str, &'static str>,
}

pub const LIVE_MEMBERS: MemberTables = MemberTables {
    members: MEMBERS,
    phones: PHONE_INDEX,
    accounts: ACCOUNT_INDEX,
};
pub const STAGED_MEMBERS: MemberTables = MemberTables {
    members: TableDefinition::new("staged_members"),
    phones: TableDefinition::new("staged_phone_index"),
    accounts: TableDefinition::new("staged_account_index"),
};

/// The PIN vault by member id; the value is a sealed record (see `crate::vault::seal`):
/// never a PIN in the clear.
pub const PINS: TableDefinition<&str, &[u8]> = TableDefinition::new(PINS_NAME);
const PINS_NAME: &str = "pins";
/// Wrong-answer counters by (member id, kind: `pin`, ...); the value is a postcard
/// [`crate::lockout::Counter`]. Shared by every call, agent and channel.
pub const ATTEMPTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new(ATTEMPTS_NAME);
const ATTEMPTS_NAME: &str = "attempts";

/// Calls by their number, given in the order they started; the value is a JSON
/// [`crate::dialog::Call`] (no digits: a PIN being changed is sealed to the call by the
/// vault). Not keyed by the IVR's call id: IVR platforms send random ids (UUIDs), which
/// would put each new call on a different B-tree leaf (BENCHMARKS.md, "Calls in the order
/// they start"). [`CALL_IDS`] says which number a call id has.
pub const CALLS: TableDefinition<u64, &[u8]> = TableDefinition::new(CALLS_NAME);
const CALLS_NAME: &str = "call_rows";
/// Each stored call's number -> (the IVR's call id, its caller ID in E.164 or ""): small rows
/// read whole when the service starts, for its in-memory index of calls
/// ([`crate::calls::CallService`]).
pub const CALL_IDS: TableDefinition<u64, (&str, &str)> = TableDefinition::new(CALL_IDS_NAME);
const CALL_IDS_NAME: &str = "call_ids";
/// App intents by the SHA-256 (hex) of their token; the value is a JSON
/// [`crate::calls::Intent`]. Single use: a call that uses one removes it.
pub const INTENTS: TableDefinition<&str, &[u8]> = TableDefinition::new(INTENTS_NAME);
const INTENTS_NAME: &str = "intents";
/// The latest intent per announced phone (E.164) -> its token hash.
pub const INTENT_PHONES: TableDefinition<&str, &str> = TableDefinition::new(INTENT_PHONES_NAME);
const INTENT_PHONES_NAME: &str = "intent_phones";
/// Each member's last verification verdict (IVR or agent); JSON
/// [`crate::calls::Verification`].
pub const VERIFICATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new(VERIFICATIONS_NAME);
const VERIFICATIONS_NAME: &str = "verifications";
/// Challenges (one-time codes, push approvals) by id; JSON [`crate::challenge::Challenge`]
/// (the code only as a MAC under the vault key).
pub const CHALLENGES: TableDefinition<&str, &[u8]> = TableDefinition::new(CHALLENGES_NAME);
const CHALLENGES_NAME: &str = "challenges";
/// Each call's challenges: (the IVR's call id, challenge id), for the agent's screen pop
/// (`GET /v1/calls/{call_id}`). Written with the challenge, removed with it.
pub const CALL_CHALLENGES: TableDefinition<(&str, &str), ()> =
    TableDefinition::new(CALL_CHALLENGES_NAME);
const CALL_CHALLENGES_NAME: &str = "call_challenges";
/// Challenges sent to each member in the last hour, across calls; JSON
/// [`crate::challenge::Sends`].
pub const CHALLENGE_SENDS: TableDefinition<&str, &[u8]> =
    TableDefinition::new(CHALLENGE_SENDS_NAME);
const CHALLENGE_SENDS_NAME: &str = "challenge_sends";

/// The names of every table, for checks and backups.
pub const ALL: [&str; 16] = [
    META_NAME,
    API_KEYS_NAME,
    AUDIT_NAME,
    MEMBERS_NAME,
    PHONE_INDEX_NAME,
    ACCOUNT_INDEX_NAME,
    PINS_NAME,
    ATTEMPTS_NAME,
    CALLS_NAME,
    CALL_IDS_NAME,
    INTENTS_NAME,
    INTENT_PHONES_NAME,
    VERIFICATIONS_NAME,
    CHALLENGES_NAME,
    CALL_CHALLENGES_NAME,
    CHALLENGE_SENDS_NAME,
];

/// Create any table that does not exist yet, so read transactions never miss one.
pub fn create_all(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(META)?;
    txn.open_table(API_KEYS)?;
    txn.open_table(AUDIT)?;
    txn.open_table(MEMBERS)?;
    txn.open_table(PHONE_INDEX)?;
    txn.open_table(ACCOUNT_INDEX)?;
    txn.open_table(PINS)?;
    txn.open_table(ATTEMPTS)?;
    txn.open_table(CALLS)?;
    txn.open_table(CALL_IDS)?;
    txn.open_table(INTENTS)?;
    txn.open_table(INTENT_PHONES)?;
    txn.open_table(VERIFICATIONS)?;
    txn.open_table(CHALLENGES)?;
    txn.open_table(CALL_CHALLENGES)?;
    txn.open_table(CHALLENGE_SENDS)?;
    Ok(())
}

/// Drop an enrollment's staging tables (see [`MemberTables`]); returns whether there were any.
pub fn drop_staging(txn: &WriteTransaction) -> Result<bool, StoreError> {
    let mut dropped = false;
    dropped |= txn.delete_table(STAGED_MEMBERS.members)?;
    dropped |= txn.delete_table(STAGED_MEMBERS.phones)?;
    dropped |= txn.delete_table(STAGED_MEMBERS.accounts)?;
    Ok(dropped)
}

/// How many rows [`copy_all`] copies between two words to its progress.
const COPY_TELLS_EVERY: u64 = 16_384;

/// Copy every table from one snapshot (`src`) into another file's write transaction
/// (`dst`): how many rows. `progress` is told how far the copy is (phase `backing up`, in
/// rows) every [`COPY_TELLS_EVERY`] rows, and asked then whether to go on
/// ([`Progress::go_on`](crate::enroll::Progress::go_on)).
pub fn copy_all(
    src: &ReadTransaction,
    dst: &WriteTransaction,
    progress: &dyn crate::enroll::Progress,
) -> Result<u64, StoreError> {
    let mut total = 0;
    for table in src.list_tables()? {
        if ALL.contains(&redb::TableHandle::name(&table)) {
            total += src.open_untyped_table(table)?.len()?;
        }
    }
    progress.phase("backing up", total);
    let mut copy = Copy {
        src,
        dst,
        progress,
        rows: 0,
    };
    copy.table(META)?;
    copy.table(API_KEYS)?;
    copy.table(AUDIT)?;
    copy.table(MEMBERS)?;
    copy.table(PHONE_INDEX)?;
    copy.table(ACCOUNT_INDEX)?;
    copy.table(PINS)?;
    copy.table(ATTEMPTS)?;
    copy.table(CALLS)?;
    copy.table(CALL_IDS)?;
    copy.table(INTENTS)?;
    copy.table(INTENT_PHONES)?;
    copy.table(VERIFICATIONS)?;
    copy.table(CHALLENGES)?;
    copy.table(CALL_CHALLENGES)?;
    copy.table(CHALLENGE_SENDS)?;
    Ok(copy.rows)
}

/// A copy under way ([`copy_all`]).
struct Copy<'a> {
    src: &'a ReadTransaction,
    dst: &'a WriteTransaction,
    progress: &'a dyn crate::enroll::Progress,
    /// Rows copied so far, of every table.
    rows: u64,
}

impl Copy<'_> {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), StoreError> {
        let from = self.src.open_table(def)?;
        let mut to = self.dst.open_table(def)?;
        for entry in from.iter()? {
            let (k, v) = entry?;
            to.insert(k.value(), v.value())?;
            self.rows += 1;
            if self.rows.is_multiple_of(COPY_TELLS_EVERY) {
                self.progress.advance_to(self.rows);
                self.progress.go_on()?;
            }
        }
        Ok(())
    }
}

/// The bucket a value belongs to: the value less its last two characters.
pub fn bucket_of(value: &str) -> &str {
    let n = value.len();
    if n > 4 && value.is_char_boundary(n - 2) {
        &value[..n - 2]
    } else {
        value
    }
}

/// The entries of a bucket: `(value, member id)`, from lines `value\0member_id`.
pub fn bucket_entries(bucket: &str) -> impl Iterator<Item = (&str, &str)> {
    bucket.split('\n').filter_map(|line| line.split_once('\0'))
}

/// A bucket after removing and adding entries; `None` when it is left empty. Entries stay
/// sorted and unique. Values and member ids never hold control characters.
pub fn bucket_merge(
    existing: Option<&str>,
    remove: &[(&str, &str)],
    add: &[(&str, &str)],
) -> Option<String> {
    let mut entries: Vec<(&str, &str)> = existing
        .map(|b| bucket_entries(b).filter(|e| !remove.contains(e)).collect())
        .unwrap_or_default();
    entries.extend_from_slice(add);
    entries.sort_unstable();
    entries.dedup();
    if entries.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(entries.iter().map(|(v, m)| v.len() + m.len() + 2).sum());
    for (i, (value, member)) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(value);
        out.push('\0');
        out.push_str(member);
    }
    Some(out)
}

/// The member ids indexed under `value`: one read.
pub fn index_ids(
    table: &impl ReadableTable<&'static str, &'static str>,
    value: &str,
) -> Result<Vec<String>, StoreError> {
    let Some(bucket) = table.get(bucket_of(value))? else {
        return Ok(Vec::new());
    };
    Ok(bucket_ids(bucket.value(), value)
        .map(str::to_string)
        .collect())
}

/// The member ids a bucket holds under `value`. Every line is `value\0member_id`, and
/// neither part holds a control character, so each NUL ends exactly one line's value: the
/// search visits the NULs (memchr's vector scan) and compares the bytes before each with
/// `value`, checking that they start a line. A call start's phone lookup reads a bucket of up
/// to 100 entries for the one or two it needs; searching for `value` as a substring instead
/// restarted at every line, since all of a bucket's values share all but their last two
/// characters (BENCHMARKS.md, "Instructions per request").
pub fn bucket_ids<'a>(bucket: &'a str, value: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let bytes = bucket.as_bytes();
    let wanted = value.as_bytes();
    memchr::memchr_iter(0, bytes).filter_map(move |nul| {
        let start = nul.checked_sub(wanted.len())?;
        if &bytes[start..nul] != wanted || (start > 0 && bytes[start - 1] != b'\n') {
            return None;
        }
        // one past a NUL byte is a character boundary
        let rest = &bucket[nul + 1..];
        Some(match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(end) => &rest[..end],
            None => rest,
        })
    })
}

#[cfg(test)]
mod tests;
