//! Civil time: the credit union's time zone, and the date-times cores and exports write.
//!
//! A caller asked "when was your last transaction?" answers with the day on their own
//! calendar. A core that dates a transaction in UTC dates an evening's card payment in the
//! United States on the next day; the day it was for the member is found in the credit
//! union's zone ([`Zone`], `core.rest.time_zone`).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// A time zone: one of the IANA database's (`America/Chicago`), read from the system's copy
/// (`/usr/share/zoneinfo`, kept current by the distribution's tzdata package).
#[derive(Clone, Debug)]
pub struct Zone {
    tz: jiff::tz::TimeZone,
}

impl Zone {
    /// The zone `name` names, or for `""` the system's own (`TZ`, else `/etc/localtime`;
    /// UTC when neither says, as the C library takes it).
    pub fn named(name: &str) -> Result<Zone, String> {
        if name.is_empty() {
            return Ok(Zone::system());
        }
        let tz = jiff::tz::TimeZone::get(name).map_err(|_| {
            format!(
                "{name:?} is no time zone of this system's database (/usr/share/zoneinfo), \
                 as \"America/Chicago\" is"
            )
        })?;
        Ok(Zone { tz })
    }

    /// The system's own zone: `TZ`, else `/etc/localtime`; UTC when neither says, as the C
    /// library takes it.
    pub fn system() -> Zone {
        Zone {
            tz: jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC),
        }
    }

    /// UTC.
    pub fn utc() -> Zone {
        Zone {
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// The zone's IANA name, when it has one (a system zone read from a file may not).
    pub fn name(&self) -> Option<&str> {
        self.tz.iana_name()
    }

    /// The instant a clock in this zone showed `t`. A time the clocks skipped (spring's
    /// `02:30` in the United States) is taken as the clock would be read an hour later, and
    /// one they showed twice (autumn's `01:30`) as the first time: RFC 5545's and
    /// JavaScript Temporal's rule ("compatible"). `None` outside the years jiff reaches.
    pub fn instant_of(&self, t: NaiveDateTime) -> Option<DateTime<Utc>> {
        use chrono::Datelike;
        let civil = jiff::civil::DateTime::new(
            i16::try_from(t.year()).ok()?,
            i8::try_from(t.month()).ok()?,
            i8::try_from(t.day()).ok()?,
            i8::try_from(t.hour()).ok()?,
            i8::try_from(t.minute()).ok()?,
            i8::try_from(t.second()).ok()?,
            i32::try_from(t.nanosecond()).ok()?,
        )
        .ok()?;
        let ts = self.tz.to_timestamp(civil).ok()?;
        DateTime::from_timestamp(ts.as_second(), u32::try_from(ts.subsec_nanosecond()).ok()?)
    }

    /// Whether the zone keeps UTC's time in winter and in summer (`UTC`, `Etc/UTC`, a
    /// system set to UTC): the zone of a server no one set to the credit union's.
    pub fn is_utc(&self) -> bool {
        // 2026-01-15 and 2026-07-15, noon UTC
        [1_768_478_400, 1_784_116_800].into_iter().all(|s| {
            jiff::Timestamp::from_second(s).is_ok_and(|ts| self.tz.to_offset(ts).seconds() == 0)
        })
    }

    /// The day `at` fell on in this zone.
    pub fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        let day = jiff::Timestamp::new(at.timestamp(), 0)
            .map(|ts| self.tz.to_datetime(ts).date())
            .ok()
            .and_then(|d| {
                NaiveDate::from_ymd_opt(
                    i32::from(d.year()),
                    u32::try_from(d.month()).ok()?,
                    u32::try_from(d.day()).ok()?,
                )
            });
        // outside jiff's range (years -9999..=9999), which chrono's reaches: the UTC day
        day.unwrap_or_else(|| at.date_naive())
    }
}

/// A date-time with its UTC offset, as ISO 8601 / RFC 3339 writes it and the exports of
/// .NET, Java, JavaScript and SQL tools do: `2026-11-30T21:30:00-06:00`, `...Z`,
/// `2026-12-01 03:30:00.1234567+00:00`, `...+0000`; PostgreSQL's `timestamptz` text, whose
/// offset is its hours alone when whole (`2026-11-30 21:30:00.123-06`); and a zone named
/// ` UTC` or ` GMT` after the time (Ruby's, MySQL tools').
pub fn offset_date_time(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    let utc = [" UTC", " GMT", "Z", "z"].into_iter().find_map(|zone| {
        let at = s.len().checked_sub(zone.len())?;
        s.get(at..)?.eq_ignore_ascii_case(zone).then(|| &s[..at])
    });
    let s = match utc {
        Some(bare) => std::borrow::Cow::Owned(format!("{bare}+0000")),
        None if hours_offset(s) => std::borrow::Cow::Owned(format!("{s}00")),
        None => std::borrow::Cow::Borrowed(s),
    };
    [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
    ]
    .into_iter()
    .find_map(|fmt| DateTime::parse_from_str(&s, fmt).ok())
}

