use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn a_zone_is_named_and_a_wrong_name_says_what_is_expected() {
    assert_eq!(
        Zone::named("America/Chicago").unwrap().name(),
        Some("America/Chicago")
    );
    for wrong in [
        "America/Chicagoo",
        "CST6",
        "Central",
        "../etc/passwd",
        "/etc/localtime",
    ] {
        let err = Zone::named(wrong).map(|_| ()).unwrap_err();
        assert!(err.contains("America/Chicago"), "{wrong}: {err}");
    }
}

#[test]
fn the_day_an_instant_fell_on_is_the_zones() {
    let chicago = Zone::named("America/Chicago").unwrap();
    let honolulu = Zone::named("Pacific/Honolulu").unwrap();
    let at = |y, mo, d, h, mi| Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap();
    let cases = [
        // winter: UTC-6; 03:30 UTC is 21:30 the evening before
        (&chicago, at(2026, 12, 1, 3, 30), day(2026, 11, 30)),
        (&chicago, at(2026, 12, 1, 5, 59), day(2026, 11, 30)),
        (&chicago, at(2026, 12, 1, 6, 0), day(2026, 12, 1)),
        // summer: UTC-5
        (&chicago, at(2026, 7, 1, 4, 59), day(2026, 6, 30)),
        (&chicago, at(2026, 7, 1, 5, 0), day(2026, 7, 1)),
        // the night the clocks go back (1 November 2026, 02:00 CDT -> 01:00 CST)
        (&chicago, at(2026, 11, 1, 6, 30), day(2026, 11, 1)),
        (&chicago, at(2026, 11, 1, 4, 59), day(2026, 10, 31)),
        (&honolulu, at(2026, 12, 1, 9, 59), day(2026, 11, 30)),
        (&Zone::utc(), at(2026, 12, 1, 0, 0), day(2026, 12, 1)),
    ];
    for (zone, at, want) in cases {
        assert_eq!(zone.day_of(at), want, "{at} in {:?}", zone.name());
    }
}

#[test]
fn a_zone_on_utc_all_year_is_told_from_one_that_is_not() {
    assert!(Zone::utc().is_utc());
    assert!(Zone::named("Etc/UTC").unwrap().is_utc());
    assert!(Zone::named("Europe/London").map(|z| !z.is_utc()).unwrap());
    assert!(!Zone::named("America/Chicago").unwrap().is_utc());
    assert!(!Zone::named("Asia/Kolkata").unwrap().is_utc());
}

#[test]
fn offset_date_times_are_read_as_exports_write_them() {
    let cases: [(&str, Option<&str>); 25] = [
        ("2026-11-30T21:30:00-06:00", Some("2026-12-01T03:30:00Z")),
        ("2026-12-01T03:30:00Z", Some("2026-12-01T03:30:00Z")),
        ("2026-12-01T03:30:00z", Some("2026-12-01T03:30:00Z")),
        ("2026-12-01T03:30:00.000Z", Some("2026-12-01T03:30:00Z")),
        ("2026-12-01 03:30:00+00:00", Some("2026-12-01T03:30:00Z")),
        (
            "2026-11-30T21:30:00.1234567-06:00",
            Some("2026-12-01T03:30:00.123456700Z"),
        ),
        ("2026-11-30T21:30:00-0600", Some("2026-12-01T03:30:00Z")),
        ("2026-12-01T03:30:00+0000", Some("2026-12-01T03:30:00Z")),
        ("2026-11-30T21:30-06:00", Some("2026-12-01T03:30:00Z")),
        // PostgreSQL's timestamptz, an offset of whole hours as its hours alone
        ("2026-11-30 21:30:00-06", Some("2026-12-01T03:30:00Z")),
        (
            "2026-11-30 21:30:00.123-06",
            Some("2026-12-01T03:30:00.123Z"),
        ),
        ("2026-12-01 09:00:00+05:30", Some("2026-12-01T03:30:00Z")),
        ("2026-12-01 03:30:00+00", Some("2026-12-01T03:30:00Z")),
        // a zone named after the time
        ("2026-12-01 03:30:00 UTC", Some("2026-12-01T03:30:00Z")),
        ("2026-12-01 03:30:00 utc", Some("2026-12-01T03:30:00Z")),
        ("2026-12-01 03:30:00 GMT", Some("2026-12-01T03:30:00Z")),
        ("2026-12-01 03:30:00 CST", None),
        ("2026-12-01 03:30:00UTC", None),
        ("2026-12-01 03:30:00-6", None),
        ("2026-12-01 03:30:00-060", None),
        ("2026-11-30 -06", None),
        // no offset, or no time: not an offset date-time
        ("2026-11-30T21:30:00", None),
        ("2026-11-30", None),
        ("2026-11-31T21:30:00Z", None),
        ("yesterday", None),
    ];
    for (s, want) in cases {
        let got = offset_date_time(s).map(|t| {
            t.with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        });
        assert_eq!(got.as_deref(), want, "{s}");
    }
}

