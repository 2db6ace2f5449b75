use super::*;

fn paths(dir: &Path) -> TlsPaths {
    TlsPaths {
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
        generated: true,
    }
}

#[test]
fn generated_pair_loads_and_is_not_overwritten() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    assert!(generate_self_signed(&p, &["cu-auth01".into()]).unwrap());
    assert_eq!(fs::metadata(&p.key).unwrap().mode() & 0o777, 0o600);
    let first = fs::read(&p.cert).unwrap();
    assert!(!generate_self_signed(&p, &[]).unwrap());
    assert_eq!(fs::read(&p.cert).unwrap(), first);
    load(&p).unwrap();
}

#[test]
fn the_generated_certificate_names_loopback_and_each_hostname_once() {
    use x509_parser::extensions::GeneralName;
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let hostnames = [
        "cu-auth01",
        "",
        "localhost",
        "cu-auth01.cu.local",
        "cu-auth01",
    ];
    let hostnames: Vec<String> = hostnames.iter().map(|h| h.to_string()).collect();
    assert!(generate_self_signed(&p, &hostnames).unwrap());
    let pair = load(&p).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(pair.end_entity_cert().unwrap()).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap().value;
    let names: Vec<String> = san
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => d.to_string(),
            GeneralName::IPAddress(ip) => match ip.len() {
                4 => std::net::IpAddr::from(<[u8; 4]>::try_from(*ip).unwrap()).to_string(),
                _ => std::net::IpAddr::from(<[u8; 16]>::try_from(*ip).unwrap()).to_string(),
            },
            other => panic!("unexpected name {other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "localhost",
            "127.0.0.1",
            "::1",
            "cu-auth01",
            "cu-auth01.cu.local"
        ]
    );
}

#[test]
fn the_generated_certificate_says_whose_it_is_and_is_good_from_yesterday() {
    let long_host = "h".repeat(52);
    let cases: [(&[&str], &str); 4] = [
        (&["cu-auth01"], "callvault on cu-auth01"),
        (
            &["", "cu-auth01.cu.local"],
            "callvault on cu-auth01.cu.local",
        ),
        (&[], "callvault on localhost"),
        (&[long_host.as_str()], "callvault"),
    ];
    for (hostnames, common_name) in cases {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(dir.path());
        let hostnames: Vec<String> = hostnames.iter().map(|h| h.to_string()).collect();
        let before = Utc::now();
        generate_self_signed(&p, &hostnames).unwrap();
        let pair = load(&p).unwrap();
        let der = pair.end_entity_cert().unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
        let cn: Vec<&str> = cert
            .subject()
            .iter_common_name()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(cn, [common_name], "{hostnames:?}");
        let o: Vec<&str> = cert
            .subject()
            .iter_organization()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(o, [SELF_SIGNED_ORGANIZATION]);
        assert_eq!(cert.subject(), cert.issuer(), "self-signed");
        // good from the start of yesterday (UTC): a client a little behind still takes it
        let from = Validity::of(&pair).unwrap().not_before;
        let yesterday = |t: DateTime<Utc>| (t - chrono::Duration::days(1)).date_naive();
        let (early, late) = (yesterday(before), yesterday(Utc::now()));
        assert!(
            [early, late].contains(&from.date_naive()),
            "{hostnames:?}: {from}"
        );
        assert_eq!(from.time(), chrono::NaiveTime::MIN);
    }
}

#[test]
fn half_a_pair_is_never_completed_or_overwritten() {
    // A key without its certificate (or the reverse) is an operator's pair gone wrong:
    // generating would replace a key someone may rely on, so nothing is written and `load`
    // names the missing file.
    for keep_key in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(dir.path());
        generate_self_signed(&p, &[]).unwrap();
        let (kept, gone) = if keep_key {
            (&p.key, &p.cert)
        } else {
            (&p.cert, &p.key)
        };
        let before = fs::read(kept).unwrap();
        fs::remove_file(gone).unwrap();
        assert!(
            !generate_self_signed(&p, &[]).unwrap(),
            "keep_key {keep_key}"
        );
        assert!(!gone.exists(), "keep_key {keep_key}");
        assert_eq!(fs::read(kept).unwrap(), before, "keep_key {keep_key}");
        let refused = load(&p).unwrap_err().to_string();
        assert!(refused.contains(&gone.display().to_string()), "{refused}");
    }
}

