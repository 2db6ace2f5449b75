//! How a member's dates are written: as chrono writes them (RFC 3339 and ISO 8601 text) for
//! people and JSON, and as numbers in the store's postcard records, where formatting and
//! parsing the text was half the cost of encoding a record (a million per enrollment run).
//! Which one depends on the format's `is_human_readable`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `DateTime<Utc>`: seconds and nanoseconds since the Unix epoch.
pub mod utc {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        match s.is_human_readable() {
            true => t.serialize(s),
            false => (t.timestamp(), t.timestamp_subsec_nanos()).serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        match d.is_human_readable() {
            true => DateTime::deserialize(d),
            false => {
                let (secs, nanos) = <(i64, u32)>::deserialize(d)?;
                DateTime::from_timestamp(secs, nanos)
                    .ok_or_else(|| D::Error::custom("time out of range"))
            }
        }
    }
}

/// `Option<NaiveDateTime>`: as [`utc`], read as UTC.
pub mod naive_time_opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match s.is_human_readable() {
            true => t.serialize(s),
            false => t
                .map(|t| {
                    let t = t.and_utc();
                    (t.timestamp(), t.timestamp_subsec_nanos())
                })
                .serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match d.is_human_readable() {
            true => Option::deserialize(d),
            false => Option::<(i64, u32)>::deserialize(d)?
                .map(|(secs, nanos)| {
                    DateTime::from_timestamp(secs, nanos)
                        .map(|t| t.naive_utc())
                        .ok_or_else(|| D::Error::custom("time out of range"))
                })
                .transpose(),
        }
    }
}

/// `Option<NaiveDate>`: days since 0001-01-01 (day 1).
pub mod date_opt {
    use super::*;
    use chrono::Datelike;

    pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match s.is_human_readable() {
            true => d.serialize(s),
            false => d.map(|d| d.num_days_from_ce()).serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        match d.is_human_readable() {
            true => Option::deserialize(d),
            false => Option::<i32>::deserialize(d)?
                .map(|days| {
                    NaiveDate::from_num_days_from_ce_opt(days)
                        .ok_or_else(|| D::Error::custom("date out of range"))
                })
                .transpose(),
        }
    }
}