#[test]
fn when_takes_an_offset_to_utc_and_keeps_a_time_written_without_one() {
    let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
    let cases = [
        ("2026-11-30", Some(t("2026-11-30 00:00:00"))),
        ("2026-11-30T14:22:01", Some(t("2026-11-30 14:22:01"))),
        ("2026-11-30 14:22:01", Some(t("2026-11-30 14:22:01"))),
        ("2026-11-30T14:22", Some(t("2026-11-30 14:22:00"))),
        (
            "2026-11-30 14:22:01.123",
            Some(t("2026-11-30 14:22:01.123")),
        ),
        ("2026-11-30T14:22:01Z", Some(t("2026-11-30 14:22:01"))),
        (
            "2026-11-30T14:22:01.0000000-06:00",
            Some(t("2026-11-30 20:22:01")),
        ),
        ("2026-11-30T22:22:01-06:00", Some(t("2026-12-01 04:22:01"))),
        // DB2's TIMESTAMP (IBM i cores), and a mainframe's 14 digits
        (
            "2026-11-30-14.22.01.123456",
            Some(t("2026-11-30 14:22:01.123456")),
        ),
        ("2026-11-30-14.22.01", Some(t("2026-11-30 14:22:01"))),
        ("20261130142201", Some(t("2026-11-30 14:22:01"))),
        ("20261130242201", None),
        ("20261131142201", None),
        ("2026113014220", None),
        ("202611301422011", None),
        ("2026-11-30-14:22:01", None),
        ("11/30/2026", None),
        ("2026-11-30T25:00:00", None),
        ("yesterday", None),
        ("", None),
    ];
    for (s, want) in cases {
        assert_eq!(when(s), want, "{s}");
    }
}

#[test]
fn the_day_written_is_the_zones_for_a_utc_instant_and_as_written_otherwise() {
    let chicago = Zone::named("America/Chicago").unwrap();
    let cases = [
        // a card payment at 21:30 in Chicago, written in UTC
        ("2026-12-01T03:30:00Z", &chicago, day(2026, 11, 30)),
        ("2026-12-01T03:30:00.000+00:00", &chicago, day(2026, 11, 30)),
        // a date written as a date-time (JavaScript's toISOString of a date)
        ("2026-11-30T00:00:00.000Z", &chicago, day(2026, 11, 30)),
        // the same payment written in the core's own local time
        ("2026-11-30T21:30:00-06:00", &chicago, day(2026, 11, 30)),
        // a core in New York writing its local time, for a credit union in Chicago: as written
        ("2026-12-01T00:30:00-05:00", &chicago, day(2026, 12, 1)),
        // a machine on UTC with no zone set: the UTC day, as before
        ("2026-12-01T03:30:00Z", &Zone::utc(), day(2026, 12, 1)),
    ];
    for (s, zone, want) in cases {
        let t = offset_date_time(s).unwrap();
        assert_eq!(day_written(t, zone), want, "{s} in {:?}", zone.name());
    }
}

