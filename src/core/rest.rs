//! The `rest` core: a generic JSON-over-HTTPS gateway (the middleware a credit union runs in
//! front of Symitar, KeyStone, DNA...). URLs are templates and fields are JSON pointers in the
//! configuration, so pointing callvault at a gateway needs no code.
//!
//! Every call is bounded by `core.timeout_ms` in total, retries included; reads that failed
//! for a reason worth retrying (no answer, 5xx, 429) are retried `retries` times; and a
//! circuit breaker turns a dead core into an immediate `CoreUnavailable`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;
use zeroize::Zeroizing;

use super::breaker::{Breaker, State};
use super::{CoreAdapter, CoreError, CorePin, FieldRead, IdentifierKind, PhoneMatch, Read};
use crate::civil::{SlashDates, Zone};
use crate::config::{RestCoreConfig, RestFields};
use crate::dialog::answer::{UNISSUED_LAST4, placeholder_tin};
use crate::enroll::row::{parse_cents, parse_flag, parse_ymd, parse_zip};
use crate::member::phone::{PhoneClass, Region, classify, e164, normalize_ani};
use crate::member::{Member, PhoneType};
use crate::notify::template;
use crate::outbound::percent_encode;
use crate::throttle::Throttle;

pub struct RestCore {
    client: reqwest::Client,
    config: RestCoreConfig,
    total: Duration,
    region: Region,
    /// `time_zone` (the day a transaction dated in UTC fell on) and `enroll.slash_dates`.
    dates: CoreDates,
    /// `enroll.recent_change_days`: see [`caller_id_withdrawn`].
    recent_change_days: u32,
    circuit: Mutex<Circuit>,
}

/// The breaker, and whether it still speaks for the service in `/metrics`
/// (`callvault_core_breaker_open`): not once a reload has swapped this core out, or a call
/// still out on it could set the gauge of the core that replaced it.
struct Circuit {
    breaker: Breaker,
    in_use: bool,
}

impl Circuit {
    fn open(&self) -> bool {
        !matches!(self.breaker.state(), State::Closed { .. })
    }
}

/// Records one allowed call's outcome in the breaker when dropped: `ok` if it ended, a
/// failure if it was given up on before it did.
struct Settle<'a> {
    circuit: &'a Mutex<Circuit>,
    ok: Option<bool>,
}

impl Drop for Settle<'_> {
    fn drop(&mut self) {
        if let Ok(mut c) = self.circuit.lock() {
            c.breaker.record(self.ok.unwrap_or(false), Instant::now());
            // under the lock `retire` takes: a retired core never writes the gauge
            if c.in_use {
                metrics::gauge!(super::live::BREAKER_OPEN).set(f64::from(u8::from(c.open())));
            }
        }
    }
}

/// What a request to the core was answered, when it was not a failure.
enum Answered {
    Json(Value),
    NotFound,
    /// One of the statuses the request expected besides a 2xx.
    Expected,
}

/// Why one attempt failed, and whether another attempt may help.
enum Attempt {
    Retry(String),
    Final(CoreError),
}

