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

/// Drive `answer_plain_http` over an in-memory connection: after `wait`, the client sends
/// `sent` and reads the answer; then, with `linger`, it sends a body and keeps its side open
/// that long before it closes. What it saw, in whole seconds of the paused clock: when the
/// answer came, and when the service let go of the connection.
async fn plain_exchange(wait: Duration, sent: &[u8], linger: Option<Duration>) -> (u64, u64) {
    let start = tokio::time::Instant::now();
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let served = tokio::spawn(async move {
        answer_plain_http(server).await;
        start.elapsed()
    });
    tokio::time::sleep(wait).await;
    client.write_all(sent).await.unwrap();
    let mut answer = vec![0; plain_http_answer().len()];
    client.read_exact(&mut answer).await.unwrap();
    assert_eq!(answer, plain_http_answer());
    let answered = start.elapsed();
    if let Some(linger) = linger {
        client.write_all(b"{\"member_id\":\"1001\"}").await.unwrap();
        tokio::time::sleep(linger).await;
    } else {
        // the service has shut its side: nothing follows the answer
        assert_eq!(client.read(&mut [0; 16]).await.unwrap(), 0);
    }
    drop(client);
    let done = served.await.unwrap();
    (answered.as_secs(), done.as_secs())
}

#[tokio::test(start_paused = true)]
async fn a_plain_request_is_answered_once_its_head_is_in_and_let_go_within_the_timeouts() {
    assert_eq!(
        HANDSHAKE_TIMEOUT,
        Duration::from_secs(3),
        "the table counts on it"
    );
    let whole = b"GET /v1/calls HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n\r\n".to_vec();
    let unended = b"GET /v1/calls HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n".to_vec();
    let long_head = |len: usize| {
        let mut head = b"GET / HTTP/1.1\r\nX-Padding: ".to_vec();
        head.resize(len, b'a');
        head
    };
    let now = Duration::ZERO;
    let second = Duration::from_secs(1);
    // (what, wait before sending, sent, linger after the answer, (answered, let go) in s)
    let cases = [
        ("a whole head", now, whole.clone(), None, (0, 0)),
        ("a head sent late", second, whole.clone(), None, (1, 1)),
        ("a head that never ends", now, unended, None, (3, 3)),
        (
            "a long head still coming",
            now,
            long_head(4096),
            None,
            (3, 3),
        ),
        (
            "a head at the limit",
            now,
            long_head(PLAIN_HEAD_LIMIT),
            None,
            (0, 0),
        ),
        (
            "a body after, kept open",
            now,
            whole,
            Some(second * 10),
            (0, 3),
        ),
    ];
    for (what, wait, sent, linger, want) in cases {
        assert_eq!(plain_exchange(wait, &sent, linger).await, want, "{what}");
    }
}

/// A failed handshake's error says what failed: rustls's own reason, inside the I/O error
/// tokio-rustls hands on, or nothing to say (a connection closed, a request's own error).
#[test]
fn a_failed_handshake_is_told_by_what_rustls_said() {
    use rustls::{AlertDescription as A, CertificateError, Error as E, PeerIncompatible as P};
    let io = |e: E| io::Error::new(io::ErrorKind::InvalidData, e);
    let cases: Vec<(io::Error, &str)> = vec![
        (
            io(E::PeerIncompatible(P::NoCipherSuitesInCommon)),
            "incompatible",
        ),
        (
            io(E::PeerIncompatible(P::SupportedVersionsExtensionRequired)),
            "incompatible",
        ),
        (io(E::AlertReceived(A::ProtocolVersion)), "incompatible"),
        (io(E::AlertReceived(A::HandshakeFailure)), "incompatible"),
        (io(E::NoApplicationProtocol), "incompatible"),
        (io(E::AlertReceived(A::UnknownCA)), "certificate_refused"),
        (
            io(E::AlertReceived(A::BadCertificate)),
            "certificate_refused",
        ),
        (
            io(E::AlertReceived(A::CertificateExpired)),
            "certificate_refused",
        ),
        (io(E::NoCertificatesPresented), "client_certificate"),
        (
            io(E::InvalidCertificate(CertificateError::UnknownIssuer)),
            "client_certificate",
        ),
        (io(E::AlertReceived(A::CloseNotify)), "other"),
        (io(E::DecryptError), "other"),
        (io::ErrorKind::UnexpectedEof.into(), "other"),
        (io::Error::other("plain HTTP to the HTTPS port"), "other"),
    ];
    let certificate = std::path::Path::new("/etc/callvault/tls.crt");
    let mut seen = std::collections::BTreeSet::new();
    for (error, label) in cases {
        let failure = HandshakeFailure::of(&TlsError::<io::Error, ()>::Tls(error)).unwrap();
        assert_eq!(failure.label(), label, "{failure:?}");
        seen.insert(label);
        let advice = failure.advice(certificate);
        assert_eq!(advice.is_some(), label != "other", "{failure:?}");
        match label {
            "certificate_refused" => {
                assert!(advice.unwrap().contains("trust /etc/callvault/tls.crt"));
            }
            // what it offered, by rustls's name
            "incompatible" => assert!(advice.unwrap().contains("accepts (")),
            _ => {}
        }
    }
    let timeout = HandshakeFailure::of(&TlsError::<io::Error, ()>::Timeout).unwrap();
    assert_eq!(
        (timeout.label(), timeout.advice(certificate)),
        ("timeout", None)
    );
    // the labels served at 0 from the start are every label there is, once
    seen.insert(timeout.label());
    let labels: std::collections::BTreeSet<&str> = HandshakeFailure::LABELS.into();
    assert_eq!(
        (labels.len(), &labels),
        (HandshakeFailure::LABELS.len(), &seen)
    );
    // after the handshake, a request's error is the request's
    assert_eq!(
        HandshakeFailure::of(&TlsError::<io::Error, ()>::Service(())),
        None
    );
}