#[test]
fn the_configured_pair_is_used_or_else_the_one_beside_the_vault_key() {
    let mut config = Config::default();
    config.vault.key_file = PathBuf::from("/var/lib/callvault/vault.key");
    let generated = TlsPaths {
        cert: PathBuf::from("/var/lib/callvault/tls.crt"),
        key: PathBuf::from("/var/lib/callvault/tls.key"),
        generated: true,
    };
    assert_eq!(TlsPaths::from_config(&config), generated);
    config.server.tls_cert = Some(PathBuf::from("/etc/callvault/cu.crt"));
    config.server.tls_key = Some(PathBuf::from("/etc/callvault/cu.key"));
    assert_eq!(
        TlsPaths::from_config(&config),
        TlsPaths {
            cert: PathBuf::from("/etc/callvault/cu.crt"),
            key: PathBuf::from("/etc/callvault/cu.key"),
            generated: false,
        }
    );
    // Half a configured pair is refused by `config check`; here it falls back as if unset.
    config.server.tls_key = None;
    assert_eq!(TlsPaths::from_config(&config), generated);
}

#[test]
fn mismatched_or_garbage_pairs_are_refused() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    generate_self_signed(&paths(a.path()), &[]).unwrap();
    generate_self_signed(&paths(b.path()), &[]).unwrap();
    let mixed = TlsPaths {
        cert: a.path().join("tls.crt"),
        key: b.path().join("tls.key"),
        generated: false,
    };
    assert!(matches!(load(&mixed), Err(TlsError::Mismatch { .. })));
    let told = load(&mixed).err().unwrap().to_string();
    assert!(
        told.ends_with("the key is not that of the certificate (nor of any in the file)"),
        "{told}"
    );
    // the chain written with its CA first: which certificate the key is for is said
    let a_cert = fs::read_to_string(a.path().join("tls.crt")).unwrap();
    let b_cert = fs::read_to_string(b.path().join("tls.crt")).unwrap();
    fs::write(a.path().join("chain.crt"), format!("{a_cert}{b_cert}")).unwrap();
    let reversed = TlsPaths {
        cert: a.path().join("chain.crt"),
        ..mixed.clone()
    };
    let told = load(&reversed).err().unwrap().to_string();
    assert!(
        told.contains("the key is that of certificate 2 of the file"),
        "{told}"
    );
    // a key file in DER, and the certificate's file in its place: each told as what it is
    let der = a.path().join("tls.der");
    let key_der = PrivateKeyDer::from_pem_file(b.path().join("tls.key")).unwrap();
    fs::write(&der, key_der.secret_der()).unwrap();
    for (key, said) in [
        (
            der,
            "no private key in the file: it is a private key in DER (binary) form",
        ),
        (
            b.path().join("tls.crt"),
            "it holds certificates, not a private key",
        ),
    ] {
        let told = load(&TlsPaths {
            key,
            ..mixed.clone()
        })
        .err()
        .unwrap();
        assert!(matches!(told, TlsError::Key { .. }), "{told}");
        assert!(told.to_string().contains(said), "{told}");
    }
    fs::write(a.path().join("tls.crt"), "not a certificate").unwrap();
    assert!(matches!(load(&paths(a.path())), Err(TlsError::Cert { .. })));
    fs::write(
        a.path().join("tls.crt"),
        fs::read(b.path().join("tls.key")).unwrap(),
    )
    .unwrap();
    let told = load(&paths(a.path())).err().unwrap().to_string();
    assert!(
        told.contains("no certificate in the file: it holds a private key, not a certificate"),
        "{told}"
    );
}

