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
