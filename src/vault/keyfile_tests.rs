use super::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn created_key_is_private_random_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/vault.key");
    assert!(create_key_file(&path).unwrap());
    let mode = fs::metadata(&path).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let first = load_key_file(&path).unwrap();
    assert_ne!(first.bytes(), &[0u8; KEY_BYTES]);
    assert!(!create_key_file(&path).unwrap());
    assert_eq!(load_key_file(&path).unwrap().bytes(), first.bytes());
    assert!(!format!("{first:?}").contains(&hex::encode(first.bytes())));
    // what a log shows of it: the public fingerprint, 8 hex digits
    assert_eq!(
        format!("{first:?}"),
        format!("MasterKey({})", first.key_id())
    );
    assert_eq!(first.key_id().len(), 8);
}

#[test]
fn refuses_keys_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    create_key_file(&path).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let err = load_key_file(&path).unwrap_err();
        assert!(
            matches!(err, KeyFileError::InsecurePermissions { .. }),
            "{mode:o}: {err}"
        );
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    assert!(load_key_file(&path).is_ok());
}

#[test]
fn refuses_short_or_missing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    assert!(matches!(
        load_key_file(&path),
        Err(KeyFileError::Missing { .. })
    ));
    fs::write(&path, b"short").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(matches!(
        load_key_file(&path),
        Err(KeyFileError::BadLength { len: 5, .. })
    ));
    // a path that cannot be looked at (through a file) is not called missing: `init` would
    // not help
    let through = path.join("vault.key");
    let err = load_key_file(&through).unwrap_err();
    assert!(matches!(err, KeyFileError::Io { .. }), "{err}");
    assert!(err.to_string().contains("Not a directory"), "{err}");
}
