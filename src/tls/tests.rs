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
    fs::write(a.path().join("tls.crt"), "not a certificate").unwrap();
    assert!(matches!(load(&paths(a.path())), Err(TlsError::Cert { .. })));
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
