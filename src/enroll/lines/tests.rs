use super::{
    Text, Trailer, excel_text, excel_text_str, fields_mismatch, id_shown, lines_up,
    names_the_member_id, trailer, trailer_counts,
};
use std::io::Read;

/// A file's text as the CSV reader gets it: past a UTF-8 byte-order mark, or out of
/// UTF-16 (either byte order) into UTF-8, with the size progress counts in; a workbook
/// is no text.
#[test]
fn a_file_opens_as_utf_8_text_whatever_it_was_saved_as() {
    let dir = tempfile::tempdir().unwrap();
    let text = "member_id,first_name\r\n1001,Zoë\r\n";
    let utf8 = text.as_bytes().to_vec();
    let cases = [
        (utf8.clone(), false),
        ([&b"\xEF\xBB\xBF"[..], &utf8].concat(), false),
        (crate::shared_tests::utf16(text, true), true),
        (crate::shared_tests::utf16(text, false), true),
    ];
    for (n, (bytes, utf16)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("{n}.csv"));
        std::fs::write(&path, &bytes).unwrap();
        let mut opened = Text::open(std::fs::File::open(&path).unwrap())
            .unwrap()
            .unwrap();
        let mut read = String::new();
        opened.reader.read_to_string(&mut read).unwrap();
        assert_eq!((read.as_str(), opened.utf16), (text, utf16), "case {n}");
        let size = bytes.len() as u64;
        let want = if utf16 { size / 2 } else { size };
        assert_eq!(opened.size_read(size), want, "case {n}");
    }
    let path = dir.path().join("book.xls");
    std::fs::write(&path, b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00").unwrap();
    assert!(matches!(
        Text::open(std::fs::File::open(&path).unwrap()).unwrap(),
        Err(super::NotCsv::OldWorkbook)
    ));
}

/// `="..."`, as exports meant for Excel write a value to keep its leading zeros, is
/// read as its text; anything else that opens with `=` stays as it is.
#[test]
fn a_value_wrapped_for_excel_is_read_as_its_text() {
    let cases: [(&str, &str); 11] = [
        ("=\"02134\"", "02134"),
        ("=\"0042\"", "0042"),
        ("=\"Zoë\"", "Zoë"),
        ("=\"\"", ""),
        ("02134", "02134"),
        ("=\"", "=\""),
        ("=\"a\"b\"", "=\"a\"b\""),
        ("=A1", "=A1"),
        ("=\"0042", "=\"0042"),
        ("0042\"", "0042\""),
        (" =\"0042\"", " =\"0042\""),
    ];
    for (cell, text) in cases {
        assert_eq!(excel_text(cell.as_bytes()), text.as_bytes(), "{cell:?}");
        assert_eq!(excel_text_str(cell), text, "{cell:?}");
    }
}

/// A refused row's id is written in its results line only when it can be no more than
/// an id: text a quote never closed read into it (an SSN after a comma, a PIN on the
/// next line) is not.
#[test]
fn an_id_is_shown_only_when_it_holds_no_comma_quote_or_control_character() {
    let long = "1".repeat(200);
    let cases = [
        ("1001", true),
        ("A-1001.5 x", true),
        ("Müller-7", true),
        // too long, but what the admin must fix
        (long.as_str(), true),
        ("1001,123-45-6789", false),
        ("1001;123-45-6789", false),
        ("1001|123-45-6789", false),
        ("1001\"", false),
        ("\"1001", false),
        ("1001\n4821", false),
        ("1001\r", false),
        ("1001\t", false),
        ("1001\u{7f}", false),
        ("1001\u{85}", false),
        ("=HYPERLINK(\"x\")", false),
        ("+1001", false),
        ("-1001", false),
        ("@SUM(A1)", false),
        ("1001-7", true),
    ];
    for (id, shown) in cases {
        assert_eq!(id_shown(id), shown, "{id:?}");
    }
}