impl RestCore {
    pub fn new(config: RestCoreConfig, timeout_ms: u64, region: Region) -> Result<Self, CoreError> {
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(timeout_ms))
            // a redirect would carry the auth header and the member's number to an address
            // the configuration never named (and past the https-only rule): not followed
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("callvault/", env!("CARGO_PKG_VERSION")));
        let client = crate::outbound::Gateway {
            section: "core.rest",
            url: &config.base_url,
            ca_file: config.ca_file.as_deref(),
            client_cert: config.client_cert.as_deref(),
            client_key: config.client_key.as_deref(),
        }
        .client(builder)
        .map_err(CoreError::Unavailable)?;
        let zone = Zone::named(&config.time_zone)
            .map_err(|why| CoreError::Unavailable(format!("core.rest.time_zone: {why}")))?;
        let breaker = Breaker::new(
            config.breaker_failures,
            Duration::from_secs(config.breaker_open_seconds),
        );
        Ok(RestCore {
            client,
            total: Duration::from_millis(timeout_ms),
            region,
            dates: CoreDates {
                zone,
                slashes: SlashDates::MonthFirst,
            },
            recent_change_days: crate::config::EnrollConfig::default().recent_change_days,
            circuit: Mutex::new(Circuit {
                breaker,
                in_use: true,
            }),
            config,
        })
    }

    fn url(&self, template: &str, placeholder: &str, value: &str) -> String {
        format!(
            "{}{}",
            self.config.base_url.trim_end_matches('/'),
            template.replace(placeholder, &percent_encode(value))
        )
    }

    /// GET a JSON document; `None` for a 404. Bounded, retried and guarded by the breaker.
    async fn get_json(&self, url: &str) -> Result<Option<Value>, CoreError> {
        let attempts = async {
            let mut last = String::new();
            for attempt in 0..=self.config.retries {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                match self.once(url).await {
                    Ok(v) => return Ok(v),
                    Err(Attempt::Final(e)) => return Err(e),
                    Err(Attempt::Retry(why)) => last = why,
                }
            }
            Err(CoreError::Unavailable(last))
        };
        self.guarded(attempts).await
    }

    /// `work` under the breaker and `core.timeout_ms`, its failure logged.
    async fn guarded<T>(
        &self,
        work: impl Future<Output = Result<T, CoreError>>,
    ) -> Result<T, CoreError> {
        let allowed = self
            .circuit
            .lock()
            .map(|mut c| c.breaker.allow(Instant::now()))
            .unwrap_or(false);
        if !allowed {
            return Err(CoreError::Unavailable(
                "the core failed repeatedly; its circuit breaker is open".into(),
            ));
        }
        // Settles the breaker however this call ends: with its result, or as a failure if
        // the caller gives up on it first (the dialog's own `core.timeout_ms` running out
        // drops this future). A trial call of a half-open breaker that were dropped
        // unrecorded would leave the breaker half-open, refusing every call, for good.
        let mut settle = Settle {
            circuit: &self.circuit,
            ok: None,
        };
        let result = match tokio::time::timeout(self.total, work).await {
            Ok(r) => r,
            Err(_) => Err(CoreError::Unavailable(format!(
                "no answer within {} ms",
                self.total.as_millis()
            ))),
        };
        settle.ok = Some(result.is_ok());
        drop(settle);
        if let Err(e) = &result {
            tracing::warn!(error = %e, "core gateway call failed");
        }
        result
    }

    async fn once(&self, url: &str) -> Result<Option<Value>, Attempt> {
        let request = self.client.get(url).header("Accept", "application/json");
        self.exchange(request, &[], false).await.map(|a| match a {
            Answered::Json(v) => Some(v),
            Answered::NotFound | Answered::Expected => None,
        })
    }

    /// Send `request` (with the auth header) and read its JSON answer: a 404, or one of
    /// `expected` statuses, is said as such; what else is not a 2xx is an attempt's failure,
    /// and what the core said with it is logged ([`crate::outbound::said`]) unless the
    /// request carried a PIN (`pin_sent`), which a core might echo.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        expected: &[u16],
        pin_sent: bool,
    ) -> Result<Answered, Attempt> {
        let request = crate::outbound::with_auth(
            request,
            self.config.auth_header.as_deref(),
            self.config.auth_value.as_ref(),
        );
        let response = request.send().await.map_err(|e| {
            Attempt::Retry(format!(
                "core.rest.base_url: {}",
                crate::outbound::failure(&e)
            ))
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(Answered::NotFound);
        }
        if expected.contains(&status.as_u16()) {
            return Ok(Answered::Expected);
        }
        if !status.is_success() {
            let sent_key = self.config.auth_value.as_ref();
            if !pin_sent && let Some(said) = crate::outbound::said(response, sent_key).await {
                let status = status.as_u16();
                tracing::warn!(status, said = %said, "the core refused a request");
            }
            return Err(refused(status));
        }
        let said = said_type(response.headers());
        let bytes = read_bounded(response, MAX_ANSWER_BYTES).await?;
        // a byte order mark, as some .NET and Java gateways write before their JSON
        let json = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        // the place, never the text found there (it may be a member's)
        serde_json::from_slice(json)
            .map(Answered::Json)
            .map_err(|e| {
                let kind = match said {
                    Some(said) => format!("it is {said}, "),
                    None => String::new(),
                };
                Attempt::Final(CoreError::BadAnswer(format!(
                    "the answer is not JSON ({kind}at line {}, column {})",
                    e.line(),
                    e.column()
                )))
            })
    }

    /// The member objects of a list answer.
    fn members_of(&self, doc: Value) -> Result<Vec<Member>, CoreError> {
        let list = if self.config.members_pointer.is_empty() {
            &doc
        } else {
            doc.pointer(&self.config.members_pointer).ok_or_else(|| {
                CoreError::BadAnswer(format!("no {} in the answer", self.config.members_pointer))
            })?
        };
        let items = list
            .as_array()
            .ok_or_else(|| CoreError::BadAnswer("the member list is not a JSON array".into()))?;
        items.iter().map(|m| self.member_from(m)).collect()
    }

    /// One member object, as [`map_member`] maps it, with a caller ID the
    /// pre-enrollment rules would not trust withdrawn ([`caller_id_withdrawn`]).
    fn member_from(&self, v: &Value) -> Result<Member, CoreError> {
        let (mut member, unread) = map_member(v, &self.config.fields, self.region, &self.dates)?;
        for u in unread {
            log_unread(u, &self.config.fields);
        }
        let now = chrono::Utc::now().naive_utc();
        if let Some(mobile) = &member.mobile_phone
            && caller_id_withdrawn(&member, now, self.recent_change_days, self.region)
        {
            member.withdrawn_phones.push(mobile.clone());
        }
        Ok(member)
    }

    /// The core's answer for one member, and the member it maps to.
    async fn member_answer(&self, member_id: &str) -> Result<Option<(Value, Member)>, CoreError> {
        let url = self.url(&self.config.member, "{member_id}", member_id);
        let Some(doc) = self.get_json(&url).await? else {
            return Ok(None);
        };
        let member = self.member_from(&doc)?;
        if !same_member_id(&member.member_id, member_id) {
            // A template or mapping that does not select the member asked for would verify a
            // caller against someone else's facts.
            return Err(CoreError::BadAnswer(
                "the core answered with another member than the one asked for (check \
                 core.rest.member and core.rest.fields.member_id)"
                    .into(),
            ));
        }
        Ok(Some((doc, member)))
    }

    /// `enroll.recent_change_days` for [`caller_id_withdrawn`] (30 unless set).
    pub fn with_recent_change_days(mut self, days: u32) -> RestCore {
        self.recent_change_days = days;
        self
    }

    /// `enroll.slash_dates`: the order of the core's dates written with slashes; none named,
    /// month first (`MM/DD/YYYY`, as US cores write them).
    pub fn with_slash_dates(mut self, order: Option<SlashDates>) -> RestCore {
        self.dates.slashes = order.unwrap_or(SlashDates::MonthFirst);
        self
    }
}

