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
        ring.authenticate(&restored, &ivr.plaintext, Utc::now())
            .is_ok(),
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
        KeyRing::new().authenticate(&restored, &ivr.plaintext, Utc::now()),
        Err(AuthError::Rejected(_))
    ));
    assert!(
        KeyRing::new()
            .authenticate(&restored, &agent.plaintext, Utc::now())
            .is_ok()
    );
    assert!(
        KeyRing::new()
            .authenticate(&restored, &old.plaintext, Utc::now())
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

/// Each key keeps the later of its two last uses: a use after the backup was taken comes
/// back, one the backup holds stays, and a key never used stays so.
#[test]
fn a_restored_backup_keeps_each_keys_later_use() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("live")).unwrap();
    let then = Utc::now() - Duration::days(2);
    let ivr = create(&store, "ivr1", Role::Ivr, "test", then).unwrap();
    let desk = create(
        &store,
        "desk",
        Role::Agent,
        "test",
        then + Duration::seconds(1),
    )
    .unwrap();
    let idle = create(
        &store,
        "idle",
        Role::App,
        "test",
        then + Duration::seconds(2),
    )
    .unwrap();
    let ring = KeyRing::new();
    let used_before = then + Duration::hours(1);
    ring.authenticate(&store, &desk.plaintext, used_before)
        .unwrap();
    ring.write_use(&store).unwrap();
    let backup = dir.path().join("backup.redb");
    store.backup_to(&backup, 0).unwrap();
    let used_since = then + Duration::hours(30);
    ring.authenticate(&store, &ivr.plaintext, used_since)
        .unwrap();
    assert_eq!(ring.write_use(&store).unwrap(), 1);
    let replaced = list(&store.begin_read().unwrap()).unwrap();
    drop(store);

    let restored = Store::open_file(&backup).unwrap();
    let carried = keep_revocations(&restored, &replaced, "cli", Utc::now()).unwrap();
    assert_eq!(carried, Default::default(), "no key revoked or missing");
    let uses: Vec<_> = list(&restored.begin_read().unwrap())
        .unwrap()
        .into_iter()
        .map(|k| (k.id, k.last_used_at.map(|t| t.timestamp())))
        .collect();
    assert_eq!(
        uses,
        [
            (ivr.info.id, Some(used_since.timestamp())),
            (desk.info.id, Some(used_before.timestamp())),
            (idle.info.id, None),
        ]
    );
}
