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