#[test]
fn a_missing_or_empty_client_ca_file_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    assert!(!client_verifier(&config).unwrap().offer_client_auth());
    let ca = dir.path().join("clients-ca.pem");
    config.server.client_ca = Some(ca.clone());
    let missing = client_verifier(&config).err().unwrap().to_string();
    assert!(missing.contains("clients-ca.pem"), "{missing}");
    fs::write(&ca, "no PEM here\n").unwrap();
    let empty = client_verifier(&config).err().unwrap().to_string();
    assert!(empty.contains("no certificate in the file"), "{empty}");
    generate_self_signed(&paths(dir.path()), &[]).unwrap();
    fs::copy(dir.path().join("tls.crt"), &ca).unwrap();
    let required = client_verifier(&config).unwrap();
    assert!(required.offer_client_auth() && required.client_auth_mandatory());
    config.server.client_cert = ClientCertMode::Optional;
    assert!(!client_verifier(&config).unwrap().client_auth_mandatory());
}

/// The verifier a reload swaps in decides the next handshake: whether it asks for a
/// certificate, whether it must have one, and which CAs it names; a list of CA names seen
/// before is kept once.
#[test]
fn the_client_check_follows_the_last_verifier_swapped_in() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut config = Config::default();
    let clients = ReloadableClients::new(client_verifier(&config).unwrap());
    assert!(!clients.offer_client_auth());
    assert!(clients.root_hint_subjects().is_empty());

    let mut both = String::new();
    for folder in [&a, &b] {
        fs::create_dir(folder).unwrap();
        generate_self_signed(&paths(folder), &[]).unwrap();
        both.push_str(&fs::read_to_string(folder.join("tls.crt")).unwrap());
    }
    let ca = dir.path().join("clients-ca.pem");
    fs::copy(a.join("tls.crt"), &ca).unwrap();
    config.server.client_ca = Some(ca.clone());
    let names = |clients: &ReloadableClients| -> Vec<Vec<u8>> {
        (clients.root_hint_subjects().iter())
            .map(|n| n.as_ref().to_vec())
            .collect()
    };
    let one = client_verifier(&config).unwrap();
    let want_one: Vec<Vec<u8>> = (one.root_hint_subjects().iter())
        .map(|n| n.as_ref().to_vec())
        .collect();
    clients.replace(one);
    assert!(clients.offer_client_auth() && clients.client_auth_mandatory());
    assert_eq!((names(&clients), want_one.len()), (want_one.clone(), 1));
    let kept = clients.root_hint_subjects().as_ptr();

    fs::write(&ca, &both).unwrap();
    config.server.client_cert = ClientCertMode::Optional;
    clients.replace(client_verifier(&config).unwrap());
    assert!(clients.offer_client_auth() && !clients.client_auth_mandatory());
    assert_eq!(names(&clients).len(), 2);

    fs::copy(a.join("tls.crt"), &ca).unwrap();
    clients.replace(client_verifier(&config).unwrap());
    assert_eq!(names(&clients), want_one);
    assert_eq!(clients.root_hint_subjects().as_ptr(), kept, "kept twice");
}

