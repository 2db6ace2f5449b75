//! TLS for the HTTPS API: rustls with the ring provider, TLS 1.2 and 1.3 only. The
//! certificate sits behind a resolver whose pair can be swapped while serving (SIGHUP), and
//! the client-certificate check (`server.client_ca`) behind a verifier swapped the same way.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use chrono::{DateTime, Datelike, Utc};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{
    ClientHello, ResolvesServerCert, ServerSessionMemoryCache, StoresServerSessions,
    WebPkiClientVerifier,
};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

use crate::config::{CertClient, ClientCertMode, Config};

pub mod files;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {message}")]
    Cert { path: PathBuf, message: String },
    #[error("TLS key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("TLS certificate {cert} and key {key} do not belong together: {message}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
    #[error("cannot generate a TLS certificate: {0}")]
    Generate(String),
    #[error("cannot write {path}: {error}")]
    Write { path: PathBuf, error: io::Error },
    #[error("TLS setup: {0}")]
    Setup(String),
    #[error("client CA file {path} (server.client_ca): {message}")]
    ClientCa { path: PathBuf, message: String },
}

/// Where the certificate and key are: configured, or the pair `init` generates beside the
/// vault key (`tls.crt`, `tls.key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub generated: bool,
}

impl TlsPaths {
    pub fn from_config(config: &Config) -> TlsPaths {
        match (&config.server.tls_cert, &config.server.tls_key) {
            (Some(cert), Some(key)) => TlsPaths {
                cert: cert.clone(),
                key: key.clone(),
                generated: false,
            },
            _ => {
                let dir = config
                    .vault
                    .key_file
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                TlsPaths {
                    cert: dir.join("tls.crt"),
                    key: dir.join("tls.key"),
                    generated: true,
                }
            }
        }
    }
}

/// Write a self-signed pair for `localhost`, `127.0.0.1`, `::1` and `hostnames`.
/// The key is created 0600; neither file is overwritten.
pub fn generate_self_signed(paths: &TlsPaths, hostnames: &[String]) -> Result<bool, TlsError> {
    if paths.cert.exists() || paths.key.exists() {
        return Ok(false);
    }
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    for name in hostnames {
        if !name.is_empty() && !names.contains(name) {
            names.push(name.clone());
        }
    }
    let generate = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let mut params = rcgen::CertificateParams::new(names).map_err(generate)?;
    // Who the certificate is, for whoever looks (`curl -v`, `openssl s_client`, a scanner):
    // callvault on its host, self-signed. rcgen's own default is "rcgen self signed cert".
    let mut subject = rcgen::DistinguishedName::new();
    subject.push(
        rcgen::DnType::CommonName,
        self_signed_common_name(hostnames),
    );
    subject.push(rcgen::DnType::OrganizationName, SELF_SIGNED_ORGANIZATION);
    params.distinguished_name = subject;
    // From a day ago (a client whose clock is behind still takes it) to rcgen's default end,
    // 4096: an appliance's certificate must not lapse in a lifetime that matters, so the IVR
    // trusting it never stops working on a date nobody noted.
    let from = (Utc::now() - chrono::Duration::days(1)).date_naive();
    params.not_before = rcgen::date_time_ymd(
        from.year(),
        u8::try_from(from.month()).unwrap_or(1),
        u8::try_from(from.day()).unwrap_or(1),
    );
    let key = rcgen::KeyPair::generate().map_err(generate)?;
    let cert = params.self_signed(&key).map_err(generate)?;
    write_file(&paths.key, key.serialize_pem().as_bytes(), 0o600)?;
    write_file(&paths.cert, cert.pem().as_bytes(), 0o644)?;
    Ok(true)
}

/// `callvault on HOST` for the first host name given (`localhost` with none), or `callvault`
/// alone where that would pass X.509's 64 characters.
fn self_signed_common_name(hostnames: &[String]) -> String {
    let host = hostnames.iter().find(|h| !h.is_empty());
    let name = format!("callvault on {}", host.map_or("localhost", String::as_str));
    if name.len() <= 64 {
        name
    } else {
        "callvault".to_string()
    }
}

/// The organization `init`'s self-signed certificate names.
pub const SELF_SIGNED_ORGANIZATION: &str = "callvault (self-signed by callvault init)";

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let werr = |error| TlsError::Write {
        path: path.to_path_buf(),
        error,
    };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(werr)?;
    f.write_all(bytes).map_err(werr)?;
    f.sync_all().map_err(werr)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Load and check a certificate chain and its key. A key that every local user can read
