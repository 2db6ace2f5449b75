use std::sync::Arc;

use super::*;
use crate::clock::SystemClock;
use crate::enroll::progress::{Silent, Told};
use crate::store::Store;

fn store_with(n: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let txn = store.begin_write().unwrap();
    let events = (1..=n).map(|i| {
        AuditEvent::new("key:ivr1", EventKind::AuthFailed, Outcome::Denied)
            .detail(format!("event {i}"))
    });
    append_in(&txn, Utc::now(), events).unwrap();
    txn.commit().unwrap();
    (dir, store)
}

fn raw(store: &Store, seq: u64) -> Vec<u8> {
    let txn = store.begin_read().unwrap();
    let table = txn.open_table(tables::AUDIT).unwrap();
    table.get(seq).unwrap().unwrap().value().to_vec()
}

fn put(store: &Store, seq: u64, bytes: &[u8]) {
    let txn = store.begin_write().unwrap();
    txn.open_table(tables::AUDIT)
        .unwrap()
        .insert(seq, bytes)
        .unwrap();
    txn.commit().unwrap();
}

fn remove(store: &Store, seq: u64) {
    let txn = store.begin_write().unwrap();
    txn.open_table(tables::AUDIT).unwrap().remove(seq).unwrap();
    txn.commit().unwrap();
}

/// Record `seq` made to say the step passed, with its own hash computed again (as someone
/// who knows the format would).
fn passed_and_rehashed(store: &Store, seq: u64) {
    let mut r: AuditRecord = serde_json::from_slice(&raw(store, seq)).unwrap();
    r.event.outcome = Outcome::Ok;
    r.hash = r.compute_hash();
    put(store, seq, &serde_json::to_vec(&r).unwrap());
}

fn first_bad(store: &Store) -> Option<u64> {
    verify(&store.begin_read().unwrap())
        .unwrap()
        .first_bad
        .map(|b| b.seq)
}

#[test]
fn an_untouched_chain_verifies() {
    let (_d, store) = store_with(10);
    let report = verify(&store.begin_read().unwrap()).unwrap();
    assert_eq!(
        report,
        VerifyReport {
            records: 10,
            first_bad: None,
            clock_went_back: 0,
            first_went_back: None,
        }
    );
    let (_d, empty) = store_with(0);
    assert_eq!(first_bad(&empty), None);
}

#[test]
fn tampering_is_found_at_the_first_bad_record() {
    type Tamper = fn(&Store);
    let cases: [(&str, Tamper, u64); 8] = [
        (
            "detail edited",
            |s| {
                let text = String::from_utf8(raw(s, 4))
                    .unwrap()
                    .replace("event 4", "event 0");
                put(s, 4, text.as_bytes());
            },
            4,
        ),
        (
            "outcome edited and hash recomputed",
            |s| passed_and_rehashed(s, 6),
            7,
        ),
        ("middle record deleted", |s| remove(s, 5), 5),
        (
            "two records swapped",
            |s| {
                let (a, b) = (raw(s, 3), raw(s, 4));
                put(s, 3, &b);
                put(s, 4, &a);
            },
            3,
        ),
        ("last record deleted", |s| remove(s, 10), 10),
        (
            // the chain is whole; only the head it left knows the record was another
            "last record edited and hash recomputed",
            |s| passed_and_rehashed(s, 10),
            10,
        ),
        (
            "head removed",
            |s| {
                let txn = s.begin_write().unwrap();
                txn.open_table(tables::META)
                    .unwrap()
                    .remove(HEAD_KEY)
                    .unwrap();
                txn.commit().unwrap();
            },
            10,
        ),
        ("garbage written", |s| put(s, 2, b"{not json"), 2),
    ];
    for (name, tamper, want) in cases {
        let (_d, store) = store_with(10);
        tamper(&store);
        assert_eq!(first_bad(&store), Some(want), "{name}");
    }
}

/// One event appended in a transaction of its own: its sequence number.
fn append_one(store: &Store) -> u64 {
    let txn = store.begin_write().unwrap();
    let event = AuditEvent::new("cli", EventKind::DbBackup, Outcome::Ok);
    let last = append_in(&txn, Utc::now(), [event]).unwrap();
    txn.commit().unwrap();
    last
}

#[test]
fn appends_continue_the_chain_across_transactions() {
    let (_d, store) = store_with(3);
    assert_eq!(append_one(&store), 4);
    let r: AuditRecord = serde_json::from_slice(&raw(&store, 4)).unwrap();
    let prev: AuditRecord = serde_json::from_slice(&raw(&store, 3)).unwrap();
    assert_eq!(r.prev_hash, prev.hash);
    assert_eq!(first_bad(&store), None);
}

/// A newest record of a kind this version does not know (written by a newer version before
/// a rollback) does not stop appends: they chain on from its hash.
#[test]
fn appends_go_on_after_a_record_of_a_kind_this_version_does_not_know() {
    let (_d, store) = store_with(3);
    let mut newer: serde_json::Value = serde_json::from_slice(&raw(&store, 3)).unwrap();
    newer["kind"] = "db_defragmented_by_a_later_version".into();
    newer["hash"] = "ab".repeat(32).into();
    put(&store, 3, &serde_json::to_vec(&newer).unwrap());
    assert!(serde_json::from_slice::<AuditRecord>(&raw(&store, 3)).is_err());
    assert_eq!(append_one(&store), 4);
    let r: AuditRecord = serde_json::from_slice(&raw(&store, 4)).unwrap();
    assert_eq!(r.prev_hash, "ab".repeat(32));
}

#[test]
fn export_writes_json_lines_from_a_time() {
    let (_d, store) = store_with(3);
    let mut out = Vec::new();
    let n = export(&store.begin_read().unwrap(), None, &mut out).unwrap();
    assert_eq!(n, 3);
    let lines: Vec<AuditRecord> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let future = Utc::now() + chrono::Duration::hours(1);
    let mut out = Vec::new();
    assert_eq!(
        export(&store.begin_read().unwrap(), Some(future), &mut out).unwrap(),
        0
    );
    // "from a time" takes a record written at that very time
    let at = lines[0].time().unwrap();
    assert_eq!(
        export(&store.begin_read().unwrap(), Some(at), &mut Vec::new()).unwrap(),
        3
    );
}

/// An export's selection: each narrowing alone and together, a time's bounds (`since`
/// taken, `until` not), ids matched whole.
#[test]
fn an_export_writes_the_records_its_selection_takes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let (t0, t1, t2) = (
        at("2026-11-01T10:00:00Z"),
        at("2026-11-15T08:30:00Z"),
        at("2026-12-01T00:00:00Z"),
    );
    let event = |member: Option<&str>, call: Option<&str>| {
        let mut e = AuditEvent::new("key:ivr1", EventKind::PinChecked, Outcome::Ok);
        if let Some(m) = member {
            e = e.member(m.to_string());
        }
        if let Some(c) = call {
            e = e.call(c.to_string());
        }
        e
    };
    for (time, events) in [
        (
            t0,
            vec![
                event(Some("1001"), Some("c1")),
                event(Some("1002"), Some("c2")),
            ],
        ),
        (t1, vec![event(Some("1001"), Some("c3")), event(None, None)]),
        (t2, vec![event(Some("1001"), Some("c1"))]),
    ] {
        let txn = store.begin_write().unwrap();
        append_in(&txn, time, events).unwrap();
        txn.commit().unwrap();
    }
    let s = |since, until, after, member: Option<&str>, call: Option<&str>| Selection {
        since,
        until,
        after,
        member_id: member.map(str::to_string),
        call_id: call.map(str::to_string),
    };
    let cases: [(Selection, &[u64]); 12] = [
        (Selection::default(), &[1, 2, 3, 4, 5]),
        (s(Some(t1), None, None, None, None), &[3, 4, 5]),
        (s(Some(t2), None, None, None, None), &[5]),
        (s(None, Some(t1), None, None, None), &[1, 2]),
        (s(Some(t0), Some(t2), None, None, None), &[1, 2, 3, 4]),
        (s(None, None, None, Some("1001"), None), &[1, 3, 5]),
        (s(None, Some(t2), None, Some("1001"), None), &[1, 3]),
        (s(None, None, None, None, Some("c1")), &[1, 5]),
        (s(None, None, None, Some("1002"), Some("c1")), &[]),
        (s(None, None, Some(3), Some("1001"), None), &[5]),
        (s(None, None, None, Some("100"), None), &[]),
        (s(None, None, Some(u64::MAX), None, None), &[]),
    ];
    for (select, want) in cases {
        let mut out = Vec::new();
        let n = export_selected(&store.begin_read().unwrap(), &select, &mut out).unwrap();
        let seqs: Vec<u64> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<AuditRecord>(l).unwrap().seq)
            .collect();
        assert_eq!(
            (seqs.as_slice(), n),
            (want, want.len() as u64),
            "{select:?}"
        );
    }
    assert_eq!(
        s(Some(t0), Some(t2), Some(7), Some("1001"), Some("c1")).describe(),
        "since 2026-11-01T10:00:00+00:00, until 2026-12-01T00:00:00+00:00, after record 7, \
         of member 1001, of call c1"
    );
    assert_eq!(Selection::default().describe(), "since start");
}