#[test]
fn slash_dates_read_in_the_order_named_with_a_four_digit_year_and_a_time_at_most() {
    use DateProblem::{NoOrder, NotADate, OtherOrder, TwoDigitYear};
    use SlashDates::{DayFirst, MonthFirst};
    let at = |y, m, d, h, min, s| Ok(day(y, m, d).and_hms_opt(h, min, s).unwrap());
    let cases: &[(&str, SlashDates, Result<NaiveDateTime, DateProblem>)] = &[
        ("3/12/1984", MonthFirst, at(1984, 3, 12, 0, 0, 0)),
        ("03/12/1984", MonthFirst, at(1984, 3, 12, 0, 0, 0)),
        ("3/12/1984", DayFirst, at(1984, 12, 3, 0, 0, 0)),
        ("12/3/1984", DayFirst, at(1984, 3, 12, 0, 0, 0)),
        (" 3/12/1984 ", MonthFirst, at(1984, 3, 12, 0, 0, 0)),
        // Excel's m/d/yyyy h:mm, .NET en-US's ToString(), SQL tools' fractions
        ("3/12/1984 14:22", MonthFirst, at(1984, 3, 12, 14, 22, 0)),
        (
            "3/12/1984 2:22:01 PM",
            MonthFirst,
            at(1984, 3, 12, 14, 22, 1),
        ),
        (
            "3/12/1984 2:22:01 pm",
            MonthFirst,
            at(1984, 3, 12, 14, 22, 1),
        ),
        ("3/12/1984 2:22PM", MonthFirst, at(1984, 3, 12, 14, 22, 0)),
        (
            "3/12/1984 14:22:01.123",
            MonthFirst,
            Ok(day(1984, 3, 12).and_hms_milli_opt(14, 22, 1, 123).unwrap()),
        ),
        ("3/12/1984 12:05 AM", MonthFirst, at(1984, 3, 12, 0, 5, 0)),
        ("3/12/1984 12:05 PM", MonthFirst, at(1984, 3, 12, 12, 5, 0)),
        (
            "3/12/1984 11:59:59 PM",
            MonthFirst,
            at(1984, 3, 12, 23, 59, 59),
        ),
        ("3/12/1984 0:00:00", MonthFirst, at(1984, 3, 12, 0, 0, 0)),
        ("29/2/2024", DayFirst, at(2024, 2, 29, 0, 0, 0)),
        // a day past 12 where the month goes: the file is in the other order
        ("25/3/1984", MonthFirst, Err(OtherOrder)),
        ("3/25/1984", DayFirst, Err(OtherOrder)),
        // a month past 12 the other order does not read either
        ("13/13/1984", MonthFirst, Err(NotADate)),
        ("2/30/1984", MonthFirst, Err(NotADate)),
        ("29/2/2023", DayFirst, Err(NotADate)),
        ("3/12/84", MonthFirst, Err(TwoDigitYear)),
        ("3/12/84", DayFirst, Err(TwoDigitYear)),
        ("3/12/984", MonthFirst, Err(NotADate)),
        ("3/12/19840", MonthFirst, Err(NotADate)),
        ("3/12", MonthFirst, Err(NotADate)),
        ("3/12/1984/1", MonthFirst, Err(NotADate)),
        ("003/12/1984", MonthFirst, Err(NotADate)),
        ("+3/12/1984", MonthFirst, Err(NotADate)),
        ("3//1984", MonthFirst, Err(NotADate)),
        // a year written first is year, month, day in either order
        ("1984/3/12", MonthFirst, at(1984, 3, 12, 0, 0, 0)),
        ("1984/03/12", DayFirst, at(1984, 3, 12, 0, 0, 0)),
        ("1984/3/12 14:22:01", DayFirst, at(1984, 3, 12, 14, 22, 1)),
        ("1984/13/12", MonthFirst, Err(NotADate)),
        ("1984/3/", MonthFirst, Err(NotADate)),
        ("3/12/1984 13:00 PM", MonthFirst, Err(NotADate)),
        ("3/12/1984 0:30 AM", MonthFirst, Err(NotADate)),
        ("3/12/1984 24:00", MonthFirst, Err(NotADate)),
        ("3/12/1984 14:60", MonthFirst, Err(NotADate)),
        ("3/12/1984 14", MonthFirst, Err(NotADate)),
        ("3/12/1984 14:22:01:00", MonthFirst, Err(NotADate)),
        ("3/12/1984 014:22", MonthFirst, Err(NotADate)),
        ("3/12/1984 14:2", MonthFirst, Err(NotADate)),
        ("3/12/1984 2:22:1 PM", MonthFirst, Err(NotADate)),
        ("3/12/1984 14:22:01.", MonthFirst, Err(NotADate)),
        ("3/12/1984 :22", MonthFirst, Err(NotADate)),
        ("3/12/1984 noon", MonthFirst, Err(NotADate)),
        ("3/12/1984 14:22 +02:00", MonthFirst, Err(NotADate)),
    ];
    for (written, order, read) in cases {
        assert_eq!(
            slash_date_time(written, Some(*order)),
            *read,
            "{written:?} {order:?}"
        );
    }
    // no order named: only a year written first reads
    let unordered: &[(&str, Result<NaiveDateTime, DateProblem>)] = &[
        ("1984/03/12", at(1984, 3, 12, 0, 0, 0)),
        ("3/12/1984", Err(NoOrder)),
        ("25/3/1984", Err(NoOrder)),
        ("3/12/84", Err(NoOrder)),
        ("3/12", Err(NotADate)),
        ("1984/02/30", Err(NotADate)),
    ];
    for (written, read) in unordered {
        assert_eq!(slash_date_time(written, None), *read, "{written:?}");
    }
}

