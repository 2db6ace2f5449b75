//! One-time codes and push approvals (seed 001) with real parts: a real SMTP conversation
//! with aiosmtpd (STARTTLS, AUTH), and real HTTP servers standing in for the SMS gateway and
//! the app back end. Expiry on an injected clock is in `src/challenge/tests.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::calls::Calls;
use crate::harness::{free_port, holds_secret};

const MEMBERS: &str = "member_id,first_name,last_name,mobile_phone,phone_type,other_phones,email,dob,zip,ssn_last4\n\
2001,Jane,Doe,+16122040101,mobile,,jane.doe@cu.example,1984-03-12,55401,6789\n\
2002,John,Roe,+16122040102,mobile,,,1970-12-09,55402,4321\n";
const JANE_MOBILE: &str = "+16122040101";
const JOHN_MOBILE: &str = "+16122040102";

/// aiosmtpd on a free port (tests/support/smtp_sink.py), with its `flags` (`--refuse-rcpt`);
/// killed on drop.
struct SmtpSink {
    port: u16,
    out: PathBuf,
    child: Child,
}

impl SmtpSink {
    fn start(
        dir: &Path,
        tls: Option<(&Path, &Path)>,
        auth: Option<(&str, &str)>,
        flags: &[&str],
    ) -> SmtpSink {
        let port = free_port();
        let out = dir.join("smtp.jsonl");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .args(["--port", &port.to_string(), "--out"])
            .arg(&out);
        if let Some((cert, key)) = tls {
            cmd.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        if let Some((user, password)) = auth {
            cmd.args(["--user", user, "--password", password]);
        }
        cmd.args(flags);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs tests/support/smtp_sink.py (aiosmtpd: see .ci/run)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP sink did not start (is aiosmtpd installed? `python3 -m pip install aiosmtpd`)"
        );
        SmtpSink { port, out, child }
    }

    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request a [`HttpSink`] received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A real HTTP/1.1 server on a free port: records each request and answers with the status
/// and body its path is set to (200 and `{}` by default; `{request}` in a body is replaced
/// by the request's, as a gateway echoes a message it refuses). A 3xx answer points at
/// `/moved`. It keeps each
/// connection open for the next request, as gateways do, and counts the connections that
/// brought one.
struct HttpSink {
    port: u16,
    scheme: &'static str,
    shared: Shared,
}

/// What each connection of a [`HttpSink`] shares.
#[derive(Clone)]
struct Shared {
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<Vec<(String, u16, String)>>>,
    connections: Arc<AtomicUsize>,
}

impl HttpSink {
    fn start() -> HttpSink {
        HttpSink::listen("http", |tcp| Some(Box::new(tcp)))
    }

    /// Over TLS, with a certificate for 127.0.0.1 of its own, asking every client for a
    /// certificate issued by `client_ca` (DER) when given one. The sink, and its certificate's
    /// PEM for the client to trust.
    fn start_tls(
        client_ca: Option<rustls_pki_types::CertificateDer<'static>>,
    ) -> (HttpSink, String) {
        let (config, pem) = crate::harness::tls_server(client_ca);
        let sink = HttpSink::listen("https", move |tcp| {
            let conn = rustls::ServerConnection::new(config.clone()).ok()?;
            Some(Box::new(rustls::StreamOwned::new(conn, tcp)))
        });
        (sink, pem)
    }

    /// Accept connections, each served on a thread of its own through `wrap` (none: dropped).
    fn listen(
        scheme: &'static str,
        wrap: impl Fn(std::net::TcpStream) -> Option<Box<dyn ReadWrite>> + Send + 'static,
    ) -> HttpSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Shared {
            got: Arc::default(),
            status: Arc::default(),
            connections: Arc::default(),
        };
        let sink = HttpSink {
            port,
            scheme,
            shared: shared.clone(),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Some(stream) = stream.ok().and_then(&wrap) else {
                    continue;
                };
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        sink
    }

    /// The connections that brought at least one request.
    fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
    fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}{path}", self.scheme, self.port)
    }

    fn answer(&self, path: &str, code: u16) {
        self.answer_with(path, code, "{}");
    }

    fn answer_with(&self, path: &str, code: u16, body: &str) {
        (self.shared.status)
            .lock()
            .unwrap()
            .insert(0, (path.to_string(), code, body.to_string()));
    }

    fn received(&self, path: &str) -> Vec<Received> {
        (self.shared.got)
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with(path))
            .cloned()
            .collect()
    }
}

trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}

/// Answer the requests of one connection of a [`HttpSink`] until its client closes it (or a
/// TLS handshake fails).
fn serve(stream: Box<dyn ReadWrite>, shared: &Shared) {
    let mut reader = BufReader::new(stream);
    let mut counted = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_or(true, |n| n == 0) {
            return;
        }
        if !counted {
            counted = true;
            shared.connections.fetch_add(1, Ordering::SeqCst);
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.trim().split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (code, answer) = (shared.status.lock().unwrap().iter())
            .find(|(p, _, _)| path.starts_with(p.as_str()))
            .map_or((200, "{}".to_string()), |(_, c, b)| (*c, b.clone()));
        let body = String::from_utf8(body).unwrap();
        let answer = answer.replace("{request}", &body);
        shared.got.lock().unwrap().push(Received {
            path,
            headers,
            body,
        });
        let location = if (300..400).contains(&code) {
            "location: /moved\r\n"
        } else {
            ""
        };
        let stream = reader.get_mut();
        let written = write!(
            stream,
            "HTTP/1.1 {code} X\r\n{location}content-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if written.and_then(|()| stream.flush()).is_err() {
            return;
        }
    }
}

/// The six-digit code in a message.
fn code_in(text: &str) -> String {
    let digits: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| w.len() == 6)
        .collect();
    assert_eq!(digits.len(), 1, "one 6-digit code in {text:?}");
    digits[0].to_string()
}

