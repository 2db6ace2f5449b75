//! A member as callvault knows it: the facts a verification needs, the phones that identify
//! them, and how to show them to people without exposing what must stay secret.

mod dates;
pub mod phone;
mod v1;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// The line type of the member's mobile number, as the file (or core) states it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneType {
    Mobile,
    Landline,
    Voip,
    #[default]
    Unknown,
}

impl PhoneType {
    /// A phone type in the words files and cores use: ENROLL.md's four, their synonyms
    /// (`cell`, `fixed line`, `mobile phone`), and the kinds of line a core files a number
    /// under that are fixed ones (`home`, `work`, `business`, `fax`): the safe side, as a
    /// landline's caller ID identifies no one.
    pub fn parse(s: &str) -> Option<PhoneType> {
        let words = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        let kind = words.strip_suffix("_phone").unwrap_or(&words);
        match kind {
            "mobile" | "cell" | "cellular" | "wireless" => Some(PhoneType::Mobile),
            "landline" | "fixed" | "fixed_line" | "home" | "work" | "business" | "office"
            | "fax" => Some(PhoneType::Landline),
            "voip" => Some(PhoneType::Voip),
            "unknown" | "" => Some(PhoneType::Unknown),
            _ => None,
        }
    }
}

/// Everything callvault holds about a member. With the `embedded` core this is the member's
/// record; with a remote core it is what the core answered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(default)]
pub struct Member {
    pub member_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// E.164. The member's verified number: a call from it has trust `known_number`.
    pub mobile_phone: Option<String>,
    pub phone_type: PhoneType,
    /// E.164. They identify the member too, with trust `unknown_number`.
    pub other_phones: Vec<String>,
    pub email: Option<String>,
    #[serde(with = "dates::date_opt")]
    pub dob: Option<NaiveDate>,
    /// 5 digits (a ZIP+4 is kept as its first 5).
    pub zip: Option<String>,
    pub ssn_last4: Option<String>,
    pub account_numbers: Vec<String>,
    #[serde(with = "dates::naive_time_opt")]
    pub profile_changed_at: Option<NaiveDateTime>,
    pub fraud_flag: bool,
    pub place_of_birth: Option<String>,
    pub savings_balance_cents: Option<i64>,
    pub last_txn_amount_cents: Option<i64>,
    #[serde(with = "dates::date_opt")]
    pub last_txn_date: Option<NaiveDate>,
    /// The core's own "needs activation" hint.
    pub needs_activation: bool,
    /// Numbers this member cannot be identified by, because another member claims them too.
    pub withdrawn_phones: Vec<String>,
    /// Whether the core holds a PIN for the member, when a core that checks PINs says
    /// (`core.rest.fields.has_pin`); `None`: not said. Never stored: the embedded core's
    /// PINs are the vault's, and the record format does not carry it.
    #[serde(skip)]
    pub core_has_pin: Option<bool>,
}

/// The format byte of a postcard-encoded [`MemberRecord`]: 2, dates as numbers (see
/// `dates`). Format 1, dates as text, was written until 2026-12-01 and is still read; a
/// record is rewritten in format 2 when it next changes.
const RECORD_FORMAT: u8 = 2;

impl MemberRecord {
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let mut bytes = Vec::with_capacity(256);
        bytes.push(RECORD_FORMAT);
        postcard::to_io(self, &mut bytes).map_err(|e| e.to_string())?;
        Ok(bytes)
    }

    pub fn decode(bytes: &[u8]) -> Result<MemberRecord, String> {
        match bytes.split_first() {
            Some((&RECORD_FORMAT, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
            Some((&v1::FORMAT, rest)) => v1::decode(rest),
            Some((other, _)) => Err(format!("unknown member record format {other}")),
            None => Err("empty member record".into()),
        }
    }
}

/// The longest member id callvault takes, from a file or a core: ids travel in every STEP,
/// which API.md keeps under 2 KiB.
pub const MEMBER_ID_MAX_CHARS: usize = 64;

/// Whether a core's member number is one callvault takes: 1 to
/// [`MEMBER_ID_MAX_CHARS`] characters, none of them control characters.
pub fn plausible_member_id(id: &str) -> bool {
    !id.is_empty() && id.chars().count() <= MEMBER_ID_MAX_CHARS && !id.chars().any(char::is_control)
}

/// Why a member id a file holds is not the core's id: a whole number a script wrote as a
/// decimal (`1001.0`, pandas' `to_csv` for a column with a blank), one a spreadsheet wrote
/// in scientific notation (`1.23457E+11`, its digits lost), or text that begins as a
/// spreadsheet formula does ([`formula_lead`]). Such an id is refused, not read back:
/// `1001.0` taken as written is an id no caller can key, and `=HYPERLINK(...)` written
/// into a results file would run when an admin opens it. Never quotes the id's digits.
pub fn id_in_file_problem(id: &str) -> Option<&'static str> {
    if formula_lead(id) {
        return Some(
            "begins with = + - or @, as a spreadsheet formula does: a member number does not, \
             and a spreadsheet opening the results would run it",
        );
    }
    if phone::written_as_decimal(id) {
        return Some(phone::DECIMAL);
    }
    // Excel's own form (a `.` in the mantissa, `E+`), so that an id such as `12E4` stays
    let (mantissa, exponent) = id.split_once("E+")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (whole, fraction) = mantissa.split_once('.')?;
    (digits(whole) && digits(fraction) && digits(exponent)).then_some(
        "written in scientific notation (n.nnE+nn), as a spreadsheet shows a long number: \
         its digits are lost; export the column as text",
    )
}

