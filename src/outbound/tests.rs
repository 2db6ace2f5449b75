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

/// The gateway's key goes in its header only when both are set, marked sensitive; Basic
/// credentials written `user:password` are sent base64-encoded, and any other value as it
/// is written.
#[test]
fn the_gateway_key_goes_in_its_header_only_when_both_are_set() {
    use crate::config::Secret;
    let client = reqwest::Client::new();
    let value = |v: &str| Some(Secret::new(v));
    // (header name, value, header sent)
    let cases = [
        (Some("X-Gateway-Key"), value("gw-secret"), Some("gw-secret")),
        (Some("X-Gateway-Key"), None, None),
        (None, value("gw-secret"), None),
        (None, None, None),
        // as `curl -u` takes them (AC123:token is QUMxMjM6dG9rZW4=)
        (
            Some("Authorization"),
            value("Basic AC123:token"),
            Some("Basic QUMxMjM6dG9rZW4="),
        ),
        (
            Some("Authorization"),
            value("basic AC123:to:ken"),
            Some("basic QUMxMjM6dG86a2Vu"),
        ),
        (
            Some("Authorization"),
            value("Basic QUMxMjM6dG9rZW4="),
            Some("Basic QUMxMjM6dG9rZW4="),
        ),
        (
            Some("Authorization"),
            value("Bearer a:b"),
            Some("Bearer a:b"),
        ),
    ];
    for (h, v, want) in cases {
        let request = with_auth(client.post("https://sms.cu.example/send"), h, v.as_ref())
            .build()
            .unwrap();
        let sent = h.and_then(|h| request.headers().get(h));
        assert_eq!(sent.map(|v| v.to_str().unwrap()), want, "{h:?}");
        assert!(sent.is_none_or(|v| v.is_sensitive()), "{h:?}");
        let others = request.headers().len() - usize::from(sent.is_some());
        assert_eq!(others, 0, "{h:?}: {:?}", request.headers());
    }
    // the base64 form is hidden in a refusal's answer too
    let said = hidden(
        b"bad credentials QUMxMjM6dG9rZW4=",
        Some("Basic AC123:token"),
    );
    assert_eq!(&said[..], b"bad credentials [key]");
}

