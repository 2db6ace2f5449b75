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
