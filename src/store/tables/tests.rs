use super::*;

#[test]
fn buckets_merge_removals_and_additions() {
    let b = bucket_merge(
        None,
        &[],
        &[
            ("+12025550143", "B"),
            ("+12025550101", "A"),
            ("+12025550143", "A"),
        ],
    )
    .unwrap();
    assert_eq!(b, "+12025550101\0A\n+12025550143\0A\n+12025550143\0B");
    let b2 = bucket_merge(
        Some(&b),
        &[("+12025550143", "A")],
        &[("+12025550101", "A"), ("+12025550150", "C")],
    )
    .unwrap();
    let entries: Vec<_> = bucket_entries(&b2).collect();
    assert_eq!(
        entries,
        vec![
            ("+12025550101", "A"),
            ("+12025550143", "B"),
            ("+12025550150", "C")
        ]
    );
    assert_eq!(bucket_merge(Some("+1202\0A"), &[("+1202", "A")], &[]), None);
    assert_eq!(bucket_of("+12025550143"), "+120255501");
    assert_eq!(bucket_of("4400"), "4400");
    assert_eq!(bucket_of("44001"), "440");
}

#[test]
fn a_bucket_yields_the_ids_under_exactly_one_value() {
    let bucket = "+12025550101\0A\n+12025550143\0+12025550101\n+12025550143\0B\n\
                  +120255501430\0C\n+12025550199\0D";
    let cases: [(&str, &[&str]); 7] = [
        ("+12025550101", &["A"]),
        ("+12025550143", &["+12025550101", "B"]),
        ("+12025550199", &["D"]),
        ("+120255501430", &["C"]),
        ("+1202555014", &[]),
        ("A", &[]),
        ("+12025550150", &[]),
    ];
    for (value, want) in cases {
        let got: Vec<&str> = bucket_ids(bucket, value).collect();
        assert_eq!(got, want, "{value}");
        let by_lines: Vec<&str> = bucket_entries(bucket)
            .filter(|(v, _)| *v == value)
            .map(|(_, m)| m)
            .collect();
        assert_eq!(got, by_lines, "{value}: as splitting every line finds");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
    /// The NUL-guided search finds what splitting every line finds, on buckets whose values
    /// share all but their last characters (as a bucket's do) or differ in length (values of
    /// four characters or fewer are buckets of their own, and can share one with a longer
    /// value), ids included that look like values.
    #[test]
    fn the_search_finds_what_splitting_every_line_finds(
        entries in proptest::collection::vec(("[0-9]{0,3}", "(\\+120255501)?[0-9A-C]{1,3}"), 0..40),
        probe in "[0-9]{0,3}",
    ) {
        let entries: Vec<(String, String)> = entries
            .into_iter()
            .map(|(tail, id)| (format!("+120255501{tail}"), id))
            .collect();
        let pairs: Vec<(&str, &str)> = entries.iter().map(|(v, m)| (v.as_str(), m.as_str())).collect();
        let Some(bucket) = bucket_merge(None, &[], &pairs) else {
            return Ok(());
        };
        for value in [format!("+120255501{probe}"), probe.clone(), String::new()] {
            let got: Vec<&str> = bucket_ids(&bucket, &value).collect();
            let by_lines: Vec<&str> = bucket_entries(&bucket)
                .filter(|(v, _)| *v == value)
                .map(|(_, m)| m)
                .collect();
            proptest::prop_assert_eq!(got, by_lines, "{:?} in {:?}", value, bucket);
        }
    }
}

#[test]
fn staging_tables_are_dropped_whichever_of_them_a_run_left() {
    use redb::ReadableDatabase;
    let dir = tempfile::tempdir().unwrap();
    let db = redb::Database::create(dir.path().join("s.redb")).unwrap();
    let staged = |txn: &WriteTransaction, which: usize| match which {
        0 => drop(txn.open_table(STAGED_MEMBERS.members).unwrap()),
        1 => drop(txn.open_table(STAGED_MEMBERS.phones).unwrap()),
        _ => drop(txn.open_table(STAGED_MEMBERS.accounts).unwrap()),
    };
    // (tables a crashed run left, whether any are dropped)
    let cases: &[(&[usize], bool)] = &[
        (&[], false),
        (&[0], true),
        (&[1], true),
        (&[2], true),
        (&[0, 1, 2], true),
    ];
    for &(left, dropped) in cases {
        let txn = db.begin_write().unwrap();
        for &which in left {
            staged(&txn, which);
        }
        txn.open_table(LIVE_MEMBERS.members).unwrap();
        assert_eq!(drop_staging(&txn).unwrap(), dropped, "{left:?}");
        txn.commit().unwrap();
        let names: Vec<String> = db
            .begin_read()
            .unwrap()
            .list_tables()
            .unwrap()
            .map(|t| redb::TableHandle::name(&t).to_string())
            .collect();
        assert_eq!(
            names,
            [redb::TableHandle::name(&LIVE_MEMBERS.members)],
            "{left:?}"
        );
    }
}