/// Whether `s` ends in an offset of hours alone (`-06`, `+05`) after a time of day, as
/// PostgreSQL writes one; a date's day (`2026-11-30`) is no offset.
fn hours_offset(s: &str) -> bool {
    let Some(at) = s.len().checked_sub(3) else {
        return false;
    };
    let (time, offset) = s.split_at_checked(at).unwrap_or_default();
    matches!(offset.as_bytes(), [b'+' | b'-', h, m] if h.is_ascii_digit() && m.is_ascii_digit())
        && time.get(10..).is_some_and(|rest| rest.contains(':'))
        && time.ends_with(|c: char| c.is_ascii_digit())
}

/// A date and time as written, without an offset: `2026-11-30T14:22:01`, with a space for
/// the `T`, without the seconds, or with a fraction of them; as DB2 writes a `TIMESTAMP`
/// (`2026-11-30-14.22.01.123456`, IBM i cores' exports); or as the 14 digits
/// `YYYYMMDDHHMMSS` of a mainframe's.
pub fn naive_date_time(s: &str) -> Option<NaiveDateTime> {
    if s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()) {
        let date = NaiveDate::from_ymd_opt(
            i32::try_from(digits(&s[..4], 4..=4)?).ok()?,
            digits(&s[4..6], 2..=2)?,
            digits(&s[6..8], 2..=2)?,
        )?;
        let time = NaiveTime::from_hms_opt(
            digits(&s[8..10], 2..=2)?,
            digits(&s[10..12], 2..=2)?,
            digits(&s[12..], 2..=2)?,
        )?;
        return Some(date.and_time(time));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d-%H.%M.%S%.f",
    ]
    .into_iter()
    .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
}

/// When a date, or date and time, written as [`offset_date_time`] or [`naive_date_time`]
/// read, or a `YYYY-MM-DD` date (its midnight), was. One with an offset is taken to UTC;
/// one without is taken as written (callvault keeps such times in UTC).
pub fn when(s: &str) -> Option<NaiveDateTime> {
    if let Some(d) = crate::enroll::row::parse_ymd(s) {
        return d.and_hms_opt(0, 0, 0);
    }
    offset_date_time(s)
        .map(|t| t.naive_utc())
        .or_else(|| naive_date_time(s))
}

/// The order of a date written with slashes (`3/12/1984`), as a file's writer had it:
/// `[enroll] slash_dates`. A file says nothing of it, and both orders read most dates, so
/// it is the admin's to name (none named: such dates are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlashDates {
    /// `3/12/1984` is March 12 (the United States', Excel's and .NET's `en-US`).
    #[serde(rename = "month/day/year")]
    MonthFirst,
    /// `12/3/1984` is March 12 (Canada's `en-CA` spreadsheets, and most of the world's).
    #[serde(rename = "day/month/year")]
    DayFirst,
}

impl SlashDates {
    pub const ALL: [SlashDates; 2] = [SlashDates::MonthFirst, SlashDates::DayFirst];

    /// The order as `[enroll] slash_dates` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            SlashDates::MonthFirst => "month/day/year",
            SlashDates::DayFirst => "day/month/year",
        }
    }
}

/// Why a date with slashes, or with its month named, does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateProblem {
    /// Month and day are in an order no setting names (`3/12/1984` and none set).
    NoOrder,
    /// Not day, month and a year of four digits, with a time of day at most.
    NotADate,
    /// `3/12/84`: whose century is unclear (a birth date could be 1984 or 2084's).
    TwoDigitYear,
    /// Its would-be month is more than 12 and the other order reads it: the file is likely
    /// written in the other order.
    OtherOrder,
}

/// A date written with slashes, with a four-digit year, and the time of day after it a
/// spreadsheet or a .NET export writes (`3/12/1984 14:22`, `3/12/1984 2:22:01 PM`, seconds
/// with a fraction); a date alone is its midnight. A year written first (`1984/03/12`, as
/// Japanese and Chinese locales write dates) is always year, month, day; otherwise month
/// and day are in `order` (`3/12/1984`, `03/12/1984`), which must be named.
pub fn slash_date_time(s: &str, order: Option<SlashDates>) -> Result<NaiveDateTime, DateProblem> {
    let (date, time) = match s.trim().split_once(' ') {
        Some((date, time)) => (date, Some(time.trim())),
        None => (s.trim(), None),
    };
    let on = |year: &str, month: &str, day: &str| {
        NaiveDate::from_ymd_opt(
            i32::try_from(digits(year, 4..=4)?).ok()?,
            digits(month, 1..=2)?,
            digits(day, 1..=2)?,
        )
    };
    let date = match date.split('/').collect::<Vec<_>>()[..] {
        [year, month, day] if year.len() == 4 => {
            on(year, month, day).ok_or(DateProblem::NotADate)?
        }
        [first, second, year] => {
            let order = order.ok_or(DateProblem::NoOrder)?;
            let (month, day) = match order {
                SlashDates::MonthFirst => (first, second),
                SlashDates::DayFirst => (second, first),
            };
            if year.len() == 2 && year.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DateProblem::TwoDigitYear);
            }
            match on(year, month, day) {
                Some(date) => date,
                // a date the other order reads: any day up to 12 is in every month, so
                // this one's month is past 12
                None => {
                    return Err(match on(year, day, month) {
                        Some(_) => DateProblem::OtherOrder,
                        None => DateProblem::NotADate,
                    });
                }
            }
        }
        _ => return Err(DateProblem::NotADate),
    };
    let time = match time {
        None => NaiveTime::MIN,
        Some(t) => clock(t).ok_or(DateProblem::NotADate)?,
    };
    Ok(date.and_time(time))
}

