use super::*;
use crate::enroll::names::OTHER_NAMES;

fn header(cols: &[&str]) -> Columns {
    Columns::from_header(&StringRecord::from(cols.to_vec())).unwrap()
}

#[test]
fn headers_are_case_insensitive_in_any_order_and_report_unknown_columns() {
    let c = header(&["Mobile_Phone", " MEMBER_ID ", "shoe_size"]);
    assert_eq!(c.unknown, vec!["shoe_size".to_string()]);
    let row = parse(&c, &StringRecord::from(vec!["2025550143", "M1", "44"])).unwrap();
    assert_eq!(row.member.member_id, "M1");
    assert_eq!(row.mobile_text.as_deref(), Some("2025550143"));
}

/// A name is the column whatever its case, and with spaces, hyphens or underscores between
/// its words, as a core's report or a spreadsheet names its columns.
#[test]
fn column_names_as_reports_write_them() {
    let cases = [
        ("member_id", "member_id"),
        ("Member ID", "member_id"),
        (" MEMBER-ID ", "member_id"),
        ("Member  _ ID", "member_id"),
        ("SSN Last4", "ssn_last4"),
        ("e-mail", "e_mail"),
        ("MemberID", "memberid"),
        ("", ""),
        (" - ", ""),
    ];
    for (raw, want) in cases {
        assert_eq!(column_name(raw), want, "{raw:?}");
    }
    let c = header(&["Member ID", "Mobile-Phone", " First Name ", "Date of Birth"]);
    assert_eq!(c.unknown, ["Date of Birth"]);
    let row = parse(
        &c,
        &StringRecord::from(vec!["M1", "2025550143", "Ada", "x"]),
    )
    .unwrap();
    assert_eq!(row.member.member_id, "M1");
    assert_eq!(row.member.first_name.as_deref(), Some("Ada"));
    // one column named twice, in two ways, is named as the second one is written
    let twice = Columns::from_header(&StringRecord::from(vec![
        "member_id",
        "mobile_phone",
        "Member ID",
    ]));
    assert_eq!(
        twice.unwrap_err(),
        HeaderError::DuplicateColumn("Member ID".into())
    );
}

/// The names cores and spreadsheets give the columns are offered as hints, never read as
/// the columns; a name whose column the header has already is offered nothing, not a slip
/// of another (`Date of Birth` is not `place_of_birth`).
#[test]
fn names_reports_give_the_columns_are_hinted() {
    // (a file of deletes needs no phone column)
    let c = header(&[
        "member_id",
        "action",
        "Cell Phone",
        "Date of Birth",
        "ZipCode",
        "Home Phone",
        "Share Balance",
        "SSN",
        "Member",
    ]);
    assert_eq!(c.unknown.len(), 7, "none is read: {:?}", c.unknown);
    assert_eq!(
        c.meant,
        [
            ("Cell Phone".to_string(), "mobile_phone"),
            ("Date of Birth".to_string(), "dob"),
            ("ZipCode".to_string(), "zip"),
            ("Home Phone".to_string(), "other_phones"),
            ("Share Balance".to_string(), "savings_balance"),
            ("SSN".to_string(), "ssn_last4"),
        ]
    );
    let c = header(&["member_id", "mobile_phone", "dob", "Date of Birth"]);
    assert!(c.meant.is_empty(), "{:?}", c.meant);
    let got = Columns::from_header(&StringRecord::from(vec!["Member Number", "Mobile"]));
    assert_eq!(
        got.unwrap_err().to_string(),
        "no header row: the first line must name the columns (member_id, mobile_phone, ...); \
         it names none callvault knows (\"Member Number\": did you mean member_id?; \
         \"Mobile\": did you mean mobile_phone?)"
    );
    // every other name is of a column, one column's only, and no column's own
    let mut seen = std::collections::HashSet::new();
    for (column, names) in OTHER_NAMES {
        assert!(Column::from_name(column).is_some(), "{column}");
        for name in names {
            assert!(seen.insert(*name), "{name} twice");
            assert!(NAMES.iter().all(|(n, _)| n != name), "{name} is a column");
        }
    }
}

#[test]
fn header_problems_stop_the_file() {
    let missing = |column| HeaderError::MissingColumn {
        column,
        meant: None,
    };
    let pins = |name: &str| HeaderError::PinColumn(name.into());
    let cases: [(&[&str], HeaderError); 11] = [
        (&["a", "b"], HeaderError::NoHeader(Vec::new())),
        // a column of PINs, however named, before any other problem of the header
        (&["member_id", "mobile_phone", "pin"], pins("pin")),
        (&["Member Number", " PIN "], pins("PIN")),
        (
            &["member_id", "mobile_phone", "PIN-Number"],
            pins("PIN-Number"),
        ),
        (&["member_id", "IVR PIN"], pins("IVR PIN")),
        (&["member_id", "mobile_phone", "Passcode"], pins("Passcode")),
        (&["member_id", "mobile_phone", "pin_code"], pins("pin_code")),
        // names that only hold the letters
        (&["member_id", "pinned", "spin"], missing("mobile_phone")),
        (&["mobile_phone", "dob"], missing("member_id")),
        (&["member_id", "dob"], missing("mobile_phone")),
        (
            &["member_id", "mobile_phone", "member_id"],
            HeaderError::DuplicateColumn("member_id".into()),
        ),
    ];
    for (cols, want) in cases {
        let got = Columns::from_header(&StringRecord::from(cols.to_vec())).unwrap_err();
        assert_eq!(got, want, "{cols:?}");
    }
    assert!(Columns::from_header(&StringRecord::from(vec!["member_id", "action"])).is_ok());
}

