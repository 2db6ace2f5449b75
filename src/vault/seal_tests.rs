use super::*;
use crate::vault::keyfile::{create_key_file, load_key_file};

/// A record is what the module's doc says, sealed with the key file's own 32 bytes: read
/// here straight from the file and opened with XChaCha20-Poly1305 by hand. (Sealing and
/// opening through the same ring would agree with each other whatever key they used.)
#[test]
fn a_record_is_sealed_with_the_key_files_own_bytes_in_the_documented_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    create_key_file(&path).unwrap();
    let raw = std::fs::read(&path).unwrap();
    let ring = Keyring::new(load_key_file(&path).unwrap());
    let header = Header {
        key_id: [0; 4],
        kind: SecretKind::Pin,
        set_at: 1_764_000_000,
        established: true,
        flagged: false,
    };
    let record = ring.seal("m1", header, b"4827").unwrap();

    let [format, len, rest @ ..] = record.as_slice() else {
        panic!("too short")
    };
    assert_eq!(*format, FORMAT);
    let (header_bytes, rest) = rest.split_at(usize::from(*len));
    let (nonce, sealed) = rest.split_at(NONCE_BYTES);
    let read: Header = postcard::from_bytes(header_bytes).unwrap();
    assert_eq!(read.key_id, ring.current_id(), "the seal sets the key id");
    let mut aad = AAD_DOMAIN.to_vec();
    aad.extend_from_slice(b"m1\0");
    aad.extend_from_slice(header_bytes);
    let open = |key: &[u8]| {
        XChaCha20Poly1305::new(Key::from_slice(key)).decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
    };
    assert_eq!(open(&raw).unwrap(), b"4827");
    let mut other = raw.clone();
    other[0] ^= 1;
    assert!(open(&other).is_err(), "another key does not open it");
}

/// A record cut short anywhere is refused, never read past its end: below the least a record
/// can be (format, header length, header, nonce, tag) it is malformed, above it it does not
/// open. The same for a byte after it.
#[test]
fn a_record_cut_short_or_lengthened_is_refused_not_read_past() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    create_key_file(&path).unwrap();
    let ring = Keyring::new(load_key_file(&path).unwrap());
    let header = Header {
        key_id: [0; 4],
        kind: SecretKind::Bcrypt,
        set_at: 1_764_000_000,
        established: false,
        flagged: true,
    };
    let record = ring.seal("m1", header, b"$2b$10$hash").unwrap();
    let least = 2 + usize::from(record[1]) + NONCE_BYTES + 16;
    for cut in 0..record.len() {
        let why = match ring.open("m1", &record[..cut]) {
            Err(SealError::Malformed { why, .. }) => why,
            Err(SealError::Tampered { .. }) => "does not open".to_string(),
            other => panic!("{cut}: {:?}", other.map(|o| o.header)),
        };
        let want = match cut {
            0 => "empty",
            c if c < least => "too short",
            _ => "does not open",
        };
        assert_eq!(why, want, "cut at {cut} of {}", record.len());
    }
    let mut longer = record.clone();
    longer.push(0);
    assert!(matches!(
        ring.open("m1", &longer),
        Err(SealError::Tampered { .. })
    ));
    assert_eq!(*ring.open("m1", &record).unwrap().secret, b"$2b$10$hash");
}
