//! The call dialog driven over real HTTPS against the real binary: seed 004's acceptance
//! criteria, seed 002's identification flow, app intents, PIN lockout across calls,
//! activation, the agent's screen pop and checklist, restart and reload mid-call.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::harness::{Instance, holds_secret, text};

pub const MEMBERS: &str = "member_id,first_name,last_name,mobile_phone,phone_type,other_phones,dob,zip,ssn_last4,place_of_birth,savings_balance,last_txn_amount,last_txn_date,account_numbers\n\
1001,Ada,Lovelace,+16122030101,mobile,+16122030199,1984-03-12,55401,6789,Zagreb,1234.56,-45.00,2026-11-20,90001\n\
1002,Grace,Hopper,+16122030102,mobile,,1970-12-09,55402,4321,New York,200.00,12.50,2026-11-19,90002\n\
1003,Alan,Turing,+16122030103,mobile,,1990-06-23,55403,1357,London,10.00,3.00,2026-11-18,90003\n";
const ADA_MOBILE: &str = "+16122030101";
const ADA_OTHER: &str = "+16122030199";

pub struct Calls {
    pub i: Instance,
    pub c: Client,
    pub ivr: String,
    pub agent: String,
    pub app: String,
}

fn key(i: &Instance, role: &str) -> String {
    let out = i.cli(&[
        "key",
        "create",
        "--role",
        role,
        "--name",
        &format!("{role}1"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

impl Calls {
    /// A serving instance with the three members enrolled and a key per role.
    pub fn new(config: &str) -> Calls {
        Calls::with_members(config, MEMBERS)
    }

    /// As [`Calls::new`], with these members (a pre-enrollment CSV).
    pub fn with_members(config: &str, members: &str) -> Calls {
        let mut i = Instance::init_with(config);
        let file = i.path("members.csv");
        std::fs::write(&file, members).unwrap();
        let out = i.cli(&["enroll", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let summary = text(&out.stdout);
        let rows = members.lines().count() - 1;
        assert!(summary.contains(&format!("created {rows}")), "{summary}");
        let (ivr, agent, app) = (key(&i, "ivr"), key(&i, "agent"), key(&i, "app"));
        i.start();
        let c = i.client();
        Calls {
            i,
            c,
            ivr,
            agent,
            app,
        }
    }

    fn send(req: reqwest::blocking::RequestBuilder) -> (StatusCode, Value) {
        let r = req.send().unwrap();
        let status = r.status();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn post(&self, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
        Self::send(self.c.post(self.i.url(path)).bearer_auth(key).json(&body))
    }

    pub fn get(&self, key: &str, path: &str) -> (StatusCode, Value) {
        Self::send(self.c.get(self.i.url(path)).bearer_auth(key))
    }

    pub fn start(&self, call_id: &str, ani: &str) -> Value {
        let (s, step) = self.post(
            &self.ivr,
            "/v1/calls",
            json!({"call_id": call_id, "ani": ani, "dnis": "+18005550100"}),
        );
        assert_eq!(s, StatusCode::CREATED, "{step}");
        step
    }

    /// Answer the call's current step; the answer must be a 200 STEP.
    pub fn input(&self, call_id: &str, body: Value) -> Value {
        let (s, step) = self.post(&self.ivr, &format!("/v1/calls/{call_id}/input"), body);
        assert_eq!(s, StatusCode::OK, "{step}");
        step
    }

    pub fn key_in(&self, call_id: &str, digits: &str) -> Value {
        self.input(call_id, json!({ "digits": digits }))
    }

    pub fn event(&self, call_id: &str, event: &str) -> Value {
        self.input(call_id, json!({ "event": event }))
    }

    /// `callvault pins import` of a `member_id,pin` file, `--established` or not.
    pub fn import_pins(&self, csv: &str, established: bool) {
        let file = self.i.path("pins.csv");
        std::fs::write(&file, csv).unwrap();
        let mut args = vec!["pins", "import", file.to_str().unwrap()];
        if established {
            args.insert(2, "--established");
        }
        let out = self.i.cli(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

fn done(step: &Value) -> (&str, &str, &str) {
    assert_eq!(step["kind"], "done", "{step}");
    (
        step["outcome"].as_str().unwrap(),
        step["reason"].as_str().unwrap_or("-"),
        step["level"].as_str().unwrap_or("-"),
    )
}

const PIN_PROFILE: &str = "\n[profiles.members]\ndefault = true\n[profiles.members.ivr.known_number]\nmethods = [\"pin\"]\nmin_correct = 1\nattempts = 3\n[profiles.members.ivr.unknown_number]\nmethods = [\"pin\", \"dob\", \"zip\"]\nmin_correct = 2\nattempts = 3\n";

/// A member whose record holds a core's placeholders for "unknown" is not asked them: from
/// their verified number (2 of dob, zip, ssn_last4), only the real zip can be asked, so the
/// call is transferred rather than authenticated by keying 01011900 and 0000. `member show`
/// and `GET /v1/members/{id}` name the placeholders.
#[test]
fn a_core_s_placeholders_for_unknown_are_not_asked_and_are_shown() {
    let members = "member_id,first_name,mobile_phone,dob,zip,ssn_last4,place_of_birth\n\
                   7001,FNU,+16122030177,1900-01-01,55401,0000,UNKNOWN\n";
    let t = Calls::with_members("", members);
    let step = t.start("ph-1", "+16122030177");
    assert_eq!(
        (&step["question"], &step["first_name"]),
        (&json!("zip"), &Value::Null),
        "{step}"
    );
    let step = t.key_in("ph-1", "55401");
    assert_eq!(done(&step), ("transfer", "verification_failed", "-"));
    let want = json!(["dob", "ssn_last4", "place_of_birth"]);
    let out = t.i.cli(&["member", "show", "7001"]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["placeholders"], want, "{shown}");
    // the embedded directory's fields are callvault's own: no gateway's to report
    assert_eq!(shown.get("core_fields"), None, "{shown}");
    // and a PIN it does not hold is no one's, not the core's to check
    assert_eq!(
        (&shown["pin"]["has_pin"], &shown["pin"]["storage"]),
        (&json!(false), &Value::Null),
        "{shown}"
    );
    let (s, view) = t.get(&t.i.admin, "/v1/members/7001");
    assert_eq!(
        (s, &view["placeholders"]),
        (StatusCode::OK, &want),
        "{view}"
    );
}

#[test]
fn a_call_is_driven_end_to_end_over_https() {
    let t = Calls::new("");
    let step = t.start("e2e-1", "(612) 203-0101");
    // seed 004 [2]: a verified number needs 2 of 3
    assert_eq!(step["status"], "verifying");
    assert_eq!(step["trust"], "known_number");
    assert_eq!(step["member_id"], "1001");
    assert_eq!(step["first_name"], "Ada");
    assert_eq!(
        (step["field"].as_str(), step["question"].as_str()),
        (Some("question"), Some("dob"))
    );
    assert_eq!(
        (step["min_digits"].as_u64(), step["max_digits"].as_u64()),
        (Some(6), Some(8))
    );
    let keys: Vec<&String> = step.as_object().unwrap().keys().collect();
    // MMDDYY, as many callers key a birth date (MMDDYYYY is the other form)
    let step = t.key_in("e2e-1", "031284");
    assert_eq!(step["question"], "zip");
    assert_eq!(
        step.as_object().unwrap().keys().collect::<Vec<_>>(),
        keys,
        "stable keys"
    );
    let step = t.key_in("e2e-1", "55401#");
    assert_eq!(done(&step), ("authenticated", "-", "questions"));

    // a reused call id is 409; a finished call answers its final step again
    let (s, body) = t.post(
        &t.ivr,
        "/v1/calls",
        json!({"call_id": "e2e-1", "ani": ADA_MOBILE}),
    );
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("call_id_in_use"))
    );
    assert_eq!(done(&t.event("e2e-1", "no_input")).0, "authenticated");

    // the agent's screen pop, and the lookup by number
    let (s, view) = t.get(&t.agent, "/v1/calls/e2e-1");
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["member"]["member_id"], "1001");
    assert_eq!(view["member"]["name"], "Ada Lovelace");
    assert_eq!(view["verified"], true);
    assert_eq!(
        view["methods_passed"],
        json!(["question:dob", "question:zip"])
    );
    assert_eq!(view["step"]["status"], "authenticated");
    assert_eq!(view["member"]["last_verification"]["verified"], true);
    // escaped, and as API.md writes it (a `+` in a query is a space to a form's decoder)
    for query in [
        "ani=%2B16122030101&active=true",
        "ani=+16122030101&active=true",
    ] {
        let (_, found) = t.get(&t.agent, &format!("/v1/calls?{query}"));
        assert_eq!(found.as_array().unwrap().len(), 1, "{query}");
    }
    // the caller hangs up: the record stays, no longer active
    let r =
        t.c.delete(t.i.url("/v1/calls/e2e-1"))
            .bearer_auth(&t.ivr)
            .send()
            .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, found) = t.get(&t.agent, "/v1/calls?ani=6122030101&active=true");
    assert_eq!(found, json!([]));
    let (_, found) = t.get(&t.agent, "/v1/calls?ani=6122030101");
    assert_eq!(found[0]["active"], false);
    for (query, names) in [
        ("?ani=6122030101&active=maybe", "true"),
        (
            "?ani=6122030101&actve=true",
            ": unknown parameter `actve`; did you mean `active`?",
        ),
    ] {
        let (s, e) = t.get(&t.agent, &format!("/v1/calls{query}"));
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_query"))
        );
        assert!(e["message"].as_str().unwrap().contains(names), "{e}");
    }
    // at most `limit` calls, the newest: another call from the number comes first
    t.start("e2e-2", ADA_MOBILE);
    let (_, found) = t.get(&t.agent, "/v1/calls?ani=6122030101&limit=1");
    let ids: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e2e-2"]);
    // without a number: the calls from any number, newest first (a supervisor's list); the
    // ones still going with active=true, an anonymous one among them
    t.start("e2e-anon", "anonymous");
    let ids = |query: &str| -> Vec<String> {
        let (s, found) = t.get(&t.agent, &format!("/v1/calls{query}"));
        assert_eq!(s, StatusCode::OK, "{query}: {found}");
        (found.as_array().unwrap().iter())
            .map(|c| c["call_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(""), ["e2e-anon", "e2e-2", "e2e-1"]);
    assert_eq!(ids("?active=true"), ["e2e-anon", "e2e-2"]);
    assert_eq!(ids("?active=true&limit=1"), ["e2e-anon"]);
    // an IVR key finds the calls of the number on its line, and lists no one else's callers
    let (s, e) = t.get(&t.ivr, "/v1/calls?active=true");
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{e}"
    );
    let (s, _) = t.get(&t.ivr, "/v1/calls?ani=6122030101");
    assert_eq!(s, StatusCode::OK);
    for limit in ["0", "501", "x"] {
        let (s, e) = t.get(&t.agent, &format!("/v1/calls?ani=6122030101&limit={limit}"));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{limit}: {e}");
        assert!(
            ["bad_limit", "bad_query"].contains(&e["code"].as_str().unwrap()),
            "{limit}: {e}"
        );
    }
    let (s, body) = t.post(&t.ivr, "/v1/calls/e2e-1/input", json!({"digits": "1"}));
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("call_ended"))
    );

    // the k=v form for Asterisk, same keys, nulls empty
    let r =
        t.c.post(t.i.url("/v1/calls"))
            .bearer_auth(&t.ivr)
            .header("Accept", "application/x-www-form-urlencoded")
            .json(&json!({"call_id": "e2e-form", "ani": "anonymous"}))
            .send()
            .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let form = r.text().unwrap();
    assert!(form.contains("status=identifying"), "{form}");
    assert!(
        form.contains("field=identifier") && form.contains("member_id=&"),
        "{form}"
    );
    assert_eq!(form.split('&').count(), keys.len());

    // refusals on the STEP routes come as k=v too, when asked for: `code` is read the same way
    let form_refusal = |r: reqwest::blocking::RequestBuilder| {
        let r = r
            .header("Accept", "application/x-www-form-urlencoded")
            .send()
            .unwrap();
        let status = r.status();
        let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
        let challenge = r.headers().contains_key("www-authenticate");
        let pairs: HashMap<String, String> = form_urlencoded::parse(r.text().unwrap().as_bytes())
            .into_owned()
            .collect();
        (status, content_type, pairs, challenge)
    };
    for (name, request, status, code) in [
        (
            "a digit string that is not one",
            t.c.post(t.i.url("/v1/calls/e2e-form/input"))
                .bearer_auth(&t.ivr)
                .json(&json!({"digits": "12ab9988"})),
            StatusCode::BAD_REQUEST,
            "bad_digits",
        ),
        (
            "no such call",
            t.c.get(t.i.url("/v1/calls/nope/step")).bearer_auth(&t.ivr),
            StatusCode::NOT_FOUND,
            "no_such_call",
        ),
        (
            "no key",
            t.c.post(t.i.url("/v1/calls"))
                .json(&json!({"call_id": "e2e-nokey", "ani": "anonymous"})),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            "a reused call id",
            t.c.post(t.i.url("/v1/calls"))
                .bearer_auth(&t.ivr)
                .json(&json!({"call_id": "e2e-form", "ani": "anonymous"})),
            StatusCode::CONFLICT,
            "call_id_in_use",
        ),
    ] {
        let (s, content_type, pairs, challenge) = form_refusal(request);
        assert_eq!(s, status, "{name}");
        assert_eq!(content_type, "application/x-www-form-urlencoded", "{name}");
        assert_eq!(
            pairs.get("code").map(String::as_str),
            Some(code),
            "{name}: {pairs:?}"
        );
        assert!(!pairs["message"].is_empty(), "{name}");
        assert!(!pairs["message"].contains("12ab9988"), "{name}");
        assert_eq!(
            challenge,
            s == StatusCode::UNAUTHORIZED,
            "{name}: WWW-Authenticate kept"
        );
    }
    // elsewhere, refusals stay JSON whatever the client accepts
    let r =
        t.c.get(t.i.url("/v1/calls/nope"))
            .bearer_auth(&t.agent)
            .header("Accept", "application/x-www-form-urlencoded")
            .send()
            .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().unwrap()["code"], "no_such_call");

    // bad requests are 4xx, never echoing digits; roles are enforced
    for (body, code, secret) in [
        (json!({"digits": "12ab9988"}), "bad_digits", "12ab9988"),
        (
            json!({"digits": "1", "event": "opt_out"}),
            "bad_input",
            "opt_out",
        ),
        (json!({"pin": "86420975"}), "unknown_field", "86420975"),
        (json!({"digits": 97531864}), "invalid_field", "97531864"),
        (json!({"digits": ["24681357"]}), "invalid_field", "24681357"),
    ] {
        let (s, e) = t.post(&t.ivr, "/v1/calls/e2e-form/input", body);
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{e}"
        );
        assert!(!e.to_string().contains(secret), "{e}");
        if code == "invalid_field" {
            // the answer names the field, and what it takes
            let message = e["message"].as_str().unwrap_or_default();
            assert!(message.starts_with("`digits` has the wrong type"), "{e}");
            assert!(message.contains("expected a string"), "{e}");
        }
    }
    let (s, _) = t.post(
        &t.agent,
        "/v1/calls",
        json!({"call_id": "x", "ani": ADA_MOBILE}),
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t.post(
        &t.ivr,
        "/v1/calls",
        json!({"call_id": "", "ani": ADA_MOBILE}),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, e) = t.post(&t.ivr, "/v1/calls/nope/input", json!({"digits": "1"}));
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_such_call"))
    );

    // every step is audited, with the call and member, never the digits
    let audit = t.i.audit_events();
    for kind in [
        "call_started",
        "call_identified",
        "method_checked",
        "call_authenticated",
        "call_ended",
    ] {
        assert!(audit.contains(kind), "{kind} missing");
    }
    for secret in ["03121984", "55401", "6789"] {
        assert!(!holds_secret(&audit, secret), "{secret} in the audit log");
    }
    // nor in the service's log, at debug level: the keyed date of birth
    t.i.assert_never_written(&["03121984", "12ab9988", "86420975", "97531864", "24681357"]);
    t.i.assert_never_written(&[&t.ivr, &t.agent, &t.i.admin]);
}

/// A caller ID the carrier's STIR/SHAKEN check failed (`verstat`, in the From URI the IVR
/// passes as `ani`, or in its own field) still finds the member, who then proves what
/// `unknown_number` asks, and finds no app intent by phone. The agent's view says so, the
/// audit record says so, and `/metrics` counts it.
#[test]
fn a_caller_id_that_failed_stir_shaken_gives_no_known_number_trust() {
    let t = Calls::new("");
    let failed_from =
        "\"Ada\" <sip:+16122030101;verstat=TN-Validation-Failed@10.0.0.90;user=phone>";
    let start = |id: &str, body: Value| {
        let mut body = body;
        body["call_id"] = json!(id);
        let (s, step) = t.post(&t.ivr, "/v1/calls", body);
        assert_eq!(s, StatusCode::CREATED, "{step}");
        step
    };
    let step = start("stir-1", json!({"ani": failed_from}));
    assert_eq!(
        (&step["member_id"], &step["trust"]),
        (&json!("1001"), &json!("unknown_number")),
        "{step}"
    );
    let step = start(
        "stir-2",
        json!({"ani": ADA_MOBILE, "verstat": "TN-Validation-Failed-A"}),
    );
    assert_eq!(step["trust"], "unknown_number", "{step}");
    // passed, unsigned, unreadable or none: as before
    for (id, verstat) in [
        ("stir-3", json!("TN-Validation-Passed-A")),
        ("stir-4", json!("No-TN-Validation")),
        ("stir-5", json!("{{Call.Verstat}}")),
        ("stir-6", Value::Null),
    ] {
        let step = start(id, json!({"ani": ADA_MOBILE, "verstat": verstat}));
        assert_eq!(step["trust"], "known_number", "{id}: {step}");
    }
    // an intent announced for Ada's phone is not found by a failed caller ID
    let (s, intent) = t.post(
        &t.app,
        "/v1/intents",
        json!({"member_id": "1001", "phone": ADA_MOBILE}),
    );
    assert_eq!(s, StatusCode::CREATED, "{intent}");
    assert_eq!(
        start("stir-7", json!({"ani": failed_from}))["trust"],
        "unknown_number"
    );
    assert_eq!(
        done(&start("stir-8", json!({"ani": ADA_MOBILE}))).2,
        "app_intent",
        "the intent was left for a call it may stand for"
    );
    // the agent's screen pop, and the record
    let (s, view) = t.get(&t.agent, "/v1/calls/stir-1");
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(
        (&view["caller_id_check"], &view["trust"], &view["ani"]),
        (
            &json!("failed"),
            &json!("unknown_number"),
            &json!(ADA_MOBILE)
        ),
        "{view}"
    );
    let (_, view) = t.get(&t.agent, "/v1/calls/stir-6");
    assert_eq!(view["caller_id_check"], Value::Null, "{view}");
    let records = t.i.audit_events();
    let started = (records.lines())
        .find(|l| l.contains("\"call_started\"") && l.contains("stir-1"))
        .unwrap_or_else(|| panic!("{records}"));
    assert!(started.contains("verstat failed"), "{started}");
    for (verstat, n) in [
        ("failed", 3.0),
        ("passed", 1.0),
        ("no_validation", 1.0),
        ("unreadable", 1.0),
    ] {
        assert_eq!(
            t.i.metric("callvault_caller_id_checks_total", &[("verstat", verstat)]),
            n,
            "{verstat}"
        );
    }
    let unreadable = "verstat \"{{Call.Verstat}}\" is not TN-Validation-Passed";
    let log = t.i.service_log_with(unreadable);
    assert!(log.contains(unreadable), "{log}");
    // a verstat no IVR would send is refused, as a bad ani is
    let (s, e) = t.post(
        &t.ivr,
        "/v1/calls",
        json!({"call_id": "stir-9", "ani": ADA_MOBILE, "verstat": "x\u{7}"}),
    );
    assert_eq!(
        (s, &e["code"]),
        (StatusCode::BAD_REQUEST, &json!("bad_verstat")),
        "{e}"
    );
}

#[test]
fn seed_004_acceptance_criteria() {
    let t = Calls::new("");
    // [1] from the app: authenticated at once (token, single use)
    let (s, intent) = t.post(
        &t.app,
        "/v1/intents",
        json!({"member_id": "1002", "phone": "+16122030102", "ttl_seconds": 120}),
    );
    assert_eq!(s, StatusCode::CREATED, "{intent}");
    assert_eq!(intent["by_phone"], true, "Grace's verified number");
    // a number that is not the member's verified one: the token alone counts, and says so
    let (s, other) = t.post(
        &t.app,
        "/v1/intents",
        json!({"member_id": "1002", "phone": "+16122030101"}),
    );
    assert_eq!(
        (s, &other["by_phone"]),
        (StatusCode::CREATED, &json!(false))
    );
    let token = intent["app_token"].as_str().unwrap().to_string();
    let (s, step) = t.post(
        &t.ivr,
        "/v1/calls",
        json!({"call_id": "app-1", "ani": "anonymous", "app_token": token}),
    );
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(done(&step), ("authenticated", "-", "app_intent"));
    assert_eq!(step["trust"], "app_intent");
    // the token is used up: the next call with it is treated as any other
    let (_, step) = t.post(
        &t.ivr,
        "/v1/calls",
        json!({"call_id": "app-2", "ani": "anonymous", "app_token": token}),
    );
    assert_eq!(step["status"], "identifying");
    // the token and the clients' keys are in neither log, however they were sent
    t.i.assert_never_written(&[&token, &t.app, &t.ivr]);
    // an intent announced for a phone: a call from that verified number counts
    t.post(
        &t.app,
        "/v1/intents",
        json!({"member_id": "1003", "phone": "+16122030103"}),
    );
    assert_eq!(done(&t.start("app-3", "+16122030103")).2, "app_intent");
    let (s, _) = t.post(&t.app, "/v1/intents", json!({"member_id": "ghost"}));
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t.post(&t.ivr, "/v1/intents", json!({"member_id": "1001"}));
    assert_eq!(s, StatusCode::FORBIDDEN);

    // [3] an unverified number (another phone on file): 3 of 5
    let step = t.start("unk-1", ADA_OTHER);
    assert_eq!(step["trust"], "unknown_number");
    for answer in ["03121984", "55401"] {
        t.key_in("unk-1", answer);
    }
    assert_eq!(
        done(&t.key_in("unk-1", "6789")),
        ("authenticated", "-", "questions")
    );

    // below the threshold: transfer; the agent's checklist then decides Not Verified
    let step = t.start("unk-2", ADA_OTHER);
    assert_eq!(step["question"], "dob");
    t.key_in("unk-2", "01011999");
    t.key_in("unk-2", "00000");
    let step = t.key_in("unk-2", "0000");
    assert_eq!(done(&step), ("transfer", "verification_failed", "-"));
    // a tick before the checklist is started: the call is not ready for it (409)
    let (s, early) = t.post(
        &t.agent,
        "/v1/calls/unk-2/checklist/dob",
        json!({"correct": true}),
    );
    assert_eq!(
        (s, early["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_checklist"))
    );
    let (s, list) = t.post(&t.agent, "/v1/calls/unk-2/checklist", json!({}));
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["required"], 3);
    assert_eq!(list["questions"].as_array().unwrap().len(), 5);
    let pob = list["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == "place_of_birth")
        .unwrap();
    assert_eq!(pob["expected"], "Zagreb");
    assert_eq!(pob["text"], "Where were you born?");
    // an admin sees the questions but not the answers
    let admin = t.i.admin.clone();
    let (_, list) = t.post(&admin, "/v1/calls/unk-2/checklist", json!({}));
    assert!(
        list["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["expected"].is_null())
    );
    let tick = |q: &str, correct: bool| {
        t.post(
            &t.agent,
            &format!("/v1/calls/unk-2/checklist/{q}"),
            json!({ "correct": correct }),
        )
    };
    let (_, pending) = tick("place_of_birth", true);
    assert_eq!(
        (&pending["result"], &pending["message"]),
        (&json!("pending"), &Value::Null),
        "no message before the verdict"
    );
    assert_eq!(tick("dob", false).1["result"], "pending");
    let (s, again) = tick("dob", true);
    assert_eq!(
        (s, again["code"].as_str(), again["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("already_answered"),
            Some("dob has been ticked already, and a tick is not changed")
        ),
        "answered once"
    );
    assert_eq!(tick("last_txn_date", false).1["result"], "pending");
    let (_, last) = tick("savings_balance", false);
    assert_eq!(
        (
            last["result"].as_str(),
            last["correct"].as_u64(),
            last["answered"].as_u64()
        ),
        (Some("not_verified"), Some(1), Some(4))
    );
    // seed 004's fail message, for the agent's screen
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Unfortunately we cannot proceed further")),
        "{last}"
    );
    let (s, late) = tick("zip", true);
    assert_eq!(
        (s, late["code"].as_str()),
        (StatusCode::CONFLICT, Some("checklist_decided")),
        "{late}"
    );
    let (s, bogus) = tick("dobb", true);
    assert_eq!(
        (s, bogus["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("\"dobb\" is not a question; did you mean dob?")
        )
    );
    let (_, view) = t.get(&t.agent, "/v1/calls/unk-2");
    assert_eq!(view["verified"], false);
    assert_eq!(view["member"]["last_verification"]["verified"], false);
    assert_eq!(view["member"]["last_verification"]["how"], "checklist");
    // the screen pop shows the checklist as it stands, never its expected answers
    let shown = &view["checklist"];
    assert_eq!(
        (&shown["result"], &shown["correct"], &shown["answered"]),
        (&json!("not_verified"), &json!(1), &json!(4)),
        "{view}"
    );
    assert_eq!(shown["message"], last["message"]);
    let rows = shown["questions"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|q| q["expected"].is_null()), "{view}");
    assert!(!view.to_string().contains("Zagreb"));

    // [2] a verified number, checklist path: 2 of 3 marks the member Verified
    t.start("known-1", ADA_MOBILE);
    let (_, view) = t.get(&t.agent, "/v1/calls/known-1");
    assert!(view["checklist"].is_null(), "not started: {view}");
    t.post(&t.agent, "/v1/calls/known-1/checklist", json!({}));
    let (s, not_on) = t.post(
        &t.agent,
        "/v1/calls/known-1/checklist/dob",
        json!({"correct": true}),
    );
    assert_eq!(
        (s, not_on["code"].as_str(), not_on["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("not_on_checklist"),
            Some(
                "dob is not on this call's checklist, which asks last_txn_amount, place_of_birth, savings_balance"
            )
        )
    );
    t.post(
        &t.agent,
        "/v1/calls/known-1/checklist/last_txn_amount",
        json!({"correct": true}),
    );
    let (_, r) = t.post(
        &t.agent,
        "/v1/calls/known-1/checklist/place_of_birth",
        json!({"correct": true}),
    );
    assert_eq!(r["result"], "verified");
    assert_eq!(
        r["message"],
        "Congratulations - Customer is fully authenticated"
    );
    let (_, view) = t.get(&t.agent, "/v1/calls/known-1");
    assert_eq!(view["verified"], true);

    let audit = t.i.audit_events();
    for kind in [
        "intent_created",
        "intent_used",
        "answer_revealed",
        "checklist_answered",
        "member_verified",
    ] {
        assert!(audit.contains(kind), "{kind} missing");
    }
    assert!(!audit.contains("Zagreb") && !audit.contains(&token));
}

#[test]
fn seed_002_identification_shared_and_anonymous_numbers() {
    let t = Calls::new("");
    // no caller id: asked for an identifier; three failures transfer
    let step = t.start("id-1", "restricted");
    assert_eq!(
        (step["field"].as_str(), step["prompt"].as_str()),
        (Some("identifier"), Some("enter_member_number"))
    );
    assert_eq!(t.key_in("id-1", "5555")["attempts_left"], 2);
    t.key_in("id-1", "5556");
    assert_eq!(
        done(&t.key_in("id-1", "5557")),
        ("transfer", "identification_failed", "-")
    );
    // keyed member number, account number and phone all identify
    for (n, digits) in [("id-2", "1002"), ("id-3", "90002"), ("id-4", "6122030102")] {
        t.start(n, "");
        let step = t.key_in(n, digits);
        assert_eq!(
            (step["member_id"].as_str(), step["trust"].as_str()),
            (Some("1002"), Some("unknown_number")),
            "{digits}"
        );
    }
    // opt out
    t.start("id-5", "anonymous");
    assert_eq!(
        done(&t.event("id-5", "opt_out")),
        ("transfer", "opt_out", "-")
    );
    // a number two members share identifies neither: asked for an identifier, and the
    // trust after it is what the number is to that member
    let mut t2 = Calls::new("");
    let file = t2.i.path("shared.csv");
    std::fs::write(&file, "member_id,mobile_phone,phone_type,other_phones\n1004,+16122030110,mobile,+16122030120\n1005,+16122030111,mobile,+16122030120\n").unwrap();
    let out = t2.i.cli(&["enroll", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let step = t2.start("sh-1", "+16122030120");
    assert_eq!(
        (step["status"].as_str(), step["member_id"].as_str()),
        (Some("identifying"), None)
    );
    let step = t2.key_in("sh-1", "1005");
    assert_eq!(
        (step["member_id"].as_str(), step["trust"].as_str()),
        (Some("1005"), Some("unknown_number"))
    );
    t2.i.stop();
}

#[test]
fn an_input_sent_again_with_its_step_is_taken_once() {
    let t = Calls::new(&format!("[lockout]\nmax_wrong_pins = 3\n{PIN_PROFILE}"));
    t.import_pins("member_id,pin\n1001,2749\n", true);
    let step = t.start("retry-1", ADA_MOBILE);
    assert_eq!(
        (step["field"].as_str(), step["step"].as_u64()),
        (Some("pin"), Some(1))
    );

    // a wrong PIN answering STEP 1, and the same request again (its answer was lost)
    let wrong = json!({"digits": "1111", "step": 1});
    let first = t.input("retry-1", wrong.clone());
    assert_eq!(
        (first["attempts_left"].as_u64(), first["step"].as_u64()),
        (Some(2), Some(2)),
        "{first}"
    );
    let again = t.input("retry-1", wrong);
    assert_eq!(again, first, "the retry gets the same STEP");
    // and its step written as a string, as a data action whose contract holds every field
    // as one sends it: the same input, not taken again
    let quoted = t.input("retry-1", json!({"digits": "1111", "step": "1"}));
    assert_eq!(quoted, first, "{quoted}");
    // a start sent again is 409, as API.md says; the current STEP is there to fetch
    let (s, body) = t.post(
        &t.ivr,
        "/v1/calls",
        json!({"call_id": "retry-1", "ani": ADA_MOBILE, "dnis": "+18005550100"}),
    );
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("call_id_in_use"))
    );
    let (s, current) = t.get(&t.ivr, "/v1/calls/retry-1/step");
    assert_eq!((s, &current), (StatusCode::OK, &first));
    // the wrong PIN was counted once: after one more, a try is left (none, had it counted twice)
    let second = t.input("retry-1", json!({"digits": "2222", "step": 2}));
    assert_eq!(second["attempts_left"], 1, "{second}");

    // whatever it carries, an input answering the STEP just taken is not checked again
    let retried = t.input("retry-1", json!({"digits": "2749", "step": 2}));
    assert_eq!(retried, second, "{retried}");
    // an input answering an older STEP, or one not asked yet, is refused and changes nothing
    // (the audit count below would hold a fourth PIN check)
    for stale in [1, 9] {
        let (s, body) = t.post(
            &t.ivr,
            "/v1/calls/retry-1/input",
            json!({"digits": "2749", "step": stale}),
        );
        assert_eq!(s, StatusCode::CONFLICT, "step {stale}: {body}");
        assert_eq!(body["code"], "step_mismatch");
        assert!(
            !body["message"].as_str().unwrap().contains("2749"),
            "{body}"
        );
    }
    // the right PIN, answering the current STEP, as `k=v` pairs
    let r =
        t.c.post(t.i.url("/v1/calls/retry-1/input"))
            .bearer_auth(&t.ivr)
            .header("Accept", "application/x-www-form-urlencoded")
            .json(&json!({"digits": "2749", "step": 3}))
            .send()
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let form = r.text().unwrap();
    assert!(form.contains("outcome=authenticated"), "{form}");
    assert!(form.contains("&step=4"), "{form}");
    // sent again once the dialog is over: still the final STEP
    let last = t.input("retry-1", json!({"digits": "2749", "step": 3}));
    assert_eq!(done(&last), ("authenticated", "-", "pin"));

    // the audit log has one PIN check per input taken, not per request
    let events = t.i.audit_events();
    let checks = events
        .lines()
        .filter(|l| l.contains("retry-1") && l.contains("\"pin_checked\""))
        .count();
    assert_eq!(checks, 3, "{events}");
    let (s, _) = t.get(&t.ivr, "/v1/calls/nope/step");
    assert_eq!(s, StatusCode::NOT_FOUND);
    // IVRs that send no step are served as before
    t.start("retry-2", ADA_MOBILE);
    assert_eq!(t.key_in("retry-2", "2749")["outcome"], "authenticated");
    // after the hang-up there is no STEP to fetch
    t.c.delete(t.i.url("/v1/calls/retry-2"))
        .bearer_auth(&t.ivr)
        .send()
        .unwrap();
    let (s, body) = t.get(&t.ivr, "/v1/calls/retry-2/step");
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("call_ended"))
    );
}

/// A vault key rotation in the middle of a PIN change: the PINs the call sealed under the
/// old key cannot be read back. The new PIN is asked for again (no try used) rather than the
/// call failing on every input, and the change completes.
#[test]
fn a_pin_change_goes_on_across_a_vault_key_rotation() {
    let t = Calls::new(&format!("[pin_policy]\nmax_length = 12\n{PIN_PROFILE}"));
    t.import_pins("member_id,pin\n1001,2749\n", true);
    let (s, _) = t.post(&t.agent, "/v1/members/1001/force-pin-change", json!({}));
    assert_eq!(s, StatusCode::OK);
    t.start("rot-pin", ADA_MOBILE);
    assert_eq!(t.key_in("rot-pin", "2749")["field"], "new_pin");
    assert_eq!(t.key_in("rot-pin", "583920")["field"], "confirm_pin");
    let rotated = t.i.cli(&["vault", "rotate-key"]);
    assert!(rotated.status.success(), "{rotated:?}");
    let step = t.key_in("rot-pin", "583920");
    assert_eq!(
        (
            step["field"].as_str(),
            step["error"].as_str(),
            step["attempts_left"].as_u64()
        ),
        (Some("new_pin"), Some("new_pin_not_kept"), Some(3)),
        "{step}"
    );
    assert_eq!(t.key_in("rot-pin", "583920")["field"], "confirm_pin");
    assert_eq!(
        done(&t.key_in("rot-pin", "583920")),
        ("authenticated", "-", "pin")
    );
    t.start("rot-pin-2", ADA_MOBILE);
    assert_eq!(
        done(&t.key_in("rot-pin-2", "583920")),
        ("authenticated", "-", "pin")
    );
}

#[test]
fn pin_lockout_spans_calls_and_activation_sets_a_pin() {
    // 12-digit PINs allowed, so the store can be searched for the new one without chance hits
    let t = Calls::new(&format!(
        "[lockout]\nmax_wrong_pins = 3\n[pin_policy]\nmax_length = 12\n{PIN_PROFILE}"
    ));
    // Ada has an established PIN; Grace's imported placeholder is her SSN's last 4
    t.import_pins("member_id,pin\n1001,2749\n", true);
    t.import_pins("member_id,pin\n1002,4321\n", false);

    // two wrong PINs, hang up, call again: one try left, and it locks
    let step = t.start("pin-1", ADA_MOBILE);
    assert_eq!(step["field"], "pin");
    assert_eq!(t.key_in("pin-1", "1111")["attempts_left"], 2);
    assert_eq!(t.key_in("pin-1", "2222")["attempts_left"], 1);
    t.c.delete(t.i.url("/v1/calls/pin-1"))
        .bearer_auth(&t.ivr)
        .send()
        .unwrap();
    let step = t.start("pin-2", ADA_MOBILE);
    assert_eq!(step["field"], "pin");
    assert_eq!(
        done(&t.key_in("pin-2", "3333")),
        ("transfer", "locked", "-")
    );
    // the right PIN does not help while locked; an agent unlocks
    t.start("pin-3", ADA_MOBILE);
    assert_eq!(
        done(&t.key_in("pin-3", "2749")),
        ("transfer", "locked", "-")
    );
    // a field the unlock does not take is refused, not dropped: still locked
    let (s, e) = t.post(
        &t.agent,
        "/v1/members/1001/unlock",
        json!({"reason": "called in"}),
    );
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_field")),
        "{e}"
    );
    t.start("pin-3b", ADA_MOBILE);
    assert_eq!(
        done(&t.key_in("pin-3b", "2749")),
        ("transfer", "locked", "-")
    );
    // /metrics counts the lock once: the calls refused while it held put on none
    let locked = |by| t.i.metric("callvault_members_locked_total", &[("by", by)]);
    assert_eq!((locked("pins"), locked("answers")), (1.0, 0.0));
    let (s, _) = t.post(&t.agent, "/v1/members/1001/unlock", json!({}));
    assert_eq!(s, StatusCode::OK);
    t.start("pin-4", ADA_MOBILE);
    assert_eq!(
        done(&t.key_in("pin-4", "2749")),
        ("authenticated", "-", "pin")
    );
    // an agent forces a change: the PIN keyed a step ago is the current one, refused as new
    let (s, _) = t.post(&t.agent, "/v1/members/1001/force-pin-change", json!({}));
    assert_eq!(s, StatusCode::OK);
    t.start("pin-5", ADA_MOBILE);
    assert_eq!(t.key_in("pin-5", "2749")["field"], "new_pin");
    let step = t.key_in("pin-5", "2749");
    assert_eq!(
        (step["field"].as_str(), step["error"].as_str()),
        (Some("new_pin"), Some("same_as_current"))
    );
    t.key_in("pin-5", "583920");
    assert_eq!(
        done(&t.key_in("pin-5", "583920")),
        ("authenticated", "-", "pin")
    );
    t.start("pin-6", ADA_MOBILE);
    assert_eq!(
        done(&t.key_in("pin-6", "583920")),
        ("authenticated", "-", "pin")
    );

    // activation (seed 003): the placeholder equals the SSN's last 4
    t.start("act-1", "+16122030102");
    let step = t.key_in("act-1", "4321");
    assert_eq!(
        (step["status"].as_str(), step["question"].as_str()),
        (Some("activating"), Some("dob"))
    );
    t.key_in("act-1", "12091970");
    let step = t.key_in("act-1", "4321");
    assert_eq!(step["field"], "new_pin");
    let step = t.key_in("act-1", "1234");
    assert_eq!(
        (step["field"].as_str(), step["error"].as_str()),
        (Some("new_pin"), Some("sequence"))
    );
    let step = t.key_in("act-1", "918273645012");
    assert_eq!(step["field"], "confirm_pin");
    let step = t.key_in("act-1", "918273645013");
    assert_eq!(
        (step["field"].as_str(), step["error"].as_str()),
        (Some("new_pin"), Some("confirm_mismatch"))
    );
    t.key_in("act-1", "918273645012");
    assert_eq!(
        done(&t.key_in("act-1", "918273645012")),
        ("authenticated", "-", "pin")
    );
    // the new PIN works on the next call, with no activation
    t.start("act-2", "+16122030102");
    assert_eq!(
        done(&t.key_in("act-2", "918273645012")),
        ("authenticated", "-", "pin")
    );
    let audit = t.i.audit_events();
    assert!(
        audit.contains("activation_started")
            && audit.contains("pin_set")
            && audit.contains("member_locked")
    );
    for secret in ["2749", "583920", "918273645012", "918273645013", "4321"] {
        assert!(!holds_secret(&audit, secret), "{secret} in the audit log");
    }
    t.i.assert_never_written(&["918273645012", "918273645013"]);
    let db = std::fs::read(t.i.path("state/callvault.redb")).unwrap();
    assert!(
        !db.windows(12).any(|w| w == b"918273645012"),
        "a PIN in the clear in the store"
    );
}

/// An IVR that retries an input while the first is still being checked (its own timeout)
/// sends the same call two inputs at once; an agent may start the checklist meanwhile, and
/// the caller may hang up. Each takes its turn: both inputs are answered with a STEP (no 409
/// for the IVR's failure path), and every PIN the vault counted is audited with its step.
#[test]
fn inputs_sent_to_one_call_at_once_are_taken_in_turn() {
    let t = Calls::new(&format!("[lockout]\nmax_wrong_pins = 10\n{PIN_PROFILE}"));
    t.import_pins("member_id,pin\n1001,2749\n", true);
    for round in 0..3 {
        let call = format!("busy-{round}");
        assert_eq!(t.start(&call, ADA_MOBILE)["field"], "pin");
        // two inputs and an agent starting the checklist, all at once
        let (answers, checklist): (Vec<(StatusCode, Value)>, _) = std::thread::scope(|s| {
            let sent: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        t.post(
                            &t.ivr,
                            &format!("/v1/calls/{call}/input"),
                            json!({"digits": "1111"}),
                        )
                    })
                })
                .collect();
            let agent =
                s.spawn(|| t.post(&t.agent, &format!("/v1/calls/{call}/checklist"), json!({})));
            (
                sent.into_iter().map(|h| h.join().unwrap()).collect(),
                agent.join().unwrap(),
            )
        });
        assert_eq!(checklist.0, StatusCode::OK, "{}", checklist.1);
        let mut left: Vec<i64> = answers
            .iter()
            .map(|(s, step)| {
                assert_eq!(*s, StatusCode::OK, "round {round}: {step}");
                step["attempts_left"].as_i64().unwrap()
            })
            .collect();
        left.sort();
        assert_eq!(left, vec![1, 2], "round {round}: one after the other");
        t.c.delete(t.i.url(&format!("/v1/calls/{call}")))
            .bearer_auth(&t.ivr)
            .send()
            .unwrap();
    }
    // a wrong PIN and the hang-up at once: whichever goes first, a PIN the vault counted
    // has its step and its audit record
    for round in 0..3 {
        let call = format!("hang-{round}");
        t.start(&call, ADA_MOBILE);
        let (keyed, hung) = std::thread::scope(|s| {
            let keyed = s.spawn(|| {
                t.post(
                    &t.ivr,
                    &format!("/v1/calls/{call}/input"),
                    json!({"digits": "2222"}),
                )
            });
            let hung = s.spawn(|| {
                t.c.delete(t.i.url(&format!("/v1/calls/{call}")))
                    .bearer_auth(&t.ivr)
                    .send()
                    .unwrap()
                    .status()
            });
            (keyed.join().unwrap(), hung.join().unwrap())
        });
        assert!(hung.is_success(), "{hung}");
        assert!(
            keyed.0 == StatusCode::OK || keyed.1["code"] == "call_ended",
            "{keyed:?}"
        );
    }
    let audit = t.i.audit_events();
    let audited = audit
        .lines()
        .filter(|l| l.contains("\"pin_checked\"") && l.contains("pin: wrong"))
        .count();
    let out = t.i.cli(&["member", "show", "1001"]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let counted = shown["pin"]["wrong_pins"].as_u64().unwrap() as usize;
    assert_eq!(counted, audited, "wrong PINs counted and audited\n{audit}");
    assert!((6..=9).contains(&counted), "{counted}");
    // and the right PIN still works once an agent clears the count
    let (s, _) = t.post(&t.agent, "/v1/members/1001/unlock", json!({}));
    assert_eq!(s, StatusCode::OK);
    t.start("busy-after", ADA_MOBILE);
    assert_eq!(t.key_in("busy-after", "2749")["level"], "pin");
}