#[test]
fn a_ca_file_must_hold_certificates_a_client_can_trust() {
    let dir = tempfile::tempdir().unwrap();
    generate_self_signed(&paths(dir.path()), &[]).unwrap();
    let cert = fs::read_to_string(dir.path().join("tls.crt")).unwrap();
    let key = fs::read_to_string(dir.path().join("tls.key")).unwrap();
    let not_x509 = "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n";
    let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    // (contents or None for no file, certificates read or the start of the refusal)
    let cases: [(Option<String>, Result<usize, &str>); 8] = [
        (None, Err("No such file")),
        (
            Some(String::new()),
            Err("no certificate in the file: the file is empty"),
        ),
        (
            Some("no PEM here\n".into()),
            Err("no certificate in the file"),
        ),
        (
            Some(key.clone()),
            Err("no certificate in the file: it holds a private key"),
        ),
        (Some(bad_base64.into()), Err("not PEM certificates")),
        (Some(not_x509.into()), Err("certificate 1: ")),
        (Some(format!("{key}{cert}")), Ok(1)),
        (Some(format!("{cert}{cert}")), Ok(2)),
    ];
    for (n, (contents, expected)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("ca-{n}.pem"));
        if let Some(contents) = &contents {
            fs::write(&path, contents).unwrap();
        }
        match (ca_file(&path), expected) {
            (Ok(certs), Ok(count)) => assert_eq!(certs.len(), count, "case {n}"),
            (Err(e), Err(start)) => {
                let unreadable = matches!(e, CaFileError::Unreadable(_));
                assert_eq!(unreadable, contents.is_none(), "case {n}: {e:?}");
                assert!(e.to_string().contains(start), "case {n}: {e}");
            }
            (got, expected) => panic!("case {n}: {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn a_key_others_can_read_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    generate_self_signed(&p, &[]).unwrap();
    for (mode, exposed) in [(0o600, false), (0o640, false), (0o644, true), (0o606, true)] {
        fs::set_permissions(&p.key, fs::Permissions::from_mode(mode)).unwrap();
        let warning = key_exposure(&p.key);
        assert_eq!(warning.is_some(), exposed, "{mode:o}");
        if let Some(w) = warning {
            assert!(w.contains(&format!("{mode:04o}")), "{w}");
        }
    }
}

#[test]
fn a_certificate_s_standing_by_date() {
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let v = Validity {
        not_before: at("2026-01-01T00:00:00Z"),
        not_after: at("2027-01-01T00:00:00Z"),
    };
    for (now, expected) in [
        (
            "2025-12-31T23:59:59Z",
            CertStatus::NotYetValid { from: v.not_before },
        ),
        (
            "2026-01-01T00:00:00Z",
            CertStatus::Valid {
                until: v.not_after,
                days_left: 365,
            },
        ),
        (
            "2026-12-01T00:00:00Z",
            CertStatus::Valid {
                until: v.not_after,
                days_left: 31,
            },
        ),
        (
            "2026-12-02T00:00:00Z",
            CertStatus::Valid {
                until: v.not_after,
                days_left: 30,
            },
        ),
        (
            "2026-12-02T00:00:01Z",
            CertStatus::EndingSoon {
                until: v.not_after,
                days_left: 29,
            },
        ),
        (
            "2027-01-01T00:00:00Z",
            CertStatus::EndingSoon {
                until: v.not_after,
                days_left: 0,
            },
        ),
        (
            "2027-01-01T00:00:01Z",
            CertStatus::Expired { on: v.not_after },
        ),
    ] {
        let status = v.status(at(now));
        assert_eq!(status, expected, "{now}");
        assert_eq!(
            status.usable(),
            !matches!(
                expected,
                CertStatus::Expired { .. } | CertStatus::NotYetValid { .. }
            )
        );
        assert_eq!(
            status.needs_attention(),
            !matches!(expected, CertStatus::Valid { .. })
        );
    }
    let said = CertStatus::Expired { on: v.not_after }.to_string();
    assert!(said.contains("expired on 2027-01-01 00:00 UTC"), "{said}");
}

#[test]
fn the_validity_is_read_from_the_certificate_served() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2026, 3, 4);
    params.not_after = rcgen::date_time_ymd(2027, 5, 6);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    fs::write(&p.cert, cert.pem()).unwrap();
    fs::write(&p.key, key.serialize_pem()).unwrap();
    let served = ReloadableCert::new(load(&p).unwrap());
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        served.validity(),
        Some(Validity {
            not_before: at("2026-03-04T00:00:00Z"),
            not_after: at("2027-05-06T00:00:00Z"),
        })
    );
    // `init`'s own certificate does not end in any lifetime that matters.
    let generated = tempfile::tempdir().unwrap();
    generate_self_signed(&paths(generated.path()), &[]).unwrap();
    let v = Validity::of(&load(&paths(generated.path())).unwrap()).unwrap();
    assert!(v.status(Utc::now()).usable() && v.not_after > at("2100-01-01T00:00:00Z"));
}

