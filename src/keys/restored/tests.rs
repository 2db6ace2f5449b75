use chrono::{Duration, Utc};

use super::keep_revocations;
use crate::keys::{AuthError, KeyRing, LastAdmin, Role, create, list, revoke};
use crate::store::Store;

/// A backup taken before one key was revoked and another made: restored over the store
/// as it is now, the revoked key stays revoked (audited, the chain intact) and refused,
/// the new one is named as missing, and a second pass changes nothing.
#[test]
fn a_restored_backup_keeps_the_revocations_made_since_and_names_the_keys_made_since() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("live")).unwrap();
    let then = Utc::now() - Duration::days(2);
    let ivr = create(&store, "ivr1", Role::Ivr, "test", then).unwrap();
    let agent = create(&store, "desk", Role::Agent, "test", then).unwrap();
    create(&store, "admin", Role::Admin, "test", then).unwrap();
    let old = create(&store, "old", Role::App, "test", then).unwrap();
    revoke(&store, "old", "test", then, LastAdmin::Keep).unwrap();
    let backup = dir.path().join("backup.redb");
    store.backup_to(&backup, 0).unwrap();

    let revoked_at = Utc::now() - Duration::hours(3);
    revoke(&store, "ivr1", "test", revoked_at, LastAdmin::Keep).unwrap();
    let since = create(&store, "ivr1-2027", Role::Ivr, "test", Utc::now()).unwrap();
    let replaced = list(&store.begin_read().unwrap()).unwrap();
    drop(store);

    let restored = Store::open_file(&backup).unwrap();
    let ring = KeyRing::new();
    assert!(
        ring.authenticate(&restored, &ivr.plaintext).is_ok(),
        "the backup's own state"
    );
    let carried = keep_revocations(&restored, &replaced, "cli", Utc::now()).unwrap();
    let names = |keys: &[crate::keys::KeyInfo]| -> Vec<String> {
        keys.iter().map(|k| k.name.clone()).collect()
    };
    assert_eq!(names(&carried.kept_revoked), ["ivr1"]);
    assert_eq!(carried.kept_revoked[0].revoked_at, Some(revoked_at));
    assert_eq!(names(&carried.not_in_backup), ["ivr1-2027"]);
    assert_eq!(carried.not_in_backup[0].id, since.info.id);

    restored.keys_changed();
    assert!(matches!(
        KeyRing::new().authenticate(&restored, &ivr.plaintext),
        Err(AuthError::Rejected(_))
    ));
    assert!(
        KeyRing::new()
            .authenticate(&restored, &agent.plaintext)
            .is_ok()
    );
    assert!(
        KeyRing::new()
            .authenticate(&restored, &old.plaintext)
            .is_err()
    );
    let txn = restored.begin_read().unwrap();
    assert_eq!(crate::audit::verify(&txn).unwrap().first_bad, None);
    let mut log = Vec::new();
    crate::audit::export(&txn, None, &mut log).unwrap();
    let log = String::from_utf8(log).unwrap();
    let last = log.lines().last().unwrap();
    assert!(
        last.contains("\"api_key_revoked\"")
            && last.contains("name=ivr1 role=ivr")
            && last.contains("after the restored backup was taken, and kept revoked"),
        "{last}"
    );
    drop(txn);

    let again = keep_revocations(&restored, &replaced, "cli", Utc::now()).unwrap();
    assert!(again.kept_revoked.is_empty(), "{again:?}");
    assert_eq!(names(&again.not_in_backup), ["ivr1-2027"]);
}