#[test]
fn group_commit_makes_every_event_durable_in_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let log = AuditLog::start(store.clone(), Arc::new(SystemClock), 4096);
    let threads = 16;
    let per_thread = 50;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                (0..per_thread)
                    .map(|i| {
                        log.record_blocking(
                            AuditEvent::new(
                                format!("t{t}"),
                                EventKind::AuthFailed,
                                Outcome::Denied,
                            )
                            .detail(format!("{i}")),
                        )
                        .unwrap()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    seqs.sort();
    let total = (threads * per_thread) as u64;
    assert_eq!(
        seqs,
        (1..=total).collect::<Vec<_>>(),
        "every answer names its own record"
    );
    drop(log);
    let report = verify(&store.begin_read().unwrap()).unwrap();
    assert_eq!(
        report,
        VerifyReport {
            records: total,
            first_bad: None,
            clock_went_back: 0,
            first_went_back: None,
        }
    );
    // Each answered sequence number holds the event that was recorded for it.
    let r: AuditRecord = serde_json::from_slice(&raw(&store, seqs[0])).unwrap();
    assert!(r.event.actor.starts_with('t'));
}

/// The last handle's drop waits for the committer to end, so the store is the caller's
/// alone again: a CLI command that records an event then closes the store cleanly (redb
/// repairs a store it finds not closed), and a restore can replace it.
#[test]
fn dropping_the_last_handle_gives_the_store_back() {
    for handles in [1, 3] {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let log = AuditLog::start(store.clone(), Arc::new(SystemClock), 16);
        let clones: Vec<AuditLog> = (1..handles).map(|_| log.clone()).collect();
        log.record_blocking(numbered(1)).unwrap();
        drop(log);
        for clone in clones {
            // the committer still serves a clone, and holds the store meanwhile
            assert_eq!(Arc::strong_count(&store), 2, "{handles} handles");
            drop(clone);
        }
        let store =
            Arc::try_unwrap(store).unwrap_or_else(|_| panic!("the committer kept the store"));
        assert_eq!(seqs(&store), [1], "{handles} handles");
    }
}

#[test]
fn each_job_gets_the_sequence_number_of_its_own_last_event() {
    // (event counts per job, last seq appended) -> (seq, count) per job
    type Case = (&'static [u64], u64, &'static [(u64, u64)]);
    let cases: [Case; 4] = [
        (&[2, 1, 3], 16, &[(12, 2), (13, 1), (16, 3)]),
        (&[0, 2, 0, 1], 3, &[(0, 0), (2, 2), (0, 0), (3, 1)]),
        (&[1], 1, &[(1, 1)]),
        (&[0, 0], 0, &[(0, 0), (0, 0)]),
    ];
    for (counts, last, want) in cases {
        let total = counts.iter().sum();
        assert_eq!(
            super::committer::job_seqs(counts, last, total),
            want,
            "{counts:?} up to {last}"
        );
    }
}

/// A clock that moves on a second each time it is read. The committer reads it once per
/// commit, so the events committed together share a time and each commit has its own.
#[derive(Default)]
struct Ticking(std::sync::atomic::AtomicI64);

impl crate::clock::Clock for Ticking {
    fn now(&self) -> DateTime<Utc> {
        let s = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }
}

/// The records in order, as (time, detail).
fn times_and_details(store: &Store) -> Vec<(String, Option<String>)> {
    let txn = store.begin_read().unwrap();
    let table = txn.open_table(tables::AUDIT).unwrap();
    table
        .iter()
        .unwrap()
        .map(|row| {
            let r: AuditRecord = serde_json::from_slice(row.unwrap().1.value()).unwrap();
            (r.time, r.event.detail)
        })
        .collect()
}

/// How many events each commit carried, in order (records of one commit share its time).
fn events_per_commit(store: &Store) -> Vec<usize> {
    let mut sizes: Vec<(String, usize)> = Vec::new();
    for (time, _) in times_and_details(store) {
        match sizes.last_mut() {
            Some((t, n)) if *t == time => *n += 1,
            _ => sizes.push((time, 1)),
        }
    }
    sizes.into_iter().map(|(_, n)| n).collect()
}

/// A committer job's work, boxed so a test can queue several.
type WorkFn<T> =
    Box<dyn FnOnce(&WriteTransaction) -> Result<(T, Vec<AuditEvent>), StoreError> + Send>;

fn numbered(i: u64) -> AuditEvent {
    AuditEvent::new("key:ivr1", EventKind::CallStarted, Outcome::Ok).detail(i.to_string())
}

/// Queue `jobs` on a channel the committer loop then drains to the end: every job is waiting
/// before the first commit, so the batches are known.
fn drain<T: Send + 'static>(
    store: &Arc<Store>,
    max_batch: usize,
    jobs: Vec<WorkFn<T>>,
) -> Vec<Result<(T, u64), AuditError>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(jobs.len().max(1));
    let waits: Vec<_> = jobs
        .into_iter()
        .map(|work| {
            let (job, wait) = super::committer::typed(work);
            tx.send(job).unwrap();
            wait
        })
        .collect();
    drop(tx);
    super::committer::run(store.clone(), Arc::new(Ticking::default()), rx, max_batch);
    waits
        .into_iter()
        .map(|w| w.blocking_recv().unwrap())
        .collect()
}

#[test]
fn a_commit_carries_every_waiting_job_up_to_the_batch_bound() {
    // (max_batch, jobs waiting, events per commit)
    let cases: [(usize, u64, &[usize]); 5] = [
        (3, 7, &[3, 3, 1]),
        (4, 8, &[4, 4]),
        (8, 5, &[5]),
        (1, 3, &[1, 1, 1]),
        (2, 1, &[1]),
    ];
    for (max_batch, n, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let jobs = (0..n)
            .map(|i| -> WorkFn<u64> {
                Box::new(move |_: &WriteTransaction| Ok((i * 10, vec![numbered(i)])))
            })
            .collect();
        let answers: Vec<(u64, u64)> = drain(&store, max_batch, jobs)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let case = format!("{n} jobs, up to {max_batch} a commit");
        // each job gets its own output and its own event's sequence number
        assert_eq!(
            answers,
            (0..n).map(|i| (i * 10, i + 1)).collect::<Vec<_>>(),
            "{case}"
        );
        assert_eq!(events_per_commit(&store), want, "{case}");
        let details: Vec<_> = times_and_details(&store)
            .into_iter()
            .map(|(_, d)| d.unwrap())
            .collect();
        assert_eq!(
            details,
            (0..n).map(|i| i.to_string()).collect::<Vec<_>>(),
            "{case}"
        );
    }
}