/// How a core's dates are read: the credit union's zone, for the day an instant fell on,
/// and the order of month and day in a date written with slashes.
#[derive(Debug, Clone)]
pub struct CoreDates {
    pub zone: Zone,
    pub slashes: SlashDates,
}

/// Whether the pre-enrollment rules (ENROLL.md) would keep this member's mobile from
/// identifying them: a landline, a fraud flag, or a profile changed within
/// `recent_days` (a number changed last week may be a SIM swap's). The embedded directory
/// does not enroll such a member; a REST core's member is still looked up, but their mobile
/// is withdrawn as a shared one is: it gives no `known_number` trust, takes no code by text
/// and stands for no app intent, so the caller proves who they are as from any other
/// number.
pub fn caller_id_withdrawn(
    m: &Member,
    now: chrono::NaiveDateTime,
    recent_days: u32,
    region: Region,
) -> bool {
    let fixed_line = m
        .mobile_phone
        .as_deref()
        .is_some_and(|p| matches!(classify(p, region), PhoneClass::FixedLine(_)));
    m.phone_type == PhoneType::Landline
        || fixed_line
        || m.fraud_flag
        || crate::enroll::decide::changed_recently(m.profile_changed_at, now, recent_days)
}

/// The largest answer read from the core. A member or a list of the few members sharing a
/// number is a few KiB; a gateway that streams more is broken, and is not read into memory.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The answer's body, refused once it passes `limit` bytes (by its length header, or as it
/// arrives when it has none).
async fn read_bounded(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Attempt> {
    let too_big = || {
        Attempt::Final(CoreError::BadAnswer(format!(
            "the answer is larger than {} KiB",
            limit / 1024
        )))
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| Attempt::Retry("the core's answer was cut off".into()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An attempt's failure for a core's answer that is neither a 2xx, a 404 nor expected.
fn refused(status: reqwest::StatusCode) -> Attempt {
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Attempt::Retry(format!("the core answered {status}"));
    }
    Attempt::Final(CoreError::BadAnswer(if status.is_redirection() {
        format!(
            "the core answered {status}; redirects are not followed: set core.rest.base_url \
             to the address that answers"
        )
    } else if status == reqwest::StatusCode::UNAUTHORIZED
        || status == reqwest::StatusCode::FORBIDDEN
    {
        format!(
            "the core answered {status}: check core.rest.auth_header and auth_value, or \
             client_cert and client_key for a gateway that asks for a certificate"
        )
    } else {
        format!("the core answered {status}")
    }))
}

/// A field the core answered with a value callvault cannot read: its name under
/// `core.rest.fields`, and what it should hold. The value itself is never kept (it is a
/// member's data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unread {
    pub field: &'static str,
    pub expected: &'static str,
}

/// Map one member object through the configured pointers, with the fields whose values it
/// could not read. Such a field is left out (a flag, taken as set: see `fraud_flag`), so
/// the question that needs it is not asked; the caller says which, so a gateway that writes
/// dates or zips another way is found from the log, not from callers transferred for want
/// of questions.
pub fn map_member(
    v: &Value,
    f: &RestFields,
    region: Region,
    dates: &CoreDates,
) -> Result<(Member, Vec<Unread>), CoreError> {
    let unread = std::cell::RefCell::new(Vec::<Unread>::new());
    let note = |field: &'static str, expected: &'static str| {
        let mut unread = unread.borrow_mut();
        if unread.iter().all(|u| u.field != field) {
            unread.push(Unread { field, expected });
        }
    };
    let at = |pointer: &str| -> Option<&Value> {
        if pointer.is_empty() {
            None
        } else {
            v.pointer(pointer).filter(|x| !x.is_null())
        }
    };
    // text, or a number written as one; blank is absent
    let text = |field: &'static str, pointer: &str| -> Option<String> {
        at(pointer).and_then(|x| match x {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::String(_) => None,
            _ => {
                note(field, "text");
                None
            }
        })
    };
    // A value that is there: not absent, null or blank (blank is how many cores say "none").
    let present = |pointer: &str| -> Option<&Value> {
        at(pointer).filter(|x| !matches!(x, Value::String(s) if s.trim().is_empty()))
    };
    // an array of texts or numbers, or one text separated by `;`
    let list = |field: &'static str, pointer: &str| -> Vec<String> {
        let listed = match at(pointer) {
            None => return Vec::new(),
            Some(Value::Array(items)) => {
                let read: Vec<String> = items
                    .iter()
                    .filter_map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .or_else(|| i.as_number().map(|n| n.to_string()))
                    })
                    .collect();
                if read.len() == items.len() {
                    Ok(read)
                } else {
                    Err(read)
                }
            }
            Some(Value::String(s)) => Ok(s
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()),
            Some(_) => Err(Vec::new()),
        };
        listed.unwrap_or_else(|read| {
            note(
                field,
                "a list (an array of texts, or one text separated by ;)",
            );
            read
        })
    };
    // true/false, yes/no, y/n, t/f, 1/0; absent (null, blank) is `None`; anything else is
    // noted and taken as `unreadable`
    let said = |field: &'static str, pointer: &str, unreadable: Option<bool>| -> Option<bool> {
        let said = match present(pointer)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => parse_flag(s),
            Value::Number(n) => match n.as_i64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
            _ => None,
        };
        said.or_else(|| {
            note(field, "true or false (yes/no, y/n, t/f, 1/0)");
            unreadable
        })
    };
    // a flag: absent is not set
    let flag = |field: &'static str, pointer: &str, unreadable: bool| -> bool {
        said(field, pointer, Some(unreadable)).unwrap_or(false)
    };
    let cents = |field: &'static str, pointer: &str| {
        noted(present(pointer), core_cents, || {
            note(field, "an amount in dollars (a number, or \"1234.56\")")
        })
    };
    const A_DATE: &str = "a date: YYYY-MM-DD (or a date-time written so), YYYYMMDD, MM/DD/YYYY \
                          or milliseconds since 1970";
    let date = |field: &'static str, pointer: &str| {
        noted(
            present(pointer),
            |v| core_date(date_value(v)?.as_str(), dates.slashes),
            || note(field, A_DATE),
        )
    };
    let phone = |raw: String| classify(&raw, region).digits().map(e164);
    let member_id = text("member_id", &f.member_id)
        .ok_or_else(|| CoreError::BadAnswer(format!("a member has no {}", f.member_id)))?;
    if !crate::member::plausible_member_id(&member_id) {
        return Err(CoreError::BadAnswer(format!(
            "a member's {} is longer than {} characters or holds control characters",
            f.member_id,
            crate::member::MEMBER_ID_MAX_CHARS
        )));
    }
    let mobile_phone = noted(
        present(&f.mobile_phone),
        |v| value_text(v).and_then(phone),
        || note("mobile_phone", "a phone number"),
    );
    let phone_type = present(&f.phone_type)
        .map(|v| {
            value_text(v)
                .and_then(|t| PhoneType::parse(&t))
                .unwrap_or_else(|| {
                    note("phone_type", "mobile, landline, voip or unknown");
                    PhoneType::Unknown
                })
        })
        .unwrap_or_default();
    let other = list("other_phones", &f.other_phones);
    let other_phones: Vec<String> = other.iter().cloned().filter_map(phone).collect();
    if other_phones.len() < other.len() {
        note("other_phones", "phone numbers");
    }
    let member = Member {
        member_id,
        first_name: text("first_name", &f.first_name),
        last_name: text("last_name", &f.last_name),
        mobile_phone,
        phone_type,
        other_phones,
        email: noted(
            present(&f.email),
            |v| crate::member::email_address(&value_text(v)?).ok(),
            || note("email", "an e-mail address"),
        ),
        dob: date("dob", &f.dob),
        zip: noted(present(&f.zip), core_zip, || {
            note("zip", "5 digits or ZIP+4")
        }),
        ssn_last4: noted(present(&f.ssn_last4), core_ssn_last4, || {
            note("ssn_last4", "the SSN's last 4 digits, or the whole SSN")
        }),
        account_numbers: list("account_numbers", &f.account_numbers),
        profile_changed_at: noted(
            present(&f.profile_changed_at),
            |v| core_when(date_value(v)?.as_str(), dates.slashes),
            || note("profile_changed_at", A_DATE),
        ),
        // one the core may have set but that cannot be read is taken as set: the member's
        // mobile then gives no trust (see `caller_id_withdrawn`), the safe side
        fraud_flag: flag("fraud_flag", &f.fraud_flag, true),
        place_of_birth: text("place_of_birth", &f.place_of_birth),
        savings_balance_cents: cents("savings_balance", &f.savings_balance),
        last_txn_amount_cents: cents("last_txn_amount", &f.last_txn_amount),
        last_txn_date: noted(
            present(&f.last_txn_date),
            |v| core_day(date_value(v)?.as_str(), dates),
            || note("last_txn_date", A_DATE),
        ),
        needs_activation: flag("needs_activation", &f.needs_activation, false),
        withdrawn_phones: Vec::new(),
        // unreadable: not said, so the member is asked for a PIN and the core answers
        core_has_pin: said("has_pin", &f.has_pin, None),
    };
    Ok((member, unread.into_inner()))
}

