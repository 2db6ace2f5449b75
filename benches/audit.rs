//! Durable audit events per second through the group committer (budget: at least 5,000/s).
//!
//! `cargo bench --bench audit`. Each iteration records 2,000 events from N concurrent
//! producers and returns once every one of them is durable (fsynced) in the store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use callvault::audit::{AuditEvent, AuditLog, EventKind, Outcome};
use callvault::clock::SystemClock;
use callvault::store::Store;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const EVENTS: u64 = 2_000;

fn record_concurrently(log: &AuditLog, producers: u64) -> Duration {
    let start = Instant::now();
    let per = EVENTS / producers;
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    log.record_blocking(
                        AuditEvent::new(
                            format!("key:ivr{p}"),
                            EventKind::AuthFailed,
                            Outcome::Denied,
                        )
                        .call(format!("call-{p}-{i}")),
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

fn audit(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit_durable_events");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for producers in [1u64, 8, 64, 200] {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let log = AuditLog::start(store, Arc::new(SystemClock), 4096);
        group.bench_function(format!("{producers}_producers"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| record_concurrently(&log, producers))
                    .sum()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, audit);
criterion_main!(benches);
