//! `callvault pins force-change`: ask many members at once to choose a new PIN after their
//! next correct one: every member whose PIN the vault holds (`--all`, after a PIN file or a
//! core's export leaked, say), or the members a file lists. In write transactions of
//! [`FORCE_BATCH`], so calls go on meanwhile; nothing is undone by stopping half-way, and
//! running it again finishes it (a member flagged already is counted as such).

use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use super::{FORCE_CHANGE_MARK, Vault, VaultError, seal};
use crate::enroll::Progress;
use crate::store::tables;

/// Members flagged per write transaction.
pub const FORCE_BATCH: usize = 2_000;

/// The writer's turn for everyone else between two batches (see `rotate`).
const BETWEEN_BATCHES: std::time::Duration = std::time::Duration::from_millis(2);

/// Whom a bulk forced change asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Whom {
    /// Every member whose PIN the vault holds.
    All,
    /// These members (each once).
    Listed(Vec<String>),
}

/// What a bulk forced change did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForceReport {
    /// Members asked now.
    pub flagged: u64,
    /// Members asked before (their record flagged, or a mark standing).
    pub already: u64,
    /// Listed members the vault holds no PIN for, marked because the core checks PINs
    /// (`[core.rest.pin]`): asked after the next PIN the core finds right.
    pub marked: u64,
    /// Listed members with no PIN in the vault and no core that checks PINs: nothing to
    /// change (activation covers a member without a PIN).
    pub without_pin: u64,
    /// Listed ids the vault holds no PIN for and no member is enrolled under, when the
    /// store knows the members (the embedded core): a list of other numbers, or a line
    /// that was no id. Nothing changed for them.
    #[serde(default)]
    pub not_enrolled: u64,
}

/// How a bulk forced change goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForceOptions {
    /// The core checks the PINs the vault does not hold (`[core.rest.pin]`): a listed
    /// member the vault holds no PIN for is marked, to be asked after the core's next yes.
    pub core_holds: bool,
    /// The store knows the members (the embedded core): a listed id no member has is
    /// counted apart ([`ForceReport::not_enrolled`]).
    pub members_known: bool,
    /// The counts alone: each batch's transaction is dropped, not committed.
    pub dry_run: bool,
}

impl Vault {
    /// Ask `whom` to choose a new PIN after their next correct one, as
    /// [`Vault::flag_force_change`] asks one member.
    pub fn force_change_many(
        &self,
        whom: &Whom,
        options: ForceOptions,
        progress: &dyn Progress,
    ) -> Result<ForceReport, VaultError> {
        self.force_change_in_batches(whom, options, progress, FORCE_BATCH)
    }

    pub(super) fn force_change_in_batches(
        &self,
        whom: &Whom,
        options: ForceOptions,
        progress: &dyn Progress,
        batch: usize,
    ) -> Result<ForceReport, VaultError> {
        let mut report = ForceReport::default();
        let total = match whom {
            Whom::All => self.store.begin_read()?.open_table(tables::PINS)?.len()?,
            Whom::Listed(ids) => ids.len() as u64,
        };
        progress.phase("flagging", total);
        let mut seen = 0u64;
        // `All`: the last member id of the batch before
        let mut after: Option<String> = None;
        loop {
            self.store.go_on().and_then(|()| progress.go_on())?;
            let done = {
                let _sealing = self.sealing();
                let ring = self.keyring.load();
                let txn = self.store.begin_write()?;
                let done = {
                    let mut pins = txn.open_table(tables::PINS)?;
                    let mut attempts = txn.open_table(tables::ATTEMPTS)?;
                    let members = txn.open_table(tables::LIVE_MEMBERS.members)?;
                    let mut chunk: Vec<(String, Option<Vec<u8>>)> = match whom {
                        Whom::All => super::rotate::records_after(&pins, after.as_deref(), batch)?
                            .into_iter()
                            .map(|(id, sealed)| (id, Some(sealed)))
                            .collect(),
                        Whom::Listed(ids) => {
                            let start = usize::try_from(seen).unwrap_or(usize::MAX);
                            let mut chunk = Vec::with_capacity(batch);
                            for id in ids.iter().skip(start).take(batch) {
                                let record = pins.get(id.as_str())?.map(|v| v.value().to_vec());
                                chunk.push((id.clone(), record));
                            }
                            chunk
                        }
                    };
                    for (member_id, record) in &chunk {
                        match record {
                            Some(sealed) if seal::peek(member_id, sealed)?.flagged => {
                                report.already += 1;
                            }
                            Some(sealed) => {
                                let again = ring.reseal(member_id, sealed, |h| h.flagged = true)?;
                                pins.insert(member_id.as_str(), again.as_slice())?;
                                report.flagged += 1;
                            }
                            None if options.members_known
                                && members.get(member_id.as_str())?.is_none() =>
                            {
                                report.not_enrolled += 1;
                            }
                            None if !options.core_holds => report.without_pin += 1,
                            None => {
                                let mark = (member_id.as_str(), FORCE_CHANGE_MARK);
                                match attempts.insert(mark, [].as_slice())? {
                                    Some(_) => report.already += 1,
                                    None => report.marked += 1,
                                }
                            }
                        }
                    }
                    seen += chunk.len() as u64;
                    let last_batch = chunk.len() < batch;
                    after = chunk.pop().map(|(k, _)| k);
                    last_batch
                };
                if options.dry_run {
                    txn.abort()?;
                } else {
                    txn.commit()?;
                }
                done
            };
            progress.advance_to(seen.min(total));
            if done {
                break;
            }
            std::thread::sleep(BETWEEN_BATCHES);
        }
        progress.finish();
        Ok(report)
    }
}

