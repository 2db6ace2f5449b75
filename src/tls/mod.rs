//! TLS for the HTTPS API: rustls with the ring provider, TLS 1.2 and 1.3 only. The
//! certificate sits behind a resolver whose pair can be swapped while serving (SIGHUP).

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::config::{CertClient, ClientCertMode, Config};

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
    names.extend(hostnames.iter().filter(|h| !h.is_empty()).cloned());
    names.dedup();
    let pair =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    write_file(&paths.key, pair.key_pair.serialize_pem().as_bytes(), 0o600)?;
    write_file(&paths.cert, pair.cert.pem().as_bytes(), 0o644)?;
    Ok(true)
}

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
    let cert_err = |message: String| TlsError::Cert {
        path: paths.cert.clone(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&paths.cert)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&paths.key).map_err(|e| TlsError::Key {
        path: paths.key.clone(),
        message: e.to_string(),
    })?;
    let certified =
        CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError::Mismatch {
            cert: paths.cert.clone(),
            key: paths.key.clone(),
            message: e.to_string(),
        })?;
    Ok(Arc::new(certified))
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
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| ca_err(e.to_string()))? {
        roots
            .add(cert.map_err(|e| ca_err(e.to_string()))?)
            .map_err(|e| ca_err(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(ca_err("no certificate in the file".into()));
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
    let builder = match config.server.client_cert {
        ClientCertMode::Required => builder,
        ClientCertMode::Optional => builder.allow_unauthenticated(),
    };
    builder.build().map_err(|e| ca_err(e.to_string()))
}

/// The first `[[server.clients]]` entry whose name `cert` (already verified by the
/// handshake) carries as a DNS name.
pub fn mapped_client<'a>(
    cert: &CertificateDer<'_>,
    clients: &'a [CertClient],
) -> Option<&'a CertClient> {
    let cert = webpki::EndEntityCert::try_from(cert).ok()?;
    clients.iter().find(|c| {
        ServerName::try_from(c.name.as_str())
            .is_ok_and(|name| cert.verify_is_valid_for_subject_name(&name).is_ok())
    })
}

/// The rustls server configuration: TLS 1.2 and 1.3 only, ring, HTTP/1.1.
pub fn server_config(
    resolver: Arc<ReloadableCert>,
    clients: Arc<dyn ClientCertVerifier>,
) -> Result<ServerConfig, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_client_cert_verifier(clients)
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests;