/// A row lines up with as many fields as its header names, or with more whose extra ones
/// are all empty (a report writer's comma after every field); never with fewer.
#[test]
fn a_row_lines_up_with_its_header_or_with_empty_fields_past_it() {
    let cases: [(&[&str], usize, bool); 9] = [
        (&["a", "b"], 2, true),
        (&["a", ""], 2, true),
        (&["a", "b", ""], 2, true),
        (&["a", "b", "", " ", "\t"], 2, true),
        (&["a", "b", "c"], 2, false),
        (&["a", "b", "", "c"], 2, false),
        (&["a"], 2, false),
        (&["a", ""], 3, false),
        (&[], 0, true),
    ];
    for (fields, header, fits) in cases {
        let fields = fields.iter().map(|f| f.as_bytes());
        assert_eq!(lines_up(fields, header), fits, "{header}");
    }
}

#[test]
fn a_row_that_does_not_line_up_says_how_and_suspects_a_quote_only_when_short() {
    let hint = ": a quote opens a field and is never closed";
    let cases: [(&[&str], usize, &str, bool); 5] = [
        (&["a"], 2, "1 field where the header has 2", false),
        (
            &["a", "b", "c"],
            2,
            "3 fields where the header has 2",
            false,
        ),
        // short, with a comma inside a field: the quote took the rest of the row
        (&["a,b,c"], 3, "1 field where the header has 3", true),
        // long, with a comma inside a quoted value: a stray field, not an open quote
        (
            &["Smith, Jr", "b", "c"],
            2,
            "3 fields where the header has 2",
            false,
        ),
        (&[], 2, "0 fields where the header has 2", false),
    ];
    for (fields, header, said, quote) in cases {
        let got = fields_mismatch(fields.iter().map(|f| f.as_bytes()), header, b',');
        assert!(got.starts_with(said), "{fields:?}: {got}");
        assert_eq!(got.contains(hint), quote, "{fields:?}: {got}");
    }
}

/// The rows a core's export ends with to count its rows are told apart from members' rows:
/// trailer words first, a whole number at most, nothing else.
#[test]
fn a_row_shaped_as_a_trailer_is_told_apart() {
    let count = |n| Some(Trailer { count: Some(n) });
    let cases: [(&[&str], Option<Trailer>); 18] = [
        (&["TRAILER", "1000"], count(1000)),
        (&["trl", "000001000", ""], count(1000)),
        (&["Total Records: 1000"], count(1000)),
        (&["RECORD COUNT", " 12 ", "", ""], count(12)),
        (&["Total Rows=3"], count(3)),
        (&["EOF"], Some(Trailer { count: None })),
        (&["End of File", "", ""], Some(Trailer { count: None })),
        (&["TOTALS", "7", ""], count(7)),
        // members' rows, and rows that say more than a count
        (&["1001", "6125550101"], None),
        (&["A1001", "6125550101"], None),
        (&["TRAILER", "1000", "2026-12-07"], None),
        (&["TRAILER", "1,000"], None),
        (&["TRAILER", "+12"], None),
        (&["Total Records: +12"], None),
        (&["Total Records: 1000 rows"], None),
        (&["Totally", "3"], None),
        (&["END", "Smith"], None),
        (&["", "3"], None),
    ];
    for (fields, want) in cases {
        assert_eq!(trailer(fields.iter().copied()), want, "{fields:?}");
    }
}

/// The header again, as a row's member id: the member id column's name in any case and
/// spacing; a member id that only starts so is a member's.
#[test]
fn a_member_id_that_names_its_column_is_told() {
    for (id, named) in [
        ("member_id", true),
        ("Member ID", true),
        ("MEMBER-ID", true),
        ("member  id", true),
        ("member_id2", false),
        ("M1001", false),
        ("memberid", false),
        ("Member Number", false),
        ("1001", false),
        ("", false),
    ] {
        assert_eq!(names_the_member_id(id), named, "{id:?}");
    }
}

/// A trailer's count is the rows between the header and it, counted alone, with the
/// header, or with the header and the trailer: nothing else.
#[test]
fn a_trailers_count_is_the_rows_with_or_without_the_header_and_itself() {
    for (says, rows, counts) in [
        (5, 5, true),
        (6, 5, true),
        (7, 5, true),
        (8, 5, false),
        (10, 5, false),
        (4, 5, false),
        (0, 0, true),
        (2, 0, true),
        (3, 0, false),
    ] {
        assert_eq!(trailer_counts(says, rows), counts, "{says} for {rows}");
    }
}