/// Whether text begins with a character that makes a spreadsheet read a cell as a formula
/// (`=`, `+`, `-`, `@`; OWASP's "CSV injection"). The tab and carriage return it also
/// lists are control characters, which no member id holds.
pub fn formula_lead(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@'])
}

/// A member id as a message names it: quoted when it could be one (`"1001"`); else what
/// one is, not the thousands of characters of a path that is none.
pub fn named(id: &str) -> String {
    match plausible_member_id(id) {
        true => format!("{id:?}"),
        false => format!(
            "with that id: a member_id is 1 to {MEMBER_ID_MAX_CHARS} characters, none of them \
             control characters"
        ),
    }
}

impl Member {
    /// The numbers a call can identify this member by: `(number, verified)`.
    pub fn identifying_phones(&self) -> impl Iterator<Item = (&str, bool)> {
        let withdrawn = &self.withdrawn_phones;
        self.mobile_phone
            .iter()
            .map(|p| (p.as_str(), true))
            .chain(self.other_phones.iter().map(|p| (p.as_str(), false)))
            .filter(move |(p, _)| !withdrawn.iter().any(|w| w == p))
    }

    /// Every number on file, withdrawn or not: what the member claims.
    pub fn all_phones(&self) -> impl Iterator<Item = &str> {
        self.mobile_phone
            .iter()
            .chain(self.other_phones.iter())
            .map(String::as_str)
    }

    /// The member's name for greeting and screen pops.
    pub fn display_name(&self) -> Option<String> {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(f), None) => Some(f.clone()),
            (None, Some(l)) => Some(l.clone()),
            (None, None) => None,
        }
    }

    /// The member as it may be shown to an admin: phones, e-mail and account numbers masked,
    /// and no verification answer in full (SSN, the day of birth, zip, the last
    /// transaction's day, place of birth, balances).
    pub fn masked(&self) -> MaskedMember {
        MaskedMember {
            member_id: self.member_id.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            mobile_phone: self.mobile_phone.as_deref().map(mask_phone),
            phone_type: self.phone_type,
            other_phones: self.other_phones.iter().map(|p| mask_phone(p)).collect(),
            email: self.email.as_deref().map(mask_email),
            dob: self.dob.map(|d| format!("{}-**-**", d.format("%Y"))),
            zip: self.zip.as_deref().map(|z| mask_after(z, 3)),
            ssn_last4: self.ssn_last4.as_ref().map(|_| "****".to_string()),
            account_numbers: self
                .account_numbers
                .iter()
                .map(|a| mask_tail(a, 4))
                .collect(),
            profile_changed_at: self.profile_changed_at,
            fraud_flag: self.fraud_flag,
            has_place_of_birth: self.place_of_birth.is_some(),
            has_savings_balance: self.savings_balance_cents.is_some(),
            last_txn_date: self
                .last_txn_date
                .map(|d| format!("{}-**", d.format("%Y-%m"))),
            needs_activation: self.needs_activation,
            withdrawn_phones: self
                .withdrawn_phones
                .iter()
                .map(|p| mask_phone(p))
                .collect(),
            placeholders: crate::dialog::answer::placeholders(self),
        }
    }
}

/// What `member show` and `GET /v1/members/{id}` show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MaskedMember {
    pub member_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub mobile_phone: Option<String>,
    pub phone_type: PhoneType,
    pub other_phones: Vec<String>,
    pub email: Option<String>,
    pub dob: Option<String>,
    /// The first three digits (the region): the zip is a keypad question's answer.
    pub zip: Option<String>,
    pub ssn_last4: Option<String>,
    pub account_numbers: Vec<String>,
    pub profile_changed_at: Option<NaiveDateTime>,
    pub fraud_flag: bool,
    pub has_place_of_birth: bool,
    pub has_savings_balance: bool,
    /// Year and month only: the day is a keypad question's answer.
    pub last_txn_date: Option<String>,
    pub needs_activation: bool,
    pub withdrawn_phones: Vec<String>,
    /// The questions whose fact the record holds as what cores write for "unknown"
    /// (`1900-01-01`, zip `00000`, SSN last four `0000`, a place of birth `UNKNOWN`...):
    /// they are not asked, nor put on an agent's checklist.
    #[serde(default)]
    pub placeholders: Vec<crate::profile::Question>,
}

