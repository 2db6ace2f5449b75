use std::sync::Arc;

use super::*;
use crate::clock::SystemClock;
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
            first_bad: None
        }
    );
    let (_d, empty) = store_with(0);
    assert_eq!(first_bad(&empty), None);
}

#[test]
fn tampering_is_found_at_the_first_bad_record() {
    type Tamper = fn(&Store);
    let cases: [(&str, Tamper, u64); 6] = [
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
            |s| {
                let mut r: AuditRecord = serde_json::from_slice(&raw(s, 6)).unwrap();
                r.event.outcome = Outcome::Ok;
                r.hash = r.compute_hash();
                put(s, 6, &serde_json::to_vec(&r).unwrap());
            },
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
        ("garbage written", |s| put(s, 2, b"{not json"), 2),
    ];
    for (name, tamper, want) in cases {
        let (_d, store) = store_with(10);
        tamper(&store);
        assert_eq!(first_bad(&store), Some(want), "{name}");
    }
}

#[test]
fn appends_continue_the_chain_across_transactions() {
    let (_d, store) = store_with(3);
    let txn = store.begin_write().unwrap();
    let last = append_in(
        &txn,
        Utc::now(),
        [AuditEvent::new("cli", EventKind::DbBackup, Outcome::Ok)],
    )
    .unwrap();
    txn.commit().unwrap();
    assert_eq!(last, 4);
    let r: AuditRecord = serde_json::from_slice(&raw(&store, 4)).unwrap();
    let prev: AuditRecord = serde_json::from_slice(&raw(&store, 3)).unwrap();
    assert_eq!(r.prev_hash, prev.hash);
    assert_eq!(first_bad(&store), None);
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
            first_bad: None
        }
    );
    // Each answered sequence number holds the event that was recorded for it.
    let r: AuditRecord = serde_json::from_slice(&raw(&store, seqs[0])).unwrap();
    assert!(r.event.actor.starts_with('t'));
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
    std::fs::write(&copy, "{\"seq\":1,\"hash\":\"x\"}\nhello\n").unwrap();
    let err = anchor::check(&store.begin_read().unwrap(), &[], &[&copy]).unwrap_err();
    assert!(err.to_string().contains("notes.txt line 2"), "{err}");
    let missing = dir.path().join("missing.jsonl");
    let err = anchor::check(&store.begin_read().unwrap(), &[], &[&missing]).unwrap_err();
    assert!(err.to_string().contains("missing.jsonl"), "{err}");
}