/// A date with its month named, in English, as Oracle writes a `DATE` with a four-digit
/// year (`12-MAR-1984`, `DD-MON-YYYY`) and reports and spreadsheets write dates
/// (`12 Mar 1984`, `Mar 12, 1984`, `March 12, 1984`), in any case. A month named says
/// which number is the day, so no order need be named. `Err(TwoDigitYear)` for Oracle's
/// default `DD-MON-RR` (`12-MAR-84`), whose century is unclear; `Err(NotADate)` otherwise.
pub fn month_named_date(s: &str) -> Result<NaiveDate, DateProblem> {
    const FORMATS: [&str; 6] = [
        "%d-%b-%Y",
        "%d %b %Y",
        "%b %d, %Y",
        "%B %d, %Y",
        "%d %B %Y",
        "%d-%B-%Y",
    ];
    let s = s.trim();
    let year = s.rsplit([' ', '-']).next().unwrap_or_default();
    let read = |s: &str| {
        FORMATS
            .into_iter()
            .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
    };
    match (year.len(), year.bytes().all(|b| b.is_ascii_digit())) {
        (4, true) => read(s).ok_or(DateProblem::NotADate),
        // a date in the 1900s or the 2000s, read with either century
        (2, true)
            if ["19", "20"]
                .iter()
                .any(|c| read(&format!("{}{c}{year}", &s[..s.len() - 2])).is_some()) =>
        {
            Err(DateProblem::TwoDigitYear)
        }
        _ => Err(DateProblem::NotADate),
    }
}

/// A time of day as exports write one after a date: `14:22`, `14:22:01`, `14:22:01.123`,
/// or on a 12-hour clock, `2:22 PM`, `2:22:01 pm`, `12:05 AM` (five past midnight).
fn clock(t: &str) -> Option<NaiveTime> {
    let upper = t.to_ascii_uppercase();
    let (hms, half) = match (upper.strip_suffix("AM"), upper.strip_suffix("PM")) {
        (Some(hms), _) => (hms.trim_end(), Some(0)),
        (_, Some(hms)) => (hms.trim_end(), Some(12)),
        _ => (upper.as_str(), None),
    };
    let twelve_hour = |h: u32| -> Option<u32> {
        match half {
            None => Some(h),
            Some(add) => (1..=12).contains(&h).then_some(h % 12 + add),
        }
    };
    let (hour, minute, second) = match hms.split(':').collect::<Vec<_>>()[..] {
        [h, m] => (h, m, "00"),
        [h, m, s] => (h, m, s),
        _ => return None,
    };
    let (second, nanos) = match second.split_once('.') {
        None => (second, 0),
        Some((second, fraction)) => {
            let nanos = digits(fraction, 1..=9)? * 10u32.pow(9 - fraction.len() as u32);
            (second, nanos)
        }
    };
    NaiveTime::from_hms_nano_opt(
        twelve_hour(digits(hour, 1..=2)?)?,
        digits(minute, 2..=2)?,
        digits(second, 2..=2)?,
        nanos,
    )
}

/// The number `s` writes in digits alone (`parse` would take `+5`), as many as `len` says.
fn digits(s: &str, len: std::ops::RangeInclusive<usize>) -> Option<u32> {
    (len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The day a date-time with an offset stands for, on the calendar of `zone`'s people.
/// - In UTC (`Z`, `+00:00`), the day it was in `zone`: a core writing instants in UTC
///   dates an evening's payment in the United States on the next day. A UTC midnight
///   exactly is a date written as a date-time (as JavaScript writes one), its own day.
/// - With another offset, the day as written: the writer wrote its own local time, and
///   that is the credit union's, whatever zone this machine is set to.
pub fn day_written(t: DateTime<FixedOffset>, zone: &Zone) -> NaiveDate {
    let midnight = t.time().num_seconds_from_midnight() == 0 && t.time().nanosecond() == 0;
    if t.offset().local_minus_utc() == 0 && !midnight {
        zone.day_of(t.with_timezone(&Utc))
    } else {
        t.date_naive()
    }
}

#[cfg(test)]
mod tests;
