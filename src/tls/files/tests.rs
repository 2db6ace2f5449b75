use super::*;
use rustls_pki_types::pem::PemObject;

/// A certificate and its key, made anew (rcgen): PEM and DER forms of both.
struct Pair {
    cert_pem: String,
    cert_der: Vec<u8>,
    key_pem: String,
    key_der: Vec<u8>,
}

fn pair() -> Pair {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    Pair {
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
        key_der: key.serialize_der(),
    }
}

/// The first 24 bytes of a `.pfx` and of a DER `.p7b` that `openssl pkcs12 -export` and
/// `openssl crl2pkcs7 -outform der` wrote; what follows them is not read.
fn pfx() -> Vec<u8> {
    let mut b = hex("308209df0201033082099506092a864886f70d010701a082");
    b.resize(2_500, 0);
    b
}

fn p7b_der() -> Vec<u8> {
    let mut b = hex("3082033806092a864886f70d010702a08203293082032502");
    b.resize(820, 0);
    b
}

/// The SEC1 `ECPrivateKey` a PKCS#8 EC key wraps (`openssl ec -outform der` writes it so):
/// its DER length is of the short form, one byte.
fn sec1(pkcs8: &[u8]) -> Vec<u8> {
    // (header length, content length) of the DER element at the start of `b`
    fn element(b: &[u8]) -> (usize, usize) {
        match b[1] {
            n if n < 0x80 => (2, usize::from(n)),
            n => {
                let bytes = usize::from(n & 0x7F);
                let len = b[2..2 + bytes]
                    .iter()
                    .fold(0, |l, d| l << 8 | usize::from(*d));
                (2 + bytes, len)
            }
        }
    }
    let (header, _) = element(pkcs8);
    let rest = &pkcs8[header..];
    let rest = &rest[3..]; // the version, INTEGER 0
    let (h, len) = element(rest); // the algorithm
    let rest = &rest[h + len..];
    let (h, len) = element(rest); // the OCTET STRING holding the key
    let key = rest[h..h + len].to_vec();
    assert!(key[0] == 0x30 && key[1] < 0x80, "{:02x?}", &key[..2]);
    key
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn pem(label: &str) -> String {
    format!(
        "-----BEGIN {label}-----\nMIIBVwIBADANBgkqhkiG9w0BAQEFAASCAUEwggE9AgEAAkEA\n-----END {label}-----\n"
    )
}

/// What each kind of file is told as, for each thing it was meant to be; None: the
/// reader's own error stands.
#[test]
fn a_file_that_is_not_the_pem_wanted_is_told_as_what_it_is() {
    use Wanted::{Cas, Chain, Key};
    let p = pair();
    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                  DEK-Info: AES-256-CBC,702F42FDD9A1E6D2431C22BD56195B6E\n\nabc\n\
                  -----END RSA PRIVATE KEY-----\n";
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(p.cert_pem.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let both = format!("{}{}", p.cert_pem, p.key_pem);
    let cases: Vec<(&str, Vec<u8>, Wanted, Option<&str>)> = vec![
        ("empty", vec![], Chain, Some("the file is empty")),
        ("blank", b" \n".to_vec(), Key, Some("the file is empty")),
        ("utf-16", utf16, Chain, Some("UTF-16 text")),
        (
            "der cert",
            p.cert_der.clone(),
            Chain,
            Some("`openssl x509 -inform der -in /f -out tls.crt`"),
        ),
        ("der cert", p.cert_der.clone(), Cas, Some("-out ca.pem`")),
        (
            "der cert",
            p.cert_der.clone(),
            Key,
            Some("it holds a certificate (DER), not a private key: are"),
        ),
        (
            "pfx",
            pfx(),
            Chain,
            Some(
                "PKCS#12 bundle (.pfx, .p12), not PEM: write the certificate chain with `openssl pkcs12 -in /f -nokeys -out tls.crt`",
            ),
        ),
        (
            "pfx",
            pfx(),
            Key,
            Some(
                "PKCS#12 bundle (.pfx, .p12), not PEM: write the key with `openssl pkcs12 -in /f -nocerts -nodes -out tls.key`",
            ),
        ),
        (
            "pfx",
            pfx(),
            Cas,
            Some("`openssl pkcs12 -in /f -cacerts -nokeys -out ca.pem`"),
        ),
        (
            "p7b der",
            p7b_der(),
            Chain,
            Some("`openssl pkcs7 -inform der -print_certs -in /f -out tls.crt`"),
        ),
        ("p7b der", p7b_der(), Key, None),
        (
            "p7b",
            pem("PKCS7").into_bytes(),
            Cas,
            Some("`openssl pkcs7 -print_certs -in /f -out ca.pem`"),
        ),
        (
            "der key",
            p.key_der.clone(),
            Key,
            Some("`openssl pkey -inform der -in /f -out tls.key`"),
        ),
        (
            "der key",
            p.key_der.clone(),
            Chain,
            Some("it holds a private key (DER), not a certificate"),
        ),
        (
            "der sec1 key",
            sec1(&p.key_der),
            Key,
            Some("`openssl pkey -inform der -in /f -out tls.key`"),
        ),
        (
            "pem key",
            p.key_pem.clone().into_bytes(),
            Chain,
            Some("it holds a private key, not a certificate: are"),
        ),
        ("pem key", p.key_pem.clone().into_bytes(), Key, None),
        (
            "pem cert",
            p.cert_pem.clone().into_bytes(),
            Key,
            Some("it holds certificates, not a private key: are"),
        ),
        ("pem cert", p.cert_pem.clone().into_bytes(), Chain, None),
        ("cert and key", both.clone().into_bytes(), Key, None),
        ("cert and key", both.into_bytes(), Chain, None),
        (
            "pkcs#8 encrypted",
            pem("ENCRYPTED PRIVATE KEY").into_bytes(),
            Key,
            Some(
                "the key is encrypted with a password, which the service cannot ask for: write it out unencrypted (`openssl pkey -in /f -out tls.key`",
            ),
        ),
        (
            "legacy encrypted",
            legacy.as_bytes().to_vec(),
            Key,
            Some("the key is encrypted with a password"),
        ),
        (
            "csr",
            pem("CERTIFICATE REQUEST").into_bytes(),
            Chain,
            Some("a certificate signing request (CSR), not the certificate"),
        ),
        (
            "old csr",
            pem("NEW CERTIFICATE REQUEST").into_bytes(),
            Cas,
            Some("(CSR)"),
        ),
        (
            "public key",
            pem("PUBLIC KEY").into_bytes(),
            Key,
            Some("it holds PUBLIC KEY, not a private key"),
        ),
        (
            "crl",
            pem("X509 CRL").into_bytes(),
            Cas,
            Some("it holds X509 CRL, not a certificate"),
        ),
        ("text", b"hello".to_vec(), Chain, None),
        // DER that begins as a key does (a version first) but is none: not called a key
        ("versioned der", hex("3003020100"), Key, None),
        ("versioned der", hex("3006020101040100"), Chain, None),
    ];
    for (name, bytes, wanted, want) in cases {
        let got = what_instead(&bytes, Path::new("/f"), wanted);
        match (want, &got) {
            (Some(w), Some(g)) => assert!(g.contains(w), "{name} as {wanted:?}: {g}"),
            (None, None) => {}
            _ => panic!("{name} as {wanted:?}: {got:?}"),
        }
    }
}

/// A chain written CA first is told which of its certificates the key is for; a key of
/// none of them is said so.
#[test]
fn a_key_is_found_among_the_chain_s_certificates() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let key = |k: &KeyPair| PrivateKeyDer::from_pem_slice(k.serialize_pem().as_bytes()).unwrap();
    let (ca, leaf) = (ca.der().clone(), leaf.der().clone());
    let other = KeyPair::generate().unwrap();
    for (chain, k, want) in [
        (vec![leaf.clone(), ca.clone()], &leaf_key, Some(0)),
        (vec![ca.clone(), leaf.clone()], &leaf_key, Some(1)),
        (vec![ca.clone(), leaf.clone()], &ca_key, Some(0)),
        (vec![ca.clone(), leaf.clone()], &other, None),
    ] {
        assert_eq!(key_of(&chain, &key(k)), want);
    }
    let told = mismatch(&[ca.clone(), leaf.clone()], &key(&leaf_key));
    assert!(
        told.starts_with("the key is that of certificate 2 of the file"),
        "{told}"
    );
    let told = mismatch(&[ca, leaf], &key(&other));
    assert_eq!(
        told,
        "the key is not that of the certificate (nor of any in the file)"
    );
}

/// A version 1 certificate (`openssl x509 -req` without `-extfile`) is told as such;
/// rcgen's, version 3, is used.
#[test]
fn a_version_1_certificate_is_told_to_be_issued_again() {
    let v1 = CertificateDer::from_pem_slice(V1.as_bytes()).unwrap();
    let told = unusable(&[v1]).unwrap();
    assert!(
        told.starts_with("it is an X.509 version 1 certificate"),
        "{told}"
    );
    assert!(told.contains("subjectAltName"), "{told}");
    let p = pair();
    assert_eq!(unusable(&[CertificateDer::from(p.cert_der)]), None);
    assert_eq!(unusable(&[]), None);
}

/// A leaf `openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key` wrote (no extensions:
/// version 1). Public: a certificate holds no secret.
const V1: &str = "-----BEGIN CERTIFICATE-----
MIICrDCCAZQCFDF5stW70q80F5maW8twSNSc6YQMMA0GCSqGSIb3DQEBCwUAMBEx
DzANBgNVBAMMBlRlc3RDQTAeFw0yNjEyMDcwMzI1MjVaFw0yNzAxMDYwMzI1MjVa
MBQxEjAQBgNVBAMMCTEyNy4wLjAuMTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCC
AQoCggEBAJR5kr18tsOBUo4bRrE9xW/RahTXFEIabPTlYW0+tQFNikAthwfm7VMu
KTzgxH8ft8IQKCX98tyv1HEGmFydNVHNeAA7pheRC4kvxnF+yg4XgcXWpHU+64yv
cuGMJ4brXnTEYeVGbS7tE/y8vNxvz0DOfEIIVo7OsDSAmGGBVgVTaPDioCPlV/Zn
sSOwFp15PCctpGMeQvmXnbJK6lVDDiNvx+/2nsYp2RqYa8G8ajeg757foCz/I1Qs
lf4VMGmqRm0MTQ554u1UYlBxolIw6AGqDp3Tz5JqJrm+eNjoudIzKDEvOMUQjXIp
5V8iG3JrFEDUsunxvCW3OzSu+i9lH/cCAwEAATANBgkqhkiG9w0BAQsFAAOCAQEA
KMgv4GtKem6fi1Y7ZUHd/YwjeMJ5asJJHUSGob9hVb5wJiY444nNeQZLPbiF1gmY
Xyik3lCXCawhVYTAAps55Jg3dViV+F4dsljC9bwqtoXCQye/Mjq9Bm3Xce75SXP2
zBfYpO/wozjAPdj8Ba5ZyMGyzdBLn/SDi/Cjcfb4joNSazFaa4Wjcj/knEFFMAlK
GgqktS0aVLedvLoKmjs/ac1/U5PpIjHYNRnrVYHGPWqcptWaUA5+IDnbdOZskx9B
n2CJ2rovy+6k0O5yGN9MGGkpEyDghrN2dzUzsXbZiTPr+/1L0ORHjSDct8s0QdOS
e0PGQotQWoyjry0oOJgPQQ==
-----END CERTIFICATE-----
";