#[test]
fn a_misspelt_column_is_told_the_column_it_was_likely_meant_to_be() {
    let c = header(&[
        "member_id",
        "Mobile_Phone",
        "frist_name",
        "shoe_size",
        "zipp",
    ]);
    assert_eq!(c.unknown, ["frist_name", "shoe_size", "zipp"]);
    assert_eq!(
        c.meant,
        [
            ("frist_name".to_string(), "first_name"),
            ("zipp".to_string(), "zip")
        ]
    );
    // a column the header has already is not offered again
    let c = header(&["member_id", "mobile_phone", "zip", "zipp"]);
    assert_eq!(c.unknown, ["zipp"]);
    assert!(c.meant.is_empty(), "{:?}", c.meant);

    for (cols, want) in [
        (
            &["member_id", "Mobil_Phone"][..],
            "missing required column mobile_phone (\"Mobil_Phone\": did you mean mobile_phone?)",
        ),
        (
            &["memberid", "mobile_phone"],
            "missing required column member_id (\"memberid\": did you mean member_id?)",
        ),
        // a name near another column does not stand for the missing one
        (
            &["member_id", "dobb"],
            "missing required column mobile_phone",
        ),
        (
            &["MemberID", "mobile", "e_mail"],
            "no header row: the first line must name the columns (member_id, mobile_phone, \
             ...); it names none callvault knows (\"MemberID\": did you mean member_id?; \
             \"mobile\": did you mean mobile_phone?; \"e_mail\": did you mean email?)",
        ),
        // data where the header should be: nothing is guessed from it
        (
            &["100001", "2025550143"],
            "no header row: the first line must name the columns (member_id, mobile_phone, \
             ...); it names none callvault knows",
        ),
    ] {
        let got = Columns::from_header(&StringRecord::from(cols.to_vec())).unwrap_err();
        assert_eq!(got.to_string(), want, "{cols:?}");
    }
}

#[test]
fn fields_out_of_format_make_the_row_malformed_without_quoting_them() {
    let cols = [
        "member_id",
        "mobile_phone",
        "dob",
        "zip",
        "ssn_last4",
        "fraud_flag",
        "savings_balance",
        "email",
        "action",
        "phone_type",
        "profile_changed_at",
    ];
    let c = header(&cols);
    let good = [
        "M1",
        "2025550143",
        "1980-02-29",
        "12345-6789",
        "6789",
        "yes",
        "1,234.56",
        "a@b.c",
        "",
        "Mobile",
        "2026-01-02 10:00",
    ];
    let base = {
        let mut g = good.to_vec();
        g[6] = "1234.56";
        g
    };
    let row = parse(&c, &StringRecord::from(base.clone())).unwrap();
    assert_eq!(row.member.zip.as_deref(), Some("12345"));
    assert!(row.member.fraud_flag);
    assert_eq!(row.member.savings_balance_cents, Some(123456));
    assert_eq!(row.member.phone_type, PhoneType::Mobile);
    let cases = [
        (2, "1980-02-30", "dob"),
        (2, "02/03/1980", "dob"),
        (3, "1234", "zip"),
        (4, "678", "ssn_last4"),
        (4, "67a9", "ssn_last4"),
        (4, "123-45-6781", "ssn_last4"),
        (4, "123456781", "ssn_last4"),
        (4, "XXX-XX-67", "ssn_last4"),
        (4, "12-6781", "ssn_last4"),
        (5, "maybe", "fraud_flag"),
        (6, "12,50", "savings_balance"),
        (6, "12.345", "savings_balance"),
        (7, "not-an-email", "email"),
        (7, "ana@cu.example;bob@cu.example", "email"),
        (7, "ana@cu", "email"),
        (8, "remove", "action"),
        (9, "pager", "phone_type"),
        (10, "yesterday", "profile_changed_at"),
        (0, "", "member_id"),
    ];
    // the flag's words, PostgreSQL's t and f among them, in any case
    for (flag, want) in [
        ("t", true),
        ("F", false),
        ("Y", true),
        ("no", false),
        ("TRUE", true),
        ("0", false),
    ] {
        let mut fields = base.clone();
        fields[5] = flag;
        let row = parse(&c, &StringRecord::from(fields)).expect(flag);
        assert_eq!(row.member.fraud_flag, want, "{flag}");
    }
    // a core's masked SSN gives its last 4; a whole SSN is refused, said as such, and not
    // repeated
    for (masked, last4) in [
        ("XXX-XX-6781", "6781"),
        ("***-**-6781", "6781"),
        ("xxx xx 6781", "6781"),
        ("###-##-6781", "6781"),
    ] {
        let mut fields = base.clone();
        fields[4] = masked;
        let row = parse(&c, &StringRecord::from(fields)).expect(masked);
        assert_eq!(row.member.ssn_last4.as_deref(), Some(last4), "{masked}");
    }
    for whole in ["123-45-6781", "123456781", "123 45 6781"] {
        let mut fields = base.clone();
        fields[4] = whole;
        let err = parse(&c, &StringRecord::from(fields)).unwrap_err();
        assert!(
            err.detail
                .starts_with("ssn_last4 holds a whole SSN (9 digits): export only its last 4"),
            "{whole}: {}",
            err.detail
        );
        assert!(!err.detail.contains("6781"), "{}", err.detail);
    }
    for (i, value, name) in cases {
        let mut fields = base.clone();
        fields[i] = value;
        let err = parse(&c, &StringRecord::from(fields)).unwrap_err();
        assert!(err.detail.starts_with(name), "{value:?}: {}", err.detail);
        if !value.is_empty() {
            assert!(
                !err.detail.contains(value),
                "{value:?} quoted in {}",
                err.detail
            );
        }
    }
    let short = parse(&c, &StringRecord::from(vec!["M1", "2025550143"])).unwrap_err();
    assert!(short.detail.contains("2 fields"), "{}", short.detail);
    assert_eq!(short.member_id.as_deref(), Some("M1"));
}