/// A service stopped while its first sweep still reads the stored calls (a restart just
/// after a start) closes its store cleanly: the next start does not repair the file, which
/// reads all of it.
#[test]
fn a_service_stopped_while_it_scans_stored_calls_closes_the_store_cleanly() {
    use redb::ReadableTable;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut t = Calls::new("");
    t.start("seed", ADA_MOBILE);
    t.i.stop();
    {
        let store = callvault::store::Store::open(&t.i.path("state")).unwrap();
        let txn = store.begin_write().unwrap();
        {
            let mut calls = txn.open_table(callvault::store::tables::CALLS).unwrap();
            let mut ids = txn.open_table(callvault::store::tables::CALL_IDS).unwrap();
            let (seed, row) = {
                let (k, v) = calls.first().unwrap().unwrap();
                (k.value(), v.value().to_vec())
            };
            for n in 1..=300_000 {
                calls.insert(seed + n, row.as_slice()).unwrap();
                let id = format!("bulk-{n:06}");
                ids.insert(seed + n, (id.as_str(), "")).unwrap();
            }
        }
        txn.commit().unwrap();
    }
    for _ in 0..2 {
        t.i.start();
        t.i.stop();
        let repaired = Arc::new(AtomicBool::new(false));
        let flag = repaired.clone();
        let db = redb::Database::builder()
            .set_repair_callback(move |_| flag.store(true, Ordering::SeqCst))
            .open(t.i.path("state").join(callvault::store::DB_FILE_NAME))
            .unwrap();
        drop(db);
        assert!(
            !repaired.load(Ordering::SeqCst),
            "the store was left open at exit and had to be repaired"
        );
    }
}