/// The stored record: the facts plus when callvault learned them.
///
/// Stored as one format byte and the record in postcard, a compact positional binary form
/// (a million of them are written per enrollment run). Adding a field means a new format
/// byte and a store migration; decoding refuses formats it does not know.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberRecord {
    pub member: Member,
    #[serde(with = "dates::utc")]
    pub enrolled_at: DateTime<Utc>,
    #[serde(with = "dates::utc")]
    pub updated_at: DateTime<Utc>,
}

/// `+15551234567` -> `+1******4567`: the country code, whole (`+1`, `+44`, `+385`), and the
/// last four digits. For agents' screens and challenges' `sent_to`. A short number shows
/// fewer: never more than half the digits after the country code (`+6834002` -> `+683**02`).
pub fn mask_phone(e164: &str) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    if digits.len() <= 5 {
        return "*".repeat(digits.len());
    }
    // at most 3 digits (ITU's country codes), of the 6 or more here: 3 at least are left
    let cc_len = phonenumber::parse(None, e164)
        .map(|n| n.code().value().to_string().len())
        // not a number the plan knows: +1 and +7 are the one-digit codes
        .unwrap_or(if matches!(digits[0], '1' | '7') { 1 } else { 2 });
    let national = digits.len() - cc_len;
    let shown = (national / 2).min(4);
    let cc: String = digits[..cc_len].iter().collect();
    let tail: String = digits[digits.len() - shown..].iter().collect();
    format!("+{cc}{}{tail}", "*".repeat(national - shown))
}

/// A member's e-mail address as a file or a core writes it, as one-time codes are sent to
/// it: bare (`ana@cu.example`), with a display name (`Ana Lee <ana@cu.example>`, as
/// Outlook copies one) or as a link (`mailto:ana@cu.example`, as a spreadsheet's hyperlink
/// exports). What is refused says why: it is not one address as the mail sender reads it
/// (`ana@cu example.com`), it holds more than one (`ana@a.example;bob@b.example`), or its
/// domain has no dot (`ana@gmail`: no member's mail is on such a domain, so a code sent there
/// would never arrive).
pub fn email_address(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    let text = match text.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => &text[7..],
        _ => text,
    };
    if text.matches('@').count() > 1 {
        return Err("holds more than one address: one-time codes go to one; keep that one");
    }
    const NOT: &str = "is not an e-mail address";
    // the bare address, as nearly every row has it, without the display name's parser
    let address: lettre::Address = match text.contains('<') {
        true => {
            text.parse::<lettre::message::Mailbox>()
                .map_err(|_| NOT)?
                .email
        }
        false => text.parse().map_err(|_| NOT)?,
    };
    if !address.domain().contains('.') {
        return Err("is not an e-mail address: its domain has no dot");
    }
    Ok(address.to_string())
}

/// `jane.doe@cu.example` -> `j***@cu.example`: the first letter of the local part and the
/// domain.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// `text` with every e-mail address in it masked as [`mask_email`] does: for what another
/// system wrote about a message (an SMTP relay's `550 5.1.1 <jane.doe@cu.example>: Recipient
/// address rejected`), which callvault passes on to agents and to the log, where a member's
/// address is shown masked. An address is a run of characters holding an `@`,
/// ended by white space or by what an address cannot hold unquoted (`<>()[]",;:`).
pub fn mask_emails_in(text: &str) -> String {
    let ends = |c: char| c.is_whitespace() || "<>()[]\",;:".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let start = (rest[..at].char_indices().rev())
            .find(|&(_, c)| ends(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let end = rest[at..].find(ends).map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        out.push_str(&mask_email(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Keep the last `keep` characters.
pub fn mask_tail(s: &str, keep: usize) -> String {
    let n = s.chars().count();
    if n <= keep {
        return "*".repeat(n);
    }
    let tail: String = s.chars().skip(n - keep).collect();
    format!("{}{tail}", "*".repeat(n - keep))
}

/// `s` with all but its first `keep` characters starred (all of it when it is that short).
pub fn mask_after(s: &str, keep: usize) -> String {
    let n = s.chars().count();
    if n <= keep {
        return "*".repeat(n);
    }
    let head: String = s.chars().take(keep).collect();
    format!("{head}{}", "*".repeat(n - keep))
}

#[cfg(test)]
mod tests;