/// The fields [`map_member`] may find unreadable, each with its own [`Throttle`].
const READ_FIELDS: [&str; 18] = [
    "first_name",
    "last_name",
    "email",
    "place_of_birth",
    "account_numbers",
    "mobile_phone",
    "phone_type",
    "other_phones",
    "dob",
    "zip",
    "ssn_last4",
    "profile_changed_at",
    "fraud_flag",
    "savings_balance",
    "last_txn_amount",
    "last_txn_date",
    "needs_activation",
    "has_pin",
];

/// Warn of a value the core answered that cannot be read: at most once in 10 minutes for
/// each field (a gateway that writes dates another way does so for every member), naming
/// the key and the pointer, never the value.
fn log_unread(u: Unread, fields: &RestFields) {
    static LOGGED: [Throttle; READ_FIELDS.len()] =
        [const { Throttle::new(Duration::from_secs(600)) }; READ_FIELDS.len()];
    let Some(i) = READ_FIELDS.iter().position(|f| *f == u.field) else {
        return;
    };
    let pointer = fields
        .all()
        .into_iter()
        .find(|(name, _)| *name == u.field)
        .map_or("", |(_, pointer)| pointer);
    crate::throttled!(
        warn,
        LOGGED[i],
        "core.rest.fields.{} ({pointer}): the core answered a value that is not {}; it is \
         left out, so what needs it is not asked or used (check the gateway or the pointer)",
        u.field,
        u.expected
    );
}