/// Each endpoint a proxy stands between is named, and only the core's while the core in
/// use is the REST one.
#[test]
fn the_endpoints_a_proxy_stands_between_are_named() {
    let env = Matcher::builder()
        .https("http://proxy.cu.example:3128")
        .no("push.cu.example")
        .build();
    let config = |kind: &str| {
        crate::config::parse(
            &format!(
                "[vault]\nkey_file = \"/tmp/k\"\n[profiles.m]\ndefault = true\n\
                 [core]\ntype = \"{kind}\"\n\
                 [core.rest]\nbase_url = \"https://core.cu.example\"\n\
                 by_phone = \"/m?p={{phone}}\"\nby_account = \"/a/{{account}}\"\n\
                 member = \"/m/{{member_id}}\"\nhealth = \"/h\"\n\
                 [notify.sms]\nurl = \"https://sms.cu.example/send\"\n\
                 [notify.push]\nurl = \"https://push.cu.example/push\"\n"
            ),
            Vec::new(),
        )
        .unwrap()
    };
    let keys = |kind: &str| -> Vec<String> {
        proxied_by(&config(kind), &env)
            .into_iter()
            .map(|line| line.split(':').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(keys("rest"), ["core.rest.base_url", "notify.sms.url"]);
    assert_eq!(keys("embedded"), ["notify.sms.url"]);
    let line = &proxied_by(&config("rest"), &env)[1];
    assert!(
        line.starts_with("notify.sms.url: requests go through the proxy proxy.cu.example:3128"),
        "{line}"
    );
    assert!(proxied_by(&config("rest"), &Matcher::builder().build()).is_empty());
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
    // read whole, to its last byte: a short number at its end is the gateway's, and shown
    let whole = format!("{}error 21610", " ".repeat(SAID_BYTES - 11));
    // a long answer is cut, with a mark
    let long = "x".repeat(SAID_CHARS + 50);
    let long_said = format!("{}…", "x".repeat(SAID_CHARS));
    let cases: [(&[u8], Option<&str>); 21] = [
        (b"", None),
        // an app back end naming the member's address
        (
            br#"{"error": "no device registered for jane.doe@cu.example"}"#,
            Some(r#"{"error": "no device registered for j***@cu.example"}"#),
        ),
        (
            b"user <ada@cu.example> unknown",
            Some("user <a***@cu.example> unknown"),
        ),
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
        // blanks are one before numbers are read
        (b"code 918 \t\r\n 273 sent", Some("code [digits] sent")),
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
        (whole.as_bytes(), Some("error 21610")),
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
    let cases: [(&str, Option<&str>, &str); 8] = [
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
        // a base64 key echoed by a JSON encoder that escapes slashes, and percent-encoded
        (
            r#"{"error": "bad token AbC\/dE+f==", "sent": "Basic%20AbC%2FdE%2Bf%3D%3D"}"#,
            Some("Basic AbC/dE+f=="),
            r#"{"error": "bad token [key]", "sent": "[key]"}"#,
        ),
        ("key=AbC%2FdE%2Bf%3D%3D", Some("AbC/dE+f=="), "key=[key]"),
    ];
    for (body, key, want) in cases {
        let got = hidden(body.as_bytes(), key);
        assert_eq!(String::from_utf8_lossy(&got), want, "{body:?} {key:?}");
    }
}

/// Whatever surrounds it and whichever way it is written, the key sent never stays in what
/// a gateway said.
mod echoed_keys {
    use super::*;
    use proptest::prelude::*;

    /// The key as a gateway might echo it.
    fn written(key: &str, how: u8) -> String {
        match how {
            0 => key.to_string(),
            1 => key.replace('/', "\\/"),
            _ => percent_encode(key),
        }
    }

    proptest! {
        #[test]
        fn the_key_sent_never_stays(
            scheme in proptest::option::of("(Bearer|Basic|Token) "),
            token in "[A-Za-z0-9+/=_.~-]{4,40}",
            before in "[ -~]{0,60}",
            after in "[ -~]{0,60}",
            how in 0u8..3,
            token_only: bool,
        ) {
            let key = format!("{}{token}", scheme.unwrap_or_default());
            let echoed = written(if token_only { &token } else { &key }, how);
            let body = format!("{before}{echoed}{after}");
            let got = String::from_utf8_lossy(&hidden(body.as_bytes(), Some(&key))).into_owned();
            for how in 0..3 {
                prop_assert!(!got.contains(&written(&token, how)), "{body:?} -> {got:?}");
            }
        }

        /// A number of six digits or more, in groups or not, never shows in the log,
        /// whatever comes before or after it.
        #[test]
        fn a_long_number_never_shows(
            groups in proptest::collection::vec("[0-9]{1,4}", 1..5),
            // grouping characters, or blanks of any kind and length (read as one space)
            separators in proptest::collection::vec("[ ./()-]{1,2}|[ \\t\\r\\n]{1,6}", 4),
            before in "[ -~\\n]{0,80}",
            after in "[ -~\\n]{0,80}",
        ) {
            let digits: String = groups.concat();
            prop_assume!(digits.len() >= 6);
            let mut number = groups[0].clone();
            for (group, sep) in groups[1..].iter().zip(&separators) {
                number.push_str(sep);
                number.push_str(group);
            }
            let body = format!("{before}{number}{after}");
            let said = said_text(body.as_bytes()).unwrap_or_default();
            let shown: String = said.chars().filter(|c| !GROUPING.contains(c)).collect();
            prop_assert!(!shown.contains(&digits), "{body:?} -> {said:?}");
            prop_assert!(!said.chars().any(char::is_control), "{said:?}");
            prop_assert!(said.chars().count() <= SAID_CHARS + 1, "{said:?}");
        }
    }
}
