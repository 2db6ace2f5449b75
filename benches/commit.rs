//! What one group commit costs the audit committer, by how many call starts it carries.
//!
//! `cargo bench --bench commit`. Each iteration is one durable write transaction holding B
//! call starts exactly as `POST /v1/calls` writes them, with call ids in no order as IVR
//! platforms send them (the call row with its profile,
//! encoded beforehand on the request's side, and the two chained audit records), committed
//! with fsync. The time per commit is about F + p·B: F, the commit's own cost, and p, each
//! call start's. Both bound the peak call-start rate (BENCHMARKS.md, "Where a call start's
//! time goes").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use callvault::audit::append_in;
use callvault::calls::{CallIndex, encode_call, number_call, save_encoded_step};
use callvault::config::Config;
use callvault::dialog::{self, Arrival, Found, NewCall, Rules};
use callvault::lockout;
use callvault::member::Member;
use callvault::store::Store;
use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn commit(c: &mut Criterion) {
    let config = Config::default();
    let (profile_name, profile) = config.profile_for(None);
    let members: Vec<Member> = (0..5_000)
        .map(|i| Member {
            member_id: format!("{}", 10_000 + i),
            first_name: Some(format!("M{i}")),
            mobile_phone: Some(format!("+1612203{i:04}")),
            dob: chrono::NaiveDate::from_ymd_opt(1980, 1, 1),
            zip: Some("55401".into()),
            ssn_last4: Some("1234".into()),
            ..Member::default()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let index = CallIndex::load(&store).unwrap();
    let mut n = 0u64;
    let mut group = c.benchmark_group("group_commit_of_call_starts");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for batch in [1u64, 4, 16, 64] {
        group.throughput(Throughput::Elements(batch));
        group.bench_function(format!("{batch}_per_commit"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    // The dialog's work happens on the request side; only the writes are timed.
                    let now = Utc::now();
                    let rules = Rules {
                        pin_policy: &config.pin_policy,
                        answer_lockout: lockout::Policy::answers(&config.lockout),
                        new_pin_attempts: config.pin_change.attempts,
                        now,
                    };
                    let starts: Vec<_> = (0..batch)
                        .map(|_| {
                            n += 1;
                            let member = &members[(n as usize * 7) % members.len()];
                            let new = NewCall {
                                call_id: random_looking_id(n),
                                ani: member.mobile_phone.clone(),
                                caller_id_check: None,
                                dnis: Some("+18005550100".into()),
                                profile_name: profile_name.clone(),
                                profile: profile.clone(),
                            };
                            let found = Found::One {
                                member,
                                has_pin: false,
                            };
                            let start = dialog::start(new, Arrival::Ani(found), &rules);
                            // as in the load script: started, identified, first question
                            assert_eq!(start.events.len(), 2, "{:?}", start.events);
                            // the call row is encoded on the request's thread, as in `start`
                            let row = encode_call(&start.call).unwrap();
                            (start, row)
                        })
                        .collect();
                    let t = Instant::now();
                    let txn = store.begin_write().unwrap();
                    let mut events = Vec::new();
                    for (start, row) in &starts {
                        let call = &start.call;
                        let number = index
                            .reserve(&call.call_id, call.ani.as_deref(), call.started_at)
                            .unwrap();
                        number_call(&txn, number, call).unwrap();
                        events.extend(
                            save_encoded_step(&txn, &index, start, row, None, "key:load", now)
                                .unwrap(),
                        );
                    }
                    append_in(&txn, now, events).unwrap();
                    txn.commit().unwrap();
                    spent += t.elapsed();
                }
                spent
            })
        });
    }
    group.finish();
}

/// A call id as IVR platforms send them (Genesys and Amazon Connect: UUIDs): unique for
/// each `n`, in no order (2654435761 is odd, so the first 8 hex digits differ for every
/// `n` below 2^32).
fn random_looking_id(n: u64) -> String {
    let h = n.wrapping_mul(2_654_435_761) % (1 << 32);
    format!("{h:08x}-{:04x}-4000-8000-{n:012}", h % 65_536)
}

criterion_group!(benches, commit);
criterion_main!(benches);
