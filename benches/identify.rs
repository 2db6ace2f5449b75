//! Identification by phone through the embedded adapter (budget: microseconds).
//!
//! `cargo bench --bench identify`: 200,000 members enrolled from a generated file, then the
//! lookup the dialog makes for every call: E.164 number -> the members it identifies. Then
//! the search inside one index bucket alone, on a bucket of 1, 2 and 100 numbers (a bucket
//! holds the numbers that differ only in their last two digits; the load scripts' members
//! fill theirs). Then a keyed member number: as enrolled, with leading zeros, and unknown.
//! Last, a caller ID normalized, plain and as a `tel:` or SIP URI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use callvault::config::Config;
use callvault::core::EmbeddedCore;
use callvault::enroll::generate::{GenOptions, mobile_e164, write_members};
use callvault::enroll::{Mode, Options, progress::Silent, run};
use callvault::member::phone::Region;
use callvault::store::Store;
use callvault::store::tables::{bucket_ids, bucket_merge};
use criterion::{Criterion, criterion_group, criterion_main};

fn identify(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("members.csv");
    let options = GenOptions {
        rows: 200_000,
        variety: false,
        ..GenOptions::default()
    };
    write_members(&mut std::fs::File::create(&file).unwrap(), &options).unwrap();
    let store = Arc::new(Store::open(&dir.path().join("state")).unwrap());
    let enroll = Options::from_config(&Config::default(), Mode::Incremental, false);
    run(
        &store,
        &file,
        &dir.path().join("outbox"),
        &enroll,
        "bench",
        &Silent,
    )
    .unwrap();
    let core = EmbeddedCore::new(store, Region::default());
    // Numbers of enrolled members, spread over the file, and one nobody has.
    let known: Vec<String> = [0u64, 777, 55_555, 123_456, 199_999]
        .iter()
        .map(|i| mobile_e164(*i))
        .collect();
    for number in &known {
        assert_eq!(
            core.phone_matches(number).unwrap().len(),
            1,
            "{number} not enrolled"
        );
    }
    let mut i = 0usize;
    c.bench_function("identify_by_phone_200k_members", |b| {
        b.iter(|| {
            i = (i + 1) % known.len();
            core.phone_matches(&known[i]).unwrap()
        })
    });
    c.bench_function("identify_unknown_number", |b| {
        b.iter(|| core.phone_matches("+12025550000").unwrap())
    });
    // A keyed member number (the generated ones are 100000...299999): as enrolled; with the
    // zeros a padded export has (found on the second read); and one nobody has, tried at
    // every width up to 64 digits.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    use callvault::core::{CoreAdapter, IdentifierKind};
    for (name, keyed, found) in [
        ("as_keyed", "155555", 1),
        ("zero_padded", "0000155555", 1),
        ("unknown", "99999999", 0),
    ] {
        let find = || {
            rt.block_on(core.find_by_identifier(IdentifierKind::MemberNumber, keyed))
                .unwrap()
        };
        assert_eq!(find().len(), found, "{keyed}");
        c.bench_function(&format!("identify_member_number_{name}"), |b| b.iter(find));
    }
}

/// A caller ID to E.164, as a call start reads it: plain, and as the URIs IVR platforms send
/// (Genesys Cloud's `tel:`, a SIP From header).
fn caller_id(c: &mut Criterion) {
    use callvault::member::phone::normalize_ani;
    let us = Region::default();
    for (name, ani) in [
        ("e164", "+16122030101"),
        ("tel_uri", "tel:+16122030101"),
        (
            "sip_name_addr",
            "\"Ada\" <sip:+16122030101@10.0.0.90;user=phone>",
        ),
    ] {
        assert_eq!(normalize_ani(ani, us).as_deref(), Some("+16122030101"));
        c.bench_function(&format!("normalize_ani_{name}"), |b| {
            b.iter(|| normalize_ani(std::hint::black_box(ani), us))
        });
    }
}

fn bucket_search(c: &mut Criterion) {
    for n in [1usize, 2, 100] {
        let entries: Vec<(String, String)> = (0..n)
            .map(|i| (format!("+16122031{i:02}"), format!("M{:07}", 1000 + i)))
            .collect();
        let pairs: Vec<(&str, &str)> = entries
            .iter()
            .map(|(v, m)| (v.as_str(), m.as_str()))
            .collect();
        let bucket = bucket_merge(None, &[], &pairs).unwrap();
        let mut i = 0usize;
        c.bench_function(&format!("bucket_search_{n}_entries"), |b| {
            b.iter(|| {
                i = (i + 37) % n;
                bucket_ids(&bucket, &entries[i].0).count()
            })
        });
    }
}

criterion_group!(benches, identify, bucket_search, caller_id);
criterion_main!(benches);