/// is logged as a warning (certificates managed elsewhere are often group-readable).
pub fn load(paths: &TlsPaths) -> Result<Arc<CertifiedKey>, TlsError> {
    if let Some(warning) = key_exposure(&paths.key) {
        tracing::warn!("{warning}");
    }
    read_pair(paths)
}

/// [`load`] without its log line, for a check that reports the key's exposure itself.
pub fn read_pair(paths: &TlsPaths) -> Result<Arc<CertifiedKey>, TlsError> {
    let cert_err = |message: String| TlsError::Cert {
        path: paths.cert.clone(),
        message,
    };
    // a file that is not PEM certificates (a .pfx, a DER .cer) is told as what it is
    let instead = |path: &Path, wanted, none: &str, otherwise: String| {
        // a file that cannot be read is told by the reader's own error
        let Ok(bytes) = fs::read(path).map(zeroize::Zeroizing::new) else {
            return otherwise;
        };
        match files::what_instead(&bytes, path, wanted) {
            Some(why) => format!("{none}: {why}"),
            None => otherwise,
        }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&paths.cert)
        .map_err(|e| cert_err(pem_problem(e, paths, "tls_cert")))?
        .collect::<Result<_, _>>()
        .map_err(|e| {
            let otherwise = pem_problem(e, paths, "tls_cert");
            cert_err(instead(
                &paths.cert,
                files::Wanted::Chain,
                NO_CERT,
                otherwise,
            ))
        })?;
    if chain.is_empty() {
        let why = instead(&paths.cert, files::Wanted::Chain, NO_CERT, NO_CERT.into());
        return Err(cert_err(why));
    }
    if let Some(why) = files::unusable(&chain) {
        return Err(cert_err(why));
    }
    let key = PrivateKeyDer::from_pem_file(&paths.key).map_err(|e| {
        let otherwise = pem_problem(e, paths, "tls_key");
        TlsError::Key {
            path: paths.key.clone(),
            message: instead(&paths.key, files::Wanted::Key, NO_KEY, otherwise),
        }
    })?;
    let certified =
        CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider()).map_err(|e| {
            TlsError::Mismatch {
                cert: paths.cert.clone(),
                key: paths.key.clone(),
                message: match e {
                    rustls::Error::InconsistentKeys(_) => files::mismatch(&chain, &key),
                    other => other.to_string(),
                },
            }
        })?;
    Ok(Arc::new(certified))
}

const NO_CERT: &str = "no certificate in the file";
const NO_KEY: &str = "no private key in the file";

/// A PEM file's problem in words: an I/O error as the system says it (not `I/O error:
/// No such file...`), and for a missing file, where it comes from and what to do.
fn pem_problem(error: rustls_pki_types::pem::Error, paths: &TlsPaths, key: &str) -> String {
    use rustls_pki_types::pem::Error;
    match error {
        Error::Io(e) if e.kind() == io::ErrorKind::NotFound && paths.generated => format!(
            "{e}: `callvault init` makes the self-signed pair there (server.tls_cert and \
             tls_key are not set); run it, or set both to a pair of your own"
        ),
        Error::Io(e) if e.kind() == io::ErrorKind::NotFound => format!(
            "{e}: server.{key} names it; put the file there, or set neither server.tls_cert \
             nor tls_key and `callvault init` makes a self-signed pair"
        ),
        Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}

/// Why the TLS key file is too open, if others may read or write it.
pub fn key_exposure(key: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(key).ok()?.permissions().mode() & 0o777;
    (mode & 0o007 != 0).then(|| {
        format!(
            "TLS key {} has mode {mode:04o}: every local user can read it; \
             chmod 0600 (or 0640 with a group) it",
            key.display()
        )
    })
}

/// How long before its end a certificate is reported as ending soon.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// When a certificate may be used: its `notBefore` and `notAfter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

impl Validity {
    /// The validity of a pair's own (first) certificate; `None` if it cannot be read as X.509.
    pub fn of(pair: &CertifiedKey) -> Option<Validity> {
        let (_, cert) = x509_parser::parse_x509_certificate(pair.end_entity_cert().ok()?).ok()?;
        let at = |t: &x509_parser::time::ASN1Time| DateTime::from_timestamp(t.timestamp(), 0);
        Some(Validity {
            not_before: at(&cert.validity().not_before)?,
            not_after: at(&cert.validity().not_after)?,
        })
    }

    /// Where `now` falls in this validity.
    pub fn status(&self, now: DateTime<Utc>) -> CertStatus {
        if now < self.not_before {
            return CertStatus::NotYetValid {
                from: self.not_before,
            };
        }
        if now > self.not_after {
            return CertStatus::Expired { on: self.not_after };
        }
        let days_left = (self.not_after - now).num_days();
        if days_left < EXPIRY_WARNING_DAYS {
            CertStatus::EndingSoon {
                until: self.not_after,
                days_left,
            }
        } else {
            CertStatus::Valid {
                until: self.not_after,
                days_left,
            }
        }
    }
}

/// A certificate's standing at one moment. Clients that check dates (an IVR should) refuse
/// every connection while it is `Expired` or `NotYetValid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    Valid {
        until: DateTime<Utc>,
        days_left: i64,
    },
    /// Fewer than [`EXPIRY_WARNING_DAYS`] days left.
    EndingSoon {
        until: DateTime<Utc>,
        days_left: i64,
    },
    Expired {
        on: DateTime<Utc>,
    },
    NotYetValid {
        from: DateTime<Utc>,
    },
}

