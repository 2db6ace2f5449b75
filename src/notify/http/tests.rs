use super::*;

/// Why the SMS gateway's client could not be made from `config`, or "made".
fn made(config: SmsConfig) -> String {
    match SmsGateway::new(config).client {
        Ok(_) => "made".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_gateway_whose_files_cannot_be_used_is_refused_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let pair = rcgen::generate_simple_self_signed(vec!["sms.cu.example".into()]).unwrap();
    std::fs::write(path("empty.pem"), "# paste the gateway's CA here\n").unwrap();
    std::fs::write(path("ca.pem"), pair.cert.pem()).unwrap();
    std::fs::write(path("client.crt"), pair.cert.pem()).unwrap();
    std::fs::write(path("client.key"), pair.key_pair.serialize_pem()).unwrap();
    std::fs::write(path("client.der"), pair.cert.der()).unwrap();
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(path("other.key"), other.serialize_pem()).unwrap();
    // (CA file, client certificate and key, what the client's making says)
    type Case<'a> = (Option<&'a str>, Option<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 9] = [
        (
            None,
            Some(("client.der", "client.key")),
            "notify.sms.client_cert: ",
        ),
        (
            None,
            Some(("client.key", "client.crt")),
            "notify.sms.client_cert: ",
        ),
        (
            None,
            Some(("client.crt", "client.crt")),
            "notify.sms.client_key: ",
        ),
        (None, None, "made"),
        (Some("ca.pem"), None, "made"),
        (Some("ca.pem"), Some(("client.crt", "client.key")), "made"),
        (Some("empty.pem"), None, "notify.sms.ca_file "),
        (
            None,
            Some(("missing.crt", "client.key")),
            "notify.sms.client_cert ",
        ),
        (
            None,
            Some(("client.crt", "other.key")),
            "notify.sms.client_key: ",
        ),
    ];
    for (ca, client, want) in cases {
        let config = SmsConfig {
            url: "https://sms.cu.example/send?to={to}".into(),
            ca_file: ca.map(path),
            client_cert: client.map(|(c, _)| path(c)),
            client_key: client.map(|(_, k)| path(k)),
            ..SmsConfig::default()
        };
        let got = made(config);
        assert!(got.starts_with(want), "{ca:?} {client:?}: {got}");
    }
    let empty = made(SmsConfig {
        ca_file: Some(path("empty.pem")),
        ..SmsConfig::default()
    });
    assert!(empty.contains("no certificate in the file"), "{empty}");
    // each file told as what it is, and a key that is not the certificate's said so
    for ((cert, key), said) in [
        (
            ("client.der", "client.key"),
            "it is a certificate in DER (binary) form",
        ),
        (
            ("client.key", "client.crt"),
            "it holds a private key, not a certificate",
        ),
        (
            ("client.crt", "client.crt"),
            "it holds certificates, not a private key",
        ),
        (("client.crt", "other.key"), "is not the key of"),
    ] {
        let got = made(SmsConfig {
            url: "https://sms.cu.example/send".into(),
            client_cert: Some(path(cert)),
            client_key: Some(path(key)),
            ..SmsConfig::default()
        });
        assert!(got.contains(said), "{cert} {key}: {got}");
        assert!(
            !got.contains("the key is not that of the certificate"),
            "{got}"
        );
    }
}

#[test]
fn a_gateway_s_status_is_sent_unreachable_or_failed() {
    // (status, SMS gateway's verdict, app back end's verdict): "ok", "unreachable", or a
    // failure's message
    let redirect = "answered {s}; redirects are not followed: set notify.{k}.url";
    let cases: [(u16, &str, &str); 12] = [
        (200, "ok", "ok"),
        (202, "ok", "ok"),
        (299, "ok", "ok"),
        (301, redirect, redirect),
        (307, redirect, redirect),
        (400, "SMS gateway answered {s}", "app back end answered {s}"),
        (404, "SMS gateway answered {s}", "unreachable"),
        (409, "SMS gateway answered {s}", "unreachable"),
        (410, "SMS gateway answered {s}", "unreachable"),
        (422, "SMS gateway answered {s}", "unreachable"),
        (429, "SMS gateway answered {s}", "app back end answered {s}"),
        (503, "SMS gateway answered {s}", "app back end answered {s}"),
    ];
    let read = |verdict: Result<(), SendError>| match verdict {
        Ok(()) => "ok".to_string(),
        Err(SendError::Unreachable(m)) => {
            assert!(m.starts_with("the app back end cannot push"), "{m}");
            "unreachable".to_string()
        }
        Err(SendError::Failed(m)) => m,
    };
    for (code, sms, push) in cases {
        let status = reqwest::StatusCode::from_u16(code).unwrap();
        for (channel, got, want) in [
            ("sms", read(sms_verdict(status)), sms),
            ("push", read(push_verdict(status)), push),
        ] {
            let want = want
                .replace("{s}", &status.to_string())
                .replace("{k}", channel);
            assert!(got.contains(&want), "{channel} {code}: {got}");
            if want == "ok" || want == "unreachable" {
                assert_eq!(got, want, "{channel} {code}");
            }
        }
    }
}