/// How each field of `core.rest.fields` was read from one member object `v`, whose
/// unreadable fields [`map_member`] noted in `unread`.
pub fn fields_read(v: &Value, f: &RestFields, unread: &[Unread]) -> Vec<FieldRead> {
    f.all()
        .into_iter()
        .map(|(field, pointer)| {
            let noted = unread.iter().find(|u| u.field == field);
            let read = if pointer.is_empty() {
                Read::NotMapped
            } else if noted.is_some() {
                Read::Unreadable
            } else {
                match v.pointer(pointer) {
                    None | Some(Value::Null) => Read::Absent,
                    Some(Value::String(s)) if s.trim().is_empty() => Read::Absent,
                    Some(_) => Read::Read,
                }
            };
            FieldRead {
                field: field.to_string(),
                pointer: pointer.to_string(),
                read,
                expected: noted.map(|u| u.expected.to_string()),
            }
        })
        .collect()
}

/// `value` read by `read`; a value there that `read` cannot take is told to `unreadable`.
fn noted<T>(
    value: Option<&Value>,
    read: impl FnOnce(&Value) -> Option<T>,
    unreadable: impl FnOnce(),
) -> Option<T> {
    let read = read(value?);
    if read.is_none() {
        unreadable();
    }
    read
}

/// An amount of dollars: a number, or text such as `"1234.56"` or `"$12.5"`, in cents.
fn core_cents(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().map(|d| (d * 100.0).round() as i64),
        Value::String(s) => parse_cents(s.trim()).ok(),
        _ => None,
    }
}