#[test]
fn a_call_survives_a_restart_and_keeps_its_profile_across_a_reload() {
    let mut t = Calls::new("");
    t.import_pins("member_id,pin\n1001,2749\n", true);
    let step = t.start("rs-1", ADA_MOBILE);
    assert_eq!(step["question"], "dob");
    t.key_in("rs-1", "03121984");
    t.i.stop();
    // the new config asks for a PIN from known numbers; the live call keeps its questions
    t.i.write_config(PIN_PROFILE);
    t.i.start();
    t.c = t.i.client();
    // the agent's lookup by number finds the call from before the restart
    let (s, found) = t.get(&t.agent, "/v1/calls?ani=6122030101&active=true");
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found[0]["call_id"], "rs-1", "{found}");
    let step = t.key_in("rs-1", "55401");
    assert_eq!(done(&step), ("authenticated", "-", "questions"));
    assert_eq!(
        t.start("rs-2", ADA_MOBILE)["field"],
        "pin",
        "new calls use the new profile"
    );

    // a reload with an impossible profile is refused and the running profiles stay
    let step = t.start("rl-1", ADA_MOBILE);
    assert_eq!(step["field"], "pin");
    t.i.write_config("\n[profiles.members]\ndefault = true\n[profiles.members.ivr.known_number]\nmethods = [\"dob\", \"zip\"]\nmin_correct = 3\n");
    let (s, e) = t.post(&t.i.admin.clone(), "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("profiles.members.ivr.known_number.min_correct"),
        "{e}"
    );
    assert_eq!(t.start("rl-2", ADA_MOBILE)["field"], "pin");
    // a good reload swaps the profiles for new calls only
    t.i.write_config("");
    let (s, r) = t.post(&t.i.admin.clone(), "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["warnings"], json!([]), "{r}");
    assert_eq!(t.start("rl-3", ADA_MOBILE)["field"], "question");
    // a known number that needs nothing is taken, with the warning config check prints
    t.i.write_config("\n[profiles.members]\ndefault = true\n[profiles.members.ivr.known_number]\nmethods = []\nmin_correct = 0\n");
    let (s, r) = t.post(&t.i.admin.clone(), "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(
        r["warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with("profiles.members.ivr.known_number.methods: ")),
        "{r}"
    );
    let step = t.start("rl-4", ADA_MOBILE);
    // no proof to name: the level is null (not app_intent), the trust says why
    assert_eq!(done(&step), ("authenticated", "-", "-"), "{step}");
    assert!(step["level"].is_null(), "{step}");
    assert_eq!(step["trust"], "known_number", "{step}");
    // and logged: at the reload, and again when the service starts on that file
    let logged = |i: &Instance, n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let log = i.service_log();
            let count = log
                .matches("profiles.members.ivr.known_number.methods")
                .count();
            if count >= n || std::time::Instant::now() >= deadline {
                return count;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    assert_eq!(logged(&t.i, 1), 1);
    t.i.stop();
    t.i.start();
    assert_eq!(logged(&t.i, 2), 2, "{}", t.i.service_log());
    let (_, view) = t.get(&t.agent, "/v1/calls/rl-1");
    assert_eq!(
        view["step"]["field"], "pin",
        "the live call keeps its profile"
    );
}

#[test]
fn a_profile_words_the_agent_s_questions_and_verdicts_its_own_way() {
    let t = Calls::new(
        "\n[profiles.members]\ndefault = true\n[profiles.members.agent_texts]\n\
         place_of_birth = \"¿Dónde nació?\"\nverified = \"Verified: go ahead.\"\n",
    );
    t.start("words-1", ADA_MOBILE);
    let (s, list) = t.post(&t.agent, "/v1/calls/words-1/checklist", json!({}));
    assert_eq!(s, StatusCode::OK, "{list}");
    let texts: Vec<(&str, &str)> = list["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["id"].as_str().unwrap(), q["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        texts,
        [
            ("last_txn_amount", "How much was your last transaction?"),
            ("place_of_birth", "¿Dónde nació?"),
            (
                "savings_balance",
                "How much money do you have in your main savings account?"
            ),
        ]
    );
    for q in ["last_txn_amount", "place_of_birth"] {
        t.post(
            &t.agent,
            &format!("/v1/calls/words-1/checklist/{q}"),
            json!({"correct": true}),
        );
    }
    let (_, again) = t.post(&t.agent, "/v1/calls/words-1/checklist", json!({}));
    assert_eq!(
        (&again["result"], &again["message"]),
        (&json!("verified"), &json!("Verified: go ahead.")),
        "{again}"
    );
    // the call keeps the words it started with: a reload changes new calls only
    t.i.write_config("");
    let (s, _) = t.post(&t.i.admin.clone(), "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::OK);
    let (_, kept) = t.post(&t.agent, "/v1/calls/words-1/checklist", json!({}));
    assert_eq!(kept["message"], "Verified: go ahead.", "{kept}");
    t.start("words-2", ADA_MOBILE);
    let (_, fresh) = t.post(&t.agent, "/v1/calls/words-2/checklist", json!({}));
    assert_eq!(
        fresh["questions"][1]["text"], "Where were you born?",
        "{fresh}"
    );
}

#[test]
fn a_checklist_decided_before_any_question_marks_and_audits_its_verdict() {
    // 1004's record answers none of the known-number checklist's questions (last
    // transaction, place of birth, savings balance); 1002 calls from the app
    let members = format!(
        "{MEMBERS}1004,Katherine,Johnson,+16122030104,mobile,,1918-08-26,55404,2468,,,,,90004\n"
    );
    let t = Calls::with_members("", &members);
    t.start("sparse-1", "+16122030104");
    let (s, list) = t.post(&t.agent, "/v1/calls/sparse-1/checklist", json!({}));
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(
        (&list["result"], &list["total"], &list["required"]),
        (&json!("not_verified"), &json!(0), &json!(2)),
        "{list}"
    );
    let (_, view) = t.get(&t.agent, "/v1/calls/sparse-1");
    assert_eq!(view["verified"], false, "{view}");
    assert_eq!(view["member"]["last_verification"]["how"], "checklist");
    // started again: the same checklist, no second verdict
    let (_, again) = t.post(&t.agent, "/v1/calls/sparse-1/checklist", json!({}));
    assert_eq!(again["result"], "not_verified");
    // counted once in /metrics, as the verdict it was
    let verdicts = |result| {
        t.i.metric(
            "callvault_member_verdicts_total",
            &[("method", "checklist"), ("result", result)],
        )
    };
    assert_eq!((verdicts("verified"), verdicts("not_verified")), (0.0, 1.0));

    // from the app: nothing to ask, verified at once
    let (_, intent) = t.post(&t.app, "/v1/intents", json!({"member_id": "1002"}));
    let token = intent["app_token"].as_str().unwrap().to_string();
    t.post(
        &t.ivr,
        "/v1/calls",
        json!({"call_id": "app-1", "ani": "anonymous", "app_token": token}),
    );
    let (_, list) = t.post(&t.agent, "/v1/calls/app-1/checklist", json!({}));
    assert_eq!(
        (&list["result"], &list["total"]),
        (&json!("verified"), &json!(0))
    );
    assert_eq!((verdicts("verified"), verdicts("not_verified")), (1.0, 1.0));

    let audit = t.i.audit_export();
    let verdicts: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("\"member_verified\""))
        .collect();
    assert_eq!(verdicts.len(), 2, "{audit}");
    assert!(
        verdicts[0].contains(
            "checklist: not verified (the member's record answers 0 of the 3 questions, 2 needed)"
        ),
        "{}",
        verdicts[0]
    );
    assert!(
        verdicts[1].contains("checklist: verified (nothing to ask at trust app_intent)"),
        "{}",
        verdicts[1]
    );
}

#[test]
fn wrong_answers_count_per_member_across_calls() {
    let t = Calls::new("[lockout]\nmax_wrong_answers = 2\n");
    let verdict = |call: &str| {
        let (_, view) = t.get(&t.agent, &format!("/v1/calls/{call}"));
        let last = &view["member"]["last_verification"];
        (
            last["verified"].clone(),
            last["how"].clone(),
            last["call_id"].clone(),
        )
    };
    // one wrong answer, then two right ones: authenticated, and a caller who proved who
    // they are starts afresh (the wrong answer no longer counts)
    t.start("q-0", ADA_MOBILE);
    assert_eq!(t.key_in("q-0", "01011999")["error"], "wrong_answer");
    t.key_in("q-0", "55401");
    let step = t.key_in("q-0", "6789");
    assert_eq!(done(&step), ("authenticated", "-", "questions"));
    assert_eq!(
        verdict("q-0"),
        (json!(true), json!("ivr:questions"), json!("q-0")),
        "the member's verdict, and how the IVR reached it"
    );
    // one wrong answer, then the caller hangs up
    t.start("q-1", ADA_MOBILE);
    assert_eq!(t.key_in("q-1", "01011999")["error"], "wrong_answer");
    t.c.delete(t.i.url("/v1/calls/q-1"))
        .bearer_auth(&t.ivr)
        .send()
        .unwrap();
    // both of /metrics' lock series are there before any lock, so a first one is an increase
    let served = t.i.metrics_text();
    for by in ["pins", "answers"] {
        let series = format!("callvault_members_locked_total{{by=\"{by}\"}} 0");
        assert!(served.lines().any(|l| l == series), "{series} in {served}");
    }
    // calling again gives no fresh tries: the second wrong answer locks
    t.start("q-2", ADA_MOBILE);
    assert_eq!(
        done(&t.key_in("q-2", "02021999")),
        ("transfer", "locked", "-")
    );
    assert_eq!(
        verdict("q-2"),
        (json!(false), json!("ivr:locked"), json!("q-2"))
    );
    // while locked even the right answer is not compared
    t.start("q-3", ADA_MOBILE);
    assert_eq!(
        done(&t.key_in("q-3", "03121984")),
        ("transfer", "locked", "-")
    );
    // another member is not affected
    t.start("q-4", "+16122030102");
    assert_eq!(t.key_in("q-4", "12091970")["question"], "zip");
    // one lock, by answers: q-3, refused while it held, put on none
    let locked = |by| t.i.metric("callvault_members_locked_total", &[("by", by)]);
    assert_eq!((locked("pins"), locked("answers")), (0.0, 1.0));
    // the admin sees the lock (`member show`, `vault status`), and not as a PIN's
    let cli = |args: &[&str]| {
        let out = t.i.cli(args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let shown: Value = serde_json::from_str(&cli(&["member", "show", "1001"])).unwrap();
    assert_eq!(
        (
            &shown["questions"]["wrong_answers"],
            &shown["questions"]["locked"]
        ),
        (&json!(2), &json!(true)),
        "{shown}"
    );
    assert!(shown["questions"]["locked_until"].is_string(), "{shown}");
    assert_eq!(shown["pin"]["locked"], json!(false), "{shown}");
    let status = cli(&["vault", "status"]);
    assert!(
        status.contains("locked members: 0 (wrong PINs)")
            && status.contains("locked out of questions: 1 (wrong keypad answers)"),
        "{status}"
    );
    // an agent's unlock ends it, as it ends a PIN's lock: questions are asked again
    let (s, body) = t.post(&t.agent, "/v1/members/1001/unlock", json!({}));
    assert_eq!(
        (s, &body["was_locked"]),
        (StatusCode::OK, &json!(true)),
        "{body}"
    );
    t.start("q-5", ADA_MOBILE);
    assert_eq!(t.key_in("q-5", "03121984")["question"], "zip");
    let shown: Value = serde_json::from_str(&cli(&["member", "show", "1001"])).unwrap();
    assert_eq!(shown["questions"]["locked"], json!(false), "{shown}");
    let audit = cli(&["audit", "export"]);
    assert!(
        audit.lines().any(|l| l.contains("\"member_unlocked\"")
            && l.contains("wrong-answer count cleared")
            && l.contains("key:agent1")),
        "{audit}"
    );
    assert!(
        cli(&["member", "unlock", "1001"]).contains("was not locked"),
        "nothing left to clear"
    );
}

/// A REST core at `addr` with a 300 ms budget.
/// A stand-in gateway's routes: Zed (member 9001) holds Ada's mobile number.
fn zed_at_adas_number() -> Vec<(&'static str, &'static str)> {
    const ZED: &str = r#"{"member_id": "9001", "first_name": "Zed", "mobile_phone": "+16122030101", "dob": "1990-02-03", "zip": "55401"}"#;
    let listed: &'static str = Box::leak(format!("[{ZED}]").into_boxed_str());
    vec![("phone=%2B16122030101", listed), ("/members/9001", ZED)]
}

fn rest_core(addr: &str) -> String {
    format!(
        "[core]\ntype = \"rest\"\ntimeout_ms = 300\n[core.rest]\nconnect_timeout_ms = 100\nbase_url = \"http://{addr}\"\n"
    )
}

/// A stand-in core gateway that checks PINs: GETs answer by the path as
/// [`crate::harness::stand_in_gateway`]'s do; a POST to `/members/{id}/pin` is judged by its
/// JSON body (`{"pin": "482719"}` is Zed's PIN, and Kit's, 9009; Nia, 9003, has none: 404; Oz's, 9005, is
/// checked by a core that fails: 500, as Lu's, 9007, whose record says `"has_pin": "N"`).
/// Its address, and the PIN checks it answered.
fn pin_checking_gateway() -> (String, Arc<AtomicUsize>) {
    use std::io::{BufRead, BufReader, Read, Write};
    const ZED: &str = r#"{"member_id": "9001", "first_name": "Zed", "mobile_phone": "+16122030101", "dob": "1990-02-03", "has_pin": true}"#;
    const NIA: &str = r#"{"member_id": "9003", "first_name": "Nia", "mobile_phone": "+16122030102", "dob": "1991-03-04"}"#;
    const OZ: &str = r#"{"member_id": "9005", "first_name": "Oz", "mobile_phone": "+16122030103", "dob": "1992-04-05"}"#;
    const LU: &str = r#"{"member_id": "9007", "first_name": "Lu", "mobile_phone": "+16122030104", "dob": "1993-05-06", "has_pin": "N"}"#;
    const KIT: &str = r#"{"member_id": "9009", "first_name": "Kit", "mobile_phone": "+16122030105", "dob": "1994-06-07"}"#;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let checks = Arc::new(AtomicUsize::new(0));
    let counted = checks.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut line, mut length) = (String::new(), 0);
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let (status, answer) = if line.starts_with("POST /members/9001/pin ")
                || line.starts_with("POST /members/9009/pin ")
            {
                counted.fetch_add(1, Ordering::SeqCst);
                let sent: Value = serde_json::from_slice(&body).unwrap_or_default();
                let valid = sent["pin"] == "482719";
                (200, format!("{{\"valid\": {valid}}}"))
            } else if line.starts_with("POST /members/9003/pin ") {
                (404, String::new())
            } else if line.starts_with("POST ") {
                (500, String::new())
            } else {
                let found = [
                    ("phone=%2B16122030101", ZED, true),
                    ("phone=%2B16122030102", NIA, true),
                    ("phone=%2B16122030103", OZ, true),
                    ("phone=%2B16122030104", LU, true),
                    ("phone=%2B16122030105", KIT, true),
                    ("/members/9001 ", ZED, false),
                    ("/members/9003 ", NIA, false),
                    ("/members/9005 ", OZ, false),
                    ("/members/9007 ", LU, false),
                    ("/members/9009 ", KIT, false),
                ]
                .into_iter()
                .find(|(key, _, _)| line.contains(key));
                match found {
                    Some((_, m, true)) => (200, format!("[{m}]")),
                    Some((_, m, false)) => (200, m.to_string()),
                    None => (200, "[]".to_string()),
                }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (addr, checks)
}

/// A core that holds members' PINs (`[core.rest.pin]`): a member the vault holds no PIN
/// for is asked for one and the core checks it, once per keyed PIN; wrong ones count in
/// callvault's lockout; with `keep`, the first right one is sealed into the vault, which
/// checks it from then on. A member the core holds no PIN for goes on as one without (not
/// asked for one when the core's record says so), and a core that fails the check
/// transfers the caller. The PIN is never written to a log.
#[test]
fn a_core_that_holds_pins_checks_them_and_may_hand_them_to_the_vault() {
    let (gateway, checks) = pin_checking_gateway();
    let t = Calls::new("");
    let admin = t.i.admin.clone();
    let configure = |keep: bool| {
        t.i.write_config(&format!(
            "{}\n[core.rest.pin]\nkeep = {keep}\n\n[lockout]\nmax_wrong_pins = 3\n\
             [profiles.members]\ndefault = true\n[profiles.members.activation]\nenabled = false\n\
             [profiles.members.ivr.known_number]\nmethods = [\"pin\", \"dob\"]\nmin_correct = 1\nattempts = 2\n",
            rest_core(&gateway)
        ));
        let (s, r) = t.post(&admin, "/v1/admin/reload", json!({}));
        assert_eq!(s, StatusCode::OK, "{r}");
    };
    configure(false);
    let step = t.start("cp-1", "+16122030101");
    assert_eq!(
        (&step["member_id"], &step["field"]),
        (&json!("9001"), &json!("pin")),
        "{step}"
    );
    let step = t.key_in("cp-1", "111111");
    assert_eq!(
        (&step["error"], &step["field"]),
        (&json!("wrong_pin"), &json!("pin")),
        "{step}"
    );
    assert_eq!(
        done(&t.key_in("cp-1", "482719")),
        ("authenticated", "-", "pin")
    );
    assert_eq!(checks.load(Ordering::SeqCst), 2);
    // a call from `ani` in which the caller keys `pin`: how it ended
    let one_pin = |call: &str, ani: &str, pin: &str| {
        t.start(call, ani);
        let step = t.key_in(call, pin);
        let (outcome, reason, level) = done(&step);
        (outcome.to_string(), reason.to_string(), level.to_string())
    };
    let said = |outcome: &str, reason: &str, level: &str| {
        (outcome.to_string(), reason.to_string(), level.to_string())
    };
    let zed = "+16122030101";
    // without keep the core stays the PIN's keeper: asked again on the next call
    assert_eq!(
        one_pin("cp-2", zed, "482719"),
        said("authenticated", "-", "pin")
    );
    assert_eq!(checks.load(Ordering::SeqCst), 3);
    // wrong PINs count in callvault's own lockout, across calls, and a locked member's PIN
    // is not sent to the core
    t.start("cp-3", zed);
    t.key_in("cp-3", "111111");
    t.key_in("cp-3", "222222");
    assert_eq!(
        one_pin("cp-4", zed, "333333"),
        said("transfer", "locked", "-")
    );
    assert_eq!(
        one_pin("cp-5", zed, "482719"),
        said("transfer", "locked", "-")
    );
    assert_eq!(checks.load(Ordering::SeqCst), 6);
    let out = t.i.cli(&["member", "unlock", "9001"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // with keep, the first right PIN is sealed into the vault, which checks it from then on
    configure(true);
    assert_eq!(
        one_pin("cp-6", zed, "482719"),
        said("authenticated", "-", "pin")
    );
    assert_eq!(checks.load(Ordering::SeqCst), 7);
    assert_eq!(
        one_pin("cp-7", zed, "482719"),
        said("authenticated", "-", "pin")
    );
    assert_eq!(checks.load(Ordering::SeqCst), 7, "the vault checked it");
    // `member show` says where each one's PIN is checked
    let storage = |id: &str| {
        let out = t.i.cli(&["member", "show", id]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
        shown["pin"]["storage"].clone()
    };
    assert_eq!(
        (storage("9001"), storage("9003")),
        (json!("bcrypt"), json!("core"))
    );
    // a member the core holds no PIN for goes on as one without: the next method
    t.start("cp-8", "+16122030102");
    let step = t.key_in("cp-8", "482719");
    assert_eq!(
        (&step["field"], &step["question"], &step["error"]),
        (&json!("question"), &json!("dob"), &Value::Null),
        "{step}"
    );
    // a member the core says it holds no PIN for (`has_pin`) is not asked for one
    let step = t.start("cp-10", "+16122030104");
    assert_eq!(
        (&step["member_id"], &step["field"], &step["question"]),
        (&json!("9007"), &json!("question"), &json!("dob")),
        "{step}"
    );
    assert_eq!(storage("9007"), Value::Null);
    // a forced change for a member whose PIN the core holds: after the next right one the
    // member chooses a new PIN, which is the vault's from then on
    let (s, r) = t.post(&t.agent, "/v1/members/9009/force-pin-change", json!({}));
    assert_eq!(s, StatusCode::OK, "{r}");
    let before = checks.load(Ordering::SeqCst);
    t.start("cp-11", "+16122030105");
    let step = t.key_in("cp-11", "482719");
    assert_eq!(
        (&step["status"], &step["field"]),
        (&json!("changing_pin"), &json!("new_pin")),
        "{step}"
    );
    t.key_in("cp-11", "135790");
    assert_eq!(
        done(&t.key_in("cp-11", "135790")),
        ("authenticated", "-", "pin")
    );
    assert_eq!(
        one_pin("cp-12", "+16122030105", "135790"),
        said("authenticated", "-", "pin")
    );
    assert_eq!(
        checks.load(Ordering::SeqCst),
        before + 1,
        "the vault checked it"
    );
    assert_eq!(storage("9009"), json!("bcrypt"));
    // from the CLI too, and `member show` says it stands
    let out = t.i.cli(&["member", "force-pin-change", "9003"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = t.i.cli(&["member", "show", "9003"]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&shown["pin"]["force_change"], &shown["pin"]["storage"]),
        (&json!(true), &json!("core")),
        "{shown}"
    );
    // through the service too, how the gateway's answer was read
    assert_eq!(
        (
            &shown["core_fields"]["dob"],
            &shown["core_fields"]["has_pin"]
        ),
        (&json!("read at /dob"), &json!("absent at /has_pin")),
        "{shown}"
    );
    // a core that fails the check: core_unavailable, and nothing counted
    assert_eq!(
        one_pin("cp-9", "+16122030103", "482719"),
        said("transfer", "core_unavailable", "-")
    );
    let metrics = t.i.metrics_text();
    let asked = |result: &str| {
        crate::harness::metric_in(
            &metrics,
            "callvault_core_requests_total",
            &[("op", "pin"), ("result", result)],
        )
    };
    // cp-1 twice, cp-2, cp-3 twice, cp-4, cp-6, cp-8 (a 404 is an answer) and cp-11;
    // cp-9's 500
    assert_eq!((asked("ok"), asked("unavailable")), (9.0, 1.0), "{metrics}");
    // the audit record says which checked each PIN
    let audit = t.i.audit_events();
    let said = |detail: &str| audit.matches(&format!("\"{detail}\"")).count();
    assert_eq!(
        (
            said("pin: correct (checked by the core)"),
            said("pin: wrong (checked by the core)"),
            said("pin: correct"),
            said("pin: member locked"),
        ),
        (4, 4, 2, 1),
        "{audit}"
    );
    t.i.assert_never_written(&["482719", "111111", "333333", "135790"]);
}

/// A core that dates the last transaction as an instant in UTC: `2026-12-01T03:30:00Z` was
/// 21:30 on November 30 in Chicago, the day the member answers. With
/// `core.rest.time_zone = "Etc/UTC"` (a reload builds the adapter anew) it is December 1.
#[test]
fn a_last_transaction_the_core_dates_in_utc_is_asked_as_the_credit_union_s_day() {
    const KAY: &str = r#"{"member_id": "9002", "first_name": "Kay", "mobile_phone": "+16122030101", "last_txn_date": "2026-12-01T03:30:00Z"}"#;
    let listed: &'static str = Box::leak(format!("[{KAY}]").into_boxed_str());
    let gateway = crate::harness::stand_in_gateway(vec![
        ("phone=%2B16122030101", listed),
        ("/members/9002", KAY),
    ]);
    let t = Calls::new("");
    let admin = t.i.admin.clone();
    let in_zone = |zone: &str| {
        t.i.write_config(&format!(
            "{}time_zone = \"{zone}\"\n\n[profiles.members]\ndefault = true\n\
             [profiles.members.ivr.known_number]\nmethods = [\"last_txn_date\"]\nmin_correct = 1\n",
            rest_core(&gateway)
        ));
        let (s, r) = t.post(&admin, "/v1/admin/reload", json!({}));
        assert_eq!(s, StatusCode::OK, "{r}");
    };
    let answer = |call: &str, digits: &str| {
        let step = t.start(call, ADA_MOBILE);
        assert_eq!(
            (&step["member_id"], &step["question"]),
            (&json!("9002"), &json!("last_txn_date")),
            "{step}"
        );
        t.key_in(call, digits)
    };
    in_zone("America/Chicago");
    assert_eq!(
        done(&answer("tz-1", "11302026")),
        ("authenticated", "-", "questions")
    );
    in_zone("Etc/UTC");
    assert_eq!(done(&answer("tz-2", "11302026")).0, "transfer");
    assert_eq!(
        done(&answer("tz-3", "12012026")),
        ("authenticated", "-", "questions")
    );
}

/// A member id that cannot be one (65 characters) is `404` before any core is asked: with a
/// core that cannot be reached, an id that could be one is `503`, and that one is not, on
/// each route that takes a member id.
#[test]
fn a_member_id_that_cannot_be_one_is_not_asked_of_the_core() {
    let t = Calls::new(&rest_core(&format!(
        "127.0.0.1:{}",
        crate::harness::free_port()
    )));
    let admin = t.i.admin.clone();
    let long = "1".repeat(65);
    for (id, status) in [
        ("1001", StatusCode::SERVICE_UNAVAILABLE),
        (long.as_str(), StatusCode::NOT_FOUND),
    ] {
        let answers = [
            t.get(&admin, &format!("/v1/members/{id}")),
            t.post(&t.agent, &format!("/v1/members/{id}/unlock"), json!({})),
            t.post(&t.app, "/v1/intents", json!({"member_id": id})),
        ];
        for (route, (s, b)) in ["show", "unlock", "intent"].iter().zip(answers) {
            assert_eq!(s, status, "{route} {}: {b}", &id[..4]);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                // said once (an intent's said it twice before 2026-12-06)
                let message = b["message"].as_str().unwrap();
                assert!(
                    message.starts_with("the core is unavailable: core.rest.base_url: ")
                        && message.matches("unavailable").count() == 1,
                    "{route}: {b}"
                );
            }
            if status == StatusCode::NOT_FOUND {
                let message = b["message"].as_str().unwrap();
                assert!(message.contains("a member_id is 1 to 64"), "{route}: {b}");
                assert!(!message.contains(&long), "{route}: {b}");
            }
        }
    }
}

/// An app token presented while the core cannot be reached is not used up, and the record
/// says why: back on a core that answers, the same token authenticates.
#[test]
fn an_app_token_presented_while_the_core_is_down_is_kept_and_recorded() {
    let t = Calls::new("");
    let (s, intent) = t.post(&t.app, "/v1/intents", json!({"member_id": "1001"}));
    assert_eq!(s, StatusCode::CREATED, "{intent}");
    let token = intent["app_token"].as_str().unwrap().to_string();
    let reload = |config: &str| {
        t.i.write_config(config);
        let (s, r) = t.post(&t.i.admin.clone(), "/v1/admin/reload", json!({}));
        assert_eq!(s, StatusCode::OK, "{r}");
    };
    let call = |id: &str| {
        let body = json!({"call_id": id, "ani": "anonymous", "app_token": token});
        t.post(&t.ivr, "/v1/calls", body).1
    };
    reload(&rest_core(&format!(
        "127.0.0.1:{}",
        crate::harness::free_port()
    )));
    assert_eq!(done(&call("down-1")), ("transfer", "core_unavailable", "-"));
    let records = t.i.audit_events();
    let record = (records.lines())
        .find(|l| l.contains("\"intent_used\"") && l.contains("down-1"))
        .unwrap_or_else(|| panic!("{records}"));
    assert!(
        record.contains("\"outcome\":\"denied\"")
            && record.contains("app token not used: the core could not be reached")
            && !record.contains(&token),
        "{record}"
    );
    reload("");
    assert_eq!(call("up-1")["level"], "app_intent");
}

#[test]
fn a_core_that_does_not_answer_transfers_within_the_timeout() {
    // refused: nothing listens on the port
    let refused = format!("127.0.0.1:{}", crate::harness::free_port());
    // silent: the connection is accepted by the kernel but no answer ever comes
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    for addr in [refused, silent_addr] {
        let t = Calls::new(&format!("{}breaker_failures = 1\n", rest_core(&addr)));
        assert_eq!(t.i.metric("callvault_core_breaker_open", &[]), 0.0);
        let started = std::time::Instant::now();
        let step = t.start("core-1", ADA_MOBILE);
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_millis(1500),
            "{addr}: {took:?}"
        );
        assert_eq!(done(&step), ("transfer", "core_unavailable", "-"), "{addr}");
        // in /metrics: the question that failed (refused, or given up on at the timeout
        // when the gateway says nothing), and the breaker it opened
        let failed = |result| {
            t.i.metric(
                "callvault_core_requests_total",
                &[
                    ("core", "rest"),
                    ("op", "member_by_phone"),
                    ("result", result),
                ],
            )
        };
        assert_eq!(failed("unavailable") + failed("timeout"), 1.0, "{addr}");
        assert_eq!(
            t.i.metric("callvault_core_breaker_open", &[]),
            1.0,
            "{addr}"
        );
    }
    drop(silent);
}

/// A reload takes a configuration whose code channel's CA file, or whose vault key file
/// (read only at a restart), cannot be used, and says so: the one would fail every code it
/// sends, the other the next restart. A client CA file it cannot use refuses the reload,
/// since the reload would load it.
#[test]
fn a_reload_warns_of_the_files_it_does_not_load() {
    use std::os::unix::fs::PermissionsExt;
    let t = Calls::new("");
    let admin = t.i.admin.clone();
    let empty = t.i.path("etc/empty-ca.pem");
    std::fs::write(&empty, "# the gateway's CA goes here\n").unwrap();
    let sms = format!("[notify.sms]\nurl = \"https://sms.cu.example/send\"\nca_file = {empty:?}\n");
    t.i.write_config(&format!("client_ca = {empty:?}\n{sms}"));
    let (s, r) = t.post(&admin, "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let why = r["message"].as_str().unwrap();
    assert!(
        why.contains("server.client_ca") && why.contains("no certificate"),
        "{r}"
    );

    let key_file = t.i.path("etc/vault.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o640)).unwrap();
    t.i.write_config(&format!("keep_alive_seconds = 30\n{sms}"));
    let (s, r) = t.post(&admin, "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        r["restart_needed_for"],
        json!(["server.keep_alive_seconds"]),
        "{r}"
    );
    // and the audit record says it in words
    assert!(
        (t.i.audit_events().lines()).any(|l| l
            .contains("\"detail\":\"a restart is needed for server.keep_alive_seconds\"")),
        "{}",
        t.i.audit_events()
    );
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    assert_eq!(warnings.len(), 2, "{r}");
    assert!(
        (warnings.iter())
            .any(|w| w.starts_with("notify.sms.ca_file: ") && w.contains("no certificate")),
        "{r}"
    );
    // the file only a start reads is still served from what was read then; the next start
    // would fail on it. A code channel's CA file is read at each send.
    let at_restart = "a restart would fail on this one";
    for (key, said) in [("vault.key_file", true), ("notify.sms.ca_file", false)] {
        assert!(
            (warnings.iter()).any(|w| w.starts_with(key) && w.contains(at_restart) == said),
            "{key}: {r}"
        );
    }
}

/// A reload that points `[core.rest]` at another gateway (or back at the embedded directory)
/// takes effect from the next call, with no restart; one whose core cannot be built is
/// refused and the running core stays.
#[test]
fn a_reload_points_new_calls_at_another_core() {
    let t = Calls::new("");
    assert_eq!(t.start("co-1", ADA_MOBILE)["member_id"], "1001");
    // a gateway that holds Zed at Ada's number
    let gateway = crate::harness::stand_in_gateway(zed_at_adas_number());
    let admin = t.i.admin.clone();
    t.i.write_config(&rest_core(&gateway));
    let (s, r) = t.post(&admin, "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["restart_needed_for"], json!([]), "{r}");
    let step = t.start("co-2", ADA_MOBILE);
    assert_eq!(
        (&step["member_id"], &step["first_name"]),
        (&json!("9001"), &json!("Zed")),
        "{step}"
    );

    // a CA file that cannot be read: refused, naming the key; the gateway stays in use
    let missing = t.i.dir.path().join("no-such-ca.pem");
    t.i.write_config(&format!(
        "{}ca_file = \"{}\"\n",
        rest_core(&gateway),
        missing.display()
    ));
    let (s, e) = t.post(&admin, "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("core.rest.ca_file"),
        "{e}"
    );
    assert_eq!(t.start("co-3", ADA_MOBILE)["member_id"], "9001");

    // back to the embedded directory
    t.i.write_config("");
    let (s, r) = t.post(&admin, "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(t.start("co-4", ADA_MOBILE)["member_id"], "1001");

    // counted in /metrics by core, operation and result
    let asked = |core| {
        t.i.metric(
            "callvault_core_requests_total",
            &[("core", core), ("op", "member_by_phone"), ("result", "ok")],
        )
    };
    assert_eq!((asked("embedded"), asked("rest")), (2.0, 2.0));

    // audited: each rebuild, and the refusal with its reason
    let details = |kind: &str| -> Vec<String> {
        t.i.audit_events()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| r["kind"] == kind)
            .map(|r| r["detail"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let rebuilt: Vec<String> = details("config_reloaded")
        .into_iter()
        .filter(|d| d.contains("core adapter rebuilt"))
        .collect();
    assert_eq!(rebuilt.len(), 2, "{rebuilt:?}");
    assert!(
        rebuilt[0].ends_with("core adapter rebuilt (rest)"),
        "{rebuilt:?}"
    );
    assert!(
        rebuilt[1].ends_with("core adapter rebuilt (embedded)"),
        "{rebuilt:?}"
    );
    let refused = details("config_reload_refused");
    assert!(
        refused.len() == 1 && refused[0].starts_with("core.rest.ca_file "),
        "{refused:?}"
    );
}

/// A core gateway over TLS is trusted through `core.rest.ca_file`, or through the system's
/// roots, where a credit union installs its own CA (`SSL_CERT_FILE` stands in here for
/// /etc/ssl/certs), and not otherwise: the call is then transferred as `core_unavailable`,
/// and the log says the certificate is why.
#[test]
fn a_core_over_tls_is_trusted_through_its_ca_file_or_the_systems_roots() {
    let (gateway, ca) = crate::harness::stand_in_tls_gateway(zed_at_adas_number());
    let core = format!(
        "[core]\ntype = \"rest\"\ntimeout_ms = 3000\n[core.rest]\nbase_url = \"https://{gateway}\"\n"
    );
    let mut t = Calls::new(&core);
    let ca_file = t.i.path("etc/core-ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let admin = t.i.admin.clone();

    // trusted by nothing: transferred, and the log says why
    let step = t.start("tls-1", ADA_MOBILE);
    assert_eq!(done(&step), ("transfer", "core_unavailable", "-"), "{step}");
    let log = t.i.service_log_with("UnknownIssuer");
    assert!(log.contains("UnknownIssuer"), "{log}");

    // through core.rest.ca_file
    t.i.write_config(&format!("{core}ca_file = {ca_file:?}\n"));
    let (s, r) = t.post(&admin, "/v1/admin/reload", json!({}));
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(t.start("tls-2", ADA_MOBILE)["member_id"], "9001");

    // through the system's roots
    t.i.write_config(&core);
    t.i.stop();
    t.i.serve_env.push(("SSL_CERT_FILE".into(), ca_file.into()));
    t.i.start();
    assert_eq!(t.start("tls-3", ADA_MOBILE)["member_id"], "9001");
}

/// A core gateway that asks for a client certificate (mutual TLS) is shown the one
/// `core.rest.client_cert` and `client_key` name; without it the call is transferred as
/// `core_unavailable`, with the gateway's refusal in the log. `config check` reads the pair
/// as the adapter does: a key that is not the certificate's is a problem under its key, a
/// key every local user may read a warning.
#[test]
fn a_core_that_asks_for_a_client_certificate_is_shown_the_configured_one() {
    let client = rcgen::generate_simple_self_signed(vec!["callvault".into()]).unwrap();
    let (gateway, ca) = crate::harness::stand_in_mtls_gateway(
        zed_at_adas_number(),
        Some(client.cert.der().clone()),
    );
    let t = Calls::new("");
    let etc = |name: &str| t.i.path(&format!("etc/{name}"));
    let (ca_file, cert, key) = (etc("core-ca.pem"), etc("client.crt"), etc("client.key"));
    std::fs::write(&ca_file, ca).unwrap();
    std::fs::write(&cert, client.cert.pem()).unwrap();
    std::fs::write(&key, client.key_pair.serialize_pem()).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let core = format!(
        "[core]\ntype = \"rest\"\ntimeout_ms = 3000\n[core.rest]\nbase_url = \"https://{gateway}\"\n\
         ca_file = {ca_file:?}\n"
    );
    let admin = t.i.admin.clone();
    let reload = |t: &Calls, config: &str| {
        t.i.write_config(config);
        t.post(&admin, "/v1/admin/reload", json!({}))
    };

    // no certificate: refused by the gateway
    let (s, r) = reload(&t, &core);
    assert_eq!(s, StatusCode::OK, "{r}");
    let step = t.start("mtls-1", ADA_MOBILE);
    assert_eq!(done(&step), ("transfer", "core_unavailable", "-"), "{step}");
    let log = t.i.service_log_with("CertificateRequired");
    assert!(log.contains("CertificateRequired"), "{log}");

    // the configured one
    let with_pair = format!("{core}client_cert = {cert:?}\nclient_key = {key:?}\n");
    let (s, r) = reload(&t, &with_pair);
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(t.start("mtls-2", ADA_MOBILE)["member_id"], "9001");

    // another key: config check names it, and a reload is refused, keeping the pair in use
    let other = rcgen::KeyPair::generate().unwrap();
    let wrong = etc("other.key");
    std::fs::write(&wrong, other.serialize_pem()).unwrap();
    std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let wrong_pair = format!("{core}client_cert = {cert:?}\nclient_key = {wrong:?}\n");
    t.i.write_config(&wrong_pair);
    let out = t.i.cli(&["config", "check"]);
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "core.rest.client_key: {} is not the key of {}",
            wrong.display(),
            cert.display()
        )),
        "{said}"
    );
    assert!(
        said.contains("core.rest.client_key: TLS key") && said.contains("has mode 0644"),
        "{said}"
    );
    let (s, r) = reload(&t, &wrong_pair);
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains(": core.rest.client_key: "),
        "{r}"
    );
    assert_eq!(t.start("mtls-3", ADA_MOBILE)["member_id"], "9001");
    // and the key's contents are never written
    let secret = client.key_pair.serialize_pem();
    let body: &str = secret.lines().nth(1).unwrap();
    t.i.assert_never_written(&[body]);
}

/// A proxy the service's environment names (as a site sets one to reach an SMS gateway
/// across the internet) is not used for a core gateway on this host: a proxy elsewhere cannot
/// reach it, and a plain http:// request would carry members' facts across the network. The
/// log names the proxy, without its credentials, for the endpoints it does stand between.
#[test]
fn a_proxy_in_the_environment_is_not_used_for_a_core_on_this_host() {
    let gateway = crate::harness::stand_in_gateway(zed_at_adas_number());
    // a proxy that takes connections and never answers
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let at = proxy.local_addr().unwrap();
    let sms = "[notify.sms]\nurl = \"https://sms.cu.example/send?to={to}\"\n";
    let mut t = Calls::new(&format!("{}{sms}", rest_core(&gateway)));
    t.i.stop();
    let url = format!("http://proxy-user:proxy-secret@{at}");
    for name in ["HTTP_PROXY", "https_proxy", "ALL_PROXY"] {
        t.i.serve_env.push((name.into(), url.clone().into()));
    }
    t.i.start();

    let step = t.start("px-1", ADA_MOBILE);
    assert_eq!(step["member_id"], "9001", "{step}");
    assert!(
        matches!(proxy.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the core's requests went to the proxy"
    );
    // written at start, before the thread that reads the log may have begun
    let log = t.i.service_log_with("notify.sms.url: requests go through");
    assert!(
        log.contains(&format!(
            "notify.sms.url: requests go through the proxy {at}, which the environment names"
        )),
        "{log}"
    );
    assert!(
        !log.contains("core.rest.base_url: requests go through"),
        "{log}"
    );
    t.i.assert_never_written(&["proxy-secret"]);
}

#[test]
fn calls_route_by_the_dialed_number_in_any_format() {
    let t = Calls::new(
        "\n[[routing]]\ndnis = \"+18005550123\"\nprofile = \"pin_line\"\n\
         [[routing]]\ndnis = \"7001\"\nprofile = \"pin_line\"\n\
         [[routing]]\ndnis = \"Pin-Line\"\nprofile = \"pin_line\"\n\
         [profiles.members]\ndefault = true\n[profiles.pin_line.ivr.known_number]\nmethods = [\"pin\", \"dob\"]\nmin_correct = 1\n",
    );
    let cases = [
        ("+18005550123", "+18005550123", "pin_line"),
        ("8005550123", "+18005550123", "pin_line"),
        ("(800) 555-0123", "+18005550123", "pin_line"),
        ("1-800-555-0123", "+18005550123", "pin_line"),
        ("800 555 0100", "+18005550100", "members"),
        ("5000", "5000", "members"),
        ("", "-", "members"),
        // as Genesys Cloud (Call.Dnis) and SIP platforms send them
        ("tel:+18005550123", "+18005550123", "pin_line"),
        (
            "sip:+18005550123@10.0.0.90;user=phone",
            "+18005550123",
            "pin_line",
        ),
        ("sip:5000@pbx.cu.example", "5000", "members"),
        // a line as a PBX hands it over: an extension (a VDN, a route point) or a SIP user
        ("7001", "7001", "pin_line"),
        ("sip:7001@pbx.cu.example", "7001", "pin_line"),
        (
            "sip:pin-line@pbx.cu.example;transport=tls",
            "pin-line",
            "pin_line",
        ),
        ("7002", "7002", "members"),
    ];
    for (n, (dnis, stored, profile)) in cases.into_iter().enumerate() {
        let id = format!("route-{n}");
        let (s, step) = t.post(
            &t.ivr,
            "/v1/calls",
            json!({"call_id": id, "ani": ADA_MOBILE, "dnis": dnis}),
        );
        assert_eq!(s, StatusCode::CREATED, "{dnis:?}: {step}");
        let (_, view) = t.get(&t.agent, &format!("/v1/calls/{id}"));
        assert_eq!(view["profile"], profile, "{dnis:?}: {view}");
        assert_eq!(view["dnis"].as_str().unwrap_or("-"), stored, "{dnis:?}");
    }
}

/// An Asterisk dialplan's way: `CURL(url,digits=${DIGITS})` posts a form, and with `Accept:
/// application/x-www-form-urlencoded` reads the STEP with `HASH()`. A call driven so, end to
/// end, with `+` in the caller ID left unescaped as a dialplan would.
#[test]
fn a_call_is_driven_with_form_bodies_and_k_v_answers() {
    let t = Calls::new("");
    let post = |path: &str, body: &str| {
        let r =
            t.c.post(t.i.url(path))
                .bearer_auth(&t.ivr)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/x-www-form-urlencoded")
                .body(body.to_string())
                .send()
                .unwrap();
        let status = r.status();
        let pairs: HashMap<String, String> = form_urlencoded::parse(r.text().unwrap().as_bytes())
            .into_owned()
            .collect();
        (status, pairs)
    };
    let (s, step) = post(
        "/v1/calls",
        "call_id=ast-1&ani=+16122030101&dnis=&app_token=",
    );
    assert_eq!(s, StatusCode::CREATED, "{step:?}");
    assert_eq!(
        (
            step["member_id"].as_str(),
            step["trust"].as_str(),
            step["question"].as_str()
        ),
        ("1001", "known_number", "dob"),
        "{step:?}"
    );
    let (s, step) = post(
        "/v1/calls/ast-1/input",
        &format!("digits=03121984&step={}", step["step"]),
    );
    assert_eq!(s, StatusCode::OK, "{step:?}");
    assert_eq!(step["question"], "zip", "{step:?}");
    // a retry of the same input (the same step) is answered, not counted again
    let (_, again) = post("/v1/calls/ast-1/input", "digits=03121984&step=1");
    assert_eq!(again["question"], "zip", "{again:?}");
    // no Content-Type at all, as a dialplan's client may send once given headers of its own
    let r =
        t.c.post(t.i.url("/v1/calls/ast-1/input"))
            .bearer_auth(&t.ivr)
            .header("Accept", "application/x-www-form-urlencoded")
            .body("digits=55401%23")
            .send()
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let step: HashMap<String, String> = form_urlencoded::parse(r.text().unwrap().as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        (step["outcome"].as_str(), step["level"].as_str()),
        ("authenticated", "questions"),
        "{step:?}"
    );
    // refusals come as k=v, naming the field, never the value
    let (s, e) = post("/v1/calls/ast-1/input", "digits=1&step=86420x");
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, "invalid_field")
    );
    assert!(!e["message"].contains("86420x"), "{e:?}");
    let (s, e) = post("/v1/calls", "call_id=ast-2&pin=97531");
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, "unknown_field")
    );
    assert!(!e["message"].contains("97531"), "{e:?}");
}

/// `Accept` picks JSON or `k=v` by its weights, for a STEP and a refusal alike; and no
/// answer (a STEP with a member's name, the checklist's expected answers, an error) may be
/// kept by a cache on an agent's desktop or between.
#[test]
fn accept_weighs_the_form_against_json_and_no_answer_may_be_stored() {
    let t = Calls::new("");
    let no_store = |r: &reqwest::blocking::Response, what: &str| {
        assert_eq!(
            r.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{what}"
        );
    };
    let start = |call_id: &str, accept: &str| {
        t.c.post(t.i.url("/v1/calls"))
            .bearer_auth(&t.ivr)
            .header("Accept", accept)
            .json(&json!({"call_id": call_id, "ani": "+16122030101"}))
            .send()
            .unwrap()
    };
    // (Accept, answered as k=v)
    let cases = [
        ("application/x-www-form-urlencoded", true),
        ("application/x-www-form-urlencoded;q=0", false),
        (
            "application/json, application/x-www-form-urlencoded;q=0.5",
            false,
        ),
        (
            "application/json;q=0.5, application/x-www-form-urlencoded",
            true,
        ),
        ("*/*", false),
    ];
    for (n, (accept, form)) in cases.into_iter().enumerate() {
        let call_id = format!("accept-{n}");
        // the first STEP, then the same call id again (409 call_id_in_use)
        for (want, code) in [
            (StatusCode::CREATED, None),
            (StatusCode::CONFLICT, Some("call_id_in_use")),
        ] {
            let r = start(&call_id, accept);
            let what = format!("{accept}: {want}");
            assert_eq!(r.status(), want, "{what}");
            no_store(&r, &what);
            let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
            assert_eq!(
                content_type.starts_with("application/x-www-form-urlencoded"),
                form,
                "{what}: {content_type}"
            );
            let text = r.text().unwrap();
            let said: HashMap<String, String> = if form {
                form_urlencoded::parse(text.as_bytes())
                    .into_owned()
                    .collect()
            } else {
                serde_json::from_str::<HashMap<String, Value>>(&text)
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().map_or(v.to_string(), str::to_string)))
                    .collect()
            };
            match code {
                None => assert_eq!(said["member_id"], "1001", "{what}: {text}"),
                Some(code) => assert_eq!(said["code"], code, "{what}: {text}"),
            }
        }
    }
    // the agent's checklist, with its expected answers
    let r =
        t.c.post(t.i.url("/v1/calls/accept-0/checklist"))
            .bearer_auth(&t.agent)
            .json(&json!({}))
            .send()
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    no_store(&r, "checklist");
    let r = t.c.get(t.i.url("/openapi.json")).send().unwrap();
    no_store(&r, "openapi");
}

/// Genesys Cloud's `Call.Ani` is `tel:+1...`; SIP platforms pass a SIP URI. Read as no caller
/// ID, every such call would be asked for an identifier and held to the unknown number's
/// proof.
#[test]
fn a_caller_id_sent_as_a_tel_or_sip_uri_identifies_the_member() {
    let t = Calls::new("");
    let anis = [
        format!("tel:{ADA_MOBILE}"),
        format!("sip:{ADA_MOBILE}@10.0.0.90;user=phone"),
        format!("\"Ada\" <sip:{ADA_MOBILE}@10.0.0.90>;tag=1"),
    ];
    for (n, ani) in anis.iter().enumerate() {
        let id = format!("uri-{n}");
        let step = t.start(&id, ani);
        assert_eq!(step["trust"], "known_number", "{ani}: {step}");
        assert_eq!(step["member_id"], "1001", "{ani}: {step}");
        let (_, view) = t.get(&t.agent, &format!("/v1/calls/{id}"));
        assert_eq!(view["ani"], ADA_MOBILE, "{ani}: {view}");
        assert_eq!(view["member"]["member_id"], "1001", "{ani}: {view}");
    }
    // The agent's search takes the same forms.
    let (s, found) = t.get(
        &t.agent,
        &format!(
            "/v1/calls?ani=tel:{}&active=true",
            ADA_MOBILE.replace('+', "%2B")
        ),
    );
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found.as_array().map(Vec::len), Some(3), "{found}");
    // RFC 3323's anonymous URI is no caller ID.
    let step = t.start("uri-anon", "sip:anonymous@anonymous.invalid");
    assert_eq!(
        (step["field"].as_str(), step["trust"].as_str()),
        (Some("identifier"), None),
        "{step}"
    );
}

#[test]
fn a_crash_under_load_loses_no_answered_call_and_leaves_the_audit_chain_whole() {
    use std::sync::{Arc, Mutex};
    let mut t = Calls::new("");
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (c, url, key) = (t.c.clone(), t.i.url("/v1/calls"), t.ivr.clone());
            let (answered, stop) = (answered.clone(), stop.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let id = format!("crash-{w}-{n}");
                    let r = c
                        .post(&url)
                        .bearer_auth(&key)
                        .json(&json!({"call_id": id, "ani": ADA_MOBILE}))
                        .send();
                    match r {
                        Ok(r) if r.status() == StatusCode::CREATED => {
                            answered.lock().unwrap().push(id)
                        }
                        Ok(r) => panic!("{id}: {}", r.status()),
                        // the service is gone: what was answered is all there is
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    // kill it while the writers are busy
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while answered.lock().unwrap().len() < 200 {
        assert!(std::time::Instant::now() < deadline, "no load");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    t.i.kill();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();

    // it starts again on the same store (a stale admin socket is no obstacle)
    t.i.start();
    t.c = t.i.client();
    for id in &answered {
        let (s, view) = t.get(&t.agent, &format!("/v1/calls/{id}"));
        assert_eq!(s, StatusCode::OK, "answered call {id} lost: {view}");
        assert_eq!(view["status"], "verifying", "{view}");
    }
    let verify = t.i.cli(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    let events = t.i.audit_events();
    let started: std::collections::HashSet<&str> = events
        .lines()
        .filter(|l| l.contains("\"call_started\""))
        .filter_map(|l| l.split("\"call_id\":\"").nth(1)?.split('"').next())
        .collect();
    for id in &answered {
        assert!(started.contains(id.as_str()), "no call_started for {id}");
    }
    // and it keeps serving calls
    assert_eq!(t.start("after-crash", ADA_MOBILE)["status"], "verifying");
}

#[test]
fn calls_and_verdicts_are_counted_in_metrics_once_each() {
    let t = Calls::new("");
    let finished = |labels: &[(&str, &str)]| t.i.metric("callvault_calls_finished_total", labels);
    // a verified number, 2 of 3: authenticated by questions; answered again, and hung up
    // after its ending, it counts once
    t.start("m-auth", ADA_MOBILE);
    t.key_in("m-auth", "03121984");
    assert_eq!(done(&t.key_in("m-auth", "55401")).0, "authenticated");
    assert_eq!(done(&t.event("m-auth", "no_input")).0, "authenticated");
    let hang_up = |id: &str| {
        let r = t.c.delete(t.i.url(&format!("/v1/calls/{id}")));
        assert_eq!(
            r.bearer_auth(&t.ivr).send().unwrap().status(),
            StatusCode::NO_CONTENT
        );
    };
    hang_up("m-auth");
    // no caller ID, and the caller opts out: a transfer
    t.post(
        &t.ivr,
        "/v1/calls",
        json!({"call_id": "m-opt", "ani": "anonymous"}),
    );
    assert_eq!(done(&t.event("m-opt", "opt_out")).1, "opt_out");
    // another number of Ada's: hung up while verifying
    t.start("m-hang", ADA_OTHER);
    hang_up("m-hang");
    hang_up("m-hang");

    let started = |trust| {
        t.i.metric("callvault_calls_started_total", &[("trust", trust)])
    };
    assert_eq!(
        (
            started("known_number"),
            started("unknown_number"),
            started("none")
        ),
        (1.0, 1.0, 1.0)
    );
    let authenticated = [
        ("outcome", "authenticated"),
        ("level", "questions"),
        ("trust", "known_number"),
    ];
    assert_eq!(finished(&authenticated), 1.0);
    let opted_out = [
        ("outcome", "transfer"),
        ("reason", "opt_out"),
        ("trust", "none"),
    ];
    assert_eq!(finished(&opted_out), 1.0);
    let hung_up = [
        ("outcome", "hung_up"),
        ("status", "verifying"),
        ("trust", "unknown_number"),
    ];
    assert_eq!(finished(&hung_up), 1.0);
    assert_eq!(finished(&[]), 3.0, "nothing else finished");
    // the two dialogs that ended are timed, by outcome
    let timed = |outcome| {
        let labels = [("outcome", outcome)];
        t.i.metric("callvault_call_dialog_seconds_count", &labels)
    };
    assert_eq!((timed("authenticated"), timed("transfer")), (1.0, 1.0));
    // every STEP answered, by its status: m-auth's last two, m-opt's first and last
    let steps = |status| t.i.metric("callvault_steps_total", &[("status", status)]);
    assert_eq!(
        (
            steps("authenticated"),
            steps("transferred"),
            steps("identifying")
        ),
        (2.0, 1.0, 1.0)
    );

    // the agent's checklist: its verdict counts once (a tick after it is refused)
    t.start("m-check", "+16122030102");
    t.post(&t.agent, "/v1/calls/m-check/checklist", json!({}));
    for q in ["place_of_birth", "savings_balance", "last_txn_amount"] {
        let path = format!("/v1/calls/m-check/checklist/{q}");
        t.post(&t.agent, &path, json!({"correct": true}));
    }
    let verdicts = |result| {
        let labels = [("method", "checklist"), ("result", result)];
        t.i.metric("callvault_member_verdicts_total", &labels)
    };
    assert_eq!((verdicts("verified"), verdicts("not_verified")), (1.0, 0.0));

    // every callvault series an operator sees is described (`# HELP`), counted or not
    let text = t.i.metrics_text();
    let families: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("callvault_"))
        .map(|l| l.split(['{', ' ']).next().unwrap())
        .map(|name| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|base| text.contains(&format!("# TYPE {base} histogram")))
                .unwrap_or(name)
        })
        .collect();
    for family in [
        "callvault_calls_started_total",
        "callvault_member_verdicts_total",
    ] {
        assert!(families.contains(family), "{family} not served:\n{text}");
    }
    let undescribed: Vec<_> = families
        .iter()
        .filter(|f| !text.contains(&format!("# HELP {f} ")))
        .collect();
    assert!(undescribed.is_empty(), "no # HELP for {undescribed:?}");
}

/// An IVR ending that is no verdict (the caller opts out) leaves the agent's verdict as the
/// agent gave it; a member removed from the core mid-call is transferred as not
/// identified, not as a core outage the IVR would announce.
#[test]
fn an_ivr_ending_that_is_no_verdict_keeps_the_agents_and_a_removed_member_is_not_an_outage() {
    let t = Calls::new("");
    let verify_by_checklist = |call: &str| {
        t.post(&t.agent, &format!("/v1/calls/{call}/checklist"), json!({}));
        for q in ["last_txn_amount", "place_of_birth"] {
            t.post(
                &t.agent,
                &format!("/v1/calls/{call}/checklist/{q}"),
                json!({"correct": true}),
            );
        }
        let (_, view) = t.get(&t.agent, &format!("/v1/calls/{call}"));
        assert_eq!(view["member"]["last_verification"]["how"], "checklist");
    };
    t.start("optout-1", ADA_MOBILE);
    verify_by_checklist("optout-1");
    let step = t.event("optout-1", "opt_out");
    assert_eq!(step["reason"], "opt_out");
    let (_, view) = t.get(&t.agent, "/v1/calls/optout-1");
    let last = &view["member"]["last_verification"];
    assert_eq!(
        (&last["verified"], &last["how"], &last["by"]),
        (&json!(true), &json!("checklist"), &json!("key:agent1")),
        "{view}"
    );

    t.start("gone-1", ADA_MOBILE);
    let file = t.i.path("gone.csv");
    std::fs::write(&file, "member_id,action\n1001,delete\n").unwrap();
    let out = t.i.cli(&["enroll", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let step = t.key_in("gone-1", "03121984");
    assert_eq!(
        (&step["outcome"], &step["reason"]),
        (&json!("transfer"), &json!("identification_failed")),
        "{step}"
    );
    let (_, view) = t.get(&t.agent, "/v1/calls/gone-1");
    assert!(
        view["member"]["last_verification"].is_null(),
        "no verdict for a member no longer enrolled: {view}"
    );
    assert!(t.i.audit_events().contains("member_not_enrolled"));
}

/// Seed 004 when the IVR could not identify the caller (they opted out, or keyed nothing
/// that matched): the agent identifies them by talking and names the member on the call, and
/// the checklist for the trust of the call's number follows. Not in API.md.
#[test]
fn an_agent_names_the_member_of_a_call_the_ivr_transferred_without_one() {
    let t = Calls::new("\n[profiles.members]\ndefault = true\nidentify_by_ani = false\n");
    let name = |call: &str, body: Value| {
        let (s, v) = t.post(&t.agent, &format!("/v1/calls/{call}/member"), body);
        (s, v["code"].as_str().map(str::to_string), v)
    };
    let step = t.start("nm-1", "anonymous");
    assert_eq!(step["field"], "identifier", "{step}");
    // the IVR still has the call: the member is its to find
    let (s, code, _) = name("nm-1", json!({"member_id": "1001"}));
    assert_eq!(
        (s, code.as_deref()),
        (StatusCode::CONFLICT, Some("call_at_ivr"))
    );
    assert_eq!(
        done(&t.event("nm-1", "opt_out")),
        ("transfer", "opt_out", "-")
    );
    let (s, e) = t.post(&t.agent, "/v1/calls/nm-1/checklist", json!({}));
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_member")),
        "no member yet: no checklist"
    );
    let told = "name the member the agent identified (POST /v1/calls/{call_id}/member)";
    assert!(e["message"].as_str().unwrap().ends_with(told), "{e}");

    for (body, status, want) in [
        (
            json!({"member_id": "424242"}),
            StatusCode::NOT_FOUND,
            "no_such_member",
        ),
        (
            json!({"member_id": ""}),
            StatusCode::BAD_REQUEST,
            "bad_member_id",
        ),
        (
            json!({"member_id": "10\u{7}01"}),
            StatusCode::BAD_REQUEST,
            "bad_member_id",
        ),
        (
            json!({"member": "1001"}),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
    ] {
        let (s, code, v) = name("nm-1", body.clone());
        assert_eq!((s, code.as_deref()), (status, Some(want)), "{body}: {v}");
    }
    let (s, _) = t.post(
        &t.ivr,
        "/v1/calls/nm-1/member",
        json!({"member_id": "1001"}),
    );
    assert_eq!(s, StatusCode::FORBIDDEN, "an IVR key names no member");

    let (s, _, view) = name("nm-1", json!({"member_id": "1001"}));
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["member"]["member_id"], "1001", "{view}");
    assert_eq!(view["member"]["identified_by"], "agent", "{view}");
    assert_eq!(view["trust"], "unknown_number", "{view}");
    assert_eq!(view["step"]["reason"], "opt_out", "the IVR's ending stays");
    // the checklist of an unknown number: 3 of 5
    let (s, list) = t.post(&t.agent, "/v1/calls/nm-1/checklist", json!({}));
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(
        (list["required"].as_u64(), list["total"].as_u64()),
        (Some(3), Some(5))
    );
    for q in ["dob", "place_of_birth", "savings_balance"] {
        let (s, v) = t.post(
            &t.agent,
            &format!("/v1/calls/nm-1/checklist/{q}"),
            json!({"correct": true}),
        );
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, view) = t.get(&t.agent, "/v1/calls/nm-1");
    assert_eq!(view["verified"], true, "{view}");
    assert_eq!(
        view["member"]["last_verification"]["verified"], true,
        "{view}"
    );

    // the same member again changes nothing, also as the caller may say their number, with
    // leading zeros; another is refused
    let (s, _, _) = name("nm-1", json!({"member_id": "1001"}));
    assert_eq!(s, StatusCode::OK);
    let (s, _, view) = name("nm-1", json!({"member_id": "0001001"}));
    assert_eq!(
        (s, &view["member"]["member_id"]),
        (StatusCode::OK, &json!("1001")),
        "{view}"
    );
    let (s, code, v) = name("nm-1", json!({"member_id": "1002"}));
    assert_eq!(
        (s, code.as_deref()),
        (StatusCode::CONFLICT, Some("member_differs")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().contains("by an agent"),
        "{v}"
    );
    let named: Vec<String> = (t.i.audit_events().lines())
        .filter(|l| l.contains("\"call_identified\"") && l.contains("\"nm-1\""))
        .map(str::to_string)
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");
    assert!(
        named[0].contains("\"actor\":\"key:agent1\"")
            && named[0].contains("\"member_id\":\"1001\"")
            && named[0].contains("by an agent; trust unknown_number"),
        "{}",
        named[0]
    );

    // from the member's verified mobile (this profile does not identify by caller ID): the
    // known number's checklist, 2 of 3. The agent types the number as the caller says it,
    // with a leading zero: the member is found as the IVR finds a keyed member number.
    t.start("nm-2", ADA_MOBILE);
    t.event("nm-2", "opt_out");
    let (s, _, view) = name("nm-2", json!({"member_id": "01001"}));
    assert_eq!(
        (s, &view["member"]["member_id"], &view["trust"]),
        (StatusCode::OK, &json!("1001"), &json!("known_number")),
        "{view}"
    );
    let (_, list) = t.post(&t.agent, "/v1/calls/nm-2/checklist", json!({}));
    assert_eq!(
        (list["required"].as_u64(), list["total"].as_u64()),
        (Some(2), Some(3))
    );

    // a member the IVR found is not replaced
    t.start("nm-3", "anonymous");
    t.key_in("nm-3", "1002");
    t.event("nm-3", "opt_out");
    let (s, code, v) = name("nm-3", json!({"member_id": "1001"}));
    assert_eq!(
        (s, code.as_deref()),
        (StatusCode::CONFLICT, Some("member_differs")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("by the IVR"), "{v}");

    // the caller hung up: no one to name
    t.start("nm-4", "anonymous");
    t.event("nm-4", "opt_out");
    let (s, _) = Calls::send(t.c.delete(t.i.url("/v1/calls/nm-4")).bearer_auth(&t.ivr));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, code, _) = name("nm-4", json!({"member_id": "1001"}));
    assert_eq!(
        (s, code.as_deref()),
        (StatusCode::CONFLICT, Some("call_ended"))
    );
}

/// An agents' desktop back end holds one key for many agents and names the one acting in
/// `X-Agent-Id`: each reveal, tick and verdict is then the audit log's
/// `key:NAME/agent:ID`, and the member's last verification says who. A bad value is 400,
/// judged only after the key and its role are.
#[test]
fn a_desk_names_the_agent_acting_and_the_audit_log_keeps_it() {
    let t = Calls::new("");
    t.start("desk-1", ADA_MOBILE);
    let as_agent = |req: reqwest::blocking::RequestBuilder, who: &str| {
        Calls::send(req.bearer_auth(&t.agent).header("X-Agent-Id", who))
    };
    let (s, me) = as_agent(t.c.get(t.i.url("/v1/whoami")), "j.doe@cu.example");
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(
        (me["name"].as_str(), me["agent"].as_str()),
        (Some("agent1"), Some("j.doe@cu.example"))
    );
    let (_, me) = t.get(&t.agent, "/v1/whoami");
    assert_eq!(me["agent"], Value::Null, "{me}");

    let (s, list) = as_agent(
        t.c.post(t.i.url("/v1/calls/desk-1/checklist"))
            .json(&json!({})),
        "j.doe@cu.example",
    );
    assert_eq!(s, StatusCode::OK, "{list}");
    // another agent at the same desk ticks the questions, named by a Windows logon
    for q in ["last_txn_amount", "place_of_birth"] {
        let (s, r) = as_agent(
            t.c.post(t.i.url(&format!("/v1/calls/desk-1/checklist/{q}")))
                .json(&json!({"correct": true})),
            "CU\\GEN-4471",
        );
        assert_eq!(s, StatusCode::OK, "{q}: {r}");
    }
    let (_, view) = t.get(&t.agent, "/v1/calls/desk-1");
    assert_eq!(view["verified"], true, "{view}");
    assert_eq!(
        view["member"]["last_verification"]["by"], "key:agent1/agent:CU\\GEN-4471",
        "{view}"
    );
    let audit = t.i.audit_export();
    let actors = |kind: &str| -> Vec<String> {
        audit
            .lines()
            .filter(|l| l.contains(&format!("\"kind\":\"{kind}\"")))
            .map(|l| {
                let record: Value = serde_json::from_str(l).unwrap();
                record["actor"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let revealed = actors("answer_revealed");
    assert!(!revealed.is_empty(), "{audit}");
    assert!(
        revealed
            .iter()
            .all(|a| a == "key:agent1/agent:j.doe@cu.example"),
        "{revealed:?}"
    );
    assert_eq!(
        actors("member_verified"),
        ["key:agent1/agent:CU\\GEN-4471"],
        "{audit}"
    );

    // refused: a value that is not a plain login, and only once the key may call at all
    for bad in ["", "j doe", "jdoe/agent:admin", &"a".repeat(65)] {
        let (s, e) = as_agent(t.c.get(t.i.url("/v1/calls/desk-1")), bad);
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_agent_id")),
            "{bad:?}: {e}"
        );
    }
    let r =
        t.c.get(t.i.url("/v1/calls/desk-1"))
            .header("X-Agent-Id", "j doe")
            .send()
            .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, _) = Calls::send(
        t.c.post(t.i.url("/v1/calls/desk-1/checklist"))
            .bearer_auth(&t.app)
            .header("X-Agent-Id", "j doe")
            .json(&json!({})),
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// `audit export --member` and `--call` give one member's or one call's records (a member's
/// dispute, a complaint about one call), through the running service; `--until` ends the
/// time range `--since` starts, and one that could hold nothing is refused.
#[test]
fn the_audit_export_narrows_to_a_member_a_call_and_a_time_range() {
    let t = Calls::new("");
    assert_eq!(t.start("ax-1", ADA_MOBILE)["member_id"], "1001");
    t.start("ax-2", "anonymous");
    let export = |args: &[&str]| -> Vec<Value> {
        let out = t.i.cli(&[&["audit", "export"], args].concat());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        (text(&out.stdout).lines())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let everything = export(&[]);
    let of_ada = export(&["--member", "1001"]);
    assert!(!of_ada.is_empty());
    assert!(
        of_ada.iter().all(|r| r["member_id"] == "1001"),
        "{of_ada:?}"
    );
    let about_ada = (everything.iter()).filter(|r| r["member_id"] == "1001");
    assert_eq!(about_ada.count(), of_ada.len());
    let of_call = export(&["--call", "ax-2"]);
    assert!(of_call.iter().all(|r| r["call_id"] == "ax-2") && !of_call.is_empty());
    assert!(export(&["--member", "1001", "--call", "ax-2"]).is_empty());
    // every record so far is before a minute from now, none from it
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let until_soon = export(&["--until", &soon]).len();
    assert_eq!(
        until_soon + 1,
        export(&[]).len(),
        "all but the last export's record"
    );
    assert!(export(&["--since", &soon]).is_empty());
    // the export's own record says what it was asked for
    assert_eq!(
        export(&["--member", "1001", "--until", "2999-01-01"]).len(),
        of_ada.len()
    );
    let last = export(&[]).pop().unwrap();
    assert_eq!(last["kind"], "audit_exported", "{last}");
    let detail = last["detail"].as_str().unwrap();
    assert!(
        detail.ends_with("records since start, until 2999-01-01T00:00:00+00:00, of member 1001"),
        "{detail}"
    );

    let out = t.i.cli(&[
        "audit",
        "export",
        "--since",
        "2026-12-01",
        "--until",
        "2026-12-01",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is not after --since"),
        "{}",
        text(&out.stderr)
    );
}
