//! The HTTPS API of a running service: auth, roles, error bodies, limits, metrics, OpenAPI.

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::harness::{Instance, text};

fn body(res: reqwest::blocking::Response) -> (StatusCode, Value) {
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "{status}: content-type {ct:?}"
    );
    (status, res.json().unwrap())
}

fn make_key(i: &Instance, role: &str, name: &str) -> String {
    let out = i.cli(&["key", "create", "--role", role, "--name", name]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

#[test]
fn keys_work_in_every_form_and_roles_are_enforced() {
    let i = Instance::started();
    let c = i.client();
    let ivr = make_key(&i, "ivr", "ivr1");
    let whoami = i.url("/v1/whoami");

    let (s, b) = body(c.get(&whoami).send().unwrap());
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (s, b) = body(c.get(&whoami).bearer_auth(&ivr).send().unwrap());
    assert_eq!(
        (s, b["role"].as_str(), b["name"].as_str()),
        (StatusCode::OK, Some("ivr"), Some("ivr1"))
    );
    let (s, b) = body(c.get(&whoami).header("X-Api-Key", &ivr).send().unwrap());
    assert_eq!((s, b["role"].as_str()), (StatusCode::OK, Some("ivr")));
    let (s, b) = body(
        c.get(&whoami)
            .basic_auth("genesys", Some(&ivr))
            .send()
            .unwrap(),
    );
    assert_eq!((s, b["role"].as_str()), (StatusCode::OK, Some("ivr")));
    // `curl -u KEY:`: the key as Basic's user name, with no password
    let (s, b) = body(c.get(&whoami).basic_auth(&ivr, Some("")).send().unwrap());
    assert_eq!((s, b["role"].as_str()), (StatusCode::OK, Some("ivr")));
    let (s, _) = body(
        c.get(&whoami)
            .bearer_auth(format!("{ivr}x"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let reload = i.url("/v1/admin/reload");
    let (s, b) = body(c.post(&reload).bearer_auth(&ivr).send().unwrap());
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let message = b["message"].as_str().unwrap();
    assert!(
        message.contains("role ivr may not call POST /v1/admin/reload (needs admin)"),
        "{message}"
    );
    let (s, b) = body(c.post(&reload).bearer_auth(&i.admin).send().unwrap());
    assert_eq!((s, b["reloaded"].as_bool()), (StatusCode::OK, Some(true)));

    assert!(i.cli(&["key", "revoke", "ivr1"]).status.success());
    let (s, b) = body(c.get(&whoami).bearer_auth(&ivr).send().unwrap());
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(b["message"].as_str().unwrap().contains("revoked"));

    let audit = i.audit_export();
    assert!(
        audit.contains("role ivr on POST /v1/admin/reload") && audit.contains(" on GET /v1/whoami"),
        "refusals name the route: {audit}"
    );
    assert!(
        audit.contains("\"auth_failed\"") && audit.contains("\"auth_forbidden\""),
        "{audit}"
    );
    assert!(
        !audit.contains(&ivr) && !audit.contains(&i.admin),
        "a key reached the audit log"
    );
}

/// Every endpoint, every role: a key of a role the endpoint does not take is `403
/// forbidden`, checked before anything in the request is read (the bodies here are empty
/// and the ids unknown); no key is `401`. The roles are API.md's, and the README's for the
/// endpoints it adds. Each endpoint is in the served OpenAPI document too.
#[test]
fn every_endpoint_takes_only_its_roles() {
    let i = Instance::started();
    let c = i.client();
    let keys = [
        ("ivr", make_key(&i, "ivr", "r-ivr")),
        ("agent", make_key(&i, "agent", "r-agent")),
        ("app", make_key(&i, "app", "r-app")),
        ("admin", i.admin.clone()),
    ];
    const ANY: &[&str] = &["ivr", "agent", "app", "admin"];
    const AGENT: &[&str] = &["agent", "admin"];
    const READERS: &[&str] = &["ivr", "agent", "admin"];
    let table: &[(&str, &str, &[&str])] = &[
        ("GET", "/v1/whoami", ANY),
        ("POST", "/v1/calls", &["ivr"]),
        ("POST", "/v1/calls/nope/input", &["ivr"]),
        ("GET", "/v1/calls/nope/step", &["ivr"]),
        ("DELETE", "/v1/calls/nope", &["ivr"]),
        ("GET", "/v1/calls/nope", READERS),
        ("GET", "/v1/calls?ani=%2B15551234567&active=true", READERS),
        ("POST", "/v1/calls/nope/member", AGENT),
        ("POST", "/v1/calls/nope/checklist", AGENT),
        ("POST", "/v1/calls/nope/checklist/dob", AGENT),
        ("POST", "/v1/calls/nope/challenges", AGENT),
        ("GET", "/v1/challenges/nope", AGENT),
        ("POST", "/v1/challenges/nope/check", AGENT),
        ("POST", "/v1/challenges/nope/decision", AGENT),
        ("POST", "/v1/challenges/nope/push-response", &["app"]),
        ("POST", "/v1/intents", &["app"]),
        ("POST", "/v1/members/nope/unlock", AGENT),
        ("POST", "/v1/members/nope/force-pin-change", AGENT),
        ("GET", "/v1/members/nope", &["admin"]),
        ("POST", "/v1/admin/reload", &["admin"]),
        ("GET", "/v1/admin/keys", &["admin"]),
        ("POST", "/v1/admin/keys", &["admin"]),
        ("DELETE", "/v1/admin/keys/nope", &["admin"]),
    ];
    let send = |method: &str, path: &str, key: Option<&str>| {
        let url = i.url(path);
        let req = match method {
            "GET" => c.get(&url),
            "POST" => c
                .post(&url)
                .header("content-type", "application/json")
                .body("{}"),
            _ => c.delete(&url),
        };
        let req = match key {
            Some(k) => req.bearer_auth(k),
            None => req,
        };
        body(req.send().unwrap())
    };
    // each of them is in the served OpenAPI document, with its method
    let (_, doc) = body(c.get(i.url("/openapi.json")).send().unwrap());
    let documented = |method: &str, path: &str| {
        let path = path.split('?').next().unwrap();
        doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .find_map(|(template, ops)| {
                let (want, got): (Vec<_>, Vec<_>) =
                    (template.split('/').collect(), path.split('/').collect());
                let matches = want.len() == got.len()
                    && want
                        .iter()
                        .zip(&got)
                        .all(|(w, g)| w == g || w.starts_with('{'));
                ops.get(method.to_lowercase()).filter(|_| matches).cloned()
            })
    };
    // ...and every operation the document lists that takes a key is in the table
    let keyed: Vec<String> = (doc["paths"].as_object().unwrap().iter())
        .flat_map(|(template, ops)| {
            (ops.as_object().unwrap().iter())
                .filter(|(_, op)| op["security"].as_array().is_some_and(|s| !s.is_empty()))
                .map(move |(method, _)| format!("{} {template}", method.to_uppercase()))
        })
        .collect();
    assert_eq!(keyed.len(), table.len(), "operations with roles: {keyed:?}");
    for (method, path, allowed) in table {
        let op = documented(method, path)
            .unwrap_or_else(|| panic!("{method} {path} is not in /openapi.json"));
        // the document names the roles (on every way of presenting a key) and the refusals
        for requirement in op["security"].as_array().unwrap() {
            let (scheme, roles) = requirement.as_object().unwrap().iter().next().unwrap();
            assert_eq!(
                roles.as_array().unwrap(),
                &allowed.iter().map(|r| json!(r)).collect::<Vec<_>>(),
                "{method} {path}: the roles on {scheme}"
            );
        }
        assert_eq!(
            op["security"].as_array().unwrap().len(),
            4,
            "{method} {path}"
        );
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("401"), "{method} {path}: no 401");
        assert_eq!(
            responses.contains_key("403"),
            allowed.len() < ANY.len(),
            "{method} {path}: 403 documented against the roles {allowed:?}"
        );
    }
    for (method, path, allowed) in table {
        let (s, b) = send(method, path, None);
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a key: {b}"
        );
        for (role, key) in &keys {
            let (s, b) = send(method, path, Some(key));
            if allowed.contains(role) {
                assert!(
                    s != StatusCode::FORBIDDEN && s != StatusCode::UNAUTHORIZED,
                    "{method} {path} refused role {role}: {s} {b}"
                );
            } else {
                assert_eq!(
                    (s, b["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("forbidden")),
                    "{method} {path} with role {role}: {b}"
                );
            }
        }
    }
}

#[test]
fn admins_manage_keys_over_the_api() {
    let i = Instance::started();
    let c = i.client();
    let keys = i.url("/v1/admin/keys");
    let res = c
        .post(&keys)
        .bearer_auth(&i.admin)
        .json(&json!({"name": "app1", "role": "app"}))
        .send()
        .unwrap();
    let (s, b) = body(res);
    assert_eq!(s, StatusCode::CREATED);
    let key = b["key"].as_str().unwrap().to_string();
    let (s, b) = body(c.get(i.url("/v1/whoami")).bearer_auth(&key).send().unwrap());
    assert_eq!((s, b["role"].as_str()), (StatusCode::OK, Some("app")));
    let res = c
        .post(&keys)
        .bearer_auth(&i.admin)
        .json(&json!({"name": "app1", "role": "app"}))
        .send()
        .unwrap();
    assert_eq!(body(res).1["code"], "key_exists");
    let (s, b) = body(c.get(&keys).bearer_auth(&i.admin).send().unwrap());
    assert_eq!(s, StatusCode::OK);
    assert!(!b.to_string().contains(&key));
    assert_eq!(b.as_array().unwrap().len(), 2);
    let res = c
        .delete(i.url("/v1/admin/keys/app1"))
        .bearer_auth(&i.admin)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = c
        .delete(i.url("/v1/admin/keys/app1"))
        .bearer_auth(&i.admin)
        .send()
        .unwrap();
    assert_eq!(body(res).0, StatusCode::NOT_FOUND);
    let (s, _) = body(c.get(&keys).bearer_auth(&key).send().unwrap());
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // the last admin key revoking itself would leave no key to manage keys with
    let (_, me) = body(
        c.get(i.url("/v1/whoami"))
            .bearer_auth(&i.admin)
            .send()
            .unwrap(),
    );
    let mine = i.url(&format!("/v1/admin/keys/{}", me["name"].as_str().unwrap()));
    let (s, b) = body(c.delete(&mine).bearer_auth(&i.admin).send().unwrap());
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("last_admin_key")),
        "{b}"
    );
    // with another admin key it may go
    let res = c
        .post(&keys)
        .bearer_auth(&i.admin)
        .json(&json!({"name": "ops", "role": "admin"}))
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = c.delete(&mine).bearer_auth(&i.admin).send().unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// When a key was last used: `GET /v1/admin/keys` and `callvault key list` (through the
/// service, and without it) show a use at once, a key never used as never, a refused
/// presentation as no use; a stop writes the last uses down, so they outlive it.
#[test]
fn a_keys_last_use_is_listed_at_once_and_outlives_a_restart() {
    let mut i = Instance::started();
    let c = i.client();
    let key = |name: &str, role: &str| {
        let out = i.cli(&["key", "create", "--role", role, "--name", name]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    };
    let (ivr, idle) = (key("ivr1", "ivr"), key("idle", "agent"));
    let listed = |i: &Instance| -> Vec<(String, Option<String>)> {
        let (s, b) = body(
            c.get(i.url("/v1/admin/keys"))
                .bearer_auth(&i.admin)
                .send()
                .unwrap(),
        );
        assert_eq!(s, StatusCode::OK, "{b}");
        b.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["name"] != "admin")
            .map(|k| {
                assert!(k.as_object().unwrap().contains_key("last_used_at"), "{k}");
                let used = k["last_used_at"].as_str().map(str::to_string);
                (k["name"].as_str().unwrap().to_string(), used)
            })
            .collect()
    };
    assert_eq!(listed(&i), [("ivr1".into(), None), ("idle".into(), None)]);
    let before = chrono::Utc::now().timestamp();
    let (s, _) = body(c.get(i.url("/v1/whoami")).bearer_auth(&ivr).send().unwrap());
    assert_eq!(s, StatusCode::OK);
    // a refused presentation of idle's id is no use of it
    let id = idle.split('_').nth(1).unwrap();
    let wrong = format!("cvk_{id}_{}", "x".repeat(43));
    let (s, _) = body(
        c.get(i.url("/v1/whoami"))
            .bearer_auth(&wrong)
            .send()
            .unwrap(),
    );
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let after = chrono::Utc::now().timestamp();
    // the CLI through the service first (its own writing down), then the API
    let row = |list: &str, name: &str| -> String {
        list.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{list}"))
            .to_string()
    };
    let through = text(&i.cli(&["key", "list"]).stdout);
    assert!(
        through.lines().next().unwrap().contains("last used"),
        "{through}"
    );
    assert!(row(&through, "idle").contains("never"), "{through}");
    let stamp = row(&through, "ivr1")
        .split_whitespace()
        .nth(4)
        .unwrap()
        .to_string();
    let used = chrono::DateTime::parse_from_rfc3339(&stamp)
        .unwrap()
        .timestamp();
    assert!(
        (before..=after).contains(&used),
        "{before} {used} {after}: {through}"
    );
    let seen = listed(&i);
    assert_eq!(seen[1], ("idle".into(), None));
    let api_used = chrono::DateTime::parse_from_rfc3339(seen[0].1.as_deref().unwrap());
    assert_eq!(api_used.unwrap().timestamp(), used);

    // used again, then stopped before a minute's writing: the stop writes it down
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (s, _) = body(
        c.get(i.url("/v1/whoami"))
            .bearer_auth(&idle)
            .send()
            .unwrap(),
    );
    assert_eq!(s, StatusCode::OK);
    assert!(i.stop().success());
    let offline = text(&i.cli(&["key", "list"]).stdout);
    assert!(row(&offline, "ivr1").contains(&stamp), "{offline}");
    assert!(!row(&offline, "idle").contains("never"), "{offline}");
    i.start();
    let again = listed(&i);
    assert_eq!(again[0], seen[0]);
    assert!(again[1].1.is_some(), "{again:?}");
    i.assert_never_written(&[&ivr, &idle]);
}

/// Every path in the served OpenAPI document, every method: the router takes exactly the
/// methods the document lists, and HEAD wherever it lists GET (RFC 9110: the GET's status
/// and headers, no body); it refuses the others with `405` and an `Allow` header that lists
/// what it takes.
#[test]
fn a_path_refuses_the_methods_it_does_not_take_and_says_which_it_does() {
    let i = Instance::started();
    let c = i.client();
    let (_, doc) = body(c.get(i.url("/openapi.json")).send().unwrap());
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{} paths", paths.len());
    let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE"];
    let mut heads = 0;
    for (template, ops) in paths {
        let path: Vec<_> = template
            .split('/')
            .map(|part| if part.starts_with('{') { "x1" } else { part })
            .collect();
        let url = i.url(&path.join("/"));
        let mut takes: Vec<&str> = methods
            .into_iter()
            .filter(|m| ops.get(m.to_lowercase()).is_some())
            .collect();
        assert!(!takes.is_empty(), "{template}");
        assert!(!takes.contains(&"HEAD"), "{template}: HEAD is left implied");
        if takes[0] == "GET" {
            takes.insert(1, "HEAD");
        }
        for method in methods {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let res = c.request(m, &url).send().unwrap();
            let allow = res
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_string());
            if method == "HEAD" {
                let s = res.status();
                let length = res.headers().get("content-length").cloned();
                assert_eq!(res.bytes().unwrap().len(), 0, "HEAD {template}: a body");
                if takes.contains(&"HEAD") {
                    heads += 1;
                    let get = c.get(&url).send().unwrap();
                    assert_eq!(s, get.status(), "HEAD {template}: not the GET's status");
                    if template != "/metrics" {
                        // the GET's length, not the empty body's (/metrics grows between)
                        assert_eq!(
                            length.as_ref(),
                            get.headers().get("content-length"),
                            "HEAD {template}"
                        );
                    }
                } else {
                    assert_eq!(
                        (s, allow.as_deref()),
                        (
                            StatusCode::METHOD_NOT_ALLOWED,
                            Some(takes.join(", ").as_str())
                        ),
                        "HEAD {template}"
                    );
                }
            } else if takes.contains(&method) {
                // /metrics answers in text; a refusal would be JSON
                let s = res.status();
                let b = res.text().unwrap();
                assert!(
                    s != StatusCode::METHOD_NOT_ALLOWED && !b.contains("no endpoint"),
                    "{method} {template} is documented but refused: {s} {b}"
                );
            } else {
                let (s, b) = body(res);
                assert_eq!(
                    (s, b["code"].as_str(), allow.as_deref()),
                    (
                        StatusCode::METHOD_NOT_ALLOWED,
                        Some("method_not_allowed"),
                        Some(takes.join(", ").as_str())
                    ),
                    "{method} {template}"
                );
            }
        }
    }
    assert!(heads >= 8, "{heads} paths take HEAD");
}

/// HEAD as `curl -I` and status-line monitors send it: the GET's status and headers, with a
/// key and without one, and nothing of the body.
#[test]
fn a_head_answers_as_its_get_without_the_body() {
    let i = Instance::started();
    let c = i.client();
    let ivr = make_key(&i, "ivr", "ivr1");
    for (path, key, status) in [
        ("/livez", None, StatusCode::OK),
        ("/readyz", None, StatusCode::OK),
        ("/v1/whoami", Some(&ivr), StatusCode::OK),
        ("/v1/whoami", None, StatusCode::UNAUTHORIZED),
        ("/v1/admin/keys", Some(&ivr), StatusCode::FORBIDDEN),
        ("/v1/admin/keys", Some(&i.admin), StatusCode::OK),
        ("/v1/calls/nosuch", Some(&ivr), StatusCode::NOT_FOUND),
    ] {
        let head = |builder: reqwest::blocking::RequestBuilder| match key {
            Some(k) => builder.bearer_auth(k),
            None => builder,
        };
        let got = head(c.head(i.url(path))).send().unwrap();
        let want = head(c.get(i.url(path))).send().unwrap();
        let pick = |res: &reqwest::blocking::Response| {
            ["content-type", "cache-control", "www-authenticate"]
                .map(|h| res.headers().get(h).cloned())
        };
        assert_eq!(
            (got.status(), pick(&got)),
            (status, pick(&want)),
            "HEAD {path}"
        );
        let length = |res: &reqwest::blocking::Response| res.headers()["content-length"].clone();
        if status == StatusCode::OK {
            assert_eq!(length(&got), length(&want), "HEAD {path}");
        } else {
            // a refusal names the method it refused ("may not call HEAD /v1/admin/keys")
            assert_ne!(length(&got), "0", "HEAD {path}");
        }
        assert_eq!(got.bytes().unwrap().len(), 0, "HEAD {path}");
    }
}

/// What the document says of bodies and refusals, as integrators' generated clients read it:
/// `GET /v1/calls` takes its filters in the query, an input is digits or an event (not both,
/// not neither), and every refusal a body can meet is listed with the error body.
#[test]
fn the_document_describes_queries_bodies_and_refusals() {
    let i = Instance::started();
    let c = i.client();
    let (_, doc) = body(c.get(i.url("/openapi.json")).send().unwrap());
    let params = doc["paths"]["/v1/calls"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let shape: Vec<_> = params
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["in"].as_str().unwrap(),
                p["required"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("ani", "query", false),
            ("active", "query", false),
            ("limit", "query", false),
            ("X-Agent-Id", "header", false)
        ]
    );
    let limit = &params[2]["schema"];
    assert_eq!(
        (&limit["minimum"], &limit["maximum"]),
        (&json!(1), &json!(500)),
        "{limit}"
    );
    let input = &doc["components"]["schemas"]["CallInput"];
    let choices: Vec<_> = input["allOf"][1]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["required"].clone())
        .collect();
    assert_eq!(choices, [json!(["digits"]), json!(["event"])], "{input}");
    let start = &doc["paths"]["/v1/calls"]["post"]["responses"];
    for status in ["400", "401", "403", "409", "413", "415", "500", "503"] {
        assert!(
            start.get(status).is_some(),
            "POST /v1/calls lists no {status}"
        );
    }
    let refusal = &doc["components"]["responses"]["PayloadTooLarge"];
    assert_eq!(
        refusal["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    // operations without a body do not claim body refusals; /livez has no key to refuse
    let view = &doc["paths"]["/v1/calls/{call_id}"]["get"]["responses"];
    assert!(
        view.get("413").is_none() && view.get("401").is_some(),
        "{view}"
    );
    let livez = &doc["paths"]["/livez"]["get"]["responses"];
    assert!(
        livez.get("401").is_none() && livez.get("500").is_none(),
        "{livez}"
    );
    // every operation that takes a key takes X-Agent-Id, and may refuse it (400); those
    // without a key take neither
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let keyed = op["responses"].get("401").is_some();
            let header = (op["parameters"].as_array().into_iter().flatten())
                .find(|p| p["name"] == "X-Agent-Id");
            assert_eq!(header.is_some(), keyed, "{method} {path}");
            if let Some(h) = header {
                assert_eq!(
                    (&h["in"], &h["schema"]["maxLength"]),
                    (&json!("header"), &json!(64))
                );
                assert!(op["responses"].get("400").is_some(), "{method} {path}");
            }
        }
    }
}

#[test]
fn every_error_is_a_json_body_with_a_code() {
    let i = Instance::started();
    let c = i.client();
    let keys = i.url("/v1/admin/keys");
    let admin = &i.admin;
    let big = format!(
        "{{\"name\": \"{}\", \"role\": \"ivr\"}}",
        "x".repeat(70 * 1024)
    );
    let cases: Vec<(&str, reqwest::blocking::RequestBuilder, StatusCode, &str)> = vec![
        (
            "no such route",
            c.get(i.url("/v2/nothing")),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "wrong method",
            c.put(i.url("/livez")),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "unknown field",
            c.post(&keys)
                .bearer_auth(admin)
                .json(&json!({"name": "a", "role": "ivr", "pin": "4821"})),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            "bad json",
            c.post(&keys)
                .bearer_auth(admin)
                .header("content-type", "application/json")
                .body("{\"name\":"),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "wrong value",
            c.post(&keys)
                .bearer_auth(admin)
                .json(&json!({"name": "a", "role": "superuser"})),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "not json",
            c.post(&keys)
                .bearer_auth(admin)
                .header("content-type", "text/plain")
                .body("name=a"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "over 64 KiB",
            c.post(&keys)
                .bearer_auth(admin)
                .header("content-type", "application/json")
                .body(big),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (name, req, status, code) in cases {
        let (s, b) = body(req.send().unwrap());
        assert_eq!((s, b["code"].as_str()), (status, Some(code)), "{name}: {b}");
        assert!(
            b["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}"
        );
        assert!(!b.to_string().contains("4821"), "{name}: echoed a value");
    }
    // a slip in a path, or a field, is told the one likely meant
    let (s, b) = body(
        c.post(i.url("/v1/admin/key"))
            .bearer_auth(admin)
            .json(&json!({"name": "a", "role": "ivr"}))
            .send()
            .unwrap(),
    );
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b["message"],
        "no endpoint POST /v1/admin/key; did you mean /v1/admin/keys?"
    );
    // a base URL that ends with `/` joined to a path that begins with one: served as meant
    let (s, b) = body(
        c.post(i.url("//v1/admin//keys"))
            .bearer_auth(admin)
            .json(&json!({"name": "slashes", "role": "ivr"}))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (s, &b["name"]),
        (StatusCode::CREATED, &json!("slashes")),
        "{b}"
    );
    // and the query string stays with the path
    let (s, b) = body(
        c.get(i.url("//v1//calls?ani=%2B16125550101&colour=red"))
            .bearer_auth(admin)
            .send()
            .unwrap(),
    );
    assert_eq!(
        (s, &b["code"]),
        (StatusCode::BAD_REQUEST, &json!("bad_query")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("`colour`"), "{b}");
    let (s, b) = body(
        c.post(&keys)
            .bearer_auth(admin)
            .json(&json!({"name": "a", "rol": "ivr"}))
            .send()
            .unwrap(),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b["message"],
        "unknown field `rol` (line 1, column 17); did you mean `role`?"
    );
    // an id in a path that can be none is not repeated back, thousands of characters long;
    // one that could be is, quoted
    let ivr = make_key(&i, "ivr", "ivr-ids");
    let long = "7".repeat(2000);
    for (path, key, code, says) in [
        (
            format!("/v1/calls/{long}"),
            &ivr,
            "no_such_call",
            "no call with that id: a call_id is 1 to 128 visible ASCII characters".to_string(),
        ),
        (
            format!("/v1/calls/{long}/step"),
            &ivr,
            "no_such_call",
            "no call with that id: a call_id is 1 to 128 visible ASCII characters".to_string(),
        ),
        (
            "/v1/calls/c-404".to_string(),
            &ivr,
            "no_such_call",
            "no call \"c-404\"".to_string(),
        ),
        (
            format!("/v1/members/{long}"),
            admin,
            "not_found",
            "no member with that id: a member_id is 1 to 64 characters, none of them control \
             characters"
                .to_string(),
        ),
        (
            "/v1/members/424242".to_string(),
            admin,
            "not_found",
            "no member \"424242\"".to_string(),
        ),
    ] {
        let (s, b) = body(c.get(i.url(&path)).bearer_auth(key).send().unwrap());
        assert_eq!(
            (s, b["code"].as_str(), b["message"].as_str()),
            (StatusCode::NOT_FOUND, Some(code), Some(says.as_str())),
            "{}",
            &path[..40.min(path.len())]
        );
    }
    // nor is a path that is no endpoint, whatever its length
    let (s, b) = body(c.get(i.url(&format!("/v2/{long}"))).send().unwrap());
    assert_eq!(
        (s, b["message"].as_str()),
        (
            StatusCode::NOT_FOUND,
            Some(format!("no endpoint GET /v2/{}... (2004 characters)", &long[..76]).as_str())
        )
    );
    // a JSON body that is not there is named so
    let (s, b) = body(
        c.post(&keys)
            .bearer_auth(admin)
            .header("content-type", "application/json")
            .send()
            .unwrap(),
    );
    assert_eq!(
        (s, b["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("the body is empty: this operation takes a JSON object")
        )
    );
}

#[test]
fn health_metrics_and_openapi_are_served_without_a_key() {
    let i = Instance::started();
    let c = i.client();
    let (s, b) = body(c.get(i.url("/readyz")).send().unwrap());
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("ready")));
    let store = b["checks"]["store"].as_str().unwrap();
    assert!(
        store.starts_with("open") && store.ends_with("MiB free"),
        "{store}"
    );

    // a disk with less free than storage.min_free_mb is "not ready" (1 TiB here, after a
    // reload), and ready again once the threshold is met
    let config = std::fs::read_to_string(&i.config).unwrap();
    let demanding = config.replace("[storage]\n", "[storage]\nmin_free_mb = 1048576\n");
    assert_ne!(demanding, config);
    for (text, want) in [
        (&demanding, StatusCode::SERVICE_UNAVAILABLE),
        (&config, StatusCode::OK),
    ] {
        std::fs::write(&i.config, text).unwrap();
        let r = c
            .post(i.url("/v1/admin/reload"))
            .bearer_auth(&i.admin)
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let (s, b) = body(c.get(i.url("/readyz")).send().unwrap());
        assert_eq!(s, want, "{b}");
        if s != StatusCode::OK {
            assert!(
                b["message"]
                    .as_str()
                    .unwrap()
                    .contains("storage.min_free_mb"),
                "{b}"
            );
        }
    }
    c.get(i.url("/v1/whoami")).send().unwrap();
    // methods nobody uses are one series, however many a client makes up
    for made_up in ["BREW", "WHEN"] {
        let method = reqwest::Method::from_bytes(made_up.as_bytes()).unwrap();
        c.request(method, i.url("/livez")).send().unwrap();
    }
    let metrics = c.get(i.url("/metrics")).send().unwrap().text().unwrap();
    assert!(
        !metrics.contains("BREW") && !metrics.contains("WHEN"),
        "{metrics}"
    );
    for want in [
        "callvault_http_requests_total{route=\"/v1/whoami\",method=\"GET\",status=\"401\"}",
        "callvault_http_requests_total{route=\"/livez\",method=\"other\",status=\"405\"} 2",
        "callvault_http_request_duration_seconds_bucket{route=\"/readyz\"",
        "callvault_audit_commits_total",
        // a group commit's time: with buckets fine enough to see a slow disk's fsync
        "callvault_audit_commit_seconds_bucket{le=\"0.0025\"}",
        "callvault_store_free_bytes",
        concat!(
            "callvault_build_info{version=\"",
            env!("CARGO_PKG_VERSION"),
            "\"} 1"
        ),
    ] {
        assert!(metrics.contains(want), "{want} missing:\n{metrics}");
    }
    // the calls are swept once when the service starts, off the request path
    let mut swept = false;
    for _ in 0..100 {
        let m = c.get(i.url("/metrics")).send().unwrap().text().unwrap();
        swept = m.contains("callvault_calls_sweep_seconds_count 1");
        if swept {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(swept, "no sweep in /metrics after 5 s");
    // each HTTPS worker's event loop is probed every 10 ms
    let ticks = |m: &str| -> f64 {
        m.lines()
            .find_map(|l| l.strip_prefix("callvault_worker_lag_seconds_count "))
            .map_or(0.0, |v| v.parse().unwrap())
    };
    let first = ticks(&c.get(i.url("/metrics")).send().unwrap().text().unwrap());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let later = ticks(&c.get(i.url("/metrics")).send().unwrap().text().unwrap());
    assert!(first > 0.0 && later > first + 10.0, "{first} then {later}");
    let (s, doc) = body(c.get(i.url("/openapi.json")).send().unwrap());
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/livez",
        "/readyz",
        "/metrics",
        "/v1/whoami",
        "/v1/admin/reload",
        "/v1/admin/keys",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["mtls"]["type"],
        "mutualTLS"
    );
    let whoami_security = doc["paths"]["/v1/whoami"]["get"]["security"].to_string();
    assert!(whoami_security.contains("mtls"), "{whoami_security}");
}

#[test]
fn tls_1_2_and_1_3_are_both_served() {
    let i = Instance::started();
    let pem = std::fs::read(i.ca()).unwrap();
    for version in [
        reqwest::tls::Version::TLS_1_2,
        reqwest::tls::Version::TLS_1_3,
    ] {
        let c = Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .tls_built_in_root_certs(false)
            .min_tls_version(version)
            .max_tls_version(version)
            .build()
            .unwrap();
        let res = c.get(i.url("/livez")).send().unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{version:?}");
    }
}

/// `http://` written for `https://`: the port answers in plain HTTP that it speaks HTTPS
/// only, the log says so (without the request's content), and TLS is served as before.
#[test]
fn plain_http_to_the_https_port_is_told_to_use_https() {
    use std::io::{Read, Write};
    let i = Instance::started();
    // as an HTTP library sends it
    let res = Client::new()
        .post(format!("http://127.0.0.1:{}/v1/calls/c1/input", i.port))
        .header("content-type", "application/json")
        .body(r#"{"digits": "90817263"}"#)
        .send()
        .unwrap();
    let (status, error) = body(res);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], "https_required");
    assert!(
        error["message"].as_str().unwrap().contains("https://"),
        "{error}"
    );
    // a body far longer than the head the port reads: the answer still arrives whole, not
    // cut by a reset
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", i.port)).unwrap();
    let filler = "7".repeat(200_000);
    write!(
        tcp,
        "POST /v1/intents HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{filler}",
        filler.len()
    )
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("}"), "{answer}");
    // a head that never ends is answered all the same, once the port stops waiting for it
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", i.port)).unwrap();
    tcp.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.contains("https_required"), "{answer}");

    let log = i.service_log_with("plain HTTP request");
    assert!(
        log.contains("came to the HTTPS port") && log.contains("https://"),
        "{log}"
    );
    i.assert_never_written(&["90817263", "7777777"]);
    assert_eq!(i.metric("callvault_plain_http_refused_total", &[]), 3.0);
    // and the port serves TLS as before
    let res = i.client().get(i.url("/livez")).send().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// A client whose TLS handshake fails is told of in the log, with what to do: one on an old
/// TLS stack (TLS 1.0 offering only an RSA, CBC cipher suite, as old Java IVRs did), and
/// one that does not trust the service's certificate. `/metrics` counts them, and a client
/// that offers HTTP/2 alone as incompatible too. Before
/// 2026-12-06 the log said nothing, and the IVR's side said only "handshake failure".
#[test]
fn a_failed_tls_handshake_is_told_in_the_log_with_what_to_do() {
    use std::io::{Read, Write};
    let mut i = Instance::init();
    i.start();
    // a TLS 1.0 ClientHello offering TLS_RSA_WITH_AES_128_CBC_SHA alone, no extensions
    let mut hello = vec![0x03, 0x01];
    hello.extend_from_slice(&[7u8; 32]);
    hello.extend_from_slice(&[0x00, 0x00, 0x02, 0x00, 0x2f, 0x01, 0x00]);
    let mut handshake = vec![0x01, 0x00, 0x00, hello.len() as u8];
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, handshake.len() as u8];
    record.extend_from_slice(&handshake);
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", i.port)).unwrap();
    tcp.write_all(&record).unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    assert_eq!(answer.first(), Some(&0x15), "an alert record: {answer:?}");
    // a client that trusts the public roots alone
    let stranger = reqwest::blocking::Client::builder().build().unwrap();
    assert!(stranger.get(i.url("/livez")).send().is_err());
    // a client that speaks HTTP/2 alone (ALPN h2): the service speaks HTTP/1
    let mut h2 = tls_to(&i, &["h2"]);
    let refused = h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert!(refused.is_err(), "an h2-only client was served");

    let log = i.service_log_with("refused callvault's certificate");
    assert!(
        log.contains("offers no TLS version, cipher suite or protocol callvault accepts")
            && log.contains("TLS 1.2 with ECDHE"),
        "{log}"
    );
    let cert = i.path("etc/tls.crt");
    assert!(
        log.contains(&format!(
            "refused callvault's certificate (its alert: UnknownCA): make it trust {}",
            cert.display()
        )),
        "{log}"
    );
    let failures = |reason| {
        i.metric(
            "callvault_tls_handshake_failures_total",
            &[("reason", reason)],
        )
    };
    assert_eq!(
        (failures("incompatible"), failures("certificate_refused")),
        (2.0, 1.0)
    );
    // and the port serves TLS as before
    let res = i.client().get(i.url("/livez")).send().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// `server.cors_origins`: a page served from an agent desktop's origin may call the API from
/// a browser (preflight, then the request with its key); any other origin gets no CORS
/// headers and its preflight is refused in JSON; with none configured a preflight is `405`.
/// A reload changes the list from the next request.
#[test]
fn a_configured_web_origin_may_call_the_api_from_a_browser() {
    use reqwest::Method;
    const DESK: &str = "https://desk.cu.example";
    let mut i = Instance::init();
    i.write_config(&format!(
        "cors_origins = [\"{DESK}\", \"http://localhost:5173\"]\n"
    ));
    i.start();
    let c = i.client();
    let agent = make_key(&i, "agent", "cors-agent");
    let preflight = |origin: &str, method: &str, headers: &str| {
        c.request(Method::OPTIONS, i.url("/v1/calls/nope"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .header("Access-Control-Request-Headers", headers)
            .send()
            .unwrap()
    };
    let header = |r: &reqwest::blocking::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
    };

    // the desk's preflight for a GET with its key, then the GET itself
    let ok = preflight(DESK, "GET", "authorization");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        header(&ok, "access-control-allow-origin").as_deref(),
        Some(DESK)
    );
    let allowed = header(&ok, "access-control-allow-headers").unwrap();
    for h in [
        "authorization",
        "x-api-key",
        "content-type",
        "accept",
        "x-agent-id",
    ] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }
    assert!(header(&ok, "access-control-allow-credentials").is_none());
    // from the desk, each answer names it: a handler's refusal, one callvault rewrites into
    // JSON (a body over the limit), and one for no key
    let from_desk = |req: reqwest::blocking::RequestBuilder| {
        let r = req.header("Origin", DESK).send().unwrap();
        assert_eq!(
            header(&r, "access-control-allow-origin").as_deref(),
            Some(DESK)
        );
        body(r)
    };
    let (s, b) = from_desk(c.get(i.url("/v1/calls/nope")).bearer_auth(&agent));
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_such_call"))
    );
    let (s, b) = from_desk(
        c.post(i.url("/v1/admin/keys"))
            .bearer_auth(&i.admin)
            .header("Content-Type", "application/json")
            .body(vec![b' '; 70 * 1024]),
    );
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    let (s, _) = from_desk(c.post(i.url("/v1/calls/nope/checklist")));
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // another origin: served as without one (the browser withholds it), preflight refused
    let r = c
        .get(i.url("/v1/whoami"))
        .header("Origin", "https://evil.example")
        .bearer_auth(&agent)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "access-control-allow-origin").is_none());
    for (origin, method, headers) in [
        ("https://evil.example", "GET", "authorization"),
        (DESK, "PUT", "authorization"),
        (DESK, "GET", "x-secret-sauce"),
    ] {
        let r = preflight(origin, method, headers);
        // the refusal is JSON, one type alone
        let types: Vec<_> = r.headers().get_all("content-type").iter().collect();
        assert_eq!(types, ["application/json"], "{origin} {method} {headers}");
        let (s, b) = body(r);
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("cors_refused")),
            "{origin} {method} {headers}: {b}"
        );
    }
    // an OPTIONS that asks for no method is no preflight: the route has no OPTIONS
    let (s, b) = body(
        c.request(Method::OPTIONS, i.url("/v1/whoami"))
            .header("Origin", DESK)
            .send()
            .unwrap(),
    );
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")),
        "{b}"
    );

    // a reload applies a change of the list from the next request, on a connection already
    // open: none listed is no CORS at all, and the preflight is 405
    let reload = |c: &reqwest::blocking::Client| {
        let (s, r) = body(
            c.post(i.url("/v1/admin/reload"))
                .bearer_auth(&i.admin)
                .send()
                .unwrap(),
        );
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["restart_needed_for"], serde_json::json!([]), "{r}");
    };
    i.write_config("");
    reload(&c);
    let r = preflight(DESK, "GET", "authorization");
    assert!(header(&r, "access-control-allow-origin").is_none());
    assert!(header(&r, "vary").is_none());
    let (s, b) = body(r);
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let r = c
        .get(i.url("/v1/whoami"))
        .header("Origin", DESK)
        .bearer_auth(&agent)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        !r.headers()
            .keys()
            .any(|h| h.as_str().starts_with("access-control-") || h.as_str() == "vary"),
        "{:?}",
        r.headers()
    );
    // another origin listed: it may, the desk no longer may
    const NEW_DESK: &str = "https://desk2.cu.example:8444";
    i.write_config(&format!("cors_origins = [\"{NEW_DESK}\"]\n"));
    reload(&c);
    assert_eq!(
        preflight(NEW_DESK, "POST", "x-api-key").status(),
        StatusCode::OK
    );
    assert_eq!(
        preflight(DESK, "GET", "authorization").status(),
        StatusCode::BAD_REQUEST
    );
    let r = c
        .get(i.url("/v1/whoami"))
        .header("Origin", NEW_DESK)
        .bearer_auth(&agent)
        .send()
        .unwrap();
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(NEW_DESK)
    );
}