impl CertStatus {
    /// Whether clients that check dates can connect at all.
    pub fn usable(&self) -> bool {
        matches!(
            self,
            CertStatus::Valid { .. } | CertStatus::EndingSoon { .. }
        )
    }

    /// Whether an operator should hear of it: anything but `Valid`.
    pub fn needs_attention(&self) -> bool {
        !matches!(self, CertStatus::Valid { .. })
    }
}

impl std::fmt::Display for CertStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let day = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
        match self {
            CertStatus::Valid { until, days_left } => {
                write!(f, "valid until {} ({days_left} days)", day(until))
            }
            CertStatus::EndingSoon { until, days_left } => write!(
                f,
                "ends on {} ({days_left} days left): renew it, then reload (SIGHUP)",
                day(until)
            ),
            CertStatus::Expired { on } => write!(
                f,
                "expired on {}: clients that check dates refuse every connection; renew it, \
                 then reload (SIGHUP)",
                day(on)
            ),
            CertStatus::NotYetValid { from } => write!(
                f,
                "is not valid before {}: clients that check dates refuse every connection \
                 (is this machine's clock right?)",
                day(from)
            ),
        }
    }
}

/// Log a freshly loaded certificate's standing: an error when clients would refuse it, a
/// warning when it ends within [`EXPIRY_WARNING_DAYS`].
pub fn report_validity(cert: &Path, validity: Option<Validity>, now: DateTime<Utc>) {
    let cert = cert.display();
    match validity.map(|v| v.status(now)) {
        None => tracing::warn!("TLS certificate {cert}: its validity dates cannot be read"),
        Some(s @ CertStatus::Valid { .. }) => tracing::info!("TLS certificate {cert}: {s}"),
        Some(s @ CertStatus::EndingSoon { .. }) => {
            tracing::warn!("TLS certificate {cert}: {s}")
        }
        Some(s) => tracing::error!("TLS certificate {cert}: {s}"),
    }
}

/// Serves whatever pair was loaded last.
#[derive(Debug)]
pub struct ReloadableCert {
    current: ArcSwap<CertifiedKey>,
}

impl ReloadableCert {
    pub fn new(initial: Arc<CertifiedKey>) -> Arc<Self> {
        Arc::new(ReloadableCert {
            current: ArcSwap::new(initial),
        })
    }

    pub fn replace(&self, next: Arc<CertifiedKey>) {
        self.current.store(next);
    }