/// The member ids a force-change file lists: one per line (a CSV's first column: an
/// export with more columns will do, separated by commas, or by `;`, tabs or `|` as the
/// separators enrollment reads are, which core member numbers do not hold), blank lines
/// and `#` comments skipped, a first line that names the member id (`member_id`, or as a
/// core names it: `Member Number`) taken as a header; each id once, in the file's order.
/// Every line that is no member id is an error, with its number: a first line naming
/// another column (`Account Number`: the list is of something else), and a header below
/// the first line (under a report's title, the title would be taken for an id). A core's
/// trailer on the last line (`TRAILER,1000`: [`crate::enroll::lines::trailer`]) is no id,
/// and a count that is not the lines of ids above it (with a header, and the trailer) is
/// an error; such a row before the last line is one too.
pub fn listed_ids(text: &str) -> Result<Vec<String>, Vec<String>> {
    let mut ids = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut bad = Vec::new();
    // the lines that listed an id (each id's every line), and the last line shaped as a
    // trailer with its count, while no id line followed it
    let mut listed = 0u64;
    let mut trailer_at: Option<(usize, Option<u64>)> = None;
    let not_last = |line: usize| {
        format!("line {line}: a trailer's row (as a core's export ends), not on the last line")
    };
    // lines end as enrollment's do: `\n`, `\r\n`, or the lone `\r` of Excel for Mac's
    // "CSV (Macintosh)"
    let text = text.replace("\r\n", "\n");
    for (i, line) in text.split(['\n', '\r']).enumerate() {
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        let first = line
            .split([',', ';', '\t', '|'])
            .next()
            .unwrap_or("")
            .trim();
        // `="1001"`, as an export meant for Excel writes an id
        let id = crate::enroll::lines::excel_text_str(first)
            .trim_matches('"')
            .trim();
        if id.is_empty() || id.starts_with('#') {
            continue;
        }
        // a core's trailer (`TRAILER,1000`): on the last line, its count is checked
        let fields = line.split([',', ';', '\t', '|']);
        if let Some(trailer) = crate::enroll::lines::trailer(fields.map(|f| f.trim_matches('"'))) {
            if let Some((line, _)) = trailer_at.replace((i + 1, trailer.count)) {
                bad.push(not_last(line));
            }
            continue;
        }
        if let Some((line, _)) = trailer_at.take() {
            bad.push(not_last(line));
        }
        let first = ids.is_empty() && bad.is_empty();
        match (first, column_named(id)) {
            (true, Some("member_id")) => continue,
            (true, Some(column)) => {
                bad.push(format!(
                    "line {}: the first column is \"{id}\" ({column}), not the member id: a \
                     force-change list's first column holds the member ids",
                    i + 1
                ));
                continue;
            }
            (false, Some("member_id")) => {
                bad.push(format!(
                    "line {}: \"{id}\" names the column of member ids, as a header does: a \
                     header goes on the first line; delete the lines above it (a report's \
                     title, say)",
                    i + 1
                ));
                continue;
            }
            _ => {}
        }
        if id.contains(char::REPLACEMENT_CHARACTER) {
            bad.push(format!(
                "line {}: the member id is not UTF-8 text (save the list as UTF-8)",
                i + 1
            ));
            continue;
        }
        if !crate::member::plausible_member_id(id) {
            bad.push(format!(
                "line {}: not a member id (at most {} characters, no control characters)",
                i + 1,
                crate::member::MEMBER_ID_MAX_CHARS
            ));
            continue;
        }
        if let Some(problem) = crate::member::id_in_file_problem(id) {
            bad.push(format!("line {}: member_id {problem}", i + 1));
            continue;
        }
        listed += 1;
        if seen.insert(id.to_string()) {
            ids.push(id.to_string());
        }
    }
    if let Some((line, Some(says))) = trailer_at
        && !crate::enroll::lines::trailer_counts(says, listed)
    {
        bad.push(format!(
            "line {line}: a trailer whose count is not the {listed} member ids above it: the \
             list may have been cut short; export it again"
        ));
    }
    if bad.is_empty() { Ok(ids) } else { Err(bad) }
}

/// The enrollment column a force-change list's first field names, as written
/// (`member_id`) or as cores and spreadsheets name it (`Member Number`: `member_id`).
fn column_named(field: &str) -> Option<&'static str> {
    let name = crate::enroll::names::column_name(field);
    crate::enroll::row::column(&name).or_else(|| crate::enroll::names::known_as(field))
}
