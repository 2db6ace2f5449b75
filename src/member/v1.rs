//! Member record format 1 (written until 2026-12-01): the same fields as format 2, with
//! dates as chrono's text. Frozen: stores written before then hold it until each record
//! next changes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;

use super::{Member, MemberRecord, PhoneType};

pub const FORMAT: u8 = 1;

pub fn decode(bytes: &[u8]) -> Result<MemberRecord, String> {
    let r: Record = postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
    let m = r.member;
    Ok(MemberRecord {
        member: Member {
            member_id: m.member_id,
            first_name: m.first_name,
            last_name: m.last_name,
            mobile_phone: m.mobile_phone,
            phone_type: m.phone_type,
            other_phones: m.other_phones,
            email: m.email,
            dob: m.dob,
            zip: m.zip,
            ssn_last4: m.ssn_last4,
            account_numbers: m.account_numbers,
            profile_changed_at: m.profile_changed_at,
            fraud_flag: m.fraud_flag,
            place_of_birth: m.place_of_birth,
            savings_balance_cents: m.savings_balance_cents,
            last_txn_amount_cents: m.last_txn_amount_cents,
            last_txn_date: m.last_txn_date,
            needs_activation: m.needs_activation,
            withdrawn_phones: m.withdrawn_phones,
            core_has_pin: None,
        },
        enrolled_at: r.enrolled_at,
        updated_at: r.updated_at,
    })
}

#[derive(Deserialize)]
struct Record {
    member: V1Member,
    enrolled_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Field for field, in order, what [`Member`] was in format 1.
#[derive(Deserialize)]
struct V1Member {
    member_id: String,
    first_name: Option<String>,
    last_name: Option<String>,
    mobile_phone: Option<String>,
    phone_type: PhoneType,
    other_phones: Vec<String>,
    email: Option<String>,
    dob: Option<NaiveDate>,
    zip: Option<String>,
    ssn_last4: Option<String>,
    account_numbers: Vec<String>,
    profile_changed_at: Option<NaiveDateTime>,
    fraud_flag: bool,
    place_of_birth: Option<String>,
    savings_balance_cents: Option<i64>,
    last_txn_amount_cents: Option<i64>,
    last_txn_date: Option<NaiveDate>,
    needs_activation: bool,
    withdrawn_phones: Vec<String>,
}