    /// The validity of the certificate being served.
    pub fn validity(&self) -> Option<Validity> {
        Validity::of(&self.current.load())
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// What the handshake asks of clients: nothing without `server.client_ca`; else a
/// certificate issued by one of its CAs, required or (`client_cert = "optional"`) checked
/// when presented.
pub fn client_verifier(config: &Config) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let Some(path) = &config.server.client_ca else {
        return Ok(WebPkiClientVerifier::no_client_auth());
    };
    let ca_err = |message: String| TlsError::ClientCa {
        path: path.clone(),
        message,
    };
    let roots = trust_anchors(&ca_file(path).map_err(|e| ca_err(e.to_string()))?)
        .map_err(|e| ca_err(e.to_string()))?;
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
    let builder = match config.server.client_cert {
        ClientCertMode::Required => builder,
        ClientCertMode::Optional => builder.allow_unauthenticated(),
    };
    builder.build().map_err(|e| ca_err(e.to_string()))
}

/// The client-certificate check the handshake makes: whatever [`client_verifier`] built
/// last, so a reload that changes `server.client_ca` (or the CAs in its file) or
/// `server.client_cert` applies from the next handshake. Connections already open are
/// checked again, at their next request, against the check in force
/// ([`ReloadableClients::admits`]).
///
/// It keeps the sessions clients may resume ([`ReloadableClients::sessions`]) too: a
/// resumed session skips the certificate check, so each new check starts with none, and a
/// client whose CA was taken out cannot come back through a session it began before.
#[derive(Debug)]
pub struct ReloadableClients {
    current: ArcSwap<ClientCheck>,
    sessions: Arc<Sessions>,
    /// How many checks have been swapped in: [`ReloadableClients::generation`].
    swapped: AtomicU64,
}

/// How many sessions are kept for resumption (rustls's default).
const SESSIONS_KEPT: usize = 256;

/// The sessions clients may resume (TLS 1.3 tickets kept here, TLS 1.2 session ids), in a
/// cache that can be dropped whole.
#[derive(Debug)]
struct Sessions {
    current: ArcSwap<ServerSessionMemoryCache>,
}

impl Sessions {
    fn forget_all(&self) {
        self.current
            .store(ServerSessionMemoryCache::new(SESSIONS_KEPT));
    }
}

impl StoresServerSessions for Sessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.current.load().put(key, value)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.current.load().get(key)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.current.load().take(key)
    }

    fn can_cache(&self) -> bool {
        self.current.load().can_cache()
    }
}

#[derive(Debug)]
struct ClientCheck {
    verifier: Arc<dyn ClientCertVerifier>,
    /// The verifier's CA names, which the trait lends for as long as the check lives.
    hints: &'static [DistinguishedName],
    generation: u64,
}

impl ClientCheck {
    fn new(verifier: Arc<dyn ClientCertVerifier>, generation: u64) -> ClientCheck {
        // rustls's no-client-auth verifier has no hints to give (it panics if asked)
        let hints = match verifier.offer_client_auth() {
            true => kept_hints(verifier.root_hint_subjects()),
            false => &[],
        };
        ClientCheck {
            verifier,
            hints,
            generation,
        }
    }
}

/// `hints` for the life of the process. Each different list is kept once, and a service
/// sees as many as its CA file has had versions, so what is kept stays small.
fn kept_hints(hints: &[DistinguishedName]) -> &'static [DistinguishedName] {
    static KEPT: Mutex<Vec<&'static [DistinguishedName]>> = Mutex::new(Vec::new());
    let same = |kept: &[DistinguishedName]| {
        kept.len() == hints.len()
            && kept
                .iter()
                .zip(hints)
                .all(|(a, b)| a.as_ref() == b.as_ref())
    };
    let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = kept.iter().find(|k| same(k)) {
        return found;
    }
    let new: &'static [DistinguishedName] = Box::leak(hints.to_vec().into_boxed_slice());
    kept.push(new);
    new
}

impl ReloadableClients {
    pub fn new(initial: Arc<dyn ClientCertVerifier>) -> Arc<Self> {
        Arc::new(ReloadableClients {
            current: ArcSwap::from_pointee(ClientCheck::new(initial, 0)),
            sessions: Arc::new(Sessions {
                current: ArcSwap::new(ServerSessionMemoryCache::new(SESSIONS_KEPT)),
            }),
            swapped: AtomicU64::new(0),
        })
    }

    /// Check clients with `next` from the next handshake, and forget every session a client
    /// could resume without one.
    pub fn replace(&self, next: Arc<dyn ClientCertVerifier>) {
        let generation = self.swapped.fetch_add(1, Ordering::Relaxed) + 1;
        self.current
            .store(Arc::new(ClientCheck::new(next, generation)));
        self.sessions.forget_all();
    }

    /// Which check is in force: a number that changes with each [`ReloadableClients::replace`].
    pub fn generation(&self) -> u64 {
        self.current.load().generation
    }

