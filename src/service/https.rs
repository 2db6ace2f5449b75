//! The public HTTPS port: what `HttpServer::listen_rustls_0_23` builds (actix-server's
//! workers, the rustls acceptor, actix-http's HTTP/1 service around the app), put together
//! here for one more step in front: a look at each connection's first byte.
//!
//! An integrator who writes `http://127.0.0.1:8443` instead of `https://` would otherwise get
//! a closed connection ("Empty reply from server") and nothing in the service's log. A TLS
//! connection starts with a handshake record (byte `0x16`); an HTTP request starts with a
//! method's capital letter. Such a request is answered in plain HTTP, `400` with the API's
//! error body (`https_required`), and a (thinned) warning is logged. Every other connection
//! goes to the TLS acceptor as before.
//!
//! The look costs one `peek` per connection, none per request: an IVR's keep-alive
//! connection carries its calls as before.
//!
//! A handshake that fails is said in the log too, with what to do ([`HandshakeFailure`]):
//! an IVR on an old TLS stack, one that does not trust the service's certificate, or a
//! client certificate `server.client_ca` does not admit would otherwise see its connection
//! refused while the service's log said nothing.

use std::any::Any;
use std::io;
use std::net::TcpListener;
use std::time::Duration;

use actix_http::{
    Extensions, HttpService, KeepAlive, Request, Response, TlsAcceptorConfig, body::MessageBody,
};
use actix_service::{
    IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt, apply_fn_factory, fn_service,
    map_config,
};
use actix_tls::accept::TlsError;
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;
use actix_web::rt::time::timeout;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::throttle::Throttle;

/// How long a connection may take to send its first byte, and then its TLS handshake
/// (actix-tls's default, which `HttpServer` keeps).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// How much of a plain HTTP request is read before it is answered: its head, within reason.
const PLAIN_HEAD_LIMIT: usize = 8 * 1024;

/// The answer's code, as in the API's error bodies.
pub const HTTPS_REQUIRED: &str = "https_required";

/// The worker and connection settings `serve` takes from `[server]`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub workers: usize,
    pub keep_alive: KeepAlive,
    pub shutdown_timeout_seconds: u64,
    /// The certificate the service shows, for the log's word to a client that refuses it.
    pub certificate: std::sync::Arc<std::path::Path>,
}

/// What a connection's first byte says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// A TLS handshake, or bytes that are neither: the TLS acceptor decides.
    Tls,
    /// An HTTP request's method: plain HTTP sent to the HTTPS port.
    PlainHttp,
}

/// The first byte's verdict. HTTP methods are capital letters (`GET`, `POST`, ...); a TLS
/// connection opens with a handshake record, `0x16`, and no TLS record type is a letter.
pub fn opening(first: u8) -> Opening {
    match first {
        b'A'..=b'Z' => Opening::PlainHttp,
        _ => Opening::Tls,
    }
}

/// The whole plain-HTTP answer: status line, headers and the JSON error body.
pub fn plain_http_answer() -> Vec<u8> {
    let body = serde_json::json!({
        "code": HTTPS_REQUIRED,
        "message": "this port speaks HTTPS only, and the request came as plain HTTP: \
                    use an https:// URL, trusting the service's certificate",
    })
    .to_string();
    format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What the server calls with each connection once its TLS handshake is done, to keep
/// what the requests on it need to know of it.
pub type OnConnect = std::sync::Arc<dyn Fn(&dyn Any, &mut Extensions) + Send + Sync>;

/// The HTTPS server on `listener`, running: `app` is built once on each worker's thread, as
/// `HttpServer::new` does; await the server, stop it through its handle. `on_connect` sees
/// each connection once its TLS handshake is done.
pub fn server<F, I, S, B>(
    listener: TcpListener,
    tls: rustls::ServerConfig,
    settings: Settings,
    on_connect: OnConnect,
    app: F,
) -> io::Result<actix_server::Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let builder = actix_server::Server::build()
        .workers(settings.workers)
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout_seconds);
    let stopping = builder.graceful_shutdown_signal();
    let host = addr.to_string();
    let certificate = settings.certificate.clone();
    let server = builder
        .listen("callvault-https", listener, move || {
            let stopping = stopping.clone();
            let host = host.clone();
            let app = app().into_factory().map_err(|e| e.into().error_response());
            let http = HttpService::build()
                // idle keep-alive connections close when the server stops, rather than
                // holding the stop for the shutdown timeout (hidden in actix-http's docs,
                // as it is `HttpServer`'s own; Cargo.lock pins the version)
                .graceful_shutdown_signal(move || {
                    let stopping = stopping.clone();
                    async move { stopping.notified().await }
                })
                .keep_alive(settings.keep_alive)
                // `HttpServer`'s defaults
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .on_connect_ext({
                    let on_connect = on_connect.clone();
                    move |io: &_, ext: &mut Extensions| on_connect(io as &dyn Any, ext)
                })
                // `AppConfig::new` is private to actix-web; this is the same constructor
                .finish(map_config(app, move |()| {
                    AppConfig::__priv_test_new(true, host.clone(), addr)
                }))
                .rustls_0_23_with_config(
                    tls.clone(),
                    TlsAcceptorConfig::default().handshake_timeout(HANDSHAKE_TIMEOUT),
                );
            let certificate = certificate.clone();
            let reported = apply_fn_factory(http, move |stream: TcpStream, tls_then_http| {
                let peer = stream.peer_addr().ok();
                let served = tls_then_http.call(stream);
                let certificate = certificate.clone();
                async move {
                    served.await.inspect_err(|e| {
                        if let Some(failure) = HandshakeFailure::of(e) {
                            failure.report(peer, &certificate);
                        }
                    })
                }
            });
            fn_service(tls_or_answer).and_then(reported)
        })?
        .run();
    Ok(server)
}