#[test]
fn dates_parse_strictly() {
    let cases = [
        ("1980-02-29", NaiveDate::from_ymd_opt(1980, 2, 29)),
        ("1981-02-29", None),
        ("1980-2-29", None),
        ("1980/02/29", None),
        ("1980-02/29", None),
        ("1980/02-29", None),
        ("19800229xx", None),
        ("198a-02-29", None),
        ("", None),
    ];
    for (text, want) in cases {
        assert_eq!(parse_ymd(text), want, "{text:?}");
    }
}

/// A date column as cores' exports write dates besides `YYYY-MM-DD`: a SQL `datetime`'s
/// date and time (the day as written), a mainframe's `YYYYMMDD`, one-digit months and days,
/// a midnight with a zone (JavaScript's dates); refused with why: slashes, and a time of
/// day with a zone.
#[test]
fn date_columns_take_the_forms_exports_write() {
    let d = |y, m, day| Ok(NaiveDate::from_ymd_opt(y, m, day).unwrap());
    let zone = Err(
        "is a date and time with a time zone, whose day is unclear: export the date \
                    alone, YYYY-MM-DD",
    );
    let not = Err("is not a date YYYY-MM-DD");
    let cases = [
        ("1984-03-12", d(1984, 3, 12)),
        ("1984-3-12", d(1984, 3, 12)),
        ("1984-03-2", d(1984, 3, 2)),
        ("19840312", d(1984, 3, 12)),
        ("1984-03-12-00.00.00.000000", d(1984, 3, 12)),
        ("19840312000000", d(1984, 3, 12)),
        ("2026-11-30 00:00:00.000", d(2026, 11, 30)),
        ("2026-11-30T14:22:00", d(2026, 11, 30)),
        ("2026-11-30 23:59", d(2026, 11, 30)),
        ("1984-03-12T00:00:00Z", d(1984, 3, 12)),
        ("1984-03-12T00:00:00.000+01:00", d(1984, 3, 12)),
        ("2026-11-30T23:30:00Z", zone),
        ("2026-11-30T14:22:00-06:00", zone),
        ("03121984", not),
        ("12-03-1984", not),
        // the month named (Oracle's DD-MON-YYYY), and Oracle's default two-digit year
        ("12-Mar-1984", d(1984, 3, 12)),
        ("12-MAR-1984", d(1984, 3, 12)),
        ("March 12, 1984", d(1984, 3, 12)),
        (
            "12-MAR-84",
            Err(
                "has a two-digit year, whose century is unclear: format the column with a \
                 four-digit year before saving",
            ),
        ),
        ("12-Mar-198", not),
        ("32-Mar-1984", not),
        ("1984-13-12", not),
        ("1984-02-30", not),
        ("17990101", not),
        ("0984-3-12", not),
        ("1984-003-12", not),
        ("1984--12", not),
        ("1984031", not),
        ("1984031\u{e9}", not),
        ("1984", not),
        ("198403", not),
        ("", not),
    ];
    for (text, want) in cases {
        assert_eq!(date_cell(text, None), want, "{text:?}");
        // the order of slash dates changes nothing else
        for order in SlashDates::ALL {
            assert_eq!(date_cell(text, Some(order)), want, "{text:?} {order:?}");
        }
    }
    assert!(
        date_cell("3/12/1984", None)
            .unwrap_err()
            .starts_with("is a date with slashes, as a spreadsheet rewrites dates")
    );
}