fn other_code(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// Config for an SMS gateway and a push webhook on `sink`.
fn http_channels(sink: &HttpSink) -> String {
    format!(
        "[notify.sms]\ntype = \"http\"\nurl = \"{}\"\nauth_header = \"X-Gateway-Key\"\nauth_value = \"gw-secret\"\n\
         [notify.push]\ntype = \"webhook\"\nurl = \"{}\"\n",
        sink.url("/sms/send"),
        sink.url("/push")
    )
}

/// `callvault_notify_sends_total` by (channel, result), as `/metrics` has it now.
fn assert_sends(t: &Calls, want: &[(&str, &str, f64)]) {
    for (channel, result, n) in want {
        let labels = [("channel", *channel), ("result", *result)];
        let counted = t.i.metric("callvault_notify_sends_total", &labels);
        assert_eq!(counted, *n, "{channel} {result}");
    }
}

#[test]
fn an_email_code_goes_through_a_real_smtp_conversation_and_approves_once() {
    let certs = tempfile::tempdir().unwrap();
    let pair = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert, key) = (certs.path().join("smtp.crt"), certs.path().join("smtp.key"));
    std::fs::write(&cert, pair.cert.pem()).unwrap();
    std::fs::write(&key, pair.key_pair.serialize_pem()).unwrap();
    let smtp = SmtpSink::start(
        certs.path(),
        Some((&cert, &key)),
        Some(("relay", "s3cret")),
        &[],
    );
    let config = format!(
        "[notify.email]\ntype = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"starttls\"\n\
         username = \"relay\"\npassword = \"s3cret\"\nca_file = \"{}\"\nfrom = \"Credit Union <verify@cu.example>\"\n",
        smtp.port,
        cert.display()
    );
    let t = Calls::with_members(&config, MEMBERS);
    t.start("mail-1", JANE_MOBILE);

    let (s, sent) = t.post(
        &t.agent,
        "/v1/calls/mail-1/challenges",
        json!({"channel": "email"}),
    );
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["channel"], "email");
    assert_eq!(sent["sent_to"], "j***@cu.example");
    assert_eq!(sent["expires_in"], 60);
    let id = sent["challenge_id"].as_str().unwrap().to_string();

    let mail = smtp.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["rcpt_tos"], json!(["jane.doe@cu.example"]));
    assert_eq!(mail[0]["mail_from"], "verify@cu.example");
    assert_eq!(
        (mail[0]["tls"].as_bool(), mail[0]["auth"].as_bool()),
        (Some(true), Some(true)),
        "STARTTLS and AUTH were used"
    );
    let data = mail[0]["data"].as_str().unwrap();
    assert!(data.contains("Subject: Your verification code"), "{data}");
    // a Message-ID under the sender's domain, as mail filters expect
    let message_id = (data.lines())
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap_or_else(|| panic!("no Message-ID in {data}"));
    assert!(
        message_id.starts_with('<')
            && message_id.ends_with("@cu.example>")
            && message_id.len() > 40,
        "{message_id}"
    );
    assert!(
        !message_id.contains(&id[3..]),
        "{message_id} holds the challenge id"
    );
    let code = code_in(data.split("\r\n\r\n").nth(1).unwrap_or(data));

    let (_, view) = t.get(&t.agent, &format!("/v1/challenges/{id}"));
    assert_eq!(
        (view["state"].as_str(), view["attempts_left"].as_u64()),
        (Some("waiting"), Some(3)),
        "{view}"
    );
    assert!(view["expires_in"].as_u64().unwrap() <= 60);

    let check = |code: &str| {
        t.post(
            &t.agent,
            &format!("/v1/challenges/{id}/check"),
            json!({ "code": code }),
        )
    };
    let (s, wrong) = check(&other_code(&code));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (wrong["result"].as_str(), wrong["attempts_left"].as_u64()),
        (Some("wrong_code"), Some(2))
    );
    // what cannot be a code is refused, and costs no attempt
    let (s, typo) = check(&format!("{}x", &code[..5]));
    assert_eq!(
        (s, typo["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_code"))
    );
    let (_, view) = t.get(&t.agent, &format!("/v1/challenges/{id}"));
    assert_eq!(view["attempts_left"], 2, "{view}");
    // read out in two groups, keyed as heard
    let (_, right) = check(&format!("{} {}", &code[..3], &code[3..]));
    assert_eq!(right["result"], "approved", "{right}");
    // a used code does not work twice
    let (s, replay) = check(&code);
    assert_eq!(
        (s, replay["code"].as_str()),
        (StatusCode::CONFLICT, Some("challenge_decided"))
    );

    // the verdict marks the call and the member
    let (_, call) = t.get(&t.agent, "/v1/calls/mail-1");
    assert_eq!(call["verified"], true, "{call}");
    assert!(
        call["methods_passed"]
            .as_array()
            .unwrap()
            .contains(&json!("challenge:email"))
    );
    assert_eq!(
        call["member"]["last_verification"]["how"],
        "challenge:email"
    );

    let audit = t.i.audit_events();
    for kind in ["challenge_sent", "challenge_checked", "challenge_decided"] {
        assert!(audit.contains(kind), "{kind} missing from the audit log");
    }
    assert!(!holds_secret(&audit, &code), "the code is in the audit log");
    // nor in the service's log at debug level, the SMTP conversation's included
    t.i.assert_never_written(&[&code]);
}