/// A CA and a client certificate it issued, as rustls takes them.
struct ClientPki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn client_pki(name: &str) -> ClientPki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa};
    let mut ca = CertificateParams::new(vec![]).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let mut leaf = CertificateParams::new(vec!["desk.cu.test".to_string()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    ClientPki {
        ca_pem: ca_cert.pem(),
        chain: vec![leaf_cert.der().clone()],
        key: PrivateKeyDer::from_pem_slice(leaf_key.serialize_pem().as_bytes()).unwrap(),
    }
}

/// One handshake between `client` and a server of `server`, in memory, and the tickets the
/// server sends after it: how the server saw it, or why it failed.
fn handshake(
    server: &Arc<ServerConfig>,
    client: &Arc<rustls::ClientConfig>,
) -> Result<rustls::HandshakeKind, rustls::Error> {
    let s = connect(server, client)?;
    Ok(s.handshake_kind().expect("the handshake ended"))
}

/// As [`handshake`]: the server's side of the connection once the handshake is over.
fn connect(
    server: &Arc<ServerConfig>,
    client: &Arc<rustls::ClientConfig>,
) -> Result<rustls::ServerConnection, rustls::Error> {
    use rustls::{ClientConnection, ServerConnection};
    let mut s = ServerConnection::new(server.clone())?;
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut c = ClientConnection::new(client.clone(), name)?;
    loop {
        let mut moved = false;
        let mut bytes = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut bytes).unwrap();
        }
        let mut read = bytes.as_slice();
        while !read.is_empty() {
            moved = true;
            s.read_tls(&mut read).unwrap();
            s.process_new_packets()?;
        }
        let mut bytes = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut bytes).unwrap();
        }
        let mut read = bytes.as_slice();
        while !read.is_empty() {
            moved = true;
            c.read_tls(&mut read).unwrap();
            c.process_new_packets()?;
        }
        if !moved {
            return Ok(s);
        }
    }
}

/// The protocol a client that offers these (ALPN) gets: HTTP/1.1 before HTTP/1.0, and a
/// client that names neither (HTTP/2 alone) refused, since the service speaks HTTP/1 only;
/// one that offers nothing is served, its requests read as HTTP/1.x.
#[test]
fn a_client_gets_http_1_1_or_http_1_0_as_it_offers() {
    let dir = tempfile::tempdir().unwrap();
    generate_self_signed(&paths(dir.path()), &[]).unwrap();
    let clients = ReloadableClients::new(client_verifier(&Config::default()).unwrap());
    let resolver = ReloadableCert::new(load(&paths(dir.path())).unwrap());
    let server = Arc::new(server_config(resolver, clients).unwrap());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dir.path().join("tls.crt")).unwrap())
        .unwrap();
    let cases: [(&[&str], Option<&str>); 6] = [
        (&["h2", "http/1.1"], Some("http/1.1")),
        (&["http/1.1"], Some("http/1.1")),
        // curl --http1.0, libcurl's CURL_HTTP_VERSION_1_0
        (&["http/1.0"], Some("http/1.0")),
        (&["http/1.0", "http/1.1"], Some("http/1.1")),
        (&[], None),
        (&["h2"], None),
    ];
    for (offered, want) in cases {
        let mut client = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        client.alpn_protocols = offered.iter().map(|p| p.as_bytes().to_vec()).collect();
        let got = connect(&server, &Arc::new(client));
        match (want, offered) {
            (_, ["h2"]) => assert_eq!(
                got.err(),
                Some(rustls::Error::NoApplicationProtocol),
                "{offered:?}"
            ),
            (want, _) => {
                let s = got.unwrap();
                assert_eq!(s.alpn_protocol(), want.map(str::as_bytes), "{offered:?}");
            }
        }
    }
}