/// Dates written with slashes, as US cores export them and spreadsheets rewrite them: read
/// in the order `[enroll] slash_dates` names, and refused, saying why, without it, with a
/// two-digit year, or in what looks like the other order. A year written first needs no
/// order.
#[test]
fn slash_dates_are_read_in_the_order_named() {
    use SlashDates::{DayFirst, MonthFirst};
    let d = |y, m, day| Ok(NaiveDate::from_ymd_opt(y, m, day).unwrap());
    let unordered = Err(
        "is a date with slashes, as a spreadsheet rewrites dates and some cores export them, \
         whose order of month and day the file does not say: keep the column as text, or \
         format it yyyy-mm-dd, before saving, or name the order in [enroll] slash_dates",
    );
    let two_digits = Err(
        "has a two-digit year, whose century is unclear: format the column with a four-digit \
         year before saving",
    );
    let day_first = Err(
        "is not a date month/day/year, the order [enroll] slash_dates names: its month is \
         past 12, as a date day/month/year's day may be",
    );
    let month_first = Err(
        "is not a date day/month/year, the order [enroll] slash_dates names: its month is \
         past 12, as a date month/day/year's day may be",
    );
    let cases = [
        ("3/12/1984", None, unordered),
        ("3/12/1984", Some(MonthFirst), d(1984, 3, 12)),
        ("3/12/1984", Some(DayFirst), d(1984, 12, 3)),
        ("03/12/1984 00:00", Some(MonthFirst), d(1984, 3, 12)),
        ("3/12/1984 12:00:00 AM", Some(MonthFirst), d(1984, 3, 12)),
        ("3/12/1984 11:30 PM", Some(DayFirst), d(1984, 12, 3)),
        ("1984/03/12", None, d(1984, 3, 12)),
        ("1984/03/12", Some(DayFirst), d(1984, 3, 12)),
        ("3/12/84", None, unordered),
        ("3/12/84", Some(MonthFirst), two_digits),
        ("25/12/1984", Some(MonthFirst), day_first),
        ("12/25/1984", Some(DayFirst), month_first),
        (
            "2/30/1984",
            Some(MonthFirst),
            Err("is not a date YYYY-MM-DD or month/day/year ([enroll] slash_dates)"),
        ),
        (
            "30/2/1984",
            Some(DayFirst),
            Err("is not a date YYYY-MM-DD or day/month/year ([enroll] slash_dates)"),
        ),
        ("1984/02/30", None, Err("is not a date YYYY-MM-DD")),
        (
            "1984/02/30",
            Some(MonthFirst),
            Err("is not a date YYYY-MM-DD or month/day/year ([enroll] slash_dates)"),
        ),
    ];
    for (text, order, want) in cases {
        assert_eq!(date_cell(text, order), want, "{text:?} {order:?}");
    }
    // a row's dates, and the change date with its time, in the order named
    let c = header(&[
        "member_id",
        "mobile_phone",
        "dob",
        "profile_changed_at",
        "last_txn_date",
    ])
    .with_slash_dates(Some(MonthFirst));
    let row = [
        "M7",
        "2025550143",
        "3/12/1984",
        "11/30/2026 2:22:01 PM",
        "12/1/2026",
    ];
    let m = parse(&c, &StringRecord::from(row.to_vec())).unwrap().member;
    assert_eq!(m.dob, NaiveDate::from_ymd_opt(1984, 3, 12));
    assert_eq!(
        m.profile_changed_at,
        NaiveDate::from_ymd_opt(2026, 11, 30).and_then(|d| d.and_hms_opt(14, 22, 1))
    );
    assert_eq!(m.last_txn_date, NaiveDate::from_ymd_opt(2026, 12, 1));
    // the other order refuses what it cannot read, each field said, no value quoted
    let c = c.with_slash_dates(Some(DayFirst));
    let detail = parse(&c, &StringRecord::from(row.to_vec()))
        .unwrap_err()
        .detail;
    assert_eq!(
        detail,
        "profile_changed_at is not a date day/month/year, the order [enroll] slash_dates \
         names: its month is past 12, as a date month/day/year's day may be"
    );
}

/// `profile_changed_at` as exports write a date and time: with an offset (.NET's "o",
/// Java's ISO format), `Z`, or a fraction of a second (SQL Server's `datetime`), each taken
/// to UTC. Such rows were malformed.
#[test]
fn a_profile_change_is_read_as_exports_write_a_date_and_time() {
    let c = header(&["member_id", "mobile_phone", "profile_changed_at"]);
    let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok();
    let cases = [
        ("2026-11-30", at("2026-11-30 00:00:00")),
        ("2026-11-30 14:22", at("2026-11-30 14:22:00")),
        ("2026-11-30T14:22:01Z", at("2026-11-30 14:22:01")),
        (
            "2026-11-30T14:22:01.0000000-06:00",
            at("2026-11-30 20:22:01"),
        ),
        ("2026-11-30T22:22:01-06:00", at("2026-12-01 04:22:01")),
        ("2026-11-30 14:22:01.123", at("2026-11-30 14:22:01.123")),
        ("11/30/2026 14:22", None),
        ("2026-11-30T14:22:01 CST", None),
    ];
    for (text, want) in cases {
        let row = parse(&c, &StringRecord::from(vec!["M7", "2025550143", text]));
        match want {
            Some(t) => assert_eq!(row.unwrap().member.profile_changed_at, Some(t), "{text}"),
            None => {
                let detail = row.unwrap_err().detail;
                assert!(
                    detail.starts_with("profile_changed_at is not a date")
                        || detail.starts_with("profile_changed_at is a date with slashes"),
                    "{text}: {detail}"
                );
                assert!(!detail.contains(text), "{text} quoted: {detail}");
            }
        }
    }
}