#[test]
fn slash_orders_are_named_as_the_setting_writes_them() {
    for order in [SlashDates::MonthFirst, SlashDates::DayFirst] {
        let named: SlashDates =
            serde_json::from_value(serde_json::Value::from(order.as_str())).unwrap();
        assert_eq!(named, order);
    }
    assert!(serde_json::from_value::<SlashDates>("mdy".into()).is_err());
}

#[test]
fn dates_with_the_month_named_are_read_and_a_two_digit_year_is_told() {
    let on = |y, m, d| Ok(day(y, m, d));
    let cases = [
        ("12-MAR-1984", on(1984, 3, 12)),
        ("12-Mar-1984", on(1984, 3, 12)),
        ("12-mar-1984", on(1984, 3, 12)),
        ("2-Mar-1984", on(1984, 3, 2)),
        ("12 Mar 1984", on(1984, 3, 12)),
        ("Mar 12, 1984", on(1984, 3, 12)),
        ("March 12, 1984", on(1984, 3, 12)),
        ("12 March 1984", on(1984, 3, 12)),
        ("12-MARCH-1984", on(1984, 3, 12)),
        (" 29-FEB-2024 ", on(2024, 2, 29)),
        ("12-MAR-84", Err(DateProblem::TwoDigitYear)),
        ("Mar 12, 84", Err(DateProblem::TwoDigitYear)),
        ("29-FEB-00", Err(DateProblem::TwoDigitYear)),
        ("29-FEB-23", Err(DateProblem::NotADate)),
        ("29-FEB-2023", Err(DateProblem::NotADate)),
        ("12-MRZ-1984", Err(DateProblem::NotADate)),
        ("12-MRZ-84", Err(DateProblem::NotADate)),
        ("12-03-84", Err(DateProblem::NotADate)),
        ("1984-03-12", Err(DateProblem::NotADate)),
        ("12-MAR-19840", Err(DateProblem::NotADate)),
        ("12-MAR-984", Err(DateProblem::NotADate)),
        ("MAR-1984", Err(DateProblem::NotADate)),
        ("84", Err(DateProblem::NotADate)),
        ("", Err(DateProblem::NotADate)),
        ("\u{e9}4", Err(DateProblem::NotADate)),
    ];
    for (written, read) in cases {
        assert_eq!(month_named_date(written), read, "{written:?}");
    }
}
