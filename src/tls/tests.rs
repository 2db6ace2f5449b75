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
