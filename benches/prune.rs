//! Pruning old audit records (`callvault audit prune`): how long it takes, and how long it
//! keeps another writer (an IVR step's commit) waiting.
//!
//! `cargo bench --bench prune`. Each iteration fills a fresh store with 200,000 records
//! (outside the timing), exports them, and prunes all but the newest against that export
//! while a second thread commits an empty write transaction every millisecond and notes
//! its longest wait, which is printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use callvault::audit::{AuditEvent, EventKind, Outcome, append_in, export, prune};
use callvault::enroll::progress::Silent;
use callvault::store::Store;
use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const RECORDS: u64 = 200_000;

fn filled() -> (tempfile::TempDir, Arc<Store>, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let then = Utc::now() - chrono::Duration::days(400);
    for chunk in 0..RECORDS / 10_000 {
        let txn = store.begin_write().unwrap();
        let events = (0..10_000).map(|i| {
            AuditEvent::new("key:ivr1", EventKind::CallStarted, Outcome::Ok)
                .call(format!("call-{chunk}-{i}"))
                .member("100234".to_string())
                .detail("profile=members ani=yes")
        });
        append_in(&txn, then, events).unwrap();
        txn.commit().unwrap();
    }
    let copy = dir.path().join("siem.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&copy).unwrap());
    export(&store.begin_read().unwrap(), None, &mut out).unwrap();
    drop(out);
    (dir, store, copy)
}

fn prune_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit_prune");
    group.throughput(Throughput::Elements(RECORDS - 1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("200k_records", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_dir, store, copy) = filled();
                let done = Arc::new(AtomicBool::new(false));
                let probe = {
                    let (store, done) = (store.clone(), done.clone());
                    std::thread::spawn(move || {
                        let mut longest = Duration::ZERO;
                        while !done.load(Ordering::Relaxed) {
                            let asked = Instant::now();
                            store.begin_write().unwrap().commit().unwrap();
                            longest = longest.max(asked.elapsed());
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        longest
                    })
                };
                let start = Instant::now();
                let report =
                    prune::prune(&store, Utc::now(), &[&copy], "bench", prune::SLICE, &Silent)
                        .unwrap();
                total += start.elapsed();
                done.store(true, Ordering::Relaxed);
                let longest = probe.join().unwrap();
                assert_eq!(report.removed, RECORDS - 1);
                eprintln!(
                    "  pruned {} records; another writer waited at most {longest:?}",
                    report.removed
                );
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, prune_bench);
criterion_main!(benches);