#[test]
fn a_job_that_fails_aborts_its_whole_commit_and_the_next_commit_goes_on() {
    const MARKS: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("test_marks");
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    // Jobs 0 to 2 are one commit, and job 1 fails after job 0 wrote its mark; job 3 is the
    // next commit.
    let jobs = (0..4u64)
        .map(|i| -> WorkFn<()> {
            Box::new(move |txn: &WriteTransaction| {
                if i == 1 {
                    return Err(StoreError::Corrupt("job 1 found a bad row".into()));
                }
                txn.open_table(MARKS)?.insert(i, i)?;
                Ok(((), vec![numbered(i)]))
            })
        })
        .collect();
    let answers = drain(&store, 3, jobs);
    for answer in &answers[..3] {
        match answer {
            Err(AuditError::Write(why)) => assert!(why.contains("job 1 found a bad row"), "{why}"),
            other => panic!("a job of the failed commit was answered {other:?}"),
        }
    }
    assert_eq!(answers[3], Ok(((), 1)), "the next commit starts the chain");
    let txn = store.begin_read().unwrap();
    let marks: Vec<u64> = txn
        .open_table(MARKS)
        .unwrap()
        .iter()
        .unwrap()
        .map(|row| row.unwrap().0.value())
        .collect();
    assert_eq!(marks, [3], "job 0's write went with its commit");
    let details: Vec<_> = times_and_details(&store)
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert_eq!(details, [Some("3".to_string())]);
    assert_eq!(verify(&txn).unwrap().first_bad, None);
}

#[tokio::test]
async fn an_event_recorded_from_async_code_is_answered_with_its_own_sequence_number() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let log = AuditLog::start(store.clone(), Arc::new(SystemClock), 16);
    for i in 1..=3 {
        assert_eq!(log.record(numbered(i)).await, Ok(i));
    }
    let (out, seq) = log
        .transact(|_| Ok(("no events", Vec::new())))
        .await
        .unwrap();
    assert_eq!(
        (out, seq),
        ("no events", 0),
        "a job without events has no number"
    );
    assert_eq!(log.record(numbered(4)).await, Ok(4));
    drop(log);
    assert_eq!(times_and_details(&store).len(), 4);
}

