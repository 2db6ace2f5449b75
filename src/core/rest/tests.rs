use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::config::Secret;

/// What the stand-in gateway answers for a request path. A 3xx answer's body is sent as its
/// `location`; a streamed body is sent without a length, until the connection closes.
#[derive(Clone)]
struct Answer {
    status: u16,
    body: String,
    delay_ms: u64,
    streamed: bool,
    content_type: &'static str,
}

fn ok(body: &str) -> Answer {
    answer(200, body)
}

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        body: body.to_string(),
        delay_ms: 0,
        streamed: false,
        content_type: "application/json",
    }
}

/// A real HTTP/1.1 server on a free port, answering by path; counts requests and notes
/// when each arrived.
struct Gateway {
    port: u16,
    hits: Arc<AtomicUsize>,
    arrivals: Arc<std::sync::Mutex<Vec<Instant>>>,
    /// Each request's body, in the order they arrived.
    bodies: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Gateway {
    fn start(route: impl Fn(&str, Option<&str>) -> Answer + Send + Sync + 'static) -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
        let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (counter, noted, sent) = (hits.clone(), arrivals.clone(), bodies.clone());
        let route = Arc::new(route);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (counter, noted, route) = (counter.clone(), noted.clone(), route.clone());
                let sent = sent.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() || line.is_empty() {
                        return;
                    }
                    let mut auth = None;
                    let mut length = 0;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = h.strip_prefix("x-core-key: ") {
                            auth = Some(v.trim().to_string());
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length: ") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    let _ = std::io::Read::read_exact(&mut reader, &mut body);
                    sent.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&body).into_owned());
                    counter.fetch_add(1, Ordering::SeqCst);
                    noted.lock().unwrap().push(Instant::now());
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let a = route(&path, auth.as_deref());
                    std::thread::sleep(Duration::from_millis(a.delay_ms));
                    let (head, body) = if (300..400).contains(&a.status) {
                        (format!("location: {}\r\ncontent-length: 0\r\n", a.body), "")
                    } else if a.streamed {
                        (String::new(), a.body.as_str())
                    } else {
                        (
                            format!("content-length: {}\r\n", a.body.len()),
                            a.body.as_str(),
                        )
                    };
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {} X\r\ncontent-type: {}\r\nconnection: close\r\n{head}\r\n{body}",
                        a.status, a.content_type
                    );
                });
            }
        });
        Gateway {
            port,
            hits,
            arrivals,
            bodies,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn config(port: u16) -> RestCoreConfig {
    RestCoreConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        members_pointer: "/members".into(),
        auth_header: Some("x-core-key".into()),
        auth_value: Some(Secret::new("s3cret")),
        connect_timeout_ms: 200,
        retries: 1,
        breaker_failures: 3,
        breaker_open_seconds: 60,
        fields: RestFields {
            member_id: "/id".into(),
            first_name: "/name/first".into(),
            mobile_phone: "/phones/mobile".into(),
            other_phones: "/phones/other".into(),
            savings_balance: "/balances/savings".into(),
            dob: "/birth_date".into(),
            fraud_flag: "/flags/fraud".into(),
            ..RestFields::default()
        },
        ..RestCoreConfig::default()
    }
}

fn core(cfg: RestCoreConfig, timeout_ms: u64) -> RestCore {
    RestCore::new(cfg, timeout_ms, Region::default()).unwrap()
}

const ANA: &str = r#"{"id": "100234", "name": {"first": "Ana"}, "phones": {"mobile": "(202) 555-0143", "other": ["202-555-0199"]},
  "balances": {"savings": 1234.56}, "birth_date": "1980-05-17T00:00:00Z", "flags": {"fraud": "no"}}"#;

#[tokio::test]
async fn members_are_mapped_through_the_configured_pointers() {
    let gw = Gateway::start(|path, auth| {
        if auth != Some("s3cret") {
            return answer(401, "{}");
        }
        match path {
            "/members?phone=%2B12025550143" | "/accounts/4400-12/members" => {
                ok(&format!("{{\"members\": [{ANA}]}}"))
            }
            "/members/100234" => ok(ANA),
            _ => answer(404, "{}"),
        }
    });
    let core = core(config(gw.port), 2000);
    let found = core.find_by_phone("+12025550143").await.unwrap();
    assert_eq!(
        found,
        vec![PhoneMatch {
            member_id: "100234".into(),
            first_name: Some("Ana".into()),
            verified: true,
            withdrawn: false,
        }]
    );
    let m = core.member("100234").await.unwrap().unwrap();
    assert_eq!(m.mobile_phone.as_deref(), Some("+12025550143"));
    assert_eq!(m.other_phones, vec!["+12025550199".to_string()]);
    assert_eq!(m.savings_balance_cents, Some(123456));
    assert_eq!(m.dob, chrono::NaiveDate::from_ymd_opt(1980, 5, 17));
    assert!(!m.fraud_flag);
    assert_eq!(
        core.find_by_identifier(IdentifierKind::AccountNumber, "4400-12")
            .await
            .unwrap(),
        vec!["100234".to_string()]
    );
    assert_eq!(
        core.find_by_identifier(IdentifierKind::Phone, "202.555.0143")
            .await
            .unwrap(),
        vec!["100234".to_string()]
    );
    assert_eq!(
        core.member("nobody").await.unwrap(),
        None,
        "404 is no member, not an error"
    );
    assert!(core.find_by_phone("+12025550100").await.unwrap().is_empty());
    // identification by ANI: the lookup, then the member it names
    let by_phone = core.member_by_phone("+12025550143").await.unwrap().unwrap();
    assert_eq!(by_phone.member_id, "100234");
    assert_eq!(by_phone.savings_balance_cents, Some(123456));
    assert_eq!(core.member_by_phone("+12025550100").await.unwrap(), None);
}

