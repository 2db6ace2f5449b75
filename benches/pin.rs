//! PIN checks in hashed mode against raw bcrypt (budget: at least 90 % of raw bcrypt
//! throughput at the configured cost on all cores).
//!
//! `cargo bench --bench pin`: both groups verify the same number of PINs per iteration at
//! bcrypt cost 10 (the default). `raw_bcrypt` runs `bcrypt::verify` on one thread per core;
//! `vault_check_pin` sends concurrent checks through the vault as the service does: the
//! bounded pool, the sealed record opened, the lockout counter read, all on a real redb file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use callvault::config::{Config, VaultConfig};
use callvault::store::Store;
use callvault::vault::{PinCheck, Settings, Vault, create_key_file};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zeroize::Zeroizing;

const COST: u32 = 10;
const MEMBERS: usize = 32;

fn pin_of(i: usize) -> String {
    format!("{:04}", 2000 + i * 7)
}

fn pins(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_iter = cores * 8;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("vault.key");
    create_key_file(&key).unwrap();
    let store = Arc::new(Store::open(&dir.path().join("state")).unwrap());
    let vault = Arc::new(Vault::open(store, &key, 0).unwrap());
    let config = Config {
        vault: VaultConfig {
            bcrypt_cost: COST,
            ..VaultConfig::default()
        },
        ..Config::default()
    };
    let settings = Settings::from_config(&config);
    let now = chrono::Utc::now();
    for i in 0..MEMBERS {
        vault
            .store_pin_now(&format!("M{i}"), &pin_of(i), true, &settings, now)
            .unwrap();
    }
    let hashes: Vec<String> = (0..MEMBERS)
        .map(|i| bcrypt::hash(pin_of(i), COST).unwrap())
        .collect();

    let mut group = c.benchmark_group("pin_checks");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(20));
    group.throughput(Throughput::Elements(per_iter as u64));

    group.bench_function("raw_bcrypt", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                for t in 0..cores {
                    let hashes = &hashes;
                    s.spawn(move || {
                        for k in 0..per_iter / cores {
                            let i = (t * 8 + k) % MEMBERS;
                            assert!(bcrypt::verify(pin_of(i), &hashes[i]).unwrap());
                        }
                    });
                }
            });
        })
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    group.bench_function("vault_check_pin", |b| {
        b.iter(|| {
            rt.block_on(async {
                let checks = (0..per_iter).map(|k| {
                    let i = k % MEMBERS;
                    vault.check_pin(
                        format!("M{i}"),
                        Zeroizing::new(pin_of(i)),
                        settings.clone(),
                        now,
                    )
                });
                for answer in futures_util::future::join_all(checks).await {
                    assert!(matches!(answer.unwrap(), PinCheck::Correct { .. }));
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, pins);
criterion_main!(benches);