#[test]
fn a_relay_that_refuses_the_member_s_address_is_a_send_failure_that_shows_it_masked() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpSink::start(dir.path(), None, None, &["--refuse-rcpt"]);
    let config = format!(
        "[notify.email]\ntype = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\n\
         security = \"none\"\nfrom = \"verify@cu.example\"\n",
        smtp.port
    );
    let t = Calls::with_members(&config, MEMBERS);
    t.start("refused-1", JANE_MOBILE);
    let (s, e) = t.post(
        &t.agent,
        "/v1/calls/refused-1/challenges",
        json!({"channel": "email"}),
    );
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("send_failed")),
        "{e}"
    );
    // the relay's reply, for IT to act on, with the member's address as agents see it
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("(550)")
            && message.contains("5.1.1 <j***@cu.example>: Recipient address rejected"),
        "{e}"
    );
    assert!(smtp.messages().is_empty(), "nothing was accepted");
    assert!(
        t.i.audit_events()
            .contains(r#""detail":"email: send_failed""#)
    );
    let logged = t.i.service_log_with("a challenge could not be sent");
    assert!(logged.contains("<j***@cu.example>: Recipient"), "{logged}");
    t.i.assert_never_written(&["jane.doe@cu.example"]);
}

#[test]
fn sms_and_push_through_http_channels_with_fallback_denial_and_limits() {
    let sink = HttpSink::start();
    // an e-mail channel no message reaches: John has no address, so none is sent
    let config = format!(
        "{}[otp]\nmax_sends_per_hour = 3\nmax_checks = 3\n\
         [notify.email]\nhost = \"127.0.0.1\"\nport = 1\nfrom = \"verify@cu.example\"\n",
        http_channels(&sink)
    );
    let t = Calls::with_members(&config, MEMBERS);
    t.start("sms-1", JANE_MOBILE);
    let send = |body: Value| t.post(&t.agent, "/v1/calls/sms-1/challenges", body);

    // SMS: the gateway gets the number, the text with the code, and its key
    let (s, sent) = send(json!({"channel": "sms"}));
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["sent_to"], "+1******0101");
    let sms = sink.received("/sms/send");
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].header("x-gateway-key"), Some("gw-secret"));
    let body: Value = serde_json::from_str(&sms[0].body).unwrap();
    assert_eq!(body["to"], JANE_MOBILE);
    let code = code_in(body["text"].as_str().unwrap());
    // three wrong codes deny the challenge, and the member is not verified
    let id = sent["challenge_id"].as_str().unwrap();
    let mut results = Vec::new();
    for _ in 0..3 {
        let (_, r) = t.post(
            &t.agent,
            &format!("/v1/challenges/{id}/check"),
            json!({"code": other_code(&code)}),
        );
        results.push(r["result"].as_str().unwrap().to_string());
    }
    assert_eq!(results, ["wrong_code", "wrong_code", "denied"]);
    let (_, call) = t.get(&t.agent, "/v1/calls/sms-1");
    assert_eq!(call["verified"], false, "{call}");
    assert_eq!(call["member"]["last_verification"]["verified"], false);

    // push the back end cannot deliver (404: no app) falls back to a text with a code
    sink.answer("/push", 404);
    let (s, sent) = send(json!({"channel": "push"}));
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    assert_eq!(
        (sent["channel"].as_str(), sent["fallback_from"].as_str()),
        (Some("sms"), Some("push"))
    );
    assert_eq!(sent["with_code"], true);
    let texts = sink.received("/sms/send");
    assert_eq!(texts.len(), 2);
    let body: Value = serde_json::from_str(&texts[1].body).unwrap();
    let code = code_in(body["text"].as_str().unwrap());
    let id = sent["challenge_id"].as_str().unwrap();
    let (_, r) = t.post(
        &t.agent,
        &format!("/v1/challenges/{id}/check"),
        json!({ "code": code }),
    );
    assert_eq!(r["result"], "approved");

    // push the app answers: approve marks the call verified
    sink.answer("/push", 200);
    let (s, sent) = send(json!({"channel": "push", "with_code": false}));
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    assert_eq!(
        (sent["channel"].as_str(), sent["sent_to"].as_str()),
        (Some("push"), Some("app"))
    );
    let hook: Value = serde_json::from_str(&sink.received("/push").last().unwrap().body).unwrap();
    let id = sent["challenge_id"].as_str().unwrap();
    assert_eq!(hook["challenge_id"], id);
    assert_eq!(hook["member_id"], "2001");
    assert_eq!(
        (hook["with_code"].as_bool(), hook["code"].is_null()),
        (Some(false), true)
    );
    let push_response = format!("/v1/challenges/{id}/push-response");
    assert_eq!(hook["respond_to"], push_response.as_str());
    // an agent who reloads the desktop finds the push waiting on the call's screen pop,
    // after the two challenges decided before it
    let (_, call) = t.get(&t.agent, "/v1/calls/sms-1");
    let listed: Vec<(&str, &str, &str)> = (call["challenges"].as_array().unwrap().iter())
        .map(|c| {
            assert_eq!(c["by_ivr"], false, "{c}");
            (
                c["challenge_id"].as_str().unwrap(),
                c["channel"].as_str().unwrap(),
                c["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed.len(), 3, "{call}");
    assert_eq!(
        (listed[1].1, listed[1].2, listed[2]),
        ("sms", "approved", (id, "push", "waiting"))
    );
    assert_eq!(listed[0].2, "denied");
    // the app is told when the approval stops counting: the challenge's expiry, ahead
    let expires_at = hook["expires_at"].as_str().unwrap();
    let expires_in = hook["expires_in"].as_i64().unwrap();
    let ahead = chrono::DateTime::parse_from_rfc3339(expires_at)
        .unwrap()
        .timestamp()
        - chrono::Utc::now().timestamp();
    assert!(
        expires_in > 0 && (expires_in - 10..=expires_in).contains(&ahead),
        "{expires_at} is {ahead} s ahead, expires_in {expires_in}"
    );
    let (s, _) = t.post(&t.agent, &push_response, json!({"approve": true}));
    assert_eq!(s, StatusCode::FORBIDDEN, "only the app answers a push");
    let (s, v) = t.post(&t.app, &push_response, json!({"approve": true}));
    assert_eq!(
        (s, v["state"].as_str()),
        (StatusCode::OK, Some("approved")),
        "{v}"
    );
    let (s, v) = t.post(&t.app, &push_response, json!({"approve": false}));
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("challenge_decided"))
    );
    let (_, call) = t.get(&t.agent, "/v1/calls/sms-1");
    assert_eq!(call["verified"], true);
    assert_eq!(call["member"]["last_verification"]["how"], "challenge:push");
    assert_eq!(call["challenges"][2]["state"], "approved", "{call}");
    assert_eq!(call["challenges"][2]["member_response"], true);
    // the member's answer in the app is an audit record of its own, once
    let audit = t.i.audit_events();
    let answered: Vec<&str> = (audit.lines())
        .filter(|l| l.contains("\"kind\":\"challenge_push_response\""))
        .collect();
    assert_eq!(answered.len(), 1, "{audit}");
    assert!(
        answered[0].contains("\"detail\":\"approved in the app\"")
            && answered[0].contains("\"call_id\":\"sms-1\""),
        "{}",
        answered[0]
    );

    // three sends this hour: the fourth is refused, on any call
    t.start("sms-2", JANE_MOBILE);
    let (s, e) = t.post(
        &t.agent,
        "/v1/calls/sms-2/challenges",
        json!({"channel": "sms"}),
    );
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_challenges"))
    );
    // a refused send lists nothing, and one call's challenges are not another's
    let (_, other) = t.get(&t.agent, "/v1/calls/sms-2");
    assert_eq!(other["challenges"], json!([]), "{other}");

    // no e-mail for a member without an address
    t.start("sms-3", JOHN_MOBILE);
    let (s, e) = t.post(
        &t.agent,
        "/v1/calls/sms-3/challenges",
        json!({"channel": "email"}),
    );
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_destination")),
        "{e}"
    );

    // the push the back end could not deliver is counted as unreachable, its text as sent
    assert_sends(
        &t,
        &[
            ("sms", "sent", 2.0),
            ("push", "unreachable", 1.0),
            ("push", "sent", 1.0),
        ],
    );

    // each verdict counted once, by the channel that carried it (the decided push's second
    // answer counts nothing)
    for (channel, result, n) in [
        ("sms", "not_verified", 1.0),
        ("sms", "verified", 1.0),
        ("push", "verified", 1.0),
        ("push", "not_verified", 0.0),
    ] {
        let labels = [
            ("method", "challenge"),
            ("channel", channel),
            ("result", result),
        ];
        let counted = t.i.metric("callvault_member_verdicts_total", &labels);
        assert_eq!(counted, n, "{channel} {result}");
    }

    let audit = t.i.audit_events();
    assert!(
        audit.contains("fallback from push"),
        "the fallback is audited"
    );
    assert!(!audit.contains(&code));
    // the code and the gateway's key, in neither log (at debug level)
    t.i.assert_never_written(&[&code, "gw-secret"]);
}

