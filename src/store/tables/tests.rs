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