/// A raw TLS connection to the instance, offering these protocols (ALPN).
fn tls_to(
    i: &Instance,
    alpn: &[&str],
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(i.ca()).unwrap();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", i.port)).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// An IVR whose HTTP client speaks HTTP/1.0 and says so in the handshake (ALPN
/// `http/1.0`, as `curl --http1.0` does) starts a call: the handshake is not refused, the
/// answer is the call's first step, and the connection closes after it, as HTTP/1.0 without
/// keep-alive expects.
#[test]
fn an_http_1_0_client_starts_a_call() {
    use std::io::{Read, Write};
    let i = Instance::started();
    let key = make_key(&i, "ivr", "ivr10");
    let mut tls = tls_to(&i, &["http/1.0"]);
    let body = r#"{"call_id":"h10","ani":"+12025550199"}"#;
    let request = format!(
        "POST /v1/calls HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).unwrap();
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.0"[..]));
    let mut answer = Vec::new();
    // read to the end: the service closes the connection after its answer
    match tls.read_to_end(&mut answer) {
        Ok(_) => {}
        // a close without close_notify is a close too
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => panic!("{e}"),
    }
    let answer = text(&answer);
    assert!(answer.starts_with("HTTP/1.0 201"), "{answer}");
    let (_, json) = answer.split_once("\r\n\r\n").unwrap();
    let step: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(step["call_id"], "h10", "{step}");
    assert_eq!(step["kind"], "collect", "{step}");
    assert_eq!(step["step"], 1, "{step}");
}

/// `server.keep_alive_seconds`: an idle connection stays open that long after an answer,
/// then the service closes it. Seen on a raw TLS connection, one request on it.
#[test]
fn an_idle_connection_stays_open_for_keep_alive_seconds() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let mut i = Instance::init();
    // how long after its answer the service closed the connection (None: still open at
    // `wait`)
    let closed_after = |i: &Instance, wait: Duration| -> Option<Duration> {
        let mut tls = tls_to(i, &[]);
        tls.write_all(b"GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
            let n = tls.read(&mut buf).unwrap();
            assert!(n > 0, "closed before answering");
            answer.extend_from_slice(&buf[..n]);
        }
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
        let answered = Instant::now();
        tls.sock.set_read_timeout(Some(wait)).unwrap();
        loop {
            match tls.read(&mut buf) {
                Ok(0) => return Some(answered.elapsed()),
                Ok(_) => continue, // the rest of the body
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None;
                }
                // a close without close_notify is a close too
                Err(_) => return Some(answered.elapsed()),
            }
        }
    };
    i.write_config("keep_alive_seconds = 1\n");
    i.start();
    let closed = closed_after(&i, Duration::from_secs(5));
    assert!(
        closed.is_some_and(|d| d >= Duration::from_millis(500) && d < Duration::from_secs(3)),
        "keep_alive_seconds = 1: {closed:?}"
    );
    i.stop();
    // the default (75): still open well after actix's own default of 5 seconds would have
    // closed it
    i.write_config("");
    i.start();
    assert_eq!(
        closed_after(&i, Duration::from_secs(7)),
        None,
        "the default"
    );
}