/// A string as it stands, or a number written out.
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A core's date or date-time as text: a string as it stands; a number as a mainframe's
/// `YYYYMMDD` (8 digits) or, as Java gateways send a `java.util.Date` (Jackson's default),
/// milliseconds since 1970 in UTC, written out as ISO 8601 (`447897600000` is
/// `1984-03-12T00:00:00.000Z`). A number that could as well be seconds (under 5e9: as
/// milliseconds, within two months of 1970) is not read: seconds read as milliseconds
/// would be a date in January 1970, a wrong answer to a caller's question.
fn date_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => {
            let n = n.as_i64()?;
            if (10_000_000..=99_999_999).contains(&n) {
                return Some(n.to_string());
            }
            (n.unsigned_abs() >= 5_000_000_000)
                .then(|| chrono::DateTime::from_timestamp_millis(n))
                .flatten()
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        }
        _ => None,
    }
}

/// A .NET JSON date (`DataContractJsonSerializer`, ASP.NET's `JavaScriptSerializer`, as
/// gateways written with WCF or ASMX send dates): `/Date(447897600000)/`, milliseconds since
/// 1970 in UTC, or `/Date(447919200000-0600)/`, the same instant of a date-time the core
/// held at that offset. Written out as ISO 8601 (`1984-03-12T06:00:00Z`,
/// `1984-03-12T00:00:00-06:00`), which the other readers take as they take any such text.
fn dotnet_date(s: &str) -> Option<String> {
    let inner = s.strip_prefix("/Date(")?.strip_suffix(")/")?;
    let split = inner.rfind(['+', '-']).filter(|&at| at > 0);
    let (ms, offset) = match split {
        Some(at) => (&inner[..at], Some(&inner[at..])),
        None => (inner, None),
    };
    let instant = chrono::DateTime::from_timestamp_millis(ms.parse().ok()?)?;
    let Some(offset) = offset else {
        return Some(instant.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    };
    let digits = |r: std::ops::Range<usize>| -> Option<i32> {
        let d = offset.get(r)?;
        d.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| d.parse().ok())?
    };
    if offset.len() != 5 {
        return None;
    }
    let seconds = (digits(1..3)? * 60 + digits(3..5)?) * 60;
    let zone = match offset.starts_with('-') {
        true => chrono::FixedOffset::west_opt(seconds)?,
        false => chrono::FixedOffset::east_opt(seconds)?,
    };
    Some(
        instant
            .with_timezone(&zone)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
    )
}

/// A core's date text, with a .NET JSON date ([`dotnet_date`]) written out as ISO 8601.
fn date_text(s: &str) -> std::borrow::Cow<'_, str> {
    dotnet_date(s).map_or(s.into(), Into::into)
}

/// A core's date: `YYYY-MM-DD` (or the start of a date-time written so), `YYYYMMDD` (as
/// Symitar and many cores keep dates), with slashes in the order `slashes` names (the US
/// `MM/DD/YYYY` unless `enroll.slash_dates` says otherwise), with the time of day .NET's
/// `DateTime.ToString()` writes after it (`3/12/1984 12:00:00 AM`, the day as written), the
/// month named with a four-digit year (`12-MAR-1984`, Oracle's), or a .NET JSON date (its
/// date as written at its offset).
fn core_date(s: &str, slashes: SlashDates) -> Option<chrono::NaiveDate> {
    let s = &*date_text(s);
    if let Some(d) = s.get(..10).and_then(parse_ymd) {
        return Some(d);
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return chrono::NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    }
    crate::civil::slash_date_time(s, Some(slashes))
        .ok()
        .map(|t| t.date())
        .or_else(|| crate::civil::month_named_date(s).ok())
}

