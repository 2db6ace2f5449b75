use super::*;
use hyper_util::client::proxy::matcher::Matcher;

#[test]
fn hosts_and_this_host_are_read_from_the_url() {
    let cases = [
        (
            "https://core-gw.cu.example",
            Some("core-gw.cu.example"),
            false,
        ),
        (
            "https://core-gw.cu.example:8443/v1?x=1",
            Some("core-gw.cu.example"),
            false,
        ),
        ("http://127.0.0.1:9000", Some("127.0.0.1"), true),
        ("http://127.8.0.1/x", Some("127.8.0.1"), true),
        ("https://LOCALHOST/send", Some("LOCALHOST"), true),
        ("http://[::1]:8080/x", Some("::1"), true),
        ("http://[fe80::1]/x", Some("fe80::1"), false),
        ("http://user:pw@localhost:1/x", Some("localhost"), true),
        // a user name that looks like this host does not make the host this one
        (
            "http://localhost@core-gw.cu.example/",
            Some("core-gw.cu.example"),
            false,
        ),
        (
            "https://localhost.cu.example/",
            Some("localhost.cu.example"),
            false,
        ),
        ("ftp://localhost/", None, false),
        ("https:///x", None, false),
    ];
    for (url, want_host, here) in cases {
        assert_eq!(host(url), want_host, "{url}");
        assert_eq!(on_this_host(url), here, "{url}");
    }
}

#[test]
fn the_proxy_for_a_url_is_named_without_its_credentials_and_never_for_this_host() {
    let env = Matcher::builder()
        .https("http://proxy-user:proxy-secret@proxy.cu.example:3128")
        .http("http://proxy.cu.example:3128")
        .no("core-gw.cu.example, 10.0.0.0/8")
        .build();
    let cases = [
        (
            "https://sms.cu.example/send?to={to}",
            Some("proxy.cu.example:3128"),
        ),
        ("http://sms.cu.example/send", Some("proxy.cu.example:3128")),
        // NO_PROXY: a name and its subdomains, an address range
        ("https://core-gw.cu.example/members", None),
        ("https://api.core-gw.cu.example/members", None),
        ("https://10.1.2.3/members", None),
        // this host: never, NO_PROXY or not
        ("http://127.0.0.1:9000/members", None),
        ("https://localhost:8443/push", None),
        ("http://[::1]:9000/", None),
    ];
    for (url, want) in cases {
        assert_eq!(proxy_for(url, &env).as_deref(), want, "{url}");
    }
    let none = Matcher::builder().build();
    assert_eq!(proxy_for("https://sms.cu.example/send", &none), None);
}

/// What a refusal's answer shows in the log: one line, numbers of six digits or more (a
/// code, a phone number, an SSN), together or in groups, masked; a gateway's shorter error
/// code kept; long answers cut.
#[test]
fn a_refusal_s_answer_is_logged_on_one_line_with_codes_and_numbers_masked() {
    // the read stops inside a number: its start is not shown either
    let cut_in_a_number = format!(
        "{}{}555-12345",
        "y".repeat(290),
        " ".repeat(SAID_BYTES - 296)
    );
    let ys = "y".repeat(290);
    // a long answer is cut, with a mark
    let long = "x".repeat(SAID_CHARS + 50);
    let long_said = format!("{}…", "x".repeat(SAID_CHARS));
    let cases: [(&[u8], Option<&str>); 17] = [
        (b"", None),
        (b" \r\n\t ", None),
        (
            br#"{"code": 21211, "message": "Invalid 'To' Phone Number: +16125550101"}"#,
            Some(r#"{"code": 21211, "message": "Invalid 'To' Phone Number: +[digits]"}"#),
        ),
        (
            b"Your code is 918273.\n  It expires in 5 min.",
            Some("Your code is [digits]. It expires in 5 min."),
        ),
        (
            b"sender 12345 not registered",
            Some("sender 12345 not registered"),
        ),
        (b"code=918273", Some("code=[digits]")),
        (b"918273", Some("[digits]")),
        (b"918 273", Some("[digits]")),
        (b"to +1 (612) 555-0101.", Some("to +[digits].")),
        (b"to (612) 555-0101", Some("to ([digits]")),
        (b"ssn 123-45-6789 on file", Some("ssn [digits] on file")),
        (b"error 400 - 21610", Some("error 400 - 21610")),
        (b"at 10:15:30", Some("at 10:15:30")),
        (b"bad\x07bell \xff", Some("bad bell \u{fffd}")),
        (
            b"forged\n2026-12-07 INFO all well",
            Some("forged [digits] INFO all well"),
        ),
        (cut_in_a_number.as_bytes(), Some(&ys)),
        (long.as_bytes(), Some(&long_said)),
    ];
    for (body, want) in cases {
        let got = said_text(body);
        assert_eq!(got.as_deref(), want, "{:?}", String::from_utf8_lossy(body));
    }
}

/// The key callvault sent a gateway is hidden where its answer echoes it, whole or as the
/// token after its scheme; a key too short to look for, or none, leaves the answer as it is.
#[test]
fn the_key_sent_is_hidden_in_what_a_gateway_said() {
    let cases: [(&str, Option<&str>, &str); 6] = [
        (
            "invalid key s3cr3t-k3y for this account",
            Some("s3cr3t-k3y"),
            "invalid key [key] for this account",
        ),
        (
            r#"{"auth": "Bearer tok-abc", "again": "tok-abc"}"#,
            Some("Bearer tok-abc"),
            r#"{"auth": "[key]", "again": "[key]"}"#,
        ),
        ("no key here", Some("s3cr3t-k3y"), "no key here"),
        ("abc abc", Some("abc"), "abc abc"),
        ("s3cr3t-k3y", None, "s3cr3t-k3y"),
        ("s3cr3t-k3ys3cr3t-k3y", Some("s3cr3t-k3y"), "[key][key]"),
    ];
    for (body, key, want) in cases {
        let got = hidden(body.as_bytes(), key);
        assert_eq!(String::from_utf8_lossy(&got), want, "{body:?} {key:?}");
    }
}
