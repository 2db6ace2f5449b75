use actix_web::http::Method;

use super::{merged_slashes, method_label};

/// The metrics label of each method the API's clients send is the method; any other token
/// (a valid HTTP method too) is `other`, so a client cannot make a new series per request.
#[test]
fn each_method_is_its_own_label_and_any_other_token_is_other() {
    let cases = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::PATCH, "PATCH"),
        (Method::TRACE, "other"),
        (Method::CONNECT, "other"),
        (Method::from_bytes(b"BREW").unwrap(), "other"),
        (Method::from_bytes(b"get").unwrap(), "other"),
    ];
    for (method, label) in cases {
        assert_eq!(method_label(&method), label, "{method}");
    }
}

/// Runs of slashes read as one; a path with none is left alone (and not copied).
#[test]
fn slashes_written_twice_read_as_one() {
    let cases = [
        ("/v1/calls", None),
        ("/", None),
        ("/v1/calls/c1/input", None),
        ("//v1/calls", Some("/v1/calls")),
        ("/v1//calls///c1/input", Some("/v1/calls/c1/input")),
        ("//", Some("/")),
        ("/v1/calls//", Some("/v1/calls/")),
        // an escaped slash is a call id's, not the path's
        ("/v1/calls/a%2F%2Fb", None),
    ];
    for (path, want) in cases {
        assert_eq!(merged_slashes(path).as_deref(), want, "{path}");
    }
}