/// A client resumes its session (by a TLS 1.3 ticket, or a TLS 1.2 session id), so it need
/// not show its certificate again; a new client check (a reload) forgets every session, so a
/// client whose CA was taken out cannot resume one it began before, and a client still
/// admitted makes a full handshake once.
#[test]
fn a_new_client_check_forgets_the_sessions_begun_under_the_old_one() {
    use rustls::HandshakeKind::{Full, Resumed};
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let dir = tempfile::tempdir().unwrap();
        generate_self_signed(&paths(dir.path()), &[]).unwrap();
        let (first, second) = (client_pki("first CA"), client_pki("second CA"));
        let ca_file = dir.path().join("clients-ca.pem");
        let mut config = Config::default();
        config.server.client_ca = Some(ca_file.clone());
        let verifier = |cas: &[&ClientPki]| {
            let pem: String = cas.iter().map(|c| c.ca_pem.as_str()).collect();
            fs::write(&ca_file, pem).unwrap();
            client_verifier(&config).unwrap()
        };
        let clients = ReloadableClients::new(verifier(&[&first, &second]));
        let resolver = ReloadableCert::new(load(&paths(dir.path())).unwrap());
        let mut server = server_config(resolver, clients.clone()).unwrap();
        server.session_storage = clients.sessions();
        let server = Arc::new(server);
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(dir.path().join("tls.crt")).unwrap())
            .unwrap();
        let client = |pki: &ClientPki| {
            let config = rustls::ClientConfig::builder_with_provider(provider())
                .with_protocol_versions(&[version])
                .unwrap()
                .with_root_certificates(roots.clone())
                .with_client_auth_cert(pki.chain.clone(), pki.key.clone_key())
                .unwrap();
            Arc::new(config)
        };
        let (one, two) = (client(&first), client(&second));
        let v = version.version;

        assert_eq!(handshake(&server, &one), Ok(Full), "{v:?}");
        assert_eq!(handshake(&server, &one), Ok(Resumed), "{v:?}");
        assert_eq!(handshake(&server, &two), Ok(Full), "{v:?}");
        assert_eq!(handshake(&server, &two), Ok(Resumed), "{v:?}");

        clients.replace(verifier(&[&second]));
        let refused = handshake(&server, &one);
        assert!(refused.is_err(), "{v:?}: resumed under a CA taken out");
        assert_eq!(handshake(&server, &two), Ok(Full), "{v:?}");
        assert_eq!(handshake(&server, &two), Ok(Resumed), "{v:?}");
    }
}

