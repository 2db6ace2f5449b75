use super::*;
use crate::member::phone::{PhoneClass, Region, classify};

#[test]
fn generated_numbers_are_unique_and_valid() {
    let mut seen = std::collections::HashSet::new();
    for i in (0..2_000_000u64).step_by(997) {
        let n = number(i);
        assert!(seen.insert(n), "{n:?} repeats");
        let text = format_number(n, i);
        assert!(
            matches!(classify(&text, Region::default()), PhoneClass::Personal(_)),
            "{text} is not a valid personal number"
        );
    }
}

#[test]
fn a_file_has_every_kind_of_row_and_reads_back_as_csv() {
    let mut bytes = Vec::new();
    let options = GenOptions {
        rows: 3000,
        crlf: true,
        bom: true,
        ..GenOptions::default()
    };
    let stats = write_members(&mut bytes, &options).unwrap();
    assert_eq!(stats.rows, 3000);
    for (name, n) in [
        ("duplicate", stats.duplicate),
        ("missing", stats.missing_phone),
        ("invalid", stats.invalid_phone),
        ("landline", stats.landline),
        ("fraud", stats.fraud_flag),
        ("recent", stats.recent_change),
        ("shared", stats.shared_phone),
        ("newline", stats.quoted_newline),
    ] {
        assert!(n > 0, "no {name} rows");
    }
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    assert!(bytes.windows(2).any(|w| w == b"\r\n"));
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(reader.records().count(), 3000);
    let again = {
        let mut b = Vec::new();
        write_members(&mut b, &options).unwrap();
        b
    };
    assert_eq!(bytes, again, "the same seed writes the same file");
}
