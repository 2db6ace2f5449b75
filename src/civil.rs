//! Civil time: the credit union's time zone, and the date-times cores and exports write.
//!
//! A caller asked "when was your last transaction?" answers with the day on their own
//! calendar. A core that dates a transaction in UTC dates an evening's card payment in the
//! United States on the next day; the day it was for the member is found in the credit
//! union's zone ([`Zone`], `core.rest.time_zone`).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};

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
    #[cfg(test)]
    pub fn name(&self) -> Option<&str> {
        self.tz.iana_name()
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
/// `2026-12-01 03:30:00.1234567+00:00`, `...+0000`.
pub fn offset_date_time(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    let s = s.strip_suffix(['Z', 'z']).map_or_else(
        || std::borrow::Cow::Borrowed(s),
        |bare| std::borrow::Cow::Owned(format!("{bare}+0000")),
    );
    [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
    ]
    .into_iter()
    .find_map(|fmt| DateTime::parse_from_str(&s, fmt).ok())
}

/// A date and time as written, without an offset: `2026-11-30T14:22:01`, with a space for
/// the `T`, without the seconds, or with a fraction of them.
pub fn naive_date_time(s: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
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