/// The day a core's date names: a date-time in UTC is taken to the day it was in the credit
/// union's zone, one with another offset to its date as written
/// ([`crate::civil::day_written`]), any other date as [`core_date`] reads it.
fn core_day(s: &str, dates: &CoreDates) -> Option<chrono::NaiveDate> {
    let s = &*date_text(s);
    match crate::civil::offset_date_time(s) {
        Some(t) => Some(crate::civil::day_written(t, &dates.zone)),
        None => core_date(s, dates.slashes),
    }
}

/// When a core's date or date-time was, in UTC: a date-time with an offset is taken to UTC,
/// one without as written; a date is its midnight. A profile changed at 22:00 is then still
/// within `enroll.recent_change_days` until 22:00 the day the window ends, not from midnight.
fn core_when(s: &str, slashes: SlashDates) -> Option<chrono::NaiveDateTime> {
    let s = &*date_text(s);
    crate::civil::when(s)
        .or_else(|| crate::civil::slash_date_time(s, Some(slashes)).ok())
        .or_else(|| core_date(s, slashes)?.and_hms_opt(0, 0, 0))
}

/// A core's zip as its 5 digits: `55401`, `55401-1234` or `554011234`. A zip sent as a JSON
/// number has lost its leading zeros (Massachusetts' `02134` is `2134`): they are put back.
fn core_zip(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => match n.as_u64()? {
            n @ 0..=99_999 => parse_zip(&format!("{n:05}")),
            n => parse_zip(&format!("{n:09}")),
        },
        Value::String(s) => parse_zip(s.trim()),
        _ => None,
    }
}

/// A core's SSN (or TIN) as its last 4 digits. One sent as a JSON number has lost its
/// leading zeros, which are put back (`123` is `0123`; `78051120`, longer than four
/// digits, is the whole `078051120`).
fn core_ssn_last4(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => match n.as_u64()? {
            n @ 0..=9_999 => Some(format!("{n:04}")),
            n @ 10_000..=999_999_999 => last4_digits(&format!("{n:09}")),
            n => Some(format!("{:04}", n % 10_000)),
        },
        Value::String(s) => last4_digits(s),
        _ => None,
    }
}

/// The last four digits of what the core calls the SSN. Cores often hold the whole number
/// (or a TIN with dashes); callvault keeps only what its questions ask, so a full number is
/// never stored, shown to an agent or compared. A whole number that is never issued
/// ([`placeholder_tin`]: `000-00-0000`, `123-45-6789`...) is the core's "unknown", kept as
/// [`UNISSUED_LAST4`], so its question is not asked. Fewer than four digits: nothing.
fn last4_digits(raw: &str) -> Option<String> {
    if placeholder_tin(raw) {
        return Some(UNISSUED_LAST4.to_string());
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    digits
        .len()
        .checked_sub(4)
        .map(|from| digits[from..].to_string())
}

/// The media type an answer says it is, when it says one other than JSON (`text/html`: a
/// sign-in page or a proxy's error page answered in the core's place), to name in the
/// error. Only a media type's characters, and not too many of them: it is the far side's.
fn said_type(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let value = headers.get(reqwest::header::CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next()?.trim().to_ascii_lowercase();
    let fits = !media.is_empty()
        && media.len() <= 64
        && media
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c));
    (fits && !media.contains("json")).then_some(media)
}

/// What the core's answer to a PIN check says: `true` or `false` at the `correct` pointer
/// (also as `"true"`/`"false"`, as some gateways write booleans), a 404 that it holds no PIN,
/// a configured `wrong_status` a wrong PIN. Anything else is a bad answer, never a verdict.
fn pin_verdict(answered: Answered, correct: &str) -> Result<CorePin, CoreError> {
    let doc = match answered {
        Answered::NotFound => return Ok(CorePin::NotHeld),
        Answered::Expected => return Ok(CorePin::Wrong),
        Answered::Json(doc) => doc,
    };
    let said = match doc.pointer(correct) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    };
    match said {
        Some(true) => Ok(CorePin::Correct),
        Some(false) => Ok(CorePin::Wrong),
        None => Err(CoreError::BadAnswer(format!(
            "the PIN check's answer has no true or false at {correct} (check core.rest.pin.correct)"
        ))),
    }
}

/// Whether the core's id names the member asked for: the same text, or the same number
/// written with more or fewer leading zeros (a keyed "123" for the core's "000123").
fn same_member_id(answered: &str, asked: &str) -> bool {
    let (answered, asked) = (answered.trim(), asked.trim());
    fn number(s: &str) -> Option<&str> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.trim_start_matches('0'))
    }
    answered == asked || matches!((number(answered), number(asked)), (Some(a), Some(b)) if a == b)
}