/// A connection opened under an earlier client check is judged by the one in force: a
/// certificate from a CA in the file, none (when none is required), anything (with no client
/// CA at all); each check swapped in is a new generation.
#[test]
fn the_check_in_force_judges_what_a_client_showed_at_its_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (client_pki("first CA"), client_pki("second CA"));
    let ca = dir.path().join("clients-ca.pem");
    fs::write(&ca, &first.ca_pem).unwrap();
    let mut config = Config::default();
    let clients = ReloadableClients::new(client_verifier(&config).unwrap());
    let none: &[CertificateDer<'static>] = &[];
    let now = UnixTime::now();
    let mut generations = vec![clients.generation()];
    let mut judge = |config: &Config| {
        clients.replace(client_verifier(config).unwrap());
        generations.push(clients.generation());
        [none, &first.chain, &second.chain].map(|chain| {
            let (generation, admitted) = clients.admits(chain, now);
            assert_eq!(generation, clients.generation());
            admitted
        })
    };
    //               none   first  second
    assert_eq!(judge(&config), [true, true, true], "no client CA");
    config.server.client_ca = Some(ca.clone());
    assert_eq!(judge(&config), [false, true, false], "required");
    config.server.client_cert = ClientCertMode::Optional;
    assert_eq!(judge(&config), [true, true, false], "optional");
    fs::write(&ca, &second.ca_pem).unwrap();
    assert_eq!(
        judge(&config),
        [true, false, true],
        "the other CA, optional"
    );
    config.server.client_cert = ClientCertMode::Required;
    assert_eq!(
        judge(&config),
        [false, false, true],
        "the other CA, required"
    );
    assert_eq!(generations, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn a_missing_pair_says_where_it_comes_from_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let generated = paths(dir.path());
    let configured = TlsPaths {
        generated: false,
        ..paths(dir.path())
    };
    let said = |p: &TlsPaths| match read_pair(p) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("no pair, yet it loaded"),
    };
    let init = said(&generated);
    assert!(
        init.starts_with(&format!(
            "TLS certificate {}: No such file",
            generated.cert.display()
        )),
        "{init}"
    );
    assert!(
        init.contains("`callvault init` makes the self-signed pair there"),
        "{init}"
    );
    let own = said(&configured);
    assert!(
        own.contains("server.tls_cert names it; put the file there"),
        "{own}"
    );
    // the certificate there, the key not: the key's own key path is named
    generate_self_signed(&generated, &[]).unwrap();
    fs::remove_file(&configured.key).unwrap();
    let key = said(&configured);
    assert!(
        key.starts_with(&format!(
            "TLS key {}: No such file",
            configured.key.display()
        )),
        "{key}"
    );
    assert!(key.contains("server.tls_key names it"), "{key}");
    assert!(!key.contains("I/O error"), "{key}");
    // a file there that cannot be read is the system's word alone, with no advice to run
    // init or to put a file where one is
    fs::create_dir(&generated.key).unwrap();
    for p in [&generated, &configured] {
        let unreadable = said(p);
        assert!(
            unreadable.starts_with(&format!("TLS key {}: Is a directory", p.key.display())),
            "{unreadable}"
        );
        assert!(
            !unreadable.contains("callvault init") && !unreadable.contains("names it"),
            "{unreadable}"
        );
    }
}

/// A verified client certificate stands for the first `[[server.clients]]` entry it names
/// among its DNS names (case aside, as DNS has it), and for none when it names none or is
/// not a certificate at all; the audit log names it by those DNS names.
#[test]
fn a_client_certificate_maps_to_the_first_client_it_names() {
    use crate::config::CertClient;
    use crate::keys::Role;
    let cert = |names: &[&str]| {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let params = rcgen::CertificateParams::new(names).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    };
    let clients = [
        CertClient {
            name: "ivr-1.cu.test".into(),
            role: Role::Ivr,
        },
        CertClient {
            name: "desk-1.cu.test".into(),
            role: Role::Agent,
        },
        CertClient {
            name: "ivr 2".into(),
            role: Role::Ivr,
        },
        // the root's dot, as a DNS name may be written
        CertClient {
            name: "app.cu.test.".into(),
            role: Role::App,
        },
    ];
    let cases: &[(&[&str], Option<&str>)] = &[
        (&["desk-1.cu.test"], Some("desk-1.cu.test")),
        (&["DESK-1.cu.test"], Some("desk-1.cu.test")),
        (&["app.cu.test"], Some("app.cu.test.")),
        (&["app.cu.test", "ivr-1.cu.test"], Some("ivr-1.cu.test")),
        (&["desk-2.cu.test"], None),
        (&["cu.test"], None),
        (&["ivr-1.cu.test.evil.test"], None),
        (&["*.cu.test"], None),
    ];
    for (names, want) in cases {
        let got = mapped_client(&cert(names), &clients).map(|c| c.name.as_str());
        assert_eq!(got, *want, "{names:?}");
    }
    assert_eq!(
        mapped_client(&cert(&["desk-1.cu.test"]), &[]).map(|c| &c.name),
        None
    );
    let garbage = CertificateDer::from(b"not a certificate".to_vec());
    assert!(mapped_client(&garbage, &clients).is_none());
    assert_eq!(
        dns_names(&cert(&["desk-1.cu.test", "desk-1.cu.example"])),
        ["desk-1.cu.test", "desk-1.cu.example"]
    );
    assert_eq!(dns_names(&cert(&[])), Vec::<String>::new());
    assert_eq!(dns_names(&garbage), Vec::<String>::new());
}
