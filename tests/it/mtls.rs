//! Client certificates (mTLS): `server.client_ca` makes the handshake ask for one, and a
//! certificate named in `[[server.clients]]` stands in for an API key.

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::harness::{Instance, client_builder};

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(vec![]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca { cert, key }
}

/// A client certificate for `dns_name` issued by `ca`, as the PEM reqwest takes.
fn client_pem(ca: &Ca, dns_name: &str) -> Vec<u8> {
    let mut params = CertificateParams::new(vec![dns_name.to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, dns_name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    format!("{}{}", cert.pem(), key.serialize_pem()).into_bytes()
}

fn client(i: &Instance, pem: Option<&[u8]>) -> Client {
    let b = client_builder(&i.ca());
    match pem {
        Some(pem) => b.identity(reqwest::Identity::from_pem(pem).unwrap()),
        None => b,
    }
    .build()
    .unwrap()
}

fn get(c: &Client, i: &Instance, path: &str, key: Option<&str>) -> (StatusCode, Value) {
    let req = c.get(i.url(path));
    let req = match key {
        Some(k) => req.bearer_auth(k),
        None => req,
    };
    let r = req.send().unwrap();
    (r.status(), r.json().unwrap_or(Value::Null))
}

const IVR_HOST: &str = "ivr-host-1.cu.test";

fn config(ca_file: &std::path::Path, mode: &str) -> String {
    format!(
        "client_ca = \"{}\"\nclient_cert = \"{mode}\"\n[[server.clients]]\nname = \"{IVR_HOST}\"\nrole = \"ivr\"\n",
        ca_file.display()
    )
}

#[test]
fn client_certificates_admit_connections_and_stand_in_for_keys() {
    let mut i = Instance::init();
    let (ours, rogue) = (ca("clients CA"), ca("someone else's CA"));
    let ca_file = i.path("etc/clients-ca.pem");
    std::fs::write(&ca_file, ours.cert.pem()).unwrap();
    let ivr_pem = client_pem(&ours, IVR_HOST);
    let unmapped_pem = client_pem(&ours, "desk-7.cu.test");
    let rogue_pem = client_pem(&rogue, IVR_HOST);
    i.write_config(&config(&ca_file, "required"));
    let ivr = client(&i, Some(&ivr_pem));
    i.start_with(ivr.clone());

    // required: no certificate, or one from another CA, gets no connection at all
    for (what, c) in [
        ("no certificate", client(&i, None)),
        ("another CA's", client(&i, Some(&rogue_pem))),
    ] {
        let r = c.get(i.url("/livez")).send();
        assert!(r.is_err(), "{what}: {r:?}");
    }
    // and the log says why, and what to do (once a minute: the second is left out)
    let log = i.service_log_with("it must be issued by a CA in server.client_ca");
    assert!(
        log.contains("a client's certificate was refused (peer sent no certificates)"),
        "{log}"
    );
    let metrics = ivr.get(i.url("/metrics")).send().unwrap().text().unwrap();
    assert_eq!(
        crate::harness::metric_in(
            &metrics,
            "callvault_tls_handshake_failures_total",
            &[("reason", "client_certificate")]
        ),
        2.0
    );

    // the mapped certificate is the IVR, without a key
    let (s, me) = get(&ivr, &i, "/v1/whoami", None);
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(
        me,
        json!({"name": IVR_HOST, "role": "ivr", "via": "cert", "agent": null})
    );
    let r = ivr
        .post(i.url("/v1/calls"))
        .json(&json!({"call_id": "mtls-1", "ani": "anonymous"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (s, e) = get(&ivr, &i, "/v1/admin/keys", None);
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("a client certificate with role ivr"),
        "{e}"
    );

    // a certificate of ours that no entry names admits the connection, not a role; nor
    // does a wildcard one that covers an entry's name (it was taken for that entry)
    for pem in [&unmapped_pem, &client_pem(&ours, "*.cu.test")] {
        let unmapped = client(&i, Some(pem));
        let (s, e) = get(&unmapped, &i, "/v1/whoami", None);
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("[[server.clients]]"),
            "{e}"
        );
    }
    // a key presented with a certificate decides who the client is
    let admin = i.admin.clone();
    let (s, me) = get(&ivr, &i, "/v1/whoami", Some(&admin));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (me["role"].as_str(), me["via"].as_str()),
        (Some("admin"), Some("key"))
    );

    let events = i.audit_events();
    assert!(
        events.contains(&format!("\"actor\":\"cert:{IVR_HOST}\"")),
        "{events}"
    );

    // optional: keys alone work again; a certificate presented must still be ours
    i.stop();
    i.write_config(&config(&ca_file, "optional"));
    let plain = client(&i, None);
    i.start_with(plain.clone());
    let (s, me) = get(&plain, &i, "/v1/whoami", Some(&admin));
    assert_eq!((s, me["via"].as_str()), (StatusCode::OK, Some("key")));
    let (s, me) = get(&ivr, &i, "/v1/whoami", None);
    assert_eq!((s, me["via"].as_str()), (StatusCode::OK, Some("cert")));
    let r = client(&i, Some(&rogue_pem)).get(i.url("/livez")).send();
    assert!(r.is_err(), "{r:?}");

    // an entry removed and reloaded shuts its certificate out at once
    let reload = |clients: &str| {
        i.write_config(&format!(
            "client_ca = \"{}\"\nclient_cert = \"optional\"\n{clients}",
            ca_file.display()
        ));
        let r = plain
            .post(i.url("/v1/admin/reload"))
            .bearer_auth(&admin)
            .json(&json!({}))
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    };
    reload("");
    let (s, e) = get(&ivr, &i, "/v1/whoami", None);
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");

    // the last admin key is kept over the API, unless an admin's certificate can manage
    // keys in its stead
    let (_, me) = get(&plain, &i, "/v1/whoami", Some(&admin));
    let mine = i.url(&format!("/v1/admin/keys/{}", me["name"].as_str().unwrap()));
    let revoke = || {
        plain
            .delete(&mine)
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(revoke(), StatusCode::CONFLICT);
    reload("[[server.clients]]\nname = \"ops.cu.test\"\nrole = \"admin\"\n");
    assert_eq!(revoke(), StatusCode::NO_CONTENT);
    let ops = client(&i, Some(&client_pem(&ours, "ops.cu.test")));
    let (s, listed) = get(&ops, &i, "/v1/admin/keys", None);
    assert_eq!(s, StatusCode::OK, "{listed}");
}

/// `server.client_ca` and `client_cert` reload with the rest of the configuration: a CA
/// added to the file admits its clients from the next connection, one taken out admits none
/// of them (a connection opened before is refused at its next request), and a CA file the
/// service cannot use refuses the reload and keeps the CAs in use.
#[test]
fn a_reload_changes_which_cas_admit_a_connection() {
    let mut i = Instance::init();
    let (first, second) = (ca("first CA"), ca("second CA"));
    let ca_file = i.path("etc/clients-ca.pem");
    let set_cas = |cas: &[&Ca]| {
        let pem: String = cas.iter().map(|c| c.cert.pem()).collect();
        std::fs::write(&ca_file, pem).unwrap();
    };
    set_cas(&[&first]);
    let (first_pem, second_pem) = (
        client_pem(&first, "desk-1.cu.test"),
        client_pem(&second, "desk-2.cu.test"),
    );
    i.write_config(&config(&ca_file, "required"));
    i.start_with(client(&i, Some(&first_pem)));
    let admin = i.admin.clone();
    // a new client each time: a new handshake
    let connects = |pem: Option<&[u8]>| client(&i, pem).get(i.url("/livez")).send().is_ok();
    let reload = |via: Option<&[u8]>, config: String| {
        i.write_config(&config);
        let r = (client(&i, via).post(i.url("/v1/admin/reload")))
            .bearer_auth(&admin)
            .json(&json!({}))
            .send()
            .unwrap();
        (r.status(), r.json::<Value>().unwrap())
    };
    assert!(connects(Some(&first_pem)));
    assert!(!connects(Some(&second_pem)));

    set_cas(&[&first, &second]);
    let (s, r) = reload(Some(&first_pem), config(&ca_file, "required"));
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["restart_needed_for"], json!([]), "{r}");
    assert!(connects(Some(&second_pem)));
    assert!(connects(Some(&first_pem)));

    // a client that keeps its TLS session (as an IVR's HTTP client does) and reconnects
    let resuming = client(&i, Some(&first_pem));
    let reconnects = || {
        let r = resuming
            .get(i.url("/livez"))
            .header("connection", "close")
            .send();
        r.is_ok_and(|r| r.status() == StatusCode::OK)
    };
    assert!(
        reconnects() && reconnects(),
        "the second one resumes the session"
    );

    // connections kept open across the next reload, as an IVR's pool keeps them
    let (kept_first, kept_second) = (client(&i, Some(&first_pem)), client(&i, Some(&second_pem)));
    for kept in [&kept_first, &kept_second] {
        assert_eq!(get(kept, &i, "/livez", None).0, StatusCode::OK);
    }

    set_cas(&[&second]);
    let (s, r) = reload(Some(&second_pem), config(&ca_file, "required"));
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(!connects(Some(&first_pem)), "a CA taken out still admits");
    assert!(
        !reconnects(),
        "a session begun under a CA taken out still resumes"
    );
    assert!(connects(Some(&second_pem)));
    // the connection opened under the CA taken out is refused at its next request and
    // closed (a new handshake would have failed: this answer came over the old connection)
    let r = kept_first.get(i.url("/livez")).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers().get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
    let refusal: Value = r.json().unwrap();
    assert_eq!(refusal["code"], "certificate_refused", "{refusal}");
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("server.client_ca"),
        "{refusal}"
    );
    assert!(
        kept_first.get(i.url("/livez")).send().is_err(),
        "it connected again"
    );
    // the other CA's stays open and admitted, judged once
    for _ in 0..2 {
        assert_eq!(get(&kept_second, &i, "/livez", None).0, StatusCode::OK);
    }
    let metrics = (kept_second.get(i.url("/metrics")).send().unwrap().text()).unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "callvault_auth_failures_total{reason=\"certificate\"} 1"),
        "{metrics}"
    );
    assert!(
        i.audit_events()
            .contains("the client certificate for desk-1.cu.test, shown when the connection was opened, is no longer admitted (server.client_ca or client_cert reloaded) on GET /livez"),
        "not audited"
    );

    // a file with no CA in it: refused; the CAs in use stay
    let empty = i.path("etc/no-cas.pem");
    std::fs::write(&empty, "").unwrap();
    let (s, r) = reload(Some(&second_pem), config(&empty, "optional"));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("server.client_ca"),
        "{r}"
    );
    assert!(!connects(None), "the refused reload's optional applied");
    assert!(connects(Some(&second_pem)));

    // optional: keys alone connect; a certificate presented must still be from a CA in use
    let (s, r) = reload(Some(&second_pem), config(&ca_file, "optional"));
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(connects(None));
    assert!(!connects(Some(&first_pem)));
    // required again: a connection opened without a certificate is refused at its next
    // request
    let bare = client(&i, None);
    assert_eq!(get(&bare, &i, "/livez", None).0, StatusCode::OK);
    let (s, r) = reload(Some(&second_pem), config(&ca_file, "required"));
    assert_eq!(s, StatusCode::OK, "{r}");
    let (s, refusal) = get(&bare, &i, "/livez", None);
    assert_eq!(
        (s, refusal["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("certificate_refused"))
    );
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("server.client_cert now requires"),
        "{refusal}"
    );
    assert!(
        i.audit_events().contains(
            "no client certificate, shown when the connection was opened, is no longer admitted"
        ),
        "not audited"
    );
    let (s, r) = reload(Some(&second_pem), config(&ca_file, "optional"));
    assert_eq!(s, StatusCode::OK, "{r}");

    // no client CA: the handshake asks for no certificate
    let (s, r) = reload(None, String::new());
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(connects(None));
    assert!(connects(Some(&first_pem)));
}
