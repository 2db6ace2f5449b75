use super::*;

#[test]
fn the_first_byte_tells_plain_http_from_tls() {
    let cases: &[(&[u8], Opening)] = &[
        (b"GET / HTTP/1.1", Opening::PlainHttp),
        (b"POST /v1/calls HTTP/1.1", Opening::PlainHttp),
        (b"PUT", Opening::PlainHttp),
        (b"DELETE", Opening::PlainHttp),
        (b"HEAD", Opening::PlainHttp),
        (b"OPTIONS", Opening::PlainHttp),
        (b"PATCH", Opening::PlainHttp),
        (b"CONNECT", Opening::PlainHttp),
        (b"TRACE", Opening::PlainHttp),
        (b"PRI * HTTP/2.0", Opening::PlainHttp),
        (&[0x16, 0x03, 0x01], Opening::Tls),
        // an SSLv2-style hello, or any other byte: the TLS acceptor refuses it as before
        (&[0x80, 0x2e], Opening::Tls),
        (b"get / HTTP/1.1", Opening::Tls),
        (&[0x00], Opening::Tls),
    ];
    for (bytes, want) in cases {
        assert_eq!(
            opening(bytes[0]),
            *want,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn the_plain_answer_is_a_whole_http_response_with_the_api_error_body() {
    let answer = String::from_utf8(plain_http_answer()).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: close"), "{head}");
    assert!(
        head.contains(&format!("\r\ncontent-length: {}", body.len())),
        "{head}"
    );
    let error: crate::api::error::ErrorBody = serde_json::from_str(body).unwrap();
    assert_eq!(error.code, HTTPS_REQUIRED);
    assert!(error.message.contains("https://"), "{}", error.message);
}

#[test]
fn a_head_ends_at_its_blank_line() {
    assert!(ends_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(ends_head(b"POST / HTTP/1.1\r\n\r\n{\"a\":1}"));
    assert!(!ends_head(b"GET / HTTP/1.1\r\nHost: x\r\n"));
    assert!(!ends_head(b""));
}
