//! What a certificate or key file holds when it is not the PEM callvault reads, told with the
//! `openssl` command that makes the PEM from it. A credit union's certificates often come
//! from a Windows CA, as a `.pfx` bundle, a DER `.cer` or a `.p7b` chain, and a key may be
//! kept encrypted; each of them used to read as "no certificate in the file".
//!
//! Only the kind of a file is said, never a byte of it: the key file is a secret.

use std::path::Path;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// What the file is meant to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// A certificate chain, the server's or a client's own first.
    Chain,
    /// A private key.
    Key,
    /// CA certificates to trust.
    Cas,
}

/// Why a file meant to hold `wanted` in PEM does not, with what to do; None when its kind
/// is not known (the reader's own error stands then).
pub fn what_instead(bytes: &[u8], path: &Path, wanted: Wanted) -> Option<String> {
    let path = path.display();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Some("the file is empty".into());
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Some(
            "the file is UTF-16 text, as Windows Notepad may save it: save it again as UTF-8 \
             (or ANSI)"
                .into(),
        );
    }
    let labels = pem_labels(bytes);
    if labels.is_empty() {
        return der_kind(bytes, &path.to_string(), wanted);
    }
    let has = |label: &str| labels.iter().any(|l| l == label);
    let keys = labels.iter().any(|l| l.ends_with("PRIVATE KEY"));
    let encrypted = has("ENCRYPTED PRIVATE KEY")
        || (keys && String::from_utf8_lossy(bytes).contains("Proc-Type: 4,ENCRYPTED"));
    let found = labels.join(", ");
    Some(match wanted {
        Wanted::Key if encrypted => format!(
            "the key is encrypted with a password, which the service cannot ask for: write it \
             out unencrypted (`openssl pkey -in {path} -out tls.key`, then `chmod 0600 \
             tls.key`)"
        ),
        Wanted::Key if has("CERTIFICATE") && !keys => {
            "it holds certificates, not a private key: are the certificate's and the key's \
             files swapped?"
                .into()
        }
        Wanted::Chain | Wanted::Cas if keys && !has("CERTIFICATE") => {
            "it holds a private key, not a certificate: are the certificate's and the key's \
             files swapped?"
                .into()
        }
        Wanted::Chain | Wanted::Cas if has("PKCS7") => format!(
            "it is a PKCS#7 bundle (.p7b), not PEM certificates: write them out with \
             `openssl pkcs7 -print_certs -in {path} -out {}`",
            out(wanted)
        ),
        _ if has("CERTIFICATE REQUEST") || has("NEW CERTIFICATE REQUEST") => {
            "it is a certificate signing request (CSR), not the certificate the CA issued \
             from it"
                .into()
        }
        Wanted::Key if !keys => format!("it holds {found}, not a private key"),
        Wanted::Chain | Wanted::Cas if !has("CERTIFICATE") => {
            format!("it holds {found}, not a certificate")
        }
        // what is wanted is there: the reader's own error says what is wrong with it
        _ => return None,
    })
}

/// The kind of a file that is not PEM, as its DER bytes begin.
fn der_kind(bytes: &[u8], path: &str, wanted: Wanted) -> Option<String> {
    if x509_parser::parse_x509_certificate(bytes).is_ok() {
        return Some(match wanted {
            Wanted::Key => "it holds a certificate (DER), not a private key: are the \
                            certificate's and the key's files swapped?"
                .into(),
            _ => format!(
                "it is a certificate in DER (binary) form, as Windows exports a .cer: write it \
                 as PEM with `openssl x509 -inform der -in {path} -out {}`",
                out(wanted)
            ),
        });
    }
    let version = der_version(bytes);
    if version == Some(3) {
        let take = match wanted {
            Wanted::Chain => format!(
                "write the certificate chain with `openssl pkcs12 -in {path} -nokeys -out \
                 tls.crt` and the key with `openssl pkcs12 -in {path} -nocerts -nodes -out \
                 tls.key` (then `chmod 0600 tls.key`)"
            ),
            Wanted::Key => format!(
                "write the key with `openssl pkcs12 -in {path} -nocerts -nodes -out tls.key` \
                 (then `chmod 0600 tls.key`) and the certificate chain with `openssl pkcs12 \
                 -in {path} -nokeys -out tls.crt`"
            ),
            Wanted::Cas => format!(
                "write its CA certificates with `openssl pkcs12 -in {path} -cacerts -nokeys \
                 -out ca.pem`"
            ),
        };
        return Some(format!(
            "it is a PKCS#12 bundle (.pfx, .p12), not PEM: {take}; OpenSSL 3 needs `-legacy` \
             for a bundle an older Windows exported"
        ));
    }
    if is_pkcs7(bytes) && wanted != Wanted::Key {
        return Some(format!(
            "it is a PKCS#7 bundle (.p7b) in DER form, not PEM certificates: write them out \
             with `openssl pkcs7 -inform der -print_certs -in {path} -out {}`",
            out(wanted)
        ));
    }
    if version.is_some() && is_der_key(bytes) {
        return Some(match wanted {
            Wanted::Key => format!(
                "it is a private key in DER (binary) form: write it as PEM with `openssl pkey \
                 -inform der -in {path} -out tls.key` (then `chmod 0600 tls.key`)"
            ),
            _ => "it holds a private key (DER), not a certificate: are the certificate's and \
                  the key's files swapped?"
                .into(),
        });
    }
    None
}

