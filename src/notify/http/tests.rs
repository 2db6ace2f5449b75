use super::*;

#[test]
fn a_gateway_ca_file_without_a_certificate_is_refused_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("sms-ca.pem");
    std::fs::write(&ca, "# paste the gateway's CA here\n").unwrap();
    let Err(SendError::Failed(message)) = client(
        "notify.sms",
        "https://sms.cu.example/send",
        Some(&ca),
        1_000,
    ) else {
        panic!("an empty CA file was taken");
    };
    assert!(message.starts_with("notify.sms.ca_file "), "{message}");
    assert!(message.contains("no certificate in the file"), "{message}");
    let pair = rcgen::generate_simple_self_signed(vec!["sms.cu.example".into()]).unwrap();
    std::fs::write(&ca, pair.cert.pem()).unwrap();
    assert!(
        client(
            "notify.sms",
            "https://sms.cu.example/send",
            Some(&ca),
            1_000
        )
        .is_ok()
    );
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

#[test]
fn the_gateway_key_goes_in_its_header_only_when_both_are_set() {
    let client = reqwest::Client::new();
    let header = Some("X-Gateway-Key".to_string());
    let value = Some(Secret::new("gw-secret"));
    // (header name, value, header sent)
    let cases = [
        (&header, &value, Some("gw-secret")),
        (&header, &None, None),
        (&None, &value, None),
        (&None, &None, None),
    ];
    for (h, v, want) in cases {
        let request = with_auth(client.post("https://sms.cu.example/send"), h, v)
            .build()
            .unwrap();
        let sent = request
            .headers()
            .get("x-gateway-key")
            .map(|v| v.to_str().unwrap());
        assert_eq!(sent, want, "{h:?}");
        let others = request.headers().len() - usize::from(sent.is_some());
        assert_eq!(others, 0, "{h:?}: {:?}", request.headers());
    }
}