#[test]
fn a_channel_that_fails_leaves_nothing_and_the_agent_can_deny() {
    let sink = HttpSink::start();
    let config = format!("{}[otp]\nmax_sends_per_hour = 1\n", http_channels(&sink));
    let t = Calls::with_members(&config, MEMBERS);
    t.start("fail-1", JANE_MOBILE);

    sink.answer_with(
        "/sms/send",
        400,
        r#"{"code": 21610, "message": "21610 Attempt to send to unsubscribed recipient", "key": "gw-secret", "sent": {request}}"#,
    );
    let (s, e) = t.post(
        &t.agent,
        "/v1/calls/fail-1/challenges",
        json!({"channel": "sms"}),
    );
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("send_failed")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("400"), "{e}");
    assert!(t.i.audit_events().contains("challenge_failed"));
    // what the gateway said is in the service's log, for IT, with the message it echoed
    // masked: the code, and the member's number
    let sent: Value = serde_json::from_str(&sink.received("/sms/send")[0].body).unwrap();
    let echoed_code = code_in(sent["text"].as_str().unwrap());
    assert_eq!(sent["to"].as_str(), Some(JANE_MOBILE));
    let said = t.i.service_log_with("the SMS gateway refused a message");
    assert!(
        said.contains("the SMS gateway refused a message")
            && said.contains("status=400")
            && said.contains("21610 Attempt to send to unsubscribed recipient")
            && said.contains(r#""to": "+[digits]""#)
            && said.contains(r#""key": "[key]""#),
        "{said}"
    );
    t.i.assert_never_written(&[&echoed_code, &JANE_MOBILE[1..], "gw-secret"]);
    // sent once, not again: a gateway that failed may still have sent the text, and a
    // second one would carry another code than the first
    assert_eq!(sink.received("/sms/send").len(), 1);

    // a gateway's redirect is a failure that names the key to fix: the code and the
    // gateway's key are not sent on to an address the configuration never named. A push
    // that fails falls back to a text, which fails too here.
    sink.answer("/sms/send", 307);
    sink.answer("/push", 307);
    for channel in ["sms", "push"] {
        let (s, e) = t.post(
            &t.agent,
            "/v1/calls/fail-1/challenges",
            json!({"channel": channel}),
        );
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::BAD_GATEWAY, Some("send_failed")),
            "{e}"
        );
        let message = e["message"].as_str().unwrap();
        assert!(message.contains("notify.sms.url"), "{e}");
        assert_eq!(
            message.contains("notify.push.url"),
            channel == "push",
            "{e}"
        );
    }
    assert!(
        sink.received("/moved").is_empty(),
        "a redirect was followed"
    );

    // the failed send did not use up the member's one send this hour
    sink.answer("/sms/send", 200);
    let (s, sent) = t.post(
        &t.agent,
        "/v1/calls/fail-1/challenges",
        json!({"channel": "sms"}),
    );
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    let id = sent["challenge_id"].as_str().unwrap();

    // the agent cannot approve a text unheard, but may deny it
    let decision = format!("/v1/challenges/{id}/decision");
    let (s, e) = t.post(&t.agent, &decision, json!({"approve": true}));
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("proof_missing"))
    );
    let (s, v) = t.post(&t.agent, &decision, json!({"approve": false}));
    assert_eq!(
        (s, v["state"].as_str(), v["how"].as_str()),
        (StatusCode::OK, Some("denied"), Some("agent"))
    );
    let (_, call) = t.get(&t.agent, "/v1/calls/fail-1");
    assert_eq!(call["verified"], false);
    // each hand-over to a channel is counted with its result, so a failing gateway shows
    // in /metrics before agents report it
    assert_sends(
        &t,
        &[
            ("sms", "failed", 3.0),
            ("sms", "sent", 1.0),
            ("push", "failed", 1.0),
            ("push", "sent", 0.0),
        ],
    );
    // timed in buckets, as the core's questions are (a histogram, not a summary)
    let timed = t.i.metric(
        "callvault_notify_send_seconds_bucket",
        &[("channel", "sms"), ("le", "+Inf")],
    );
    assert_eq!(timed, 4.0);
    // and both described for whoever reads /metrics
    let text = t.i.metrics_text();
    for family in [
        "callvault_notify_sends_total",
        "callvault_notify_send_seconds",
    ] {
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "{family}: {text}"
        );
    }

    // bad requests are clear
    let (s, e) = t.post(
        &t.agent,
        "/v1/calls/fail-1/challenges",
        json!({"channel": "email"}),
    );
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("channel_unavailable"))
    );
    let (s, e) = t.post(
        &t.agent,
        "/v1/calls/fail-1/challenges",
        json!({"channel": "fax"}),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = t.get(&t.agent, "/v1/challenges/ch_nope");
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_such_challenge"))
    );
    let (s, _) = t.get(&t.ivr, &format!("/v1/challenges/{id}"));
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// An app back end that asks for a client certificate (mutual TLS) is shown the one
/// `notify.push.client_cert` and `client_key` name. Without it the push fails with the
/// refusal as its reason, and with no SMS gateway to fall back on, that is the answer (not
/// "no sms channel"). A gateway's client is made once per configuration: one connection
/// carries every send until a reload.
#[test]
fn the_app_back_end_is_shown_its_client_certificate_over_one_kept_connection() {
    let client = rcgen::generate_simple_self_signed(vec!["callvault".into()]).unwrap();
    let (sink, ca) = HttpSink::start_tls(Some(client.cert.der().clone()));
    let t = Calls::with_members("", MEMBERS);
    let etc = |name: &str| t.i.path(&format!("etc/{name}"));
    let (ca_file, cert, key) = (
        etc("app-ca.pem"),
        etc("app-client.crt"),
        etc("app-client.key"),
    );
    std::fs::write(&ca_file, ca).unwrap();
    std::fs::write(&cert, client.cert.pem()).unwrap();
    std::fs::write(&key, client.key_pair.serialize_pem()).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let push = format!(
        "[notify.push]\nurl = \"{}\"\nca_file = {ca_file:?}\n",
        sink.url("/push")
    );
    let admin = t.i.admin.clone();
    let reload = |config: &str| {
        t.i.write_config(config);
        let (s, r) = t.post(&admin, "/v1/admin/reload", json!({}));
        assert_eq!(s, StatusCode::OK, "{r}");
    };
    t.start("app-1", JANE_MOBILE);
    let send = || {
        t.post(
            &t.agent,
            "/v1/calls/app-1/challenges",
            json!({"channel": "push", "with_code": false}),
        )
    };

    // no certificate: the back end refuses the connection, and that is the answer
    reload(&push);
    let (s, e) = send();
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("send_failed")),
        "{e}"
    );
    let message = e["message"].as_str().unwrap();
    assert!(
        message.ends_with("app back end: received fatal alert: CertificateRequired"),
        "{e}"
    );
    assert!(sink.received("/push").is_empty());
    // the configured one: three pushes, one connection
    reload(&format!(
        "{push}client_cert = {cert:?}\nclient_key = {key:?}\n"
    ));
    for _ in 0..3 {
        let (s, sent) = send();
        assert_eq!(s, StatusCode::CREATED, "{sent}");
    }
    let pushes = sink.received("/push");
    assert_eq!(pushes.len(), 3);
    let agent = pushes[0].header("user-agent").unwrap_or_default();
    assert!(agent.starts_with("callvault/"), "{agent:?}");
    assert_eq!(
        sink.connections(),
        1,
        "each push made a connection of its own"
    );

    // a reload makes the client again (a renewed certificate is read), on a new connection;
    // a key every local user may read is logged as the client is made
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    reload(&format!(
        "{push}client_cert = {cert:?}\nclient_key = {key:?}\ntimeout_ms = 4000\n"
    ));
    let (s, sent) = send();
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    assert_eq!(sink.connections(), 2);
    let exposed = "notify.push.client_key: TLS key";
    let log = t.i.service_log_with(exposed);
    assert!(
        log.lines()
            .any(|l| l.contains(exposed) && l.contains("has mode 0644")),
        "{log}"
    );
    let secret = client.key_pair.serialize_pem();
    t.i.assert_never_written(&[secret.lines().nth(1).unwrap()]);
}