/// Rewrite the chain from `from` on, as someone who can write the store file could: each
/// record after the edit re-linked and re-hashed, the head moved, and records past
/// `keep` dropped. The chain then checks out by itself.
fn rewrite_from(store: &Store, from: u64, keep: u64) {
    let txn = store.begin_write().unwrap();
    {
        let mut table = txn.open_table(tables::AUDIT).unwrap();
        let last = table.last().unwrap().unwrap().0.value();
        let mut prev = match from {
            1 => GENESIS_HASH.to_string(),
            n => {
                let r: AuditRecord =
                    serde_json::from_slice(table.get(n - 1).unwrap().unwrap().value()).unwrap();
                r.hash
            }
        };
        for seq in from..=last {
            if seq > keep {
                table.remove(seq).unwrap();
                continue;
            }
            let mut r: AuditRecord =
                serde_json::from_slice(table.get(seq).unwrap().unwrap().value()).unwrap();
            if seq == from {
                r.event.outcome = Outcome::Ok;
            }
            r.prev_hash = prev;
            r.hash = r.compute_hash();
            prev = r.hash.clone();
            table
                .insert(seq, serde_json::to_vec(&r).unwrap().as_slice())
                .unwrap();
        }
        let head = serde_json::to_vec(&Head {
            seq: keep,
            hash: prev,
        })
        .unwrap();
        txn.open_table(tables::META)
            .unwrap()
            .insert(HEAD_KEY, head.as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn a_rewritten_chain_is_found_against_a_copy_kept_elsewhere() {
    type Tamper = fn(&Store);
    // (what was done after the copy, the record named)
    let cases: [(&str, Tamper, Option<u64>); 4] = [
        ("nothing", |_| {}, None),
        (
            "record 4 edited, the chain rewritten after it",
            |s| rewrite_from(s, 4, 10),
            Some(4),
        ),
        (
            "records 8 to 10 cut, the head moved",
            |s| rewrite_from(s, 8, 7),
            Some(8),
        ),
        (
            "only the last record rewritten",
            |s| rewrite_from(s, 10, 10),
            Some(10),
        ),
    ];
    for (name, tamper, want) in cases {
        let (dir, store) = store_with(10);
        let copy = dir.path().join("siem.jsonl");
        let mut out = Vec::new();
        export(&store.begin_read().unwrap(), None, &mut out).unwrap();
        std::fs::write(&copy, &out).unwrap();
        tamper(&store);
        let txn = store.begin_read().unwrap();
        assert_eq!(
            verify(&txn).unwrap().first_bad,
            None,
            "{name}: checks out alone"
        );
        let report = anchor::check(&txn, &[], &[&copy]).unwrap();
        assert_eq!(report.checked, 10, "{name}: every exported record compared");
        assert_eq!(report.first_bad.as_ref().map(|b| b.seq), want, "{name}");
        if let Some(bad) = &report.first_bad {
            assert!(
                bad.reason.contains("siem.jsonl line"),
                "{name}: {}",
                bad.reason
            );
        }
    }
}

#[test]
fn an_anchor_noted_earlier_finds_a_rewrite_and_the_head_gives_one() {
    let (_dir, store) = store_with(5);
    let noted = anchor::head(&store.begin_read().unwrap()).unwrap().unwrap();
    assert_eq!(noted.seq, 5);
    let again: Anchor = noted.to_string().parse().unwrap();
    assert_eq!(again, noted);
    let check = |a: &Anchor| {
        anchor::check(
            &store.begin_read().unwrap(),
            std::slice::from_ref(a),
            &[] as &[&str],
        )
        .unwrap()
        .first_bad
        .map(|b| b.seq)
    };
    assert_eq!(check(&noted), None);
    rewrite_from(&store, 2, 5);
    assert_eq!(first_bad(&store), None);
    assert_eq!(check(&noted), Some(5));
    let ahead = Anchor {
        seq: 9,
        hash: noted.hash.clone(),
    };
    assert_eq!(check(&ahead), Some(9), "a record the store lacks");
}

/// Of everything that differs, the lowest record is named, with the first source that
/// showed it: the anchors are compared before the copies.
#[test]
fn the_lowest_record_that_differs_is_named_with_the_first_source_to_show_it() {
    let (dir, store) = store_with(10);
    let noted = anchor::head(&store.begin_read().unwrap()).unwrap().unwrap();
    let copy = |name: &str| {
        let path = dir.path().join(name);
        let mut out = Vec::new();
        export(&store.begin_read().unwrap(), None, &mut out).unwrap();
        std::fs::write(&path, &out).unwrap();
        path
    };
    let (one, two) = (copy("one.jsonl"), copy("two.jsonl"));
    rewrite_from(&store, 4, 10);
    let report = anchor::check(&store.begin_read().unwrap(), &[noted], &[&one, &two]).unwrap();
    let bad = report.first_bad.unwrap();
    // the anchor found record 10 first; the copies found 4, the lower, first in one.jsonl
    assert_eq!(bad.seq, 4);
    assert!(bad.reason.contains("one.jsonl line 4"), "{}", bad.reason);
    assert_eq!(report.checked, 21);
}

#[test]
fn anchors_are_read_as_seq_colon_hash() {
    let hash = "ab".repeat(32);
    let cases: [(String, bool); 7] = [
        (format!("12:{hash}"), true),
        (format!(" 12:{} ", hash.to_uppercase()), true),
        (format!("0:{hash}"), false),
        (format!("12{hash}"), false),
        (format!("x:{hash}"), false),
        (format!("12:{}", &hash[1..]), false),
        (format!("12:{}zz", &hash[2..]), false),
    ];
    for (text, ok) in cases {
        let parsed = text.parse::<Anchor>();
        assert_eq!(parsed.is_ok(), ok, "{text:?}: {parsed:?}");
        if let Ok(a) = parsed {
            assert_eq!((a.seq, a.hash.as_str()), (12, hash.as_str()));
        }
    }
}

#[test]
fn a_copy_that_is_not_an_export_is_refused_with_its_line() {
    let (dir, store) = store_with(2);
    let copy = dir.path().join("notes.txt");
    // a line holding something else, which the error must not repeat
    std::fs::write(
        &copy,
        "{\"seq\":1,\"hash\":\"x\"}\n{\"seq\":\"SSN 123-45-6789\"}\n",
    )
    .unwrap();
    let err = anchor::check(&store.begin_read().unwrap(), &[], &[&copy]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("notes.txt") && text.contains("line 2 is not"),
        "{text}"
    );
    assert!(
        !text.contains("6789"),
        "the file's content in an error: {text}"
    );
    std::fs::write(&copy, "\n{\"seq\":\"SSN 123-45-6789\"}\n").unwrap();
    match prune::prune(&store, Utc::now(), &[&copy], "admin", 2, &Silent) {
        Err(e @ prune::PruneError::Copy { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("line 2 is not") && !text.contains("6789"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    let missing = dir.path().join("missing.jsonl");
    let err = anchor::check(&store.begin_read().unwrap(), &[], &[&missing]).unwrap_err();
    assert!(err.to_string().contains("missing.jsonl"), "{err}");
}

/// A store with one record at each of `days` (2026-MM-DD noon, UTC).
fn store_on(days: &[&str]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let txn = store.begin_write().unwrap();
    for (i, day) in days.iter().enumerate() {
        let time = DateTime::parse_from_rfc3339(&format!("2026-{day}T12:00:00Z"))
            .unwrap()
            .with_timezone(&Utc);
        let event = AuditEvent::new("test", EventKind::CallStarted, Outcome::Ok)
            .detail(format!("event {}", i + 1));
        append_in(&txn, time, [event]).unwrap();
    }
    txn.commit().unwrap();
    (dir, store)
}

/// Export every record to `name` in the store's directory, keeping the lines `keep` keeps.
fn export_to(
    dir: &tempfile::TempDir,
    store: &Store,
    name: &str,
    keep: impl Fn(&str) -> bool,
) -> std::path::PathBuf {
    let mut out = Vec::new();
    export(&store.begin_read().unwrap(), None, &mut out).unwrap();
    let text: String = String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| keep(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn seqs(store: &Store) -> Vec<u64> {
    let txn = store.begin_read().unwrap();
    let table = txn.open_table(tables::AUDIT).unwrap();
    table
        .iter()
        .unwrap()
        .map(|e| e.unwrap().0.value())
        .collect()
}

fn day(d: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("2026-{d}T00:00:00Z"))
        .unwrap()
        .with_timezone(&Utc)
}

const DAYS: [&str; 8] = [
    "01-05", "01-20", "02-02", "02-14", "02-28", "03-10", "04-01", "04-02",
];

/// A prune pauses between its transactions, so the calls waiting for the store's writer
/// get it: each slice after the first begins at least `PAUSE` after the one before ended.
#[test]
fn a_prune_leaves_the_writer_free_a_while_between_its_slices() {
    use std::time::Instant;
    /// When the pruning phase told how far it was, and when it asked to go on.
    #[derive(Default)]
    struct Timed(std::sync::Mutex<(bool, Vec<(&'static str, Instant)>)>);
    impl crate::enroll::Progress for Timed {
        fn phase(&self, name: &str, _: u64) {
            self.0.lock().unwrap().0 = name == "pruning";
        }
        fn advance_to(&self, _: u64) {
            let mut told = self.0.lock().unwrap();
            if told.0 {
                told.1.push(("done", Instant::now()));
            }
        }
        fn finish(&self) {}
        fn go_on(&self) -> Result<(), crate::store::StoreError> {
            let mut told = self.0.lock().unwrap();
            if told.0 {
                told.1.push(("next", Instant::now()));
            }
            Ok(())
        }
    }
    let (dir, store) = store_on(&DAYS);
    let copy = export_to(&dir, &store, "copy.jsonl", |_| true);
    let timed = Timed::default();
    let report = prune::prune(&store, day("12-31"), &[&copy], "admin", 2, &timed).unwrap();
    assert_eq!(report.removed, 7, "the newest stays");
    let told = &timed.0.lock().unwrap().1;
    let kinds: Vec<&str> = told.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        ["done", "next", "done", "next", "done", "next", "done"]
    );
    for pair in told.windows(2).filter(|w| w[0].0 == "done") {
        let paused = pair[1].1 - pair[0].1;
        assert!(paused >= prune::PAUSE, "{paused:?} between two slices");
    }
}

#[test]
fn pruning_removes_only_old_records_an_export_holds_and_the_chain_goes_on() {
    use prune::PruneError;
    // (name, the export's lines, prune before, slice) -> Ok(records removed) or the error
    type Keep = fn(&str) -> bool;
    let all: Keep = |_| true;
    type Want = Result<u64, &'static str>;
    let cases: [(&str, Keep, &str, u64, Want); 8] = [
        ("before March", all, "03-01", 2, Ok(5)),
        ("one slice", all, "03-01", 100, Ok(5)),
        ("after everything: the newest stays", all, "12-31", 3, Ok(8)),
        ("nothing older", all, "01-01", 3, Ok(0)),
        (
            "record 3 not exported",
            |l| !l.contains("\"seq\":3,"),
            "03-01",
            2,
            Err("NotCopied 3"),
        ),
        (
            "record 2 left out of the export",
            |l| !l.contains("event 2"),
            "03-01",
            2,
            Err("NotCopied 2"),
        ),
        (
            "the last record to prune left out of the export",
            |l| !l.contains("event 5"),
            "03-01",
            2,
            Err("NotCopied 5"),
        ),
        (
            "an export from March on does not cover January",
            |l| l.contains("\"time\":\"2026-03") || l.contains("\"time\":\"2026-04"),
            "02-01",
            2,
            Err("NotCopied 1"),
        ),
    ];
    for (name, keep, before, slice, want) in cases {
        let (dir, store) = store_on(&DAYS);
        // the ninth record: an export's own, as in the field
        let txn = store.begin_write().unwrap();
        append_in(
            &txn,
            day("05-01"),
            [AuditEvent::new("t", EventKind::AuditExported, Outcome::Ok)],
        )
        .unwrap();
        txn.commit().unwrap();
        let copy = export_to(&dir, &store, "siem.jsonl", keep);
        let got = prune::prune(&store, day(before), &[&copy], "admin", slice, &Silent);
        match (&got, want) {
            (Ok(report), Ok(removed)) => {
                // what was not removed, and the prune's own records when it removed any: one
                // as it started, when it took more than one slice, and one as it ended
                let slices = removed.div_ceil(slice);
                let own: &[u64] = match slices {
                    0 => &[],
                    1 => &[10],
                    _ => &[10, 11],
                };
                let left: Vec<u64> = (removed + 1..=9).chain(own.iter().copied()).collect();
                assert_eq!(seqs(&store), left, "{name}");
                assert_eq!(report.removed, removed, "{name}");
                let events: Vec<u64> = seqs(&store);
                let verified = verify(&store.begin_read().unwrap()).unwrap();
                assert_eq!(verified.first_bad, None, "{name}: {verified:?}");
                // the store's base is the prune's (what `db check` reports)
                let base = anchor::base(&store.begin_read().unwrap()).unwrap();
                assert_eq!(
                    base.as_ref().map(|b| b.seq),
                    (removed > 0).then_some(removed)
                );
                if removed > 0 {
                    assert_eq!(report.base.as_ref().map(|b| b.seq), Some(removed), "{name}");
                    // the prune's own record, then the chain goes on
                    assert_eq!(verified.records, events.len() as u64, "{name}");
                    let audit = {
                        let mut out = Vec::new();
                        export(&store.begin_read().unwrap(), None, &mut out).unwrap();
                        String::from_utf8(out).unwrap()
                    };
                    assert_eq!(audit.matches("\"audit_pruned\"").count(), 1, "{name}");
                    let started = audit.matches("\"audit_prune_started\"").count();
                    assert_eq!(started, usize::from(slices > 1), "{name}");
                }
                // an export from before still anchors what is left; what went is counted
                let against = anchor::check(&store.begin_read().unwrap(), &[], &[&copy]).unwrap();
                assert_eq!(against.first_bad, None, "{name}: {against:?}");
                assert_eq!(against.pruned, removed.saturating_sub(1), "{name}");
            }
            (Err(e), Err(want)) => {
                let (kind, seq) = want.split_once(' ').unwrap();
                let seq: u64 = seq.parse().unwrap();
                match (e, kind) {
                    (PruneError::NotCopied { seq: s, .. }, "NotCopied") => {
                        assert_eq!(*s, seq, "{name}")
                    }
                    (PruneError::Differs { seq: s, .. }, "Differs") => {
                        assert_eq!(*s, seq, "{name}")
                    }
                    other => panic!("{name}: {other:?}"),
                }
                assert_eq!(
                    seqs(&store),
                    (1..=9).collect::<Vec<_>>(),
                    "{name}: nothing removed"
                );
            }
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

/// `copy` with record `seq` edited (its hash no longer the store's), as `name`.
fn edited_copy(
    dir: &tempfile::TempDir,
    copy: &std::path::Path,
    seq: u64,
    name: &str,
) -> std::path::PathBuf {
    let text = std::fs::read_to_string(copy).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let i = lines
        .iter()
        .position(|l| l.contains(&format!("\"seq\":{seq},")))
        .unwrap();
    let mut r: AuditRecord = serde_json::from_str(&lines[i]).unwrap();
    r.event.outcome = Outcome::Failed;
    r.hash = r.compute_hash();
    lines[i] = serde_json::to_string(&r).unwrap();
    let edited = dir.path().join(name);
    std::fs::write(&edited, lines.join("\n")).unwrap();
    edited
}

#[test]
fn pruning_compares_only_the_records_it_removes() {
    let (dir, store) = store_on(&DAYS);
    let copy = export_to(&dir, &store, "siem.jsonl", |_| true);
    // record 7 is newer than the cut: a copy that differs there is not the prune's to judge
    let edited = edited_copy(&dir, &copy, 7, "edited.jsonl");
    let report = prune::prune(&store, day("03-01"), &[&edited], "admin", 2, &Silent).unwrap();
    assert_eq!((report.first, report.last, report.removed), (1, 5, 5));
    // and the next prune, from record 6 on, passes over the records the first removed,
    // which the old copy still holds
    let report = prune::prune(&store, day("04-02"), &[&copy], "admin", 2, &Silent).unwrap();
    assert_eq!((report.first, report.last, report.removed), (6, 7, 2));
    assert_eq!(first_bad(&store), None);
}

#[test]
fn pruning_refuses_a_broken_chain_and_a_changed_copy() {
    let (dir, store) = store_on(&DAYS);
    let copy = export_to(&dir, &store, "siem.jsonl", |_| true);
    let edited = edited_copy(&dir, &copy, 2, "edited.jsonl");
    match prune::prune(&store, day("03-01"), &[&edited], "admin", 2, &Silent) {
        Err(prune::PruneError::Differs { seq: 2, copy }) => {
            assert!(copy.contains("edited.jsonl line 2"), "{copy}")
        }
        other => panic!("{other:?}"),
    }
    let text = String::from_utf8(raw(&store, 4))
        .unwrap()
        .replace("event 4", "event 0");
    put(&store, 4, text.as_bytes());
    match prune::prune(&store, day("03-01"), &[&copy], "admin", 2, &Silent) {
        Err(e @ prune::PruneError::Broken { seq: 4, .. }) => {
            assert!(e.to_string().contains("nothing was pruned"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(seqs(&store), (1..=8).collect::<Vec<_>>());
}

/// A copy that cannot be read is refused even when no record is old enough to need it.
#[test]
fn pruning_refuses_a_copy_it_cannot_read_before_looking_for_old_records() {
    let (dir, store) = store_on(&DAYS);
    let copy = export_to(&dir, &store, "siem.jsonl", |_| true);
    let missing = dir.path().join("siem.jsonl.typo");
    for before in [day("01-01"), day("03-01")] {
        match prune::prune(&store, before, &[&copy, &missing], "admin", 2, &Silent) {
            Err(e @ prune::PruneError::Copy { .. }) => {
                let text = e.to_string();
                assert!(text.contains("siem.jsonl.typo: cannot read it: "), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seqs(&store), (1..=8).collect::<Vec<_>>());
    // the copy alone: the old records go
    let report = prune::prune(&store, day("03-01"), &[&copy], "admin", 2, &Silent).unwrap();
    assert!(report.removed > 0);
}

#[test]
fn a_pruned_chain_still_finds_tampering_and_prunes_again() {
    let (dir, store) = store_on(&DAYS);
    let first = export_to(&dir, &store, "first.jsonl", |_| true);
    prune::prune(&store, day("02-10"), &[&first], "admin", 2, &Silent).unwrap();
    assert_eq!(seqs(&store)[0], 4);
    // removing the first record left behind breaks the link to the base
    let (dir2, cut) = store_on(&DAYS);
    let copy = export_to(&dir2, &cut, "c.jsonl", |_| true);
    prune::prune(&cut, day("02-10"), &[&copy], "admin", 2, &Silent).unwrap();
    remove(&cut, 4);
    assert_eq!(first_bad(&cut), Some(4));
    // the second prune needs an export of the records since; the first one's is enough
    // for what it holds
    let second = export_to(&dir, &store, "second.jsonl", |_| true);
    let report = prune::prune(&store, day("03-31"), &[&second], "admin", 2, &Silent).unwrap();
    assert_eq!((report.first, report.last), (4, 6));
    assert_eq!(first_bad(&store), None);
    let txn = store.begin_write().unwrap();
    append_in(
        &txn,
        Utc::now(),
        [AuditEvent::new("t", EventKind::DbBackup, Outcome::Ok)],
    )
    .unwrap();
    txn.commit().unwrap();
    assert_eq!(first_bad(&store), None);
    let against = anchor::check(&store.begin_read().unwrap(), &[], &[&first, &second]).unwrap();
    assert_eq!(against.first_bad, None, "{against:?}");
}

#[test]
fn pruning_shows_its_progress_and_lets_another_writer_in_between_slices() {
    let (dir, store) = store_on(&DAYS);
    let store = Arc::new(store);
    let copy = export_to(&dir, &store, "siem.jsonl", |_| true);
    let other = crate::enroll::progress::OtherWriter::new(store.clone());
    let report = prune::prune(&store, day("03-01"), &[&copy], "admin", 2, &other).unwrap();
    assert_eq!(report.removed, 5);
    // three phases begun, three slices committed
    assert!(other.times() >= 6, "{}", other.times());
    // each phase counts what it goes through: every record verified, then the 5 to prune
    let told = other.told.lock().unwrap().clone();
    let phases: Vec<&str> = told
        .iter()
        .map(String::as_str)
        .filter(|t| !t.starts_with("at "))
        .collect();
    assert_eq!(phases, ["verifying 8", "comparing 5", "pruning 5"]);
    let pruned: Vec<&str> = told
        .iter()
        .skip_while(|t| *t != "pruning 5")
        .map(String::as_str)
        .collect();
    assert_eq!(pruned, ["pruning 5", "at 0", "at 2", "at 4", "at 5"]);
    assert_eq!(first_bad(&store), None);
}

/// The committer's one-pass encoding ([`AuditRecord::seal_encoded`]) and the chain's hash
/// ([`chain_hash`], which `audit verify` uses too) against serde's own: the same stored bytes
/// and the same hash as serde's encoding of the hashed fields, for events with and without
/// their optional fields and with strings that JSON must escape.
mod one_pass_encoding {
    use proptest::prelude::*;

    use super::*;

    /// The part of a record the hash covers, as serde writes it: the format every stored
    /// chain was hashed in.
    #[derive(Serialize)]
    struct Hashed<'a> {
        seq: u64,
        time: &'a str,
        event: &'a AuditEvent,
        prev_hash: &'a str,
    }

    fn serdes_hash(r: &AuditRecord) -> String {
        let hashed = Hashed {
            seq: r.seq,
            time: &r.time,
            event: &r.event,
            prev_hash: &r.prev_hash,
        };
        hex::encode(Sha256::digest(serde_json::to_vec(&hashed).unwrap()))
    }

    fn text() -> impl Strategy<Value = String> {
        // quotes, backslashes, control characters, non-ASCII, and the record's own keys
        prop_oneof![
            "[a-z0-9:_-]{0,12}",
            any::<String>(),
            Just("\"prev_hash\":\"x\",\"hash\":\"y\"}".to_string()),
        ]
    }

    fn kind() -> impl Strategy<Value = EventKind> {
        prop_oneof![
            Just(EventKind::CallStarted),
            Just(EventKind::CallIdentified),
            Just(EventKind::MethodChecked),
            Just(EventKind::AuthFailed),
        ]
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            Just(Outcome::Ok),
            Just(Outcome::Denied),
            Just(Outcome::Failed)
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        #[test]
        fn the_stored_bytes_and_the_hash_are_serdes(
            seq in any::<u64>(),
            actor in text(),
            kind in kind(),
            outcome in outcome(),
            call_id in proptest::option::of(text()),
            member_id in proptest::option::of(text()),
            detail in proptest::option::of(text()),
            prev in prop_oneof![Just(GENESIS_HASH.to_string()), "[0-9a-f]{64}"],
            micros in 0..4_000_000_000_000_000i64,
        ) {
            let time = record_time(DateTime::from_timestamp_micros(micros).unwrap());
            let event = AuditEvent { actor, kind, call_id, member_id, outcome, detail };
            let (bytes, hash) = AuditRecord::seal_encoded(seq, &time, &event, &prev).unwrap();
            let record = AuditRecord::seal(seq, time, event, prev);
            prop_assert_eq!(&hash, &serdes_hash(&record));
            prop_assert_eq!(&hash, &record.hash);
            prop_assert_eq!(
                String::from_utf8(bytes.clone()).unwrap(),
                String::from_utf8(serde_json::to_vec(&record).unwrap()).unwrap()
            );
            // and it reads back as the record, whose hash checks
            let back: AuditRecord = serde_json::from_slice(&bytes).unwrap();
            prop_assert_eq!(back.compute_hash(), back.hash.clone());
            prop_assert_eq!(back, record);
        }
    }
}

/// A long chain's walk tells how far it is, every `VERIFY_TOLD_EVERY` records: what `audit
/// verify`, `db check` and `db restore` show once they take a while.
#[test]
fn verifying_tells_its_progress() {
    let n = 2 * VERIFY_TOLD_EVERY + 5;
    let (_dir, store) = store_with(n as usize);
    let store = Arc::new(store);
    let other = crate::enroll::progress::OtherWriter::new(store.clone());
    let report = verify_with(&store.begin_read().unwrap(), &other).unwrap();
    assert_eq!((report.records, report.first_bad), (n, None));
    assert_eq!(
        *other.told.lock().unwrap(),
        [
            format!("verifying {n}"),
            "at 0".to_string(),
            format!("at {VERIFY_TOLD_EVERY}"),
            format!("at {}", 2 * VERIFY_TOLD_EVERY),
        ]
    );
}

/// A log with no record yet (a store just made) has no head to match: it verifies, with
/// no record counted.
#[test]
fn an_empty_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let report = verify(&store.begin_read().unwrap()).unwrap();
    assert_eq!((report.records, report.first_bad), (0, None));
}

/// Work asked to stop (Ctrl-C, the service stopping) stops where it safely can: a walk of
/// the log (verify, export) ends at its next question with the reason, not at the end, and
/// an export counts the records it handed out before.
#[test]
fn a_walk_of_the_log_stops_at_its_next_question_with_the_reason() {
    let every = VERIFY_TOLD_EVERY;
    let (_dir, store) = store_with(3 * every as usize);
    let txn = store.begin_read().unwrap();
    let interrupted: fn() -> StoreError = || StoreError::Interrupted;
    let stopping: fn() -> StoreError = || StoreError::Stopping;
    // (the question answered no, and with what)
    for (no_at, reason) in [(0, stopping), (1, interrupted), (2, stopping)] {
        let asked = std::cell::Cell::new(0u64);
        let go_on = || {
            asked.set(asked.get() + 1);
            match asked.get() == no_at {
                true => Err(reason()),
                false => Ok(()),
            }
        };
        let progress = crate::enroll::progress::Stoppable::new(&Silent, go_on);
        let verified = verify_with(&txn, &progress);
        asked.set(0);
        let mut written = 0;
        let exported = export_counted(
            &txn,
            &Selection::default(),
            &mut Vec::new(),
            &progress,
            &mut written,
        );
        match no_at {
            0 => {
                assert_eq!(verified.unwrap().records, 3 * every);
                assert!(exported.is_ok() && written == 3 * every);
            }
            n => {
                assert_eq!(verified.unwrap_err().to_string(), reason().to_string());
                assert_eq!(exported.unwrap_err().to_string(), reason().to_string());
                assert_eq!(asked.get(), n, "asked on after it said no");
                // every record read before the question that said no was written
                assert_eq!(written, n * every - 1);
            }
        }
    }
}

/// An export tells how far it is: the records it will read (those after `after`), then
/// every 16,384 read, whatever its selection keeps.
#[test]
fn an_export_tells_how_far_it_is_in_records_read() {
    let every = VERIFY_TOLD_EVERY;
    let (_dir, store) = store_with(2 * every as usize + 10);
    let txn = store.begin_read().unwrap();
    let of_member = Selection {
        member_id: Some("nobody".into()),
        ..Selection::default()
    };
    let after = |seq| Selection {
        after: Some(seq),
        ..Selection::default()
    };
    let at = |n: u64| ("at".to_string(), n);
    let exporting = |n: u64| ("exporting".to_string(), n);
    for (select, told, written) in [
        (
            Selection::default(),
            vec![exporting(2 * every + 10), at(every), at(2 * every)],
            2 * every + 10,
        ),
        (
            of_member,
            vec![exporting(2 * every + 10), at(every), at(2 * every)],
            0,
        ),
        (
            after(20),
            vec![exporting(2 * every - 10), at(every)],
            2 * every - 10,
        ),
        (after(2 * every + 10), vec![exporting(0)], 0),
    ] {
        let progress = Told::default();
        let mut n = 0;
        export_counted(&txn, &select, &mut std::io::sink(), &progress, &mut n).unwrap();
        assert_eq!(*progress.0.lock().unwrap(), told, "{select:?}");
        assert_eq!(n, written, "{select:?}");
    }
}

/// A check against an exported copy tells how far into the file it is, in bytes, every
/// 16,384 records, and stops there when asked (Ctrl-C): a year's copy is gigabytes.
#[test]
fn a_check_against_a_copy_tells_how_far_into_it_and_stops_when_asked() {
    let every = VERIFY_TOLD_EVERY;
    let (dir, store) = store_with(2 * every as usize + 10);
    let copy = dir.path().join("copy.jsonl");
    let mut file = std::fs::File::create(&copy).unwrap();
    export(&store.begin_read().unwrap(), None, &mut file).unwrap();
    let size = std::fs::metadata(&copy).unwrap().len();
    let txn = store.begin_read().unwrap();

    let told = Told::default();
    let report = anchor::check_with(&txn, &[], &[&copy], &told).unwrap();
    assert_eq!(report.checked, 2 * every + 10);
    let told = told.0.into_inner().unwrap();
    assert_eq!(told[0], ("comparing copy".to_string(), size));
    let at: Vec<u64> = told[1..].iter().map(|(_, n)| *n).collect();
    // two words, at what was read by then: the lines compared, and the rest of the
    // reader's buffer (8 KiB) ahead of them
    let text = std::fs::read_to_string(&copy).unwrap();
    let bytes_of = |lines: u64| -> u64 {
        text.split_inclusive('\n')
            .take(lines as usize)
            .map(|l| l.len() as u64)
            .sum()
    };
    assert_eq!(at.len(), 2, "{told:?}");
    for (n, at) in [(every, at[0]), (2 * every, at[1])] {
        let compared = bytes_of(n);
        assert!(
            at >= compared && at <= compared + 8192,
            "{at} read after {compared} bytes compared"
        );
    }

    let stopped = crate::enroll::progress::Stoppable::new(&Silent, || Err(StoreError::Interrupted));
    let err = anchor::check_with(&txn, &[], &[&copy], &stopped).unwrap_err();
    assert!(matches!(err, StoreError::Interrupted), "{err}");
}

/// A prune told to stop (Ctrl-C, the service stopping): while it verifies the chain or
/// compares the copies, it removes nothing; between two of its transactions, what it
/// removed stays removed, the error says which records, the log says it started, and the
/// same prune run again removes the rest.
#[test]
fn a_prune_told_to_stop_says_what_it_removed_and_finishes_when_run_again() {
    let every = VERIFY_TOLD_EVERY;
    let (dir, store) = store_with(every as usize + 10);
    let copy = dir.path().join("copy.jsonl");
    let mut file = std::fs::File::create(&copy).unwrap();
    export(&store.begin_read().unwrap(), None, &mut file).unwrap();
    let records = |store: &Store| {
        let txn = store.begin_read().unwrap();
        redb::ReadableTableMetadata::len(&txn.open_table(tables::AUDIT).unwrap()).unwrap()
    };
    let later = Utc::now() + chrono::Duration::days(1);
    // told no at its first question, in the chain's verification
    let stopped = crate::enroll::progress::Stoppable::new(&Silent, || Err(StoreError::Interrupted));
    let err = prune::prune(&store, later, &[&copy], "admin", 4096, &stopped).unwrap_err();
    assert!(
        matches!(err, prune::PruneError::Store(StoreError::Interrupted)),
        "{err}"
    );
    assert_eq!(records(&store), every + 10);

    // told no at its third: after two slices of 4,096 removed
    let asked = std::cell::Cell::new(0);
    let third = crate::enroll::progress::Stoppable::new(&Silent, || {
        asked.set(asked.get() + 1);
        match asked.get() {
            3 => Err(StoreError::Interrupted),
            _ => Ok(()),
        }
    });
    let err = prune::prune(&store, later, &[&copy], "admin", 4096, &third).unwrap_err();
    assert!(
        matches!(
            err,
            prune::PruneError::CutShort {
                first: 1,
                last: 8192,
                ..
            }
        ),
        "{err}"
    );
    let said = err.to_string();
    assert!(
        said.starts_with(
            "interrupted before the end; records 1..=8192 (8192 records) were removed"
        ) && said.ends_with("run the same command again to remove the rest"),
        "{said}"
    );
    assert_eq!(
        records(&store),
        every + 10 - 8192 + 1,
        "the started record added"
    );
    let txn = store.begin_read().unwrap();
    assert_eq!(verify(&txn).unwrap().first_bad, None);
    let started: Vec<AuditRecord> = {
        let mut out = Vec::new();
        export(&txn, None, &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|r: &AuditRecord| r.event.kind == EventKind::AuditPruneStarted)
            .collect()
    };
    assert_eq!(started.len(), 1);
    let detail = started[0].event.detail.clone().unwrap_or_default();
    assert!(
        detail.starts_with(&format!("records 1..={} ", every + 9)),
        "{detail}"
    );
    drop(txn);

    // the same prune again removes the rest (and the record that was the newest, now that
    // the started record is newer)
    let report = prune::prune(&store, later, &[&copy], "admin", 4096, &Silent).unwrap();
    assert_eq!((report.first, report.last), (8193, every + 10));
    assert_eq!(
        verify(&store.begin_read().unwrap()).unwrap().first_bad,
        None
    );
}

/// A prune whose transaction fails (here: a record it is to remove is gone, taken by another
/// writer once the checks passed) says nothing was removed when it was the first, and which
/// records were when it was a later one.
#[test]
fn a_prune_that_fails_part_way_says_which_records_it_removed() {
    /// Removes one record as the removing begins.
    struct TakesOne<'a> {
        store: &'a Store,
        seq: u64,
    }
    impl crate::enroll::Progress for TakesOne<'_> {
        fn phase(&self, name: &str, _: u64) {
            if name == "pruning" {
                let txn = self.store.begin_write().unwrap();
                txn.open_table(tables::AUDIT)
                    .unwrap()
                    .remove(self.seq)
                    .unwrap();
                txn.commit().unwrap();
            }
        }
        fn advance_to(&self, _: u64) {}
        fn finish(&self) {}
    }
    let later = Utc::now() + chrono::Duration::days(1);
    // (the record taken, what the prune then removed)
    for (seq, removed) in [(4, None), (8, Some(4)), (12, Some(8))] {
        let (dir, store) = store_with(20);
        let copy = dir.path().join("copy.jsonl");
        let mut file = std::fs::File::create(&copy).unwrap();
        export(&store.begin_read().unwrap(), None, &mut file).unwrap();
        let progress = TakesOne { store: &store, seq };
        let err = prune::prune(&store, later, &[&copy], "admin", 4, &progress).unwrap_err();
        match removed {
            None => assert!(
                matches!(err, prune::PruneError::Store(StoreError::Corrupt(_))),
                "{err}"
            ),
            Some(last) => {
                assert!(
                    matches!(err, prune::PruneError::CutShort { first: 1, last: l, .. } if l == last),
                    "{err}"
                );
                assert!(
                    err.to_string().contains(&format!("records 1..={last} ")),
                    "{err}"
                );
            }
        }
        let base = anchor::base(&store.begin_read().unwrap()).unwrap();
        assert_eq!(base.map(|b| b.seq), removed, "seq {seq}");
        // the first slice, once written, carries the record that the prune started
        let mut log = Vec::new();
        export(&store.begin_read().unwrap(), None, &mut log).unwrap();
        let started = String::from_utf8(log)
            .unwrap()
            .matches("\"audit_prune_started\"")
            .count();
        assert_eq!(started, usize::from(removed.is_some()), "seq {seq}");
    }
}

#[test]
fn a_record_dated_over_a_second_before_the_one_before_it_says_the_clock_went_back() {
    let now: DateTime<Utc> = "2026-12-06T10:00:00Z".parse().unwrap();
    let ms = chrono::Duration::milliseconds;
    // (the previous record's time as stored, how far back the clock went)
    let cases = [
        ("2026-12-06T09:59:59.000000Z", None),
        ("2026-12-06T10:00:00.000000Z", None),
        // up to a second is a slew's noise, not a step
        ("2026-12-06T10:00:01.000000Z", None),
        (
            "2026-12-06T10:00:01.000001Z",
            Some(ms(1_000) + chrono::Duration::microseconds(1)),
        ),
        ("2026-12-06T12:00:00.000000Z", Some(ms(7_200_000))),
        // another offset is the same instant
        ("2026-12-06T11:00:05+01:00", Some(ms(5_000))),
        // a time that does not read (an older record's) says nothing
        ("", None),
        ("yesterday", None),
    ];
    for (previous, want) in cases {
        assert_eq!(went_back(previous, now), want, "{previous:?}");
    }
}

#[test]
fn verifying_counts_the_records_dated_before_the_one_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t = |s: &str| -> DateTime<Utc> { s.parse().unwrap() };
    // (the time each commit is dated): back an hour at 3, back half a second at 5 (noise),
    // back 2 s at 6
    let times = [
        "2026-12-06T10:00:00Z",
        "2026-12-06T10:00:05Z",
        "2026-12-06T09:00:06Z",
        "2026-12-06T09:00:07Z",
        "2026-12-06T09:00:06.500Z",
        "2026-12-06T09:00:04.500Z",
    ];
    for at in times {
        let txn = store.begin_write().unwrap();
        append_in(
            &txn,
            t(at),
            [AuditEvent::new(
                "system",
                EventKind::ServiceStarted,
                Outcome::Ok,
            )],
        )
        .unwrap();
        txn.commit().unwrap();
    }
    let report = verify(&store.begin_read().unwrap()).unwrap();
    assert_eq!(report.first_bad, None);
    assert_eq!(report.clock_went_back, 2);
    assert_eq!(
        report.first_went_back,
        Some(WentBack {
            seq: 3,
            behind_ms: 3_599_000
        })
    );
}

/// A record as a later version writes it: a kind and a field this version does not know,
/// sealed the same way (head, the event's fields, `prev_hash`, `hash`).
fn later_versions_record(seq: u64, prev_hash: &str, extra: &str) -> Vec<u8> {
    let head = record_head(seq, &record_time(Utc::now())).unwrap();
    let fields = format!(
        "\"actor\":\"system\",\"kind\":\"db_defragmented\",\"call_id\":null,\
         \"member_id\":\"m-later\",\"outcome\":\"ok\",\"detail\":null,\"shards\":{extra}"
    );
    let prev = serde_json::to_string(prev_hash).unwrap();
    let hash = chain_hash(&head, format!("{{{fields}}}").as_bytes(), &prev);
    format!("{head}{fields},\"prev_hash\":{prev},\"hash\":\"{hash}\"}}").into_bytes()
}

/// After a rollback, the records a later version wrote (kinds and fields this one does not
/// know) verify, export, anchor and prune as any other, and a change to one is still found.
/// Before 2026-12-06 each check read the record as this version's event, so such a record
/// did not decode: `audit verify` said BROKEN, and exports by member or time stopped there.
#[test]
fn records_a_later_version_wrote_verify_export_and_prune() {
    let (dir, store) = store_with(3);
    let prev: AuditRecord = serde_json::from_slice(&raw(&store, 3)).unwrap();
    put(&store, 4, &later_versions_record(4, &prev.hash, "3"));
    assert!(serde_json::from_slice::<AuditRecord>(&raw(&store, 4)).is_err());
    assert_eq!(append_one(&store), 5);
    let report = verify(&store.begin_read().unwrap()).unwrap();
    assert_eq!((report.records, report.first_bad), (5, None));

    let select = Selection {
        member_id: Some("m-later".into()),
        ..Selection::default()
    };
    let mut only = Vec::new();
    export_selected(&store.begin_read().unwrap(), &select, &mut only).unwrap();
    assert_eq!(only, [raw(&store, 4), b"\n".to_vec()].concat());
    let copy = dir.path().join("copy.jsonl");
    let mut all = Vec::new();
    export(&store.begin_read().unwrap(), None, &mut all).unwrap();
    std::fs::write(&copy, &all).unwrap();
    let against = anchor::check(&store.begin_read().unwrap(), &[], &[&copy]).unwrap();
    assert_eq!(against.first_bad, None, "{against:?}");
    let later = Utc::now() + chrono::Duration::hours(1);
    let pruned = prune::prune(&store, later, &[&copy], "cli", 2, &Silent).unwrap();
    assert_eq!((pruned.first, pruned.last), (1, 4));
    // record 5 is left, and the prune's own two (started, pruned)
    let report = verify(&store.begin_read().unwrap()).unwrap();
    assert_eq!((report.records, report.first_bad), (3, None));

    // changed, it is found
    let (_d, store) = store_with(3);
    let prev: AuditRecord = serde_json::from_slice(&raw(&store, 3)).unwrap();
    let record = later_versions_record(4, &prev.hash, "3");
    put(&store, 4, &record);
    append_one(&store);
    let changed = String::from_utf8(record)
        .unwrap()
        .replace("\"shards\":3", "\"shards\":4");
    put(&store, 4, changed.as_bytes());
    let report = verify(&store.begin_read().unwrap()).unwrap();
    assert_eq!(
        report.first_bad,
        Some(BadRecord {
            seq: 4,
            reason: "record modified: hash does not match its contents".into()
        })
    );
}

/// An append dated more than a second before the newest record counts a clock step in
/// `/metrics` (the alert `CallvaultClockWentBack` watches it); one dated after, the same
/// second, or within that second's slack does not.
#[test]
fn an_append_dated_before_the_newest_record_counts_a_clock_step() {
    use chrono::TimeZone;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let at = |secs: i64| {
        Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    };
    let recorder = crate::service::recorder_builder().unwrap().build_recorder();
    let handle = recorder.handle();
    let counted = || {
        let text = handle.render();
        (text.lines())
            .find_map(|l| l.strip_prefix(CLOCK_WENT_BACK)?.strip_prefix(' '))
            .map(|v| v.parse::<f64>().unwrap())
            .unwrap_or(0.0)
    };
    let append_at = |secs: i64| {
        let txn = store.begin_write().unwrap();
        let event = AuditEvent::new("cli", EventKind::DbBackup, Outcome::Ok);
        append_in(&txn, at(secs), [event]).unwrap();
        txn.commit().unwrap();
    };
    metrics::with_local_recorder(&recorder, || {
        // (the time a step is looked for from, the time of the append, steps counted after)
        for (secs, want) in [
            (0, 0.0),
            (60, 0.0),
            (60, 0.0),
            (59, 0.0),
            (-3600, 1.0),
            (-3600, 1.0),
            (-3602, 2.0),
        ] {
            append_at(secs);
            assert_eq!(counted(), want, "an append at {secs} s");
        }
    });
}

/// An export that selects nothing hands out every record as stored, even one damaged past
/// reading (which `audit verify` names): a log to investigate is copied whole. One that
/// selects must read each record, and refuses one it cannot.
#[test]
fn an_unselected_export_copies_even_a_record_it_cannot_read() {
    let (_d, store) = store_with(3);
    put(&store, 2, b"{\"seq\": 2, damaged");
    let mut out = Vec::new();
    let n = export(&store.begin_read().unwrap(), None, &mut out).unwrap();
    assert_eq!(n, 3);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().nth(1), Some("{\"seq\": 2, damaged"), "{text}");
    assert_eq!(first_bad(&store), Some(2));
    let since = Utc::now() - chrono::Duration::hours(1);
    let e = export(&store.begin_read().unwrap(), Some(since), &mut Vec::new()).unwrap_err();
    assert!(
        e.to_string().contains("audit record 2 cannot be read"),
        "{e}"
    );
}