#[async_trait]
impl CoreAdapter for RestCore {
    fn kind(&self) -> &'static str {
        "rest"
    }

    fn breaker_open(&self) -> bool {
        self.circuit.lock().map(|c| c.open()).unwrap_or(true)
    }

    fn retire(&self) {
        if let Ok(mut c) = self.circuit.lock() {
            c.in_use = false;
        }
    }

    async fn find_by_phone(&self, e164: &str) -> Result<Vec<PhoneMatch>, CoreError> {
        let url = self.url(&self.config.by_phone, "{phone}", e164);
        let Some(doc) = self.get_json(&url).await? else {
            return Ok(Vec::new());
        };
        let members = self.members_of(doc)?;
        let found = members.len();
        // A member whose answer lists phones, none of them this number, was not found by it:
        // a gateway that ignores the number's filter would otherwise name someone else.
        // Members answered without phones are kept (some gateways list ids and names only).
        let holding: Vec<PhoneMatch> = members
            .into_iter()
            .filter(|m| m.all_phones().next().is_none() || m.all_phones().any(|p| p == e164))
            .map(|m| PhoneMatch::of(m, e164))
            .collect();
        if holding.len() < found {
            tracing::warn!(
                answered = found,
                kept = holding.len(),
                "the core's answer for a number named members who do not hold it; they were \
                 left out (check core.rest.by_phone and the phone fields)"
            );
        }
        Ok(holding)
    }

    async fn find_by_identifier(
        &self,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<Vec<String>, CoreError> {
        let value = value.trim();
        match kind {
            IdentifierKind::MemberNumber => Ok(self
                .member(value)
                .await?
                .map(|m| vec![m.member_id])
                .unwrap_or_default()),
            IdentifierKind::AccountNumber => {
                let url = self.url(&self.config.by_account, "{account}", value);
                match self.get_json(&url).await? {
                    Some(doc) => Ok(self
                        .members_of(doc)?
                        .into_iter()
                        .map(|m| m.member_id)
                        .collect()),
                    None => Ok(Vec::new()),
                }
            }
            IdentifierKind::Phone => match normalize_ani(value, self.region) {
                Some(number) => Ok(self
                    .find_by_phone(&number)
                    .await?
                    .into_iter()
                    .map(|m| m.member_id)
                    .collect()),
                None => Ok(Vec::new()),
            },
        }
    }

    async fn member(&self, member_id: &str) -> Result<Option<Member>, CoreError> {
        Ok(self.member_answer(member_id).await?.map(|(_, m)| m))
    }

    async fn member_read(
        &self,
        member_id: &str,
    ) -> Result<Option<(Member, Vec<FieldRead>)>, CoreError> {
        let Some((doc, member)) = self.member_answer(member_id).await? else {
            return Ok(None);
        };
        let (_, unread) = map_member(&doc, &self.config.fields, self.region, &self.dates)?;
        Ok(Some((
            member,
            fields_read(&doc, &self.config.fields, &unread),
        )))
    }

    fn checks_pins(&self) -> bool {
        self.config.pin.is_some()
    }

    async fn check_pin(&self, member_id: &str, pin: &str) -> Result<CorePin, CoreError> {
        let Some(p) = &self.config.pin else {
            return Ok(CorePin::NotHeld);
        };
        let url = self.url(&p.url, "{member_id}", member_id);
        let body = Zeroizing::new(template::render(
            &p.body,
            &[("pin", pin), ("member_id", member_id)],
            template::json_escape,
        ));
        let request = (self.client.post(&url))
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body.as_bytes().to_vec());
        // once: a core may count wrong PINs, and a retry would count one twice
        let asked = async {
            match self.exchange(request, &p.wrong_status, true).await {
                Ok(answered) => pin_verdict(answered, &p.correct),
                Err(Attempt::Retry(why)) => Err(CoreError::Unavailable(why)),
                Err(Attempt::Final(e)) => Err(e),
            }
        };
        self.guarded(asked).await
    }

    async fn check(&self) -> Result<(), CoreError> {
        let url = format!(
            "{}{}",
            self.config.base_url.trim_end_matches('/'),
            self.config.health
        );
        // Any 2xx will do (health pages are not always JSON); readiness probes do not count
        // towards the breaker.
        let request = crate::outbound::with_auth(
            self.client.get(&url),
            self.config.auth_header.as_deref(),
            self.config.auth_value.as_ref(),
        );
        match request.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(CoreError::Unavailable(format!(
                "health answered {}",
                r.status()
            ))),
            Err(_) => Err(CoreError::Unavailable(
                "cannot reach the core's health URL".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests;