#[test]
fn an_ivr_otp_step_texts_a_code_and_the_caller_keys_it() {
    let sink = HttpSink::start();
    let profile = "[otp]\nmax_sends_per_hour = 1\n[profiles.members]\ndefault = true\n[profiles.members.ivr.known_number]\nmethods = [\"otp\", \"dob\"]\nmin_correct = 1\n\
         [profiles.members.ivr.unknown_number]\nmethods = [\"otp\", \"dob\"]\nmin_correct = 1\n";
    let config = format!("{}{profile}", http_channels(&sink));
    let t = Calls::with_members(&config, MEMBERS);
    let step = t.start("otp-1", JANE_MOBILE);
    assert_eq!(
        (
            step["field"].as_str(),
            step["prompt"].as_str(),
            step["max_digits"].as_u64()
        ),
        (Some("code"), Some("enter_code_sent"), Some(6)),
        "{step}"
    );
    let texts = sink.received("/sms/send");
    assert_eq!(texts.len(), 1);
    let body: Value = serde_json::from_str(&texts[0].body).unwrap();
    let code = code_in(body["text"].as_str().unwrap());

    let step = t.key_in("otp-1", &other_code(&code));
    assert_eq!(
        (step["error"].as_str(), step["attempts_left"].as_u64()),
        (Some("wrong_code"), Some(2)),
        "{step}"
    );
    let step = t.key_in("otp-1", &code);
    assert_eq!(
        (step["outcome"].as_str(), step["level"].as_str()),
        (Some("authenticated"), Some("otp")),
        "{step}"
    );
    // the screen pop lists the IVR's challenge as the IVR's; agents do not decide it
    let (_, call) = t.get(&t.agent, "/v1/calls/otp-1");
    assert_eq!(call["verified"], true);
    let listed = call["challenges"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{call}");
    assert_eq!(
        (
            listed[0]["by_ivr"].as_bool(),
            listed[0]["state"].as_str(),
            listed[0]["how"].as_str()
        ),
        (Some(true), Some("approved"), Some("code")),
        "{call}"
    );
    let ivr_challenge = listed[0]["challenge_id"].as_str().unwrap();
    let (s, e) = t.post(
        &t.agent,
        &format!("/v1/challenges/{ivr_challenge}/decision"),
        json!({"approve": false}),
    );
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("ivr_challenge"))
    );

    // no code can go (the member's one send this hour is used): straight to the next method
    let step = t.start("otp-2", JANE_MOBILE);
    assert_eq!(step["question"], "dob", "{step}");
    t.i.assert_never_written(&[&code]);
    let skipped = |t: &Calls, call: &str| -> Vec<String> {
        t.i.audit_events()
            .lines()
            .filter(|l| l.contains(&format!("\"call_id\":\"{call}\"")) && l.contains("otp: "))
            .map(|l| {
                let record: Value = serde_json::from_str(l).unwrap();
                record["detail"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    };
    assert_eq!(skipped(&t, "otp-2"), ["otp: too_many_codes"]);

    // a reload that drops the text channel while the profile asks for a code is refused,
    // naming each step, and the channel stays: the next call is told the sends ran out,
    // not that there is no channel
    t.i.write_config(profile);
    let (s, e) = t.post(&t.i.admin.clone(), "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let said = e["message"].as_str().unwrap();
    for step in ["known_number.methods[0]", "unknown_number.methods[0]"] {
        assert!(
            said.contains(&format!(
                "profiles.members.ivr.{step}: \"otp\" sends its code by sms (otp.ivr_channel), \
                 and there is no [notify.sms] section"
            )),
            "{said}"
        );
    }
    let step = t.start("otp-3", JANE_MOBILE);
    assert_eq!(step["question"], "dob", "{step}");
    assert_eq!(skipped(&t, "otp-3"), ["otp: too_many_codes"]);
}

#[test]
fn a_challenge_ends_with_its_call() {
    let sink = HttpSink::start();
    let t = Calls::with_members(&http_channels(&sink), MEMBERS);
    // a text on one call and a push on another (a second challenge on one call would
    // replace the first), both waiting
    let send = |call: &str, body: Value| {
        t.start(call, JANE_MOBILE);
        t.post(&t.agent, &format!("/v1/calls/{call}/challenges"), body)
    };
    let (s, text) = send("gone-1", json!({"channel": "sms"}));
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let body: Value = serde_json::from_str(&sink.received("/sms/send")[0].body).unwrap();
    let code = code_in(body["text"].as_str().unwrap());
    let (s, push) = send("gone-2", json!({"channel": "push", "with_code": false}));
    assert_eq!(s, StatusCode::CREATED, "{push}");
    let (text, push) = (
        text["challenge_id"].as_str().unwrap().to_string(),
        push["challenge_id"].as_str().unwrap().to_string(),
    );
    for id in [&text, &push] {
        let (_, c) = t.get(&t.agent, &format!("/v1/challenges/{id}"));
        assert_eq!(c["state"], "waiting", "{c}");
    }

    // the caller hangs up (and the other call is closed): nobody on the line is being
    // verified any more
    for call in ["gone-1", "gone-2"] {
        let r =
            t.c.delete(t.i.url(&format!("/v1/calls/{call}")))
                .bearer_auth(&t.ivr)
                .send()
                .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let (_, c) = t.get(&t.agent, &format!("/v1/challenges/{text}"));
    assert_eq!(
        (c["state"].as_str(), c["expires_in"].as_u64()),
        (Some("expired"), Some(0)),
        "{c}"
    );

    // the right code read out, or the member's approval in the app, comes too late
    let (s, r) = t.post(
        &t.agent,
        &format!("/v1/challenges/{text}/check"),
        json!({ "code": code }),
    );
    assert_eq!(
        (s, r["result"].as_str()),
        (StatusCode::OK, Some("expired")),
        "{r}"
    );
    let (s, r) = t.post(
        &t.app,
        &format!("/v1/challenges/{push}/push-response"),
        json!({"approve": true}),
    );
    assert_eq!(
        (s, r["state"].as_str()),
        (StatusCode::OK, Some("expired")),
        "{r}"
    );

    // so neither the calls nor the member are marked verified
    for (call, id) in [("gone-1", &text), ("gone-2", &push)] {
        let (_, call) = t.get(&t.agent, &format!("/v1/calls/{call}"));
        assert_eq!(call["verified"], Value::Null, "{call}");
        assert_eq!(call["member"]["last_verification"], Value::Null, "{call}");
        // and the screen pop lists the challenge as it ended: with the call
        let states: Vec<(&str, &str)> = (call["challenges"].as_array().unwrap().iter())
            .map(|c| {
                (
                    c["challenge_id"].as_str().unwrap(),
                    c["state"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(states, [(id.as_str(), "expired")], "{call}");
    }
    assert!(!t.i.audit_events().contains("member_verified"));
}

/// A member who says the code did not come gets another; the newest is the one that works.
/// The agent challenge still waiting ends as it goes (`expired`, `how` `replaced`), so a
/// caller has one code to read out and no second one to guess at, and an IVR `otp` step's
/// challenge on the same call, the dialog's, is left alone.
#[test]
fn a_second_code_sent_on_a_call_replaces_the_first() {
    let sink = HttpSink::start();
    let profile = "[profiles.members]\ndefault = true\n[profiles.members.ivr.known_number]\nmethods = [\"otp\"]\nmin_correct = 1\n";
    let t = Calls::with_members(&format!("{}{profile}", http_channels(&sink)), MEMBERS);
    let step = t.start("again-1", JANE_MOBILE);
    assert_eq!(step["field"], "code", "{step}");
    let texts = |n: usize| -> String {
        let sent = sink.received("/sms/send");
        assert_eq!(sent.len(), n + 1);
        let body: Value = serde_json::from_str(&sent[n].body).unwrap();
        code_in(body["text"].as_str().unwrap())
    };
    let ivr_code = texts(0);
    let send = || {
        let (s, sent) = t.post(
            &t.agent,
            "/v1/calls/again-1/challenges",
            json!({"channel": "sms"}),
        );
        assert_eq!(s, StatusCode::CREATED, "{sent}");
        sent["challenge_id"].as_str().unwrap().to_string()
    };
    let (first, first_code) = (send(), texts(1));
    let check = |id: &str, code: &str| {
        t.post(
            &t.agent,
            &format!("/v1/challenges/{id}/check"),
            json!({ "code": code }),
        )
    };
    // a wrong code keyed on the first does not keep it alive
    let (_, r) = check(&first, &other_code(&first_code));
    assert_eq!(r["result"], "wrong_code", "{r}");
    let (second, second_code) = (send(), texts(2));

    let (_, c) = t.get(&t.agent, &format!("/v1/challenges/{first}"));
    assert_eq!(
        (
            c["state"].as_str(),
            c["how"].as_str(),
            c["expires_in"].as_u64()
        ),
        (Some("expired"), Some("replaced"), Some(0)),
        "{c}"
    );
    let (s, r) = check(&first, &first_code);
    assert_eq!(
        (s, r["code"].as_str()),
        (StatusCode::CONFLICT, Some("challenge_decided")),
        "the first code no longer works: {r}"
    );
    if first_code != second_code {
        let (_, r) = check(&second, &first_code);
        assert_eq!(r["result"], "wrong_code", "{r}");
    }
    let (_, r) = check(&second, &second_code);
    assert_eq!(r["result"], "approved", "{r}");

    // the screen pop: the IVR's challenge still waiting, the first replaced, the second
    // approved, and the call verified by it
    let (_, call) = t.get(&t.agent, "/v1/calls/again-1");
    let listed: Vec<(bool, &str, &str)> = (call["challenges"].as_array().unwrap().iter())
        .map(|c| {
            (
                c["by_ivr"].as_bool().unwrap(),
                c["state"].as_str().unwrap(),
                c["how"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (true, "waiting", "-"),
            (false, "expired", "replaced"),
            (false, "approved", "code")
        ],
        "{call}"
    );
    assert_eq!(call["verified"], true, "{call}");
    // the caller can still key the IVR's code
    let step = t.key_in("again-1", &ivr_code);
    assert_eq!(step["outcome"], "authenticated", "{step}");

    let audit = t.i.audit_events();
    let replaced: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("challenge_decided") && l.contains("(replaced)"))
        .collect();
    assert_eq!(replaced.len(), 1, "{audit}");
    assert!(
        replaced[0].contains("\"outcome\":\"failed\""),
        "{}",
        replaced[0]
    );
    for code in [&ivr_code, &first_code, &second_code] {
        assert!(!audit.contains(code.as_str()));
    }
}

/// A REST core may hold two members with one mobile (a joint account's). A call from it
/// earns neither known_number trust, and a code texted to it proves only that the caller
/// holds that phone, so no text goes there: the agent is told the member has no mobile of
/// their own, and nothing is sent or counted.
#[test]
fn a_mobile_two_members_share_earns_no_trust_and_takes_no_code() {
    let sink = HttpSink::start();
    let a = r#"{"member_id": "9001", "first_name": "Ann", "mobile_phone": "+16122050101", "phone_type": "mobile", "dob": "1990-02-03"}"#;
    let b = r#"{"member_id": "9002", "first_name": "Bob", "mobile_phone": "+16122050101", "phone_type": "mobile", "dob": "1991-04-05"}"#;
    let c = r#"{"member_id": "9003", "first_name": "Cy", "mobile_phone": "+16122050103", "phone_type": "mobile", "dob": "1992-06-07"}"#;
    let both: &'static str = Box::leak(format!("[{a}, {b}]").into_boxed_str());
    let one: &'static str = Box::leak(format!("[{c}]").into_boxed_str());
    let gateway = crate::harness::stand_in_gateway(vec![
        ("phone=%2B16122050101", both),
        ("phone=%2B16122050103", one),
        ("/members/9001", a),
        ("/members/9002", b),
        ("/members/9003", c),
    ]);
    let config = format!(
        "[core]\ntype = \"rest\"\n[core.rest]\nbase_url = \"http://{gateway}\"\n{}",
        http_channels(&sink)
    );
    let t = Calls::with_members(&config, MEMBERS);
    // the shared number identifies no one; Ann keys her member number
    let step = t.start("joint-1", "+16122050101");
    assert_eq!(step["field"], "identifier", "{step}");
    let step = t.key_in("joint-1", "9001");
    assert_eq!(step["member_id"], "9001", "{step}");
    // Bob holds that phone too: it earns Ann no known_number trust
    assert_eq!(step["trust"], "unknown_number", "{step}");
    let (s, e) = t.post(
        &t.agent,
        "/v1/calls/joint-1/challenges",
        json!({"channel": "sms"}),
    );
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_destination")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("another member has too"),
        "{e}"
    );
    assert!(sink.received("/sms/send").is_empty(), "nothing was texted");
    // a push that fails cannot fall back to a text either: the push's failure is the
    // answer, with why no text went instead
    sink.answer("/push", 503);
    let (s, e) = t.post(
        &t.agent,
        "/v1/calls/joint-1/challenges",
        json!({"channel": "push"}),
    );
    assert_eq!(
        (s, e["message"].as_str()),
        (
            StatusCode::BAD_GATEWAY,
            Some(
                "the challenge could not be sent: app back end answered 503 Service Unavailable \
                 (and no text instead: the member has no verified mobile number of their own)"
            )
        ),
        "{e}"
    );
    assert!(sink.received("/sms/send").is_empty(), "nothing was texted");
    // a mobile of the member's own identifies them, with known_number trust, and takes
    // the code
    let step = t.start("own-1", "+16122050103");
    assert_eq!(
        (&step["member_id"], &step["trust"]),
        (&json!("9003"), &json!("known_number")),
        "{step}"
    );
    let (s, sent) = t.post(
        &t.agent,
        "/v1/calls/own-1/challenges",
        json!({"channel": "sms"}),
    );
    assert_eq!(
        (s, &sent["channel"]),
        (StatusCode::CREATED, &json!("sms")),
        "{sent}"
    );
    assert_eq!(sink.received("/sms/send").len(), 1);
}

/// A vault key rotation while a code is out: the code can no longer be checked, so the
/// member's right code is answered `expired` (not `wrong_code`, and no attempt is used), and
/// a code sent after the rotation works.
#[test]
fn a_code_sent_before_a_vault_key_rotation_expires_and_one_sent_after_works() {
    let sink = HttpSink::start();
    let t = Calls::with_members(&http_channels(&sink), MEMBERS);
    t.start("rot-1", JANE_MOBILE);
    let send = || {
        let (s, sent) = t.post(
            &t.agent,
            "/v1/calls/rot-1/challenges",
            json!({"channel": "sms"}),
        );
        assert_eq!(s, StatusCode::CREATED, "{sent}");
        let texts = sink.received("/sms/send");
        let body: Value = serde_json::from_str(&texts.last().unwrap().body).unwrap();
        let code = code_in(body["text"].as_str().unwrap());
        (sent["challenge_id"].as_str().unwrap().to_string(), code)
    };
    let check = |id: &str, code: &str| {
        let path = format!("/v1/challenges/{id}/check");
        t.post(&t.agent, &path, json!({ "code": code })).1
    };
    let (before, code) = send();
    let rotated = t.i.cli(&["vault", "rotate-key"]);
    assert!(rotated.status.success(), "{rotated:?}");
    let r = check(&before, &code);
    assert_eq!(
        (r["result"].as_str(), r["attempts_left"].as_u64()),
        (Some("expired"), Some(3)),
        "{r}"
    );
    let (_, c) = t.get(&t.agent, &format!("/v1/challenges/{before}"));
    assert_eq!(
        (c["state"].as_str(), c["how"].as_str()),
        (Some("expired"), Some("key_rotated"))
    );
    // on the record as expired, and no code checked ("code wrong" would blame the member)
    let records: Vec<String> = (t.i.audit_events().lines())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| {
            r["kind"]
                .as_str()
                .is_some_and(|k| k.starts_with("challenge_"))
        })
        .map(|r| {
            format!(
                "{} {}",
                r["kind"].as_str().unwrap(),
                r["detail"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        records,
        [
            "challenge_sent sms to +1******0101, with a code",
            "challenge_decided sms expired (key_rotated)"
        ]
    );
    let (after, code) = send();
    assert_eq!(check(&after, &code)["result"], "approved");
}

/// The same at the IVR: a code keyed after a rotation is told expired, and the dialog goes
/// on to its next method.
#[test]
fn an_ivr_code_keyed_after_a_vault_key_rotation_is_expired() {
    let sink = HttpSink::start();
    let profile = "[profiles.members]\ndefault = true\n\
         [profiles.members.ivr.known_number]\nmethods = [\"otp\", \"dob\"]\nmin_correct = 1\n";
    let t = Calls::with_members(&format!("{}{profile}", http_channels(&sink)), MEMBERS);
    let step = t.start("rot-ivr", JANE_MOBILE);
    assert_eq!(step["field"], "code", "{step}");
    let body: Value = serde_json::from_str(&sink.received("/sms/send")[0].body).unwrap();
    let code = code_in(body["text"].as_str().unwrap());
    let rotated = t.i.cli(&["vault", "rotate-key"]);
    assert!(rotated.status.success(), "{rotated:?}");
    let step = t.key_in("rot-ivr", &code);
    assert_eq!(
        (step["error"].as_str(), step["question"].as_str()),
        (Some("code_expired"), Some("dob")),
        "{step}"
    );
    let records = t.i.audit_events();
    assert!(!records.contains("\"challenge_checked\""), "{records}");
    assert!(records.contains("sms expired (key_rotated)"), "{records}");
}