/// Whether `bytes` are a private key in DER that TLS can sign with: PKCS#8, PKCS#1 or SEC1.
/// (rustls-pki-types' `try_from` only tells the three apart, by their first bytes.)
fn is_der_key(bytes: &[u8]) -> bool {
    let Ok(key) = PrivateKeyDer::try_from(bytes) else {
        return false;
    };
    (rustls::crypto::ring::default_provider().key_provider)
        .load_private_key(key.clone_key())
        .is_ok()
}

/// The file a conversion writes, for what it is meant to be.
fn out(wanted: Wanted) -> &'static str {
    match wanted {
        Wanted::Chain => "tls.crt",
        Wanted::Key => "tls.key",
        Wanted::Cas => "ca.pem",
    }
}

/// The labels of the PEM blocks in `bytes` (`CERTIFICATE`, `PRIVATE KEY`), in order.
fn pem_labels(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|line| {
            let label = line
                .trim()
                .strip_prefix("-----BEGIN ")?
                .strip_suffix("-----")?;
            Some(label.to_string())
        })
        .collect()
}

/// The version of a DER `SEQUENCE { INTEGER v, ... }` (3 for PKCS#12, 0 or 1 for a private
/// key), if that is how `bytes` begin.
fn der_version(bytes: &[u8]) -> Option<u8> {
    let rest = bytes.strip_prefix(&[0x30])?;
    let skip = match *rest.first()? {
        n if n < 0x80 => 1,
        n => 1 + usize::from(n & 0x7F),
    };
    match rest.get(skip..skip + 3)? {
        [0x02, 0x01, v] => Some(*v),
        _ => None,
    }
}

/// Whether `bytes` are a DER PKCS#7 signedData (a .p7b chain): its content type's OID
/// (1.2.840.113549.1.7.2) near the start.
fn is_pkcs7(bytes: &[u8]) -> bool {
    const SIGNED_DATA: &[u8] = &[
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02,
    ];
    bytes.first() == Some(&0x30)
        && bytes[..bytes.len().min(24)]
            .windows(SIGNED_DATA.len())
            .any(|w| w == SIGNED_DATA)
}

/// Why the first certificate of a chain that reads cannot be used: X.509 version 1 (or 2),
/// which `openssl x509 -req` makes without `-extfile`, and TLS refuses for a server's or a
/// client's own certificate.
pub fn unusable(chain: &[CertificateDer<'static>]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(chain.first()?).ok()?;
    let version = cert.version().0;
    (version < 2).then(|| {
        format!(
            "it is an X.509 version {} certificate, made without extensions (as `openssl x509 \
             -req` makes one without `-extfile`), which TLS refuses: have it issued again as \
             version 3, with the names clients reach callvault by as its subjectAltName \
             (`-extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:callvault.cu.example')`)",
            version + 1
        )
    })
}

/// When a key is not its chain's first certificate's: which certificate of the chain (0
/// first) it is the key of, if any. A chain written CA first reads so.
pub fn key_of(chain: &[CertificateDer<'static>], key: &PrivateKeyDer<'static>) -> Option<usize> {
    let provider = rustls::crypto::ring::default_provider();
    chain.iter().position(|cert| {
        rustls::sign::CertifiedKey::from_der(vec![cert.clone()], key.clone_key(), &provider).is_ok()
    })
}

/// A key that is not the chain's first certificate's, in words.
pub fn mismatch(chain: &[CertificateDer<'static>], key: &PrivateKeyDer<'static>) -> String {
    match key_of(chain, key) {
        Some(n) => format!(
            "the key is that of certificate {} of the file, not of the first: put the \
             certificate the key is for first, then the CA certificates that issued it",
            n + 1
        ),
        None => "the key is not that of the certificate (nor of any in the file)".into(),
    }
}

#[cfg(test)]
mod tests;