#[test]
fn amounts_parse_to_cents() {
    let cases = [
        ("1234.56", Ok(123456)),
        ("1234.5", Ok(123450)),
        ("1234", Ok(123400)),
        ("$12.00", Ok(1200)),
        ("-45.10", Ok(-4510)),
        ("0.07", Ok(7)),
        ("12.345", Err(NotAnAmount)),
        // SQL Server's money: four places, zeros past the cents
        ("1234.5600", Ok(123456)),
        ("12.5000", Ok(1250)),
        ("12.000", Ok(1200)),
        ("12.3450", Err(NotAnAmount)),
        ("12.50a0", Err(NotAnAmount)),
        ("", Err(NotAnAmount)),
        (".5", Err(NotAnAmount)),
        ("1e3", Err(NotAnAmount)),
        // signs only in front, and whole dollars up to 13 digits
        ("+12.50", Ok(1250)),
        ("+$12.50", Ok(1250)),
        ("$+12.50", Ok(1250)),
        ("12.50+", Err(NotAnAmount)),
        ("+-12.50", Err(NotAnAmount)),
        ("-+12.50", Err(NotAnAmount)),
        ("+(12.50)", Err(NotAnAmount)),
        ("+", Err(NotAnAmount)),
        ("12.+5", Err(NotAnAmount)),
        ("1-2.50", Err(NotAnAmount)),
        ("9999999999999.99", Ok(999_999_999_999_999)),
        ("-9999999999999.99", Ok(-999_999_999_999_999)),
        ("10000000000000", Err(NotAnAmount)),
        // as cores and spreadsheets export them: thousands separators, accounting's
        // parentheses and a mainframe's trailing sign
        ("1,234.56", Ok(123456)),
        ("$1,234,567.89", Ok(123_456_789)),
        ("-$1,234", Ok(-123400)),
        ("(12.50)", Ok(-1250)),
        ("($1,234.56)", Ok(-123456)),
        ("12.50-", Ok(-1250)),
        ("12,50", Err(NotAnAmount)),
        ("1,23", Err(NotAnAmount)),
        ("1234,567", Err(NotAnAmount)),
        (",123", Err(NotAnAmount)),
        ("1,,234", Err(NotAnAmount)),
        ("1,234,56", Err(NotAnAmount)),
        ("(12.50", Err(NotAnAmount)),
        ("(-12.50)", Err(NotAnAmount)),
        ("-12.50-", Err(NotAnAmount)),
        ("-(12.50)", Err(NotAnAmount)),
        ("$-12.50", Ok(-1250)),
        // Excel's "Accounting" format: the $ apart, zero a dash
        ("$ 1,234.56", Ok(123456)),
        ("$ (12.50)", Ok(-1250)),
        ("$(12.50)", Ok(-1250)),
        ("$ -", Ok(0)),
        ("$-", Ok(0)),
        ("-", Err(NotAnAmount)),
        ("$", Err(NotAnAmount)),
        ("$$12", Err(NotAnAmount)),
        ("$ - 12", Err(NotAnAmount)),
        ("$-$12", Err(NotAnAmount)),
        ("9,999,999,999,999.99", Ok(999_999_999_999_999)),
        ("10,000,000,000,000", Err(NotAnAmount)),
        // a ledger's credit and debit after the number, one way of saying the sign at most
        ("12.50 CR", Ok(1250)),
        ("12.50CR", Ok(1250)),
        ("$1,234.56 CR", Ok(123456)),
        ("12.50 DR", Ok(-1250)),
        ("12.50dr", Ok(-1250)),
        ("12.50 Dr", Ok(-1250)),
        ("$ 12.50 DR", Ok(-1250)),
        ("0.00 CR", Ok(0)),
        ("-12.50 DR", Err(NotAnAmount)),
        ("-12.50 CR", Err(NotAnAmount)),
        ("12.50- CR", Err(NotAnAmount)),
        ("(12.50) DR", Err(NotAnAmount)),
        ("+12.50 CR", Err(NotAnAmount)),
        ("$ - CR", Err(NotAnAmount)),
        ("CR", Err(NotAnAmount)),
        (" DR", Err(NotAnAmount)),
        ("12.50 CRDR", Err(NotAnAmount)),
        ("12.50 C", Err(NotAnAmount)),
        ("12.50 XR", Err(NotAnAmount)),
        ("12.50 é", Err(NotAnAmount)),
        ("12.50é", Err(NotAnAmount)),
        ("12.50€", Err(NotAnAmount)),
    ];
    for (text, want) in cases {
        assert_eq!(parse_cents(text), want, "{text:?}");
    }
}

#[test]
fn every_field_out_of_format_is_named_in_column_order_without_its_value() {
    let c = header(&[
        "fraud_flag",
        "dob",
        "member_id",
        "mobile_phone",
        "zip",
        "ssn_last4",
        "last_txn_date",
        "first_name",
    ]);
    let row = [
        "maybe",
        "06/01/1975",
        "M7",
        "2025550143",
        "1000",
        "12345",
        "2026-13-01",
        "Ann",
    ];
    let err = parse(&c, &StringRecord::from(row.to_vec())).unwrap_err();
    assert_eq!(err.member_id.as_deref(), Some("M7"));
    assert_eq!(
        err.detail,
        "dob is a date with slashes, as a spreadsheet rewrites dates and some cores export \
         them, whose order of month and day the file does not say: keep the column as text, \
         or format it yyyy-mm-dd, before saving, or name the order in [enroll] slash_dates; \
         zip has too few digits, \
         as when a spreadsheet drops leading zeros: keep the column as text before \
         saving; ssn_last4 is not 4 digits; fraud_flag is not true/false, t/f, yes/no, \
         y/n or 1/0; last_txn_date is not a date YYYY-MM-DD"
    );
    for value in row.iter().filter(|v| !["M7", "Ann"].contains(v)) {
        assert!(!err.detail.contains(value), "{value:?} quoted");
    }
    // Fields that do not line up with the header are not read one by one: which value is
    // in which column is unknown.
    let short = parse(&c, &StringRecord::from(row[..7].to_vec())).unwrap_err();
    assert_eq!(short.detail, "7 fields where the header has 8");
    assert_eq!(short.member_id.as_deref(), Some("M7"));
    // a short row with a comma inside a field: a quote never closed took the rest of the
    // row into its field, here the id's, so the id is not shown (it holds the SSN's digits)
    let open = vec![format!("M7,{}", row[1..].join(","))];
    let quoted = parse(&c, &StringRecord::from(open)).unwrap_err();
    assert_eq!(
        quoted.detail,
        "1 field where the header has 8: a quote opens a field and is never closed, so the \
         rest of the row was read as its text (write a quote that is part of a value twice, \
         \"\")"
    );
    assert_eq!(quoted.member_id, None);
}

