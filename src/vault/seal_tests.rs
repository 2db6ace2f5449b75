use super::*;
use crate::vault::keyfile::{create_key_file, load_key_file};

/// A new key file named `name` in `dir`: a ring on it, and the file's raw bytes.
fn new_key(dir: &tempfile::TempDir, name: &str) -> (Keyring, Vec<u8>) {
    let path = dir.path().join(name);
    create_key_file(&path).unwrap();
    let raw = std::fs::read(&path).unwrap();
    (Keyring::new(load_key_file(&path).unwrap()), raw)
}

/// A header to seal with (the seal sets its key id).
fn header(kind: SecretKind, established: bool, flagged: bool) -> Header {
    Header {
        key_id: [0; 4],
        kind,
        set_at: 1_764_000_000,
        established,
        flagged,
    }
}

/// A record is what the module's doc says, sealed with the key file's own 32 bytes: read
/// here straight from the file and opened with XChaCha20-Poly1305 by hand. (Sealing and
/// opening through the same ring would agree with each other whatever key they used.)
#[test]
fn a_record_is_sealed_with_the_key_files_own_bytes_in_the_documented_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, raw) = new_key(&dir, "vault.key");
    let record = ring
        .seal("m1", header(SecretKind::Pin, true, false), b"4827")
        .unwrap();

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
    let (ring, _) = new_key(&dir, "vault.key");
    let record = ring
        .seal(
            "m1",
            header(SecretKind::Bcrypt, false, true),
            b"$2b$10$hash",
        )
        .unwrap();
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

/// The MAC one-time codes are kept under: HMAC-SHA256 with a key derived from the master
/// key for one purpose, computed here by hand. A code's MAC differs with the message, the
/// purpose and the key, and a key no longer loaded gives none.
#[test]
fn a_mac_is_hmac_sha256_under_a_key_derived_for_its_purpose() {
    use hmac::{Hmac, Mac, digest::KeyInit};
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let (ring, raw) = new_key(&dir, "a.key");
    let (other, _) = new_key(&dir, "b.key");
    let id = ring.current_id();

    let mut derive = Sha256::new();
    derive.update(b"callvault/mac/v1\0otp\0");
    derive.update(&raw);
    let subkey = derive.finalize();
    let mut by_hand = <Hmac<Sha256> as KeyInit>::new_from_slice(&subkey).unwrap();
    by_hand.update(b"c1:482913");
    let by_hand: [u8; 32] = by_hand.finalize().into_bytes().into();

    let mac = |ring: &Keyring, id, purpose, message: &[u8]| ring.mac(id, purpose, message);
    assert_eq!(mac(&ring, id, "otp", b"c1:482913"), Some(by_hand));
    assert_ne!(mac(&ring, id, "otp", b"c1:482914"), Some(by_hand));
    assert_ne!(mac(&ring, id, "pin", b"c1:482913"), Some(by_hand));
    let other_id = other.current_id();
    assert_ne!(other_id, id);
    assert_ne!(mac(&other, other_id, "otp", b"c1:482913"), Some(by_hand));
    assert_eq!(
        mac(&ring, other_id, "otp", b"c1:482913"),
        None,
        "not loaded"
    );
}