/// A connection goes on to the TLS acceptor unless its first byte says plain HTTP; that
/// one is answered and closed here. A connection silent past the handshake timeout is closed.
async fn tls_or_answer<E>(stream: TcpStream) -> Result<TcpStream, TlsError<io::Error, E>> {
    let mut first = [0u8; 1];
    match timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) if opening(first[0]) == Opening::Tls => Ok(stream),
        Ok(Ok(1)) => {
            static LOGGED: Throttle = Throttle::new(Duration::from_secs(60));
            if let Some(left_out) = LOGGED.admit(std::time::Instant::now()) {
                let peer = stream
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                tracing::warn!(
                    left_out,
                    peer,
                    "a plain HTTP request came to the HTTPS port and was answered 400 \
                     https_required: the client's URL must start with https://"
                );
            }
            metrics::counter!("callvault_plain_http_refused_total").increment(1);
            answer_plain_http(stream).await;
            Err(TlsError::Tls(io::Error::other(
                "plain HTTP to the HTTPS port",
            )))
        }
        Ok(Ok(_)) => Err(TlsError::Tls(io::ErrorKind::UnexpectedEof.into())),
        Ok(Err(e)) => Err(TlsError::Tls(e)),
        Err(_) => Err(TlsError::Timeout),
    }
}

/// Why a connection's TLS handshake failed, as far as the service can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// No TLS version, cipher suite, key exchange or protocol in common: a client on an old
    /// TLS stack (TLS 1.0 or 1.1, or TLS 1.2 offering only CBC or RSA key exchange suites),
    /// or one offering HTTP/2 alone.
    Incompatible(String),
    /// The client refused the service's certificate: its alert (`UnknownCA`, ...).
    CertificateRefused(String),
    /// The client's certificate is not one `server.client_ca` admits.
    ClientCertificate(String),
    /// No handshake within the timeout.
    Timeout,
    /// The client closed the connection, or sent what is not TLS: a port probe, a TCP
    /// health check.
    Other,
}

impl HandshakeFailure {
    /// The failure a connection's error stands for; `None` for one that came after the
    /// handshake (a request's own).
    pub fn of<E>(error: &TlsError<io::Error, E>) -> Option<HandshakeFailure> {
        match error {
            TlsError::Timeout => Some(HandshakeFailure::Timeout),
            TlsError::Tls(e) => Some(HandshakeFailure::of_io(e)),
            TlsError::Service(_) => None,
        }
    }

    /// A failed handshake's I/O error, which holds rustls's when rustls refused it.
    pub fn of_io(error: &io::Error) -> HandshakeFailure {
        use rustls::AlertDescription as A;
        use rustls::Error as E;
        let Some(tls) = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        else {
            return HandshakeFailure::Other;
        };
        match tls {
            E::PeerIncompatible(why) => HandshakeFailure::Incompatible(format!("{why:?}")),
            E::AlertReceived(
                alert @ (A::UnknownCA
                | A::BadCertificate
                | A::CertificateUnknown
                | A::CertificateExpired
                | A::UnsupportedCertificate
                | A::CertificateRevoked
                | A::AccessDenied),
            ) => HandshakeFailure::CertificateRefused(format!("{alert:?}")),
            E::AlertReceived(
                A::ProtocolVersion | A::HandshakeFailure | A::InsufficientSecurity,
            ) => HandshakeFailure::Incompatible(tls.to_string()),
            // the client offers HTTP/2 alone (ALPN), which the service does not speak
            E::NoApplicationProtocol => HandshakeFailure::Incompatible(format!("{tls:?}")),
            E::NoCertificatesPresented | E::InvalidCertificate(_) => {
                HandshakeFailure::ClientCertificate(tls.to_string())
            }
            _ => HandshakeFailure::Other,
        }
    }