/// A Canadian member's postal code in `zip` is not a zip a caller can key: the member is
/// enrolled without one (the question is not asked), and the row's detail says so. A
/// value that is nearly one is still refused, as any zip out of its format.
#[test]
fn a_canadian_postal_code_leaves_the_member_without_a_zip() {
    let c = header(&["member_id", "mobile_phone", "dob", "zip"]);
    let cases = [
        ("K1A 0B6", true),
        ("k1a0b6", true),
        ("K1A-0B6", true),
        ("V6B 4Y8", true),
        ("K1A 0B", false),
        ("1K1 A0B", false),
        ("K1A  0B6", false),
        ("K1A 0B6X", false),
    ];
    for (zip, canadian) in cases {
        let row = parse(
            &c,
            &StringRecord::from(vec!["M7", "2025550143", "1984-03-12", zip]),
        );
        match canadian {
            true => {
                let row = row.unwrap();
                assert_eq!(row.member.zip, None, "{zip}");
                assert_eq!(row.notes, [("zip", POSTAL_CODE)], "{zip}");
                assert!(row.member.dob.is_some(), "{zip}");
            }
            false => {
                let detail = row.unwrap_err().detail;
                assert!(detail.starts_with("zip is not 5 digits"), "{zip}: {detail}");
            }
        }
    }
    let us = parse(
        &c,
        &StringRecord::from(vec!["M7", "2025550143", "1984-03-12", "02134"]),
    )
    .unwrap();
    assert_eq!(us.member.zip.as_deref(), Some("02134"));
    assert!(us.notes.is_empty());
}

/// A file opened and saved in a spreadsheet: dates rewritten with slashes, zips and SSNs
/// that lost their leading zeros. The detail says what happened, without the value.
#[test]
fn what_a_spreadsheet_did_to_a_field_is_said() {
    let c = header(&["member_id", "mobile_phone", "dob", "zip", "ssn_last4"]);
    let slashes = "dob is a date with slashes, as a spreadsheet rewrites dates";
    let zeros = "has too few digits, as when a spreadsheet drops leading zeros";
    let decimal = "written as a decimal number (ending .0), as a script writes a column of \
                   numbers that has blanks (pandas' to_csv)";
    let cases: [([&str; 3], &[&str]); 15] = [
        (["3/12/1984", "02134", "0123"], &[slashes]),
        // a date column formatted "General": Excel's serial day number
        (
            ["30753", "02134", "0123"],
            &[
                "dob is not a date YYYY-MM-DD but a number, as a spreadsheet writes a date in a \
               column formatted \"General\"",
            ],
        ),
        (
            ["12-03-1984", "02134", "0123"],
            &["dob is not a date YYYY-MM-DD;"],
        ),
        (["1984-03-12", "2134", "0123"], &[zeros]),
        (
            ["1984-03-12", "55401.0", "0123"],
            &["zip written as a decimal", decimal],
        ),
        (
            ["1984-03-12", "2134.0", "123.00"],
            &["zip written", "ssn_last4 written as a"],
        ),
        (["1984-03-12", "213", "0123"], &[zeros]),
        (["1984-03-12", "21340001", "0123"], &[zeros]),
        (
            ["1984-03-12", "21", "0123"],
            &["zip is not 5 digits or ZIP+4"],
        ),
        // not quite a Canadian postal code (those are below)
        (
            ["1984-03-12", "K1A 0B", "0123"],
            &["zip is not 5 digits or ZIP+4"],
        ),
        (
            ["1984-03-12", "1K1 A0B", "0123"],
            &["zip is not 5 digits or ZIP+4"],
        ),
        (
            ["1984-03-12", "K1A  0B6", "0123"],
            &["zip is not 5 digits or ZIP+4"],
        ),
        (
            ["1984-03-12", "02134", "123"],
            &["ssn_last4 has too few digits"],
        ),
        (
            ["1984-03-12", "02134", "12a"],
            &["ssn_last4 is not 4 digits"],
        ),
        (
            ["1984-03-12", "021345", "12345"],
            &["zip is not 5 digits or ZIP+4; ssn_last4 is not 4 digits"],
        ),
    ];
    for ([dob, zip, ssn], said) in cases {
        let row = ["M7", "2025550143", dob, zip, ssn];
        let detail = parse(&c, &StringRecord::from(row.to_vec()))
            .unwrap_err()
            .detail
            + ";";
        for s in said {
            assert!(detail.contains(s), "{row:?}: {detail}");
        }
        for value in [dob, zip, ssn] {
            assert!(!detail.contains(value), "{value:?} quoted: {detail}");
        }
    }
    // the date of a profile's change too, in either of a spreadsheet's ways
    let c = header(&["member_id", "mobile_phone", "profile_changed_at"]);
    for (when, slashes) in [
        ("11/30/2026", true),
        ("11/30/2026 2:22 PM", true),
        ("30.11.2026", false),
    ] {
        let row = ["M7", "2025550143", when];
        let detail = parse(&c, &StringRecord::from(row.to_vec()))
            .unwrap_err()
            .detail;
        let said = match slashes {
            true => "profile_changed_at is a date with slashes, as a spreadsheet rewrites dates",
            false => "profile_changed_at is not a date or date and time",
        };
        assert!(detail.starts_with(said), "{when}: {detail}");
    }
}