    /// Whether the check in force would admit a client that showed `chain` (its certificate
    /// first, then any intermediates; empty for none) at its handshake, and which check
    /// said so. For the connections opened before a reload, which keep the certificate they
    /// were admitted with (`api::middleware::connection_admitted`).
    pub fn admits(&self, chain: &[CertificateDer<'_>], now: UnixTime) -> (u64, bool) {
        let check = self.current.load();
        let verifier = &check.verifier;
        let admitted = match chain.split_first() {
            _ if !verifier.offer_client_auth() => true,
            None => !verifier.client_auth_mandatory(),
            Some((end_entity, intermediates)) => verifier
                .verify_client_cert(end_entity, intermediates, now)
                .is_ok(),
        };
        (check.generation, admitted)
    }

    /// The session store for the server's configuration (`ServerConfig::session_storage`).
    pub fn sessions(&self) -> Arc<dyn StoresServerSessions> {
        self.sessions.clone()
    }
}

impl ClientCertVerifier for ReloadableClients {
    fn offer_client_auth(&self) -> bool {
        self.current.load().verifier.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.current.load().verifier.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.current.load().hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        (self.current.load().verifier).verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        (self.current.load().verifier).verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        (self.current.load().verifier).verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.current.load().verifier.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.current.load().verifier.requires_raw_public_keys()
    }
}

/// Why a CA file (`server.client_ca`, `core.rest.ca_file`, `notify.*.ca_file`) cannot be
/// used. Callers put the key and the path in front.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    /// The file cannot be opened or read (kept apart: `config check` may run as a user the
    /// service's files are closed to).
    #[error("{0}")]
    Unreadable(io::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The certificates of a PEM CA file, each checked as a trust anchor. A file without one
/// is refused: the TLS clients' own readers take it as "no extra CA" and fail later, at
/// every connection, as an unknown issuer.
pub fn ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let pem = fs::read(path).map_err(CaFileError::Unreadable)?;
    let instead = |otherwise: String| match files::what_instead(&pem, path, files::Wanted::Cas) {
        Some(why) => CaFileError::Invalid(format!("{NO_CERT}: {why}")),
        None => CaFileError::Invalid(otherwise),
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| instead(format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(instead(format!(
            "{NO_CERT} (PEM, -----BEGIN CERTIFICATE-----)"
        )));
    }
    trust_anchors(&certs)?;
    Ok(certs)
}

fn trust_anchors(certs: &[CertificateDer<'_>]) -> Result<RootCertStore, CaFileError> {
    let mut roots = RootCertStore::empty();
    for (n, cert) in certs.iter().enumerate() {
        roots
            .add(cert.clone().into_owned())
            .map_err(|e| CaFileError::Invalid(format!("certificate {}: {e}", n + 1)))?;
    }
    Ok(roots)
}

/// The first `[[server.clients]]` entry whose name `cert` (already verified by the
/// handshake) carries as a DNS name, written so ([`same_dns_name`]). A wildcard name
/// (`*.cu.test`) maps to no entry: a certificate stands in for a key only for the client
/// it names, where a wildcard, as web servers' certificates often carry with the
/// clientAuth purpose too, would have been taken for the first entry it covers, an
/// admin's as well.
pub fn mapped_client<'a>(
    cert: &CertificateDer<'_>,
    clients: &'a [CertClient],
) -> Option<&'a CertClient> {
    let names = dns_names(cert);
    clients
        .iter()
        .find(|c| names.iter().any(|name| same_dns_name(name, &c.name)))
}

/// Two DNS names for one host: case aside, and a trailing dot (the root's) aside.
pub fn same_dns_name(a: &str, b: &str) -> bool {
    fn bare(name: &str) -> &str {
        name.strip_suffix('.').unwrap_or(name)
    }
    bare(a).eq_ignore_ascii_case(bare(b))
}

/// The DNS names (subjectAltName) a client certificate is for, as the audit log names it;
/// none for one that does not parse.
pub fn dns_names(cert: &CertificateDer<'_>) -> Vec<String> {
    webpki::EndEntityCert::try_from(cert)
        .map(|c| c.valid_dns_names().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The rustls server configuration: TLS 1.2 and 1.3 only, ring, HTTP/1.1 or HTTP/1.0 (the
/// service reads both; a client that offers `http/1.0` alone, as `curl --http1.0` and older
/// IVR platforms' libcurl settings do, was refused with `no_application_protocol`).
pub fn server_config(
    resolver: Arc<ReloadableCert>,
    clients: Arc<dyn ClientCertVerifier>,
) -> Result<ServerConfig, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_client_cert_verifier(clients)
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests;