    /// Every [`HandshakeFailure::label`], each served at 0 from the start.
    pub const LABELS: [&'static str; 5] = [
        "incompatible",
        "certificate_refused",
        "client_certificate",
        "timeout",
        "other",
    ];

    /// The label of `callvault_tls_handshake_failures_total`.
    pub fn label(&self) -> &'static str {
        match self {
            HandshakeFailure::Incompatible(_) => "incompatible",
            HandshakeFailure::CertificateRefused(_) => "certificate_refused",
            HandshakeFailure::ClientCertificate(_) => "client_certificate",
            HandshakeFailure::Timeout => "timeout",
            HandshakeFailure::Other => "other",
        }
    }

    /// What the log says, and what to do; `None` for a failure not worth a warning (a
    /// probe, a health check, a client that went quiet). `certificate` is the file of the
    /// certificate the service shows.
    pub fn advice(&self, certificate: &std::path::Path) -> Option<String> {
        match self {
            HandshakeFailure::Incompatible(why) => Some(format!(
                "a client's TLS handshake failed: it offers no TLS version, cipher suite \
                 or protocol callvault accepts ({why}). callvault takes TLS 1.3, or TLS 1.2 \
                 with ECDHE and AES-GCM or ChaCha20-Poly1305, and HTTP/1.1 or HTTP/1.0 (not \
                 HTTP/2 alone); update the client's TLS settings (an IVR on Java 8: TLS 1.2 \
                 enabled, jdk.tls.client.protocols)"
            )),
            HandshakeFailure::CertificateRefused(alert) => Some(format!(
                "a client refused callvault's certificate (its alert: {alert}): make it trust \
                 {} (or the CA that issued it), and connect by a name or address the \
                 certificate holds",
                certificate.display()
            )),
            HandshakeFailure::ClientCertificate(why) => Some(format!(
                "a client's certificate was refused ({why}): it must be issued by a CA in \
                 server.client_ca"
            )),
            HandshakeFailure::Timeout | HandshakeFailure::Other => None,
        }
    }

    /// Count it, and log what to do (each kind at most once a minute, with how many it
    /// left out).
    fn report(&self, peer: Option<std::net::SocketAddr>, certificate: &std::path::Path) {
        static LOGGED: [Throttle; 3] = [
            Throttle::new(Duration::from_secs(60)),
            Throttle::new(Duration::from_secs(60)),
            Throttle::new(Duration::from_secs(60)),
        ];
        metrics::counter!("callvault_tls_handshake_failures_total", "reason" => self.label())
            .increment(1);
        let slot = match self {
            HandshakeFailure::Incompatible(_) => 0,
            HandshakeFailure::CertificateRefused(_) => 1,
            HandshakeFailure::ClientCertificate(_) => 2,
            HandshakeFailure::Timeout | HandshakeFailure::Other => return,
        };
        if let (Some(advice), Some(left_out)) = (
            self.advice(certificate),
            LOGGED[slot].admit(std::time::Instant::now()),
        ) {
            let peer = peer.map(|a| a.to_string()).unwrap_or_default();
            tracing::warn!(left_out, peer, "{advice}");
        }
    }
}

/// Read the request's head, so that closing does not reset the connection before the client
/// reads the answer; answer, even when the head is slow or never ends; close. Each part is
/// bounded by the handshake timeout.
async fn answer_plain_http<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let mut buf = [0u8; 1024];
    let read_head = async {
        let mut head = Vec::with_capacity(1024);
        while head.len() < PLAIN_HEAD_LIMIT && !ends_head(&head) {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = timeout(HANDSHAKE_TIMEOUT, read_head).await;
    let answer = async {
        stream.write_all(&plain_http_answer()).await?;
        stream.shutdown().await?;
        // what the client still sends (a body) is read and dropped until it closes
        while stream.read(&mut buf).await? > 0 {}
        Ok::<_, io::Error>(())
    };
    let _ = timeout(HANDSHAKE_TIMEOUT, answer).await;
}

/// Whether `head` holds a request's whole head: the blank line after its headers.
fn ends_head(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n")
}

#[cfg(test)]
#[path = "https_tests.rs"]
mod tests;