#[test]
fn zips_are_five_digits_or_zip_plus_four() {
    let cases = [
        ("12345", Some("12345")),
        ("12345-6789", Some("12345")),
        ("123456789", Some("12345")),
        ("12345 6789", Some("12345")),
        ("12345  6789", None),
        ("12345 -6789", None),
        ("1234", None),
        ("123456", None),
        ("12345-678", None),
        ("1234-56789", None),
        ("1-2345", None),
        ("12345-", None),
        ("-12345", None),
        ("12345-6789-", None),
        ("1234a", None),
        ("12345-678a", None),
    ];
    for (text, want) in cases {
        assert_eq!(parse_zip(text).as_deref(), want, "{text:?}");
    }
}

#[test]
fn every_column_enroll_md_names_is_read_into_its_field() {
    let columns = [
        ("member_id", "M1"),
        ("action", "upsert"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("mobile_phone", "2025550143"),
        // a list's entries separated by `;`, or by the `,` or `|` of a quoted field
        ("other_phones", "2025550144; 2025550145, (202) 555-0146"),
        ("phone_type", "mobile"),
        ("email", "ada@example.org"),
        ("dob", "1984-03-12"),
        ("zip", "55401"),
        ("ssn_last4", "6789"),
        ("account_numbers", "A-1|B-2;"),
        ("profile_changed_at", "2026-01-02"),
        ("fraud_flag", "y"),
        ("place_of_birth", "London"),
        ("savings_balance", "1234.56"),
        ("last_txn_amount", "-12.5"),
        ("last_txn_date", "2026-11-30"),
    ];
    let c = header(&columns.map(|(name, _)| name));
    assert!(c.unknown.is_empty(), "{:?}", c.unknown);
    let row = parse(&c, &StringRecord::from(columns.map(|(_, v)| v).to_vec())).unwrap();
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    let m = &row.member;
    assert_eq!(row.action(), Action::Upsert);
    assert_eq!(row.mobile_text.as_deref(), Some("2025550143"));
    assert_eq!(
        row.other_texts,
        ["2025550144", "2025550145", "(202) 555-0146"]
    );
    assert_eq!(m.member_id, "M1");
    assert_eq!(
        (m.first_name.as_deref(), m.last_name.as_deref()),
        (Some("Ada"), Some("Lovelace"))
    );
    assert_eq!(m.phone_type, PhoneType::Mobile);
    assert_eq!(m.email.as_deref(), Some("ada@example.org"));
    assert_eq!(
        (m.dob, m.last_txn_date),
        (date(1984, 3, 12), date(2026, 11, 30))
    );
    assert_eq!(
        (m.zip.as_deref(), m.ssn_last4.as_deref()),
        (Some("55401"), Some("6789"))
    );
    assert_eq!(m.account_numbers, ["A-1", "B-2"]);
    assert_eq!(
        m.profile_changed_at,
        date(2026, 1, 2).and_then(|d| d.and_hms_opt(0, 0, 0))
    );
    assert!(m.fraud_flag);
    assert_eq!(m.place_of_birth.as_deref(), Some("London"));
    assert_eq!(
        (m.savings_balance_cents, m.last_txn_amount_cents),
        (Some(123456), Some(-1250))
    );
    // and a delete
    let c = header(&["member_id", "action"]);
    let row = parse(&c, &StringRecord::from(vec!["M1", "Delete"])).unwrap();
    assert_eq!(row.action(), Action::Delete);
}

#[test]
fn text_fields_take_up_to_200_characters_and_no_control_characters() {
    let c = header(&["member_id", "mobile_phone", "place_of_birth"]);
    let parsed = |v: &str| parse(&c, &StringRecord::from(vec!["M1", "2025550143", v]));
    let cases = [
        ("é".repeat(200), true),
        ("é".repeat(201), false),
        ("a".repeat(199) + "b", true),
        ("Saint\tPaul".into(), true),
        ("Saint\r\nPaul".into(), true),
        ("Saint\u{7}Paul".into(), false),
        ("Saint\u{0}Paul".into(), false),
        ("Saint\u{1b}[2JPaul".into(), false),
    ];
    for (value, ok) in cases {
        match parsed(&value) {
            Ok(row) => {
                assert!(ok, "{value:?} taken");
                assert_eq!(row.member.place_of_birth.as_deref(), Some(value.as_str()));
            }
            Err(e) => {
                assert!(!ok, "{value:?} refused: {}", e.detail);
                assert_eq!(
                    e.detail,
                    "place_of_birth is longer than 200 characters or holds control characters"
                );
            }
        }
    }
}

#[test]
fn account_numbers_are_up_to_32_letters_digits_and_dashes_each() {
    let c = header(&["member_id", "mobile_phone", "account_numbers"]);
    let parsed = |v: &str| parse(&c, &StringRecord::from(vec!["M1", "2025550143", v]));
    let cases = [
        ("1".repeat(32), Some(vec!["1".repeat(32)])),
        ("1".repeat(33), None),
        (
            "S-0001; 4417 ".into(),
            Some(vec!["S-0001".into(), "4417".into()]),
        ),
        ("S_0001".into(), None),
        ("12;34 56".into(), None),
        ("12;1.5".into(), None),
        (";;".into(), Some(vec![])),
    ];
    for (value, want) in cases {
        match (parsed(&value), want) {
            (Ok(row), Some(want)) => assert_eq!(row.member.account_numbers, want, "{value:?}"),
            (Err(e), None) => assert_eq!(
                e.detail,
                "account_numbers holds an entry that is not an account number"
            ),
            (got, want) => panic!("{value:?}: {got:?}, wanted {want:?}"),
        }
    }
}

/// An export meant for Excel writes values as `="02134"` to keep their leading zeros: each
/// field is read as its text, the member id too (which would otherwise begin as a formula).
#[test]
fn values_wrapped_for_excel_are_read_as_their_text() {
    let c = header(&[
        "member_id",
        "mobile_phone",
        "zip",
        "ssn_last4",
        "dob",
        "other_phones",
    ]);
    let row = parse(
        &c,
        &StringRecord::from(vec![
            "=\"001234\"",
            "=\"2025550143\"",
            " =\"02134\" ",
            "=\"0123\"",
            "=\"1984-03-12\"",
            "=\"2025550144;2025550145\"",
        ]),
    )
    .unwrap();
    assert_eq!(row.member.member_id, "001234");
    assert_eq!(row.mobile_text.as_deref(), Some("2025550143"));
    assert_eq!(row.member.zip.as_deref(), Some("02134"));
    assert_eq!(row.member.ssn_last4.as_deref(), Some("0123"));
    assert!(row.member.dob.is_some());
    assert_eq!(row.other_texts, ["2025550144", "2025550145"]);
    // empty once unwrapped: as an empty cell
    let empty = parse(
        &c,
        &StringRecord::from(vec!["=\"\"", "2025550143", "", "", "", ""]),
    )
    .unwrap_err();
    assert_eq!(empty.detail, "member_id is empty");
}

/// A member id a tool rewrote as a number (pandas' `1001.0`, Excel's `1.23457E+11`) is
/// refused, saying so, rather than enrolled as an id no caller can key. So is one that
/// begins as a spreadsheet formula, and that one is not written back into the results
/// file, which an admin opens in a spreadsheet.
#[test]
fn a_member_id_rewritten_as_a_number_or_a_formula_is_refused() {
    let c = header(&["member_id", "mobile_phone"]);
    let formula = "member_id begins with = + - or @, as a spreadsheet formula does";
    for (id, said, shown) in [
        (
            "1001.0",
            Some("member_id written as a decimal number (ending .0)"),
            true,
        ),
        (
            "1.23457E+11",
            Some("member_id written in scientific notation (n.nnE+nn)"),
            true,
        ),
        ("=HYPERLINK(\"http://x\",\"y\")", Some(formula), false),
        ("@SUM(A1)", Some(formula), false),
        ("-1001", Some(formula), false),
        ("+1001", Some(formula), false),
        ("1001", None, true),
        ("A-1001.5", None, true),
    ] {
        let row = parse(&c, &StringRecord::from(vec![id, "2025550143"]));
        match said {
            Some(said) => {
                let err = row.unwrap_err();
                assert!(err.detail.starts_with(said), "{id}: {}", err.detail);
                assert_eq!(err.member_id.as_deref(), shown.then_some(id), "{id}");
            }
            None => assert_eq!(row.unwrap().member.member_id, id),
        }
    }
}

/// Excel's separator line, told from a header: `sep=,` read as CSV is `sep=` and an empty
/// field; another separator is one field.
#[test]
fn an_excel_separator_line_is_told_from_a_header() {
    use crate::enroll::names::separator_line;
    let cases: [(&[&str], Option<char>); 11] = [
        (&["sep=", ""], Some(',')),
        (&["SEP=", ""], Some(',')),
        (&["sep=;"], Some(';')),
        (&["Sep=\t"], Some('\t')),
        (&["sep=|"], Some('|')),
        (&["sep=;;"], None),
        (&["sep="], None),
        (&["sep=", "x"], None),
        (&["sep=x", ""], None),
        (&["member_id", "mobile_phone"], None),
        (&["se"], None),
    ];
    for (fields, want) in cases {
        assert_eq!(separator_line(fields, ','), want, "{fields:?}");
    }
}

/// A change file's action codes are refused, saying how to write them; nothing is guessed
/// from them (a `D` read as delete would remove members on a guess).
#[test]
fn a_change_files_action_codes_are_refused_saying_what_to_write() {
    let c = header(&["member_id", "mobile_phone", "action"]);
    let codes = "action is not upsert or delete: a change file's codes";
    for (action, said) in [
        ("D", Some(codes)),
        ("u", Some(codes)),
        ("Remove", Some(codes)),
        ("purge", Some("action is not upsert or delete")),
        ("DELETE", None),
        ("Upsert", None),
        ("", None),
    ] {
        let row = parse(&c, &StringRecord::from(vec!["M1", "2025550143", action]));
        match said {
            Some(said) => {
                let detail = row.unwrap_err().detail;
                assert!(detail.starts_with(said), "{action}: {detail}");
                assert_eq!(
                    detail.contains("codes"),
                    said == codes,
                    "{action}: {detail}"
                );
            }
            None => assert!(row.is_ok(), "{action}"),
        }
    }
}