#[tokio::test]
async fn a_slow_core_is_unavailable_within_the_timeout() {
    let gw = Gateway::start(|_, _| Answer {
        delay_ms: 3000,
        ..answer(200, "[]")
    });
    let mut cfg = config(gw.port);
    cfg.retries = 3;
    let core = core(cfg, 300);
    let started = Instant::now();
    let err = core.find_by_phone("+12025550143").await.unwrap_err();
    assert!(matches!(err, CoreError::Unavailable(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "waited {:?} on a 3 s core",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_unavailable() {
    let gw = Gateway::start(|_, _| answer(500, "{}"));
    let core = core(config(gw.port), 2000);
    let err = core.member("100234").await.unwrap_err();
    assert!(matches!(err, CoreError::Unavailable(_)), "{err}");
    assert_eq!(gw.hits(), 2, "one try and one retry");
    // the retry waits a moment rather than hammering a core that just failed
    let arrivals = gw.arrivals.lock().unwrap().clone();
    let gap = arrivals[1] - arrivals[0];
    assert!(gap >= Duration::from_millis(50), "retried after {gap:?}");
}

#[tokio::test]
async fn garbage_is_a_bad_answer_and_not_retried() {
    let gw = Gateway::start(|_, _| ok("<html>gateway error</html>"));
    let core = core(config(gw.port), 2000);
    let err = core.member("100234").await.unwrap_err();
    assert!(matches!(err, CoreError::BadAnswer(_)), "{err}");
    // where, but not what: the text may be a member's
    assert!(
        err.to_string()
            .ends_with("the answer is not JSON (at line 1, column 1)"),
        "{err}"
    );
    assert_eq!(gw.hits(), 1);
    // a page answered in the core's place (a sign-in page, a proxy's) says what it is; a
    // media type that is no media type is not repeated
    for (content_type, said) in [
        (
            "text/html; charset=utf-8",
            "(it is text/html, at line 1, column 1)",
        ),
        ("TEXT/HTML", "(it is text/html, at line 1, column 1)"),
        ("application/problem+json", "(at line 1, column 1)"),
        ("text/<b>html</b>", "(at line 1, column 1)"),
        ("", "(at line 1, column 1)"),
    ] {
        let gw = Gateway::start(move |_, _| Answer {
            content_type,
            ..ok("<html>sign in</html>")
        });
        let err = self::core(config(gw.port), 2000)
            .member("100234")
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .ends_with(&format!("the answer is not JSON {said}")),
            "{content_type}: {err}"
        );
    }
    let gw = Gateway::start(|_, _| ok(r#"{"members": {"not": "a list"}}"#));
    let core = self::core(config(gw.port), 2000);
    assert!(matches!(
        core.find_by_phone("+12025550143").await,
        Err(CoreError::BadAnswer(_))
    ));
}

/// A byte order mark before the JSON, as some .NET and Java gateways write, is read past.
#[tokio::test]
async fn an_answer_with_a_byte_order_mark_is_read() {
    let gw = Gateway::start(|_, _| ok(&format!("\u{feff}{ANA}")));
    let core = core(config(gw.port), 2000);
    let ana = core.member("100234").await.unwrap().expect("found");
    assert_eq!(ana.member_id, "100234");
}

/// A gateway that refuses callvault's credentials says which keys to check; not retried.
#[tokio::test]
async fn a_refusal_of_the_credentials_names_the_keys_to_check() {
    for status in [401, 403] {
        let gw = Gateway::start(move |_, _| answer(status, "{}"));
        let core = core(config(gw.port), 2000);
        let err = core.member("100234").await.unwrap_err();
        assert!(matches!(err, CoreError::BadAnswer(_)), "{status}: {err}");
        assert!(
            err.to_string()
                .contains("check core.rest.auth_header and auth_value"),
            "{err}"
        );
        assert_eq!(gw.hits(), 1, "{status}: not retried");
    }
}

/// Member ids travel in every STEP (under 2 KiB): one a file could not enroll is refused.
#[tokio::test]
async fn a_member_id_no_file_could_enroll_is_a_bad_answer() {
    let long = "9".repeat(65);
    // (the id as JSON writes it, the id asked for)
    for (json, id) in [
        (long.as_str(), long.as_str()),
        ("100\\u0007234", "100\u{7}234"),
    ] {
        let body = ANA.replace("\"100234\"", &format!("\"{json}\""));
        let gw = Gateway::start(move |_, _| ok(&body));
        let core = core(config(gw.port), 2000);
        let err = core.member(id).await.unwrap_err();
        assert!(
            matches!(&err, CoreError::BadAnswer(m) if m.contains("64 characters")),
            "{id:?}: {err}"
        );
    }
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_says_so() {
    let elsewhere = Gateway::start(|_, _| ok(ANA));
    let to = format!("http://127.0.0.1:{}/members/100234", elsewhere.port);
    for status in [301, 302, 307, 308] {
        let to = to.clone();
        let gw = Gateway::start(move |_, _| answer(status, &to));
        let core = core(config(gw.port), 2000);
        let err = core.member("100234").await.unwrap_err();
        assert!(matches!(err, CoreError::BadAnswer(_)), "{status}: {err}");
        assert!(err.to_string().contains("core.rest.base_url"), "{err}");
        assert_eq!(gw.hits(), 1, "{status}: not retried");
    }
    assert_eq!(elsewhere.hits(), 0, "nothing reached the redirect's target");
}

#[tokio::test]
async fn an_answer_past_the_limit_is_refused_with_or_without_its_length() {
    let big = format!(
        "{{\"members\": [], \"pad\": \"{}\"}}",
        "x".repeat(MAX_ANSWER_BYTES)
    );
    // exactly at the limit: read
    let prefix = format!("{{\"members\": [{ANA}], \"pad\": \"");
    let at_limit = format!(
        "{prefix}{}\"}}",
        "x".repeat(MAX_ANSWER_BYTES - prefix.len() - 2)
    );
    assert_eq!(at_limit.len(), MAX_ANSWER_BYTES);
    for streamed in [false, true] {
        let (b, u) = (big.clone(), at_limit.clone());
        let gw = Gateway::start(move |path, _| Answer {
            streamed,
            ..ok(if path.contains("phone") { &u } else { &b })
        });
        let core = core(config(gw.port), 2000);
        let err = core.member("100234").await.unwrap_err();
        assert!(matches!(err, CoreError::BadAnswer(_)), "{err}");
        assert!(err.to_string().contains("1024 KiB"), "{err}");
        let found = core.find_by_phone("+12025550143").await.unwrap();
        assert_eq!(found.len(), 1, "streamed: {streamed}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let core = core(config(port), 2000);
    let err = core.find_by_phone("+12025550143").await.unwrap_err();
    assert!(matches!(err, CoreError::Unavailable(_)), "{err}");
    // what the connection met, under the key to check; never the URL, which holds the number
    let said = err.to_string();
    assert!(
        said.contains("core.rest.base_url: cannot connect: ") && said.contains("refused"),
        "{said}"
    );
    assert!(
        !said.contains("2025550143") && !said.contains("http"),
        "{said}"
    );
    assert!(core.check().await.is_err());
}

/// Readiness asks the health URL, with the key: any 2xx (JSON or not) is up, anything else
/// is down with its status, and failed probes never open the breaker calls go through.
#[tokio::test]
async fn the_health_url_answers_readiness_and_never_trips_the_breaker() {
    let status = Arc::new(std::sync::atomic::AtomicU16::new(200));
    let now = status.clone();
    let gw = Gateway::start(move |path, auth| match (path, auth) {
        (_, None) => answer(401, "{}"),
        ("/health", _) => Answer {
            body: "ok".into(),
            ..answer(now.load(Ordering::SeqCst), "")
        },
        _ => ok(ANA),
    });
    let core = core(config(gw.port), 2000);
    core.check().await.unwrap();
    status.store(202, Ordering::SeqCst);
    core.check().await.unwrap();
    status.store(503, Ordering::SeqCst);
    for _ in 0..5 {
        let down = core.check().await.unwrap_err().to_string();
        assert_eq!(
            down,
            "the core is unavailable: health answered 503 Service Unavailable"
        );
    }
    assert!(!core.breaker_open());
    assert_eq!(
        core.member("100234").await.unwrap().unwrap().member_id,
        "100234"
    );
}

/// A call its caller gives up on (the dialog's `core.timeout_ms` ran out first and dropped
/// it) counts as a failure. A dropped trial of a half-open breaker used to leave it
/// half-open for good: every later call failed at once, without asking, until a restart.
#[tokio::test]
async fn a_call_given_up_on_counts_as_a_failure_and_never_wedges_the_breaker() {
    let gw = Gateway::start(|_, _| Answer {
        delay_ms: 3000,
        ..answer(200, "[]")
    });
    let mut cfg = config(gw.port);
    cfg.retries = 0;
    cfg.breaker_failures = 2;
    cfg.breaker_open_seconds = 0;
    let core = core(cfg, 300);
    let give_up = || tokio::time::timeout(Duration::from_millis(50), core.member("1"));
    let breaker_refused = |e: &CoreError| e.to_string().contains("circuit breaker");

    // closed: a call given up on is the first of two failures, one that timed out the second
    assert!(give_up().await.is_err(), "the gateway answers after 3 s");
    let err = core.member("1").await.unwrap_err();
    assert!(!breaker_refused(&err), "{err}");
    assert!(matches!(
        core.circuit.lock().unwrap().breaker.state(),
        State::Open { .. }
    ));

    // open for 0 s: the next call is the trial; given up on, it fails and reopens the
    // breaker, so the call after it is a trial again and reaches the gateway
    assert!(give_up().await.is_err());
    assert!(matches!(
        core.circuit.lock().unwrap().breaker.state(),
        State::Open { .. }
    ));
    let err = core.member("1").await.unwrap_err();
    assert!(!breaker_refused(&err), "{err}");
    assert!(
        err.to_string().contains("answer"),
        "asked, and timed out: {err}"
    );
}

#[tokio::test]
async fn the_breaker_opens_and_then_fails_fast_without_calling() {
    let gw = Gateway::start(|_, _| answer(503, "{}"));
    let mut cfg = config(gw.port);
    cfg.retries = 0;
    let core = core(cfg, 2000);
    for _ in 0..3 {
        assert!(core.member("1").await.is_err());
    }
    assert_eq!(gw.hits(), 3);
    let err = core.member("1").await.unwrap_err();
    assert!(err.to_string().contains("circuit breaker"), "{err}");
    assert_eq!(gw.hits(), 3, "an open breaker sends nothing");
}

#[test]
fn values_are_percent_encoded_into_templates() {
    assert_eq!(percent_encode("+1 202/555"), "%2B1%20202%2F555");
    assert_eq!(percent_encode("A-1_b.c~"), "A-1_b.c~");
}

/// The member a core answers as `{"id": " 7 ", "FIELD": VALUE}` (VALUE as JSON text).
fn member_with(field: &str, value: &str) -> Member {
    mapped_with(field, value).0
}

/// [`member_with`], with the fields that could not be read.
fn mapped_with(field: &str, value: &str) -> (Member, Vec<Unread>) {
    mapped_in(field, value, &Zone::utc())
}

/// [`mapped_with`], for a credit union in `zone`.
fn mapped_in(field: &str, value: &str, zone: &Zone) -> (Member, Vec<Unread>) {
    mapped_as(field, value, zone, SlashDates::MonthFirst)
}

/// [`mapped_in`], with dates written with slashes read in `slashes`.
fn mapped_as(field: &str, value: &str, zone: &Zone, slashes: SlashDates) -> (Member, Vec<Unread>) {
    let fields = RestFields {
        member_id: "/id".into(),
        first_name: "/first".into(),
        ssn_last4: "/ssn".into(),
        account_numbers: "/accounts".into(),
        fraud_flag: "/fraud".into(),
        savings_balance: "/savings".into(),
        ..RestFields::default()
    };
    let doc: Value =
        serde_json::from_str(&format!(r#"{{"id": " 7 ", "{field}": {value}}}"#)).unwrap();
    let dates = CoreDates {
        zone: zone.clone(),
        slashes,
    };
    map_member(&doc, &fields, Region::default(), &dates).unwrap()
}

/// The names of the fields `map_member` could not read in `{"FIELD": VALUE}`.
fn unread_of(field: &str, value: &str) -> Vec<&'static str> {
    mapped_with(field, value)
        .1
        .iter()
        .map(|u| u.field)
        .collect()
}

/// Zips and dates in the shapes cores send; a zip sent as a number gets back the leading
/// zeros JSON took from it; a value in no known shape is left out and noted, a blank or
/// null one is just absent.
#[test]
fn zips_and_dates_are_read_in_every_shape_a_core_sends_and_others_are_noted() {
    for (value, kept, noted) in [
        (r#""55401""#, Some("55401"), false),
        (r#"" 55401-1234 ""#, Some("55401"), false),
        (r#""554011234""#, Some("55401"), false),
        (r#""02134""#, Some("02134"), false),
        ("55401", Some("55401"), false),
        ("2134", Some("02134"), false),
        ("21341234", Some("02134"), false),
        ("0", Some("00000"), false),
        (r#""2134""#, None, true),
        (r#""55401-12""#, None, true),
        (r#""5540A""#, None, true),
        ("1234567890", None, true),
        ("-2134", None, true),
        ("55.401", None, true),
        ("true", None, true),
        (r#""""#, None, false),
        ("null", None, false),
    ] {
        let (m, unread) = mapped_with("zip", value);
        assert_eq!(m.zip.as_deref(), kept, "{value}");
        let names: Vec<&str> = unread.iter().map(|u| u.field).collect();
        assert_eq!(names, if noted { vec!["zip"] } else { vec![] }, "{value}");
    }
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
    for (value, kept) in [
        (r#""1984-03-12""#, day(1984, 3, 12)),
        (r#""1984-03-12T00:00:00Z""#, day(1984, 3, 12)),
        (r#""19840312""#, day(1984, 3, 12)),
        ("19840312", day(1984, 3, 12)),
        // a java.util.Date as Jackson writes it: milliseconds since 1970, before it too
        ("447897600000", day(1984, 3, 12)),
        ("447919200000", day(1984, 3, 12)),
        ("-315619200000", day(1960, 1, 1)),
        // seconds, or a number that could be: not read
        ("447897600", None),
        ("0", None),
        ("4999999999", None),
        ("447897600000.5", None),
        (r#""03/12/1984""#, day(1984, 3, 12)),
        (r#""3/2/1984""#, day(1984, 3, 2)),
        // .NET's DateTime.ToString() in en-US, and a year written first
        (r#""3/12/1984 12:00:00 AM""#, day(1984, 3, 12)),
        (r#""3/12/1984 11:59:59 PM""#, day(1984, 3, 12)),
        (r#""1984/03/12""#, day(1984, 3, 12)),
        (r#""3/12/1984 25:00""#, None),
        // Oracle's DD-MON-YYYY; its default two-digit year is not guessed at
        (r#""12-MAR-1984""#, day(1984, 3, 12)),
        (r#""12-MAR-84""#, None),
        (r#""12/03/84""#, None),
        (r#""13/12/1984""#, None),
        (r#""1984-02-30""#, None),
        (r#""March 12, 1984""#, day(1984, 3, 12)),
        (r#""March 1984""#, None),
        (r#""19841312""#, None),
        ("1984", None),
        // .NET's JSON dates (WCF, ASMX): UTC, or the instant of a time held at an offset
        (r#""\/Date(447897600000)\/""#, day(1984, 3, 12)),
        (r#""/Date(447919200000-0600)/""#, day(1984, 3, 12)),
        (r#""/Date(447879600000+0500)/""#, day(1984, 3, 12)),
        (r#""/Date(-2208988800000)/""#, day(1900, 1, 1)),
        (r#""/Date(447897600000-06)/""#, None),
        (r#""/Date(4478976x0000)/""#, None),
        (r#""/Date()/""#, None),
        (r#""Date(447897600000)""#, None),
    ] {
        let (m, unread) = mapped_with("dob", value);
        assert_eq!(m.dob, kept, "{value}");
        let names: Vec<&str> = unread.iter().map(|u| u.field).collect();
        assert_eq!(
            names,
            if kept.is_some() { vec![] } else { vec!["dob"] },
            "{value}"
        );
    }
    for absent in ["null", r#""  ""#] {
        assert_eq!(
            mapped_with("dob", absent),
            (member_with("none", "0"), vec![])
        );
    }
}

/// A last transaction the core dates in UTC is the day it was in the credit union's zone:
/// a card payment at 21:30 in Chicago is the 30th, which `2026-12-01T03:30:00Z` cut to its
/// date was not. A profile change keeps its time, taken to UTC.
#[test]
fn a_last_transaction_dated_in_utc_is_the_credit_union_s_day_and_a_change_keeps_its_time() {
    let chicago = Zone::named("America/Chicago").unwrap();
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
    for (value, zone, kept) in [
        (r#""2026-12-01T03:30:00Z""#, &chicago, day(2026, 11, 30)),
        (
            r#""2026-12-01T03:30:00.000+00:00""#,
            &chicago,
            day(2026, 11, 30),
        ),
        (r#""2026-12-01T03:30:00Z""#, &Zone::utc(), day(2026, 12, 1)),
        (r#""2026-11-30T00:00:00.000Z""#, &chicago, day(2026, 11, 30)),
        (
            r#""2026-11-30T21:30:00-06:00""#,
            &chicago,
            day(2026, 11, 30),
        ),
        (r#""2026-11-30T21:30:00""#, &chicago, day(2026, 11, 30)),
        (r#""20261130""#, &chicago, day(2026, 11, 30)),
        (r#""11/30/2026""#, &chicago, day(2026, 11, 30)),
        (r#""11/30/2026 9:30:00 PM""#, &chicago, day(2026, 11, 30)),
        (r#""2026-11-31T03:30:00Z""#, &chicago, None),
        (r#""/Date(1796095800000)/""#, &chicago, day(2026, 11, 30)),
        ("1796095800000", &chicago, day(2026, 11, 30)),
        ("1796095800000", &Zone::utc(), day(2026, 12, 1)),
        (r#""/Date(1796095800000)/""#, &Zone::utc(), day(2026, 12, 1)),
        (
            r#""/Date(1796095800000-0600)/""#,
            &chicago,
            day(2026, 11, 30),
        ),
        (
            r#""/Date(1796095800000+0100)/""#,
            &chicago,
            day(2026, 12, 1),
        ),
    ] {
        let (m, unread) = mapped_in("last_txn_date", value, zone);
        assert_eq!(m.last_txn_date, kept, "{value}");
        assert_eq!(unread.is_empty(), kept.is_some(), "{value}");
    }
    let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok();
    for (value, kept) in [
        (r#""2026-11-30T22:15:00-06:00""#, at("2026-12-01 04:15:00")),
        (
            r#""2026-11-30T22:15:00.1234567Z""#,
            at("2026-11-30 22:15:00.1234567"),
        ),
        (r#""2026-11-30T22:15:00""#, at("2026-11-30 22:15:00")),
        (r#""2026-11-30""#, at("2026-11-30 00:00:00")),
        (r#""11/30/2026""#, at("2026-11-30 00:00:00")),
        (r#""11/30/2026 10:15:00 PM""#, at("2026-11-30 22:15:00")),
        (r#""20261130""#, at("2026-11-30 00:00:00")),
        (r#""/Date(1796098500000-0600)/""#, at("2026-12-01 04:15:00")),
        (r#""/Date(1796098500000)/""#, at("2026-12-01 04:15:00")),
        ("1796098500000", at("2026-12-01 04:15:00")),
        ("1796098500", None),
        (r#""last week""#, None),
    ] {
        let (m, unread) = mapped_in("profile_changed_at", value, &chicago);
        assert_eq!(m.profile_changed_at, kept, "{value}");
        assert_eq!(unread.is_empty(), kept.is_some(), "{value}");
    }
}

/// Each field read from a value in no known shape is noted by its own name, so the log
/// says which key to check; values read, absent or blank are not.
#[test]
fn every_field_that_cannot_be_read_is_noted_by_name() {
    for (field, value, noted) in [
        ("mobile_phone", r#""not a number""#, vec!["mobile_phone"]),
        ("mobile_phone", r#""+1 612 203 0101""#, vec![]),
        ("phone_type", r#""pager""#, vec!["phone_type"]),
        ("phone_type", r#""cell""#, vec![]),
        (
            "other_phones",
            r#"["+16122030102", "x"]"#,
            vec!["other_phones"],
        ),
        ("other_phones", r#""+16122030102; 612-203-0103""#, vec![]),
        ("ssn", r#""42""#, vec!["ssn_last4"]),
        ("ssn", "42", vec![]),
        (
            "profile_changed_at",
            r#""yesterday""#,
            vec!["profile_changed_at"],
        ),
        ("fraud", r#""flagged""#, vec!["fraud_flag"]),
        ("fraud", r#""N""#, vec![]),
        ("savings", r#""twelve""#, vec!["savings_balance"]),
        ("last_txn_amount", "[]", vec!["last_txn_amount"]),
        ("last_txn_date", r#""12/31""#, vec!["last_txn_date"]),
        ("needs_activation", "2", vec!["needs_activation"]),
        ("needs_activation", "0", vec![]),
        ("has_pin", r#""unknown""#, vec!["has_pin"]),
        ("first", "{}", vec!["first_name"]),
        ("first", r#""  ""#, vec![]),
        ("first", "7", vec![]),
        ("accounts", r#"["4400", {}]"#, vec!["account_numbers"]),
        ("accounts", "4400", vec!["account_numbers"]),
        ("accounts", r#"["4400", 12]"#, vec![]),
        ("other_phones", r#"[{}, "x"]"#, vec!["other_phones"]),
        (
            "email",
            r#""ana@cu.example; bob@cu.example""#,
            vec!["email"],
        ),
        ("email", r#""ana at cu.example""#, vec!["email"]),
        ("email", r#""Ana Lee <ana@cu.example>""#, vec![]),
    ] {
        assert_eq!(unread_of(field, value), noted, "{field}: {value}");
        // each has its own throttle, so it is logged: a name missing there would not be
        for name in noted {
            assert!(READ_FIELDS.contains(&name), "{name} has no throttle");
        }
    }
}

/// A core's e-mail address is kept as one-time codes are sent to it (see
/// `member::email_address`): the address of a display name's or a link's.
#[test]
fn a_core_s_e_mail_address_is_kept_as_codes_are_sent_to_it() {
    for (value, kept) in [
        (r#""Ana Lee <ana@cu.example>""#, Some("ana@cu.example")),
        (r#""MAILTO:ana@cu.example""#, Some("ana@cu.example")),
        (r#"" ana@cu.example ""#, Some("ana@cu.example")),
        (r#""ana@cu""#, None),
        (r#""""#, None),
    ] {
        let (m, _) = mapped_with("email", value);
        assert_eq!(m.email.as_deref(), kept, "{value}");
    }
}

#[test]
fn only_the_last_four_digits_of_a_core_s_ssn_are_kept() {
    for (ssn, kept) in [
        (r#""212-34-6789""#, Some("6789")),
        (r#""212346789""#, Some("6789")),
        (r#"212346789"#, Some("6789")),
        (r#""6789""#, Some("6789")),
        (r#""0042""#, Some("0042")),
        (r#""42""#, None),
        ("42", Some("0042")),
        ("0", Some("0000")),
        (r#""n/a""#, None),
        (r#"null"#, None),
        // a whole number never issued is the core's "unknown": the placeholder 0000
        (r#""123-45-6789""#, Some("0000")),
        (r#"123456789"#, Some("0000")),
        (r#""000-00-0000""#, Some("0000")),
        (r#""666-12-6789""#, Some("0000")),
        (r#""212-00-6789""#, Some("0000")),
        // a JSON number's lost leading zeros are put back before it is judged
        (r#"78051120"#, Some("0000")),
        (r#"346789"#, Some("0000")),
        (r#"12346789"#, Some("6789")),
        (r#"12006789"#, Some("0000")),
        (r#"712346789"#, Some("6789")),
        // an EIN's digits have no area or group; an ITIN is issued
        (r#""66-6126789""#, Some("6789")),
        (r#""912-70-6789""#, Some("6789")),
    ] {
        assert_eq!(member_with("ssn", ssn).ssn_last4.as_deref(), kept, "{ssn}");
    }
}

/// A text field the core sends blank is absent, not an empty value (an empty first name
/// would be greeted as such); one with spaces around it is trimmed; a number is its digits.
#[test]
fn a_blank_text_field_is_absent_and_others_are_trimmed() {
    for (first, kept) in [
        (r#""Ana""#, Some("Ana")),
        (r#"" Ana ""#, Some("Ana")),
        (r#""""#, None),
        (r#""   ""#, None),
        (r#"42"#, Some("42")),
        (r#"true"#, None),
        (r#"null"#, None),
    ] {
        let m = member_with("first", first);
        assert_eq!(
            (m.member_id.as_str(), m.first_name.as_deref()),
            ("7", kept),
            "{first}"
        );
    }
}

/// Cores send lists, flags and amounts in more than one shape; each is read as meant, and a
/// shape not listed here is absent (empty) rather than guessed at; a fraud flag in no known
/// shape is taken as set, the safe side.
#[test]
fn lists_flags_and_amounts_are_read_in_every_shape_a_core_sends() {
    for (value, accounts) in [
        (r#"["4400", 12]"#, vec!["4400", "12"]),
        (r#""4400; 12""#, vec!["4400", "12"]),
        (r#""4400;;12;""#, vec!["4400", "12"]),
        (r#""4400""#, vec!["4400"]),
        (r#""""#, vec![]),
        (r#"4400"#, vec![]),
        (r#"null"#, vec![]),
    ] {
        assert_eq!(
            member_with("accounts", value).account_numbers,
            accounts,
            "{value}"
        );
    }
    // the value; the flag as read; whether it is noted as unreadable
    for (value, flagged, noted) in [
        ("true", true, false),
        ("false", false, false),
        (r#""YES""#, true, false),
        (r#""y""#, true, false),
        (r#""1""#, true, false),
        (r#""True""#, true, false),
        (r#""no""#, false, false),
        (r#""N""#, false, false),
        (r#""""#, false, false),
        ("1", true, false),
        ("0", false, false),
        ("null", false, false),
        // a value the core may mean as set, but that cannot be read: taken as set (the
        // mobile then gives no trust), and noted for the log
        (r#""flagged""#, true, true),
        ("2", true, true),
        ("[]", true, true),
    ] {
        assert_eq!(member_with("fraud", value).fraud_flag, flagged, "{value}");
        assert_eq!(!unread_of("fraud", value).is_empty(), noted, "{value}");
    }
    // whether the core holds a PIN: absent, null, blank or unreadable is not said (the
    // member is then asked, and the core answers at the PIN step), never "holds none"
    for (value, said, noted) in [
        ("true", Some(true), false),
        ("false", Some(false), false),
        (r#""Y""#, Some(true), false),
        (r#""N""#, Some(false), false),
        (r#"" no ""#, Some(false), false),
        ("1", Some(true), false),
        ("0", Some(false), false),
        ("null", None, false),
        (r#""""#, None, false),
        (r#"" ""#, None, false),
        (r#""unknown""#, None, true),
        ("2", None, true),
        ("{}", None, true),
    ] {
        assert_eq!(member_with("has_pin", value).core_has_pin, said, "{value}");
        let unread = unread_of("has_pin", value);
        assert_eq!(unread == ["has_pin"], noted, "{value}: {unread:?}");
        assert!(noted || unread.is_empty(), "{value}: {unread:?}");
    }
    assert_eq!(member_with("other", "1").core_has_pin, None, "absent");
    for (value, cents) in [
        ("1234.56", Some(123456)),
        ("12", Some(1200)),
        (r#""1234.56""#, Some(123456)),
        (r#"" $12.5 ""#, Some(1250)),
        (r#""-3""#, Some(-300)),
        (r#""twelve""#, None),
        ("true", None),
        ("null", None),
    ] {
        assert_eq!(
            member_with("savings", value).savings_balance_cents,
            cents,
            "{value}"
        );
    }
}

#[tokio::test]
async fn an_answer_naming_another_member_is_refused() {
    // A gateway whose member template does not select: every id answers Ana.
    let gw = Gateway::start(|_, _| ok(ANA));
    let core = core(config(gw.port), 2000);
    assert_eq!(
        core.member(" 100234").await.unwrap().unwrap().member_id,
        "100234"
    );
    let err = core.member("100235").await.unwrap_err();
    assert!(matches!(err, CoreError::BadAnswer(_)), "{err}");
    assert!(err.to_string().contains("core.rest.member"), "{err}");
    assert_eq!(
        core.find_by_identifier(IdentifierKind::MemberNumber, "100235")
            .await
            .map_err(|e| e.to_string())
            .unwrap_err(),
        err.to_string()
    );
}

#[tokio::test]
async fn members_who_do_not_hold_the_number_are_left_out() {
    // A gateway that ignores the number's filter and lists everyone: Ana holds the number as
    // her mobile, Ben as another phone, Cy does not hold it, Di is listed without phones.
    let gw = Gateway::start(|_, _| {
        ok(r#"{"members": [
            {"id": "1", "phones": {"mobile": "+12025550143"}},
            {"id": "2", "phones": {"mobile": "+12025550100", "other": ["(202) 555-0143"]}},
            {"id": "3", "phones": {"mobile": "+12025550101", "other": ["+12025550102"]}},
            {"id": "4", "name": {"first": "Di"}}
        ]}"#)
    });
    let core = core(config(gw.port), 2000);
    let found = core.find_by_phone("+12025550143").await.unwrap();
    let kept: Vec<(&str, bool)> = found
        .iter()
        .map(|m| (m.member_id.as_str(), m.verified))
        .collect();
    assert_eq!(kept, vec![("1", true), ("2", false), ("4", false)]);
    let found = core.find_by_phone("+12025550109").await.unwrap();
    assert_eq!(found.len(), 1, "only the member listed without phones");
    assert_eq!(found[0].member_id, "4");
}

/// Members left out so are logged as a warning with how many, since the mapping or the
/// gateway's filter needs a look; an answer whose members all hold the number is not.
#[test]
fn members_left_out_are_logged_and_an_answer_without_any_is_not() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let warned = "named members who do not hold it";
    let two = Gateway::start(|_, _| {
        ok(r#"{"members": [
            {"id": "1", "phones": {"mobile": "+12025550143"}},
            {"id": "3", "phones": {"mobile": "+12025550101"}}
        ]}"#)
    });
    let listing_two = core(config(two.port), 2000);
    for (number, kept, counts) in [
        ("+12025550143", 1, "answered=2 kept=1"),
        ("+12025550101", 1, "answered=2 kept=1"),
        ("+12025550109", 0, "answered=2 kept=0"),
    ] {
        let log = crate::shared_tests::logged(|| {
            let found = rt.block_on(listing_two.find_by_phone(number)).unwrap();
            assert_eq!(found.len(), kept, "{number}");
        });
        assert!(
            log.contains(warned) && log.contains(counts),
            "{number}: {log}"
        );
    }
    let one = Gateway::start(|_, _| {
        ok(r#"{"members": [{"id": "1", "phones": {"mobile": "+12025550143"}}]}"#)
    });
    let listing_one = core(config(one.port), 2000);
    let log = crate::shared_tests::logged(|| {
        let found = rt
            .block_on(listing_one.find_by_phone("+12025550143"))
            .unwrap();
        assert_eq!(found.len(), 1);
    });
    assert!(!log.contains(warned), "{log}");
}

#[test]
fn a_member_id_is_the_same_with_or_without_leading_zeros() {
    for (answered, asked, same) in [
        ("100234", "100234", true),
        ("100234", " 100234 ", true),
        ("000123", "123", true),
        ("123", "0123", true),
        ("0", "000", true),
        ("100234", "100235", false),
        ("A-0123", "A-123", false),
        ("", "0", false),
    ] {
        assert_eq!(
            same_member_id(answered, asked),
            same,
            "{answered:?} {asked:?}"
        );
    }
}

/// A REST core's member is looked up whatever the pre-enrollment rules say, but a mobile
/// they would not trust is withdrawn: a landline (by type or by number), a fraud flag, or a
/// profile changed within `enroll.recent_change_days` (or dated in the future).
#[test]
fn a_mobile_the_pre_enrollment_rules_would_not_trust_is_withdrawn() {
    let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    let days_ago = |d: i64| Some(now - chrono::Duration::days(d));
    let us = Region::default();
    let mobile = |m: Member| Member {
        mobile_phone: Some("+12025550143".into()),
        ..m
    };
    let cases: &[(&str, Member, u32, bool)] = &[
        ("a mobile, changed long ago", Member::default(), 30, false),
        (
            "typed landline",
            Member {
                phone_type: PhoneType::Landline,
                ..Member::default()
            },
            30,
            true,
        ),
        (
            "fraud flag",
            Member {
                fraud_flag: true,
                ..Member::default()
            },
            30,
            true,
        ),
        (
            "changed 10 days ago",
            Member {
                profile_changed_at: days_ago(10),
                ..Member::default()
            },
            30,
            true,
        ),
        (
            "changed exactly 30 days ago: the window is past, as enrollment counts it",
            Member {
                profile_changed_at: days_ago(30),
                ..Member::default()
            },
            30,
            false,
        ),
        (
            "changed 40 days ago",
            Member {
                profile_changed_at: days_ago(40),
                ..Member::default()
            },
            30,
            false,
        ),
        (
            "changed 10 days ago, a 7-day window",
            Member {
                profile_changed_at: days_ago(10),
                ..Member::default()
            },
            7,
            false,
        ),
        (
            "changed in the future",
            Member {
                profile_changed_at: days_ago(-3),
                ..Member::default()
            },
            30,
            true,
        ),
    ];
    for (what, m, days, withdrawn) in cases {
        let m = mobile(m.clone());
        assert_eq!(
            caller_id_withdrawn(&m, now, *days, us),
            *withdrawn,
            "{what}"
        );
    }
    // a London fixed line, whatever its type says
    let london = Member {
        mobile_phone: Some("+442079460000".into()),
        ..Member::default()
    };
    assert!(caller_id_withdrawn(&london, now, 30, us));
}

#[tokio::test]
async fn a_flagged_members_mobile_is_withdrawn_and_gives_no_known_number_trust() {
    let flagged = r#"{"id": "100234", "name": {"first": "Ana"}, "phones": {"mobile": "(202) 555-0143"}, "flags": {"fraud": "yes"}}"#;
    let gw = Gateway::start(move |path, _| match path {
        "/members?phone=%2B12025550143" => ok(&format!("{{\"members\": [{flagged}]}}")),
        "/members/100234" => ok(flagged),
        _ => answer(404, "{}"),
    });
    let core = core(config(gw.port), 2000);
    let m = core.member("100234").await.unwrap().unwrap();
    assert_eq!(m.withdrawn_phones, ["+12025550143"]);
    assert_eq!(
        crate::dialog::trust_for(Some("+12025550143"), &m),
        crate::dialog::Trust::UnknownNumber
    );
    // still found by the number (the caller then proves more), not as their verified one
    let by_phone = core.member_by_phone("+12025550143").await.unwrap().unwrap();
    assert_eq!(by_phone.withdrawn_phones, ["+12025550143"]);
    let found = core.find_by_phone("+12025550143").await.unwrap();
    assert_eq!(
        (found.len(), found[0].verified, found[0].withdrawn),
        (1, false, true),
        "member find says unknown_number, as a call gets, and why"
    );
}

/// A value the core sends that cannot be read is logged by its key and pointer, at most
/// once in 10 minutes for each field, and never with the value (a member's data).
#[test]
fn an_unreadable_value_is_logged_by_key_never_by_value_and_thinned() {
    let mut cfg = config(9);
    cfg.fields.zip = "/address/postal".into();
    let core = core(cfg, 2000);
    let doc: Value = serde_json::from_str(
        r#"{"id": "7", "address": {"postal": "2134"}, "birth_date": "12th of March 1984"}"#,
    )
    .unwrap();
    let log = crate::shared_tests::logged(|| {
        for _ in 0..3 {
            let m = core.member_from(&doc).unwrap();
            assert_eq!((m.zip, m.dob), (None, None));
        }
    });
    let zip = "core.rest.fields.zip (/address/postal): the core answered a value that is not \
               5 digits or ZIP+4; it is left out";
    assert_eq!(log.matches(zip).count(), 1, "{log}");
    assert_eq!(
        log.matches("core.rest.fields.dob (/birth_date)").count(),
        1,
        "{log}"
    );
    assert!(log.contains("WARN"), "{log}");
    assert!(!log.contains("2134") && !log.contains("March"), "{log}");
}

/// A core that checks PINs (`[core.rest.pin]`): a POST of the body template, once (a core
/// may count wrong PINs, so a failure is not retried), read by the `correct` pointer; a 404
/// is no PIN held, a `wrong_status` a wrong PIN; anything else is no verdict.
#[tokio::test]
async fn a_core_checks_a_pin_by_its_answer_and_once() {
    let gw = Gateway::start(|path, _| match path {
        "/m/1001/pin" => ok(r#"{"result": {"valid": true}}"#),
        "/m/1002/pin" => ok(r#"{"result": {"valid": false}}"#),
        "/m/1003/pin" => answer(404, ""),
        "/m/1004/pin" => answer(401, ""),
        "/m/1005/pin" => ok(r#"{"result": {"ok": 1}}"#),
        "/m/1006/pin" => ok(r#"{"result": {"valid": "TRUE"}}"#),
        "/m/1007/pin" => answer(500, ""),
        "/m/1008/pin" => ok(r#"{"result": {"valid": "false"}}"#),
        "/m/1009/pin" => ok(r#"{"result": {"valid": "yes"}}"#),
        "/m/a%22b/pin" => ok(r#"{"result": {"valid": false}}"#),
        _ => answer(418, ""),
    });
    let pin = crate::config::RestPinConfig {
        url: "/m/{member_id}/pin".into(),
        body: "{{\"member\": \"{member_id}\", \"pin\": \"{pin}\"}}".into(),
        correct: "/result/valid".into(),
        ..Default::default()
    };
    let with = |pin: Option<crate::config::RestPinConfig>| {
        let config = RestCoreConfig {
            pin,
            breaker_failures: 100,
            ..config(gw.port)
        };
        RestCore::new(config, 1000, Region::default()).unwrap()
    };
    let core = with(Some(pin.clone()));
    assert!(core.checks_pins());
    // (member, what the core said)
    let cases: &[(&str, Result<CorePin, &str>)] = &[
        ("1001", Ok(CorePin::Correct)),
        ("1002", Ok(CorePin::Wrong)),
        ("1003", Ok(CorePin::NotHeld)),
        ("1004", Err("check core.rest.auth_header")),
        ("1005", Err("no true or false at /result/valid")),
        ("1006", Ok(CorePin::Correct)),
        ("1007", Err("the core answered 500")),
        ("1008", Ok(CorePin::Wrong)),
        ("1009", Err("no true or false at /result/valid")),
        ("a\"b", Ok(CorePin::Wrong)),
    ];
    for (member, want) in cases {
        let before = gw.hits();
        let got = core.check_pin(member, "4827").await;
        match (want, &got) {
            (Ok(w), Ok(g)) => assert_eq!(w, g, "{member}"),
            (Err(w), Err(e)) => assert!(e.to_string().contains(w), "{member}: {e}"),
            _ => panic!("{member}: {got:?}"),
        }
        assert_eq!(gw.hits(), before + 1, "{member}: asked once, never again");
        let body = gw.bodies.lock().unwrap().last().cloned().unwrap();
        let sent: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(sent, serde_json::json!({"member": member, "pin": "4827"}));
    }
    // a gateway that answers a wrong PIN with its own status, named in wrong_status
    let core = with(Some(crate::config::RestPinConfig {
        wrong_status: vec![401],
        ..pin
    }));
    assert_eq!(
        core.check_pin("1004", "4827").await.unwrap(),
        CorePin::Wrong
    );
    // a core that checks no PINs holds none, and is not asked
    let core = with(None);
    let before = gw.hits();
    assert!(!core.checks_pins());
    assert_eq!(
        core.check_pin("1001", "4827").await.unwrap(),
        CorePin::NotHeld
    );
    assert_eq!(gw.hits(), before);
}

/// `member show`'s report of a member's fields: each key of `core.rest.fields` as read,
/// absent (missing, null or blank), unreadable (with what it should be) or not mapped,
/// never a value.
#[test]
fn each_mapped_field_is_reported_as_read_absent_unreadable_or_not_mapped() {
    let fields = RestFields {
        member_id: "/id".into(),
        first_name: "/name/first".into(),
        last_name: "/name/last".into(),
        email: String::new(),
        dob: "/birthDate".into(),
        zip: "/zip".into(),
        last_txn_date: "/lastTxn".into(),
        fraud_flag: "/fraud".into(),
        account_numbers: "/accounts".into(),
        ..RestFields::default()
    };
    let doc: Value = serde_json::from_str(
        r#"{"id": "7", "name": {"first": "Ada", "last": ""}, "birthDate": "1984-03-12",
            "zip": null, "lastTxn": "last week", "fraud": "N", "accounts": [],
            "dob": "1900-01-01", "place_of_birth": 12}"#,
    )
    .unwrap();
    let dates = CoreDates {
        zone: Zone::utc(),
        slashes: SlashDates::MonthFirst,
    };
    let (member, unread) = map_member(&doc, &fields, Region::default(), &dates).unwrap();
    let report = fields_read(&doc, &fields, &unread);
    let of = |field: &str| {
        let f = report.iter().find(|f| f.field == field).unwrap();
        (f.pointer.as_str(), f.read, f.expected.clone())
    };
    assert_eq!(report.len(), fields.all().len());
    for (field, pointer, read) in [
        ("member_id", "/id", Read::Read),
        ("first_name", "/name/first", Read::Read),
        ("last_name", "/name/last", Read::Absent),
        ("email", "", Read::NotMapped),
        ("dob", "/birthDate", Read::Read),
        ("zip", "/zip", Read::Absent),
        ("fraud_flag", "/fraud", Read::Read),
        ("account_numbers", "/accounts", Read::Read),
        ("mobile_phone", "/mobile_phone", Read::Absent),
        ("place_of_birth", "/place_of_birth", Read::Read),
    ] {
        assert_eq!(of(field), (pointer, read, None), "{field}");
    }
    let (pointer, read, expected) = of("last_txn_date");
    assert_eq!((pointer, read), ("/lastTxn", Read::Unreadable));
    assert!(expected.unwrap().starts_with("a date"));
    assert_eq!(member.last_txn_date, None);
    // nothing in the report is a member's value
    let shown = serde_json::to_string(&report).unwrap();
    for value in ["Ada", "1984", "last week"] {
        assert!(!shown.contains(value), "{value} in {shown}");
    }
}

/// What a core said with a refusal is logged (masked: [`crate::outbound::said_text`]), for
/// IT to see why without reading the gateway's own log; never for a PIN check, whose
/// answer might echo the PIN.
#[test]
fn what_a_core_said_with_a_refusal_is_logged_but_not_for_a_pin_check() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let gw = Gateway::start(|path, _| match path {
        p if p.starts_with("/members?phone=") => answer(
            400,
            r#"{"error": "E_PARAM", "detail": "phone +12025550143 must be 10 digits"}"#,
        ),
        "/members/1001" => answer(
            403,
            "<html><body>Forbidden by policy 17 for key s3cret</body></html>",
        ),
        "/members/1002" => answer(503, "down for maintenance"),
        "/members/1003" => answer(500, ""),
        "/m/1001/pin" => answer(400, r#"{"error": "bad pin 4827 for 1001"}"#),
        _ => answer(418, ""),
    });
    let core = RestCore::new(
        RestCoreConfig {
            pin: Some(crate::config::RestPinConfig {
                url: "/m/{member_id}/pin".into(),
                body: "{{\"pin\": \"{pin}\"}}".into(),
                correct: "/valid".into(),
                ..Default::default()
            }),
            retries: 0,
            breaker_failures: 100,
            ..config(gw.port)
        },
        1000,
        Region::default(),
    )
    .unwrap();
    let refused = "the core refused a request";
    let log = crate::shared_tests::logged(|| {
        assert!(rt.block_on(core.find_by_phone("+12025550143")).is_err());
    });
    assert!(
        log.contains(refused)
            && log.contains("status=400")
            && log.contains(
                r#"said={"error": "E_PARAM", "detail": "phone +[digits] must be 10 digits"}"#
            ),
        "{log}"
    );
    for (member, status, said) in [
        (
            "1001",
            "status=403",
            "said=<html><body>Forbidden by policy 17 for key [key]</body></html>",
        ),
        ("1002", "status=503", "said=down for maintenance"),
    ] {
        let log = crate::shared_tests::logged(|| {
            assert!(rt.block_on(core.member(member)).is_err(), "{member}");
        });
        assert!(
            log.contains(refused) && log.contains(status) && log.contains(said),
            "{member}: {log}"
        );
    }
    // an empty answer says nothing; a PIN check's answer is never logged
    for ask in [
        Box::pin(async { core.member("1003").await.map(|_| ()) })
            as std::pin::Pin<Box<dyn Future<Output = Result<(), CoreError>>>>,
        Box::pin(async { core.check_pin("1001", "4827").await.map(|_| ()) }),
    ] {
        let log = crate::shared_tests::logged(|| assert!(rt.block_on(ask).is_err()));
        assert!(!log.contains(refused) && !log.contains("4827"), "{log}");
    }
}

/// A core's dates with slashes are month first unless `enroll.slash_dates` says day first,
/// for birth dates, transactions and profile changes alike.
#[test]
fn a_cores_slash_dates_are_read_in_the_order_the_configuration_names() {
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
    let utc = Zone::utc();
    for (field, order, value, want) in [
        (
            "dob",
            SlashDates::MonthFirst,
            r#""03/12/1984""#,
            day(1984, 3, 12),
        ),
        (
            "dob",
            SlashDates::DayFirst,
            r#""03/12/1984""#,
            day(1984, 12, 3),
        ),
        (
            "dob",
            SlashDates::DayFirst,
            r#""25/12/1984""#,
            day(1984, 12, 25),
        ),
        ("dob", SlashDates::MonthFirst, r#""25/12/1984""#, None),
        (
            "dob",
            SlashDates::DayFirst,
            r#""1984-03-12""#,
            day(1984, 3, 12),
        ),
        (
            "last_txn_date",
            SlashDates::DayFirst,
            r#""1/12/2026""#,
            day(2026, 12, 1),
        ),
    ] {
        let (m, _) = mapped_as(field, value, &utc, order);
        let got = match field {
            "dob" => m.dob,
            _ => m.last_txn_date,
        };
        assert_eq!(got, want, "{field} {value} {order:?}");
    }
    let (m, _) = mapped_as(
        "profile_changed_at",
        r#""1/12/2026 2:15:00 PM""#,
        &utc,
        SlashDates::DayFirst,
    );
    assert_eq!(
        m.profile_changed_at,
        day(2026, 12, 1).and_then(|d| d.and_hms_opt(14, 15, 0))
    );
}
