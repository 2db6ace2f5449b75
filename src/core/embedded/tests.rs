use super::*;
use crate::store::tables::STAGED_MEMBERS;

fn member(id: &str, phone: &str, account: &str) -> Member {
    Member {
        member_id: id.into(),
        mobile_phone: Some(phone.into()),
        account_numbers: vec![account.into()],
        ..Member::default()
    }
}

const ADA: (&str, &str, &str) = ("A", "+16122030101", "90001");
// another bucket of each index than Ada's (a bucket is a value less its last two characters)
const BOB: (&str, &str, &str) = ("B", "+16125550199", "80001");

/// An enrollment run that spans transactions collects index changes in each and carries them
/// on; lookups meanwhile read the index as it was. The writer then writes them at most
/// `max_buckets` a transaction (the phone index, then the account index) until all are in.
#[test]
fn a_bulk_run_over_transactions_writes_every_index_change_a_bucket_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = Utc::now();
    let mut changes = IndexChanges::default();
    for (id, phone, account) in [ADA, BOB] {
        let txn = store.begin_write().unwrap();
        {
            let mut d = Directory::open(&txn).unwrap();
            if id == "A" {
                d.begin_bulk();
            } else {
                d.resume_bulk(std::mem::take(&mut changes));
            }
            d.put(None, member(id, phone, account), now).unwrap();
            assert_eq!(d.phone_ids(phone).unwrap(), Vec::<String>::new());
            changes = d.take_bulk();
        }
        txn.commit().unwrap();
    }
    let mut writer = ChangesWriter::new(&changes);
    let mut rounds = 0;
    loop {
        let txn = store.begin_write().unwrap();
        let done = writer
            .write(&mut Directory::open(&txn).unwrap(), 1)
            .unwrap();
        txn.commit().unwrap();
        rounds += 1;
        assert!(rounds <= 4, "more rounds than buckets");
        if done {
            break;
        }
    }
    assert_eq!(
        rounds, 4,
        "two phone buckets and two account buckets, one a round"
    );
    let read = store.begin_read().unwrap();
    for (id, phone, account) in [ADA, BOB] {
        assert_eq!(lookup(&read, tables::PHONE_INDEX, phone).unwrap(), [id]);
        assert_eq!(lookup(&read, tables::ACCOUNT_INDEX, account).unwrap(), [id]);
    }
}

/// A staged run reads members it has not copied from the live tables, except those it
/// removed, which the live table still holds until the run is applied.
#[test]
fn a_staged_run_reads_live_members_but_not_those_it_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let txn = store.begin_write().unwrap();
    for (id, phone, account) in [ADA, BOB] {
        Directory::open(&txn)
            .unwrap()
            .put(None, member(id, phone, account), Utc::now())
            .unwrap();
    }
    txn.commit().unwrap();
    let snapshot = store.begin_read().unwrap();
    let mut fallback = Fallback::open(&snapshot).unwrap();
    let txn = store.begin_write().unwrap();
    {
        let mut staged = Directory::open_in(&txn, STAGED_MEMBERS)
            .unwrap()
            .with_fallback(&mut fallback);
        let ada = staged.get("A").unwrap().expect("read from the live table");
        assert!(!staged.removed("A"));
        staged.remove(&ada).unwrap();
        assert!(staged.removed("A"));
        assert!(staged.get("A").unwrap().is_none(), "removed by the run");
        assert!(!staged.removed("B"));
        assert!(
            staged.get("B").unwrap().is_some(),
            "not removed: still read"
        );
        assert!(staged.get("nobody").unwrap().is_none());
    }
    drop(txn);
    // without a fallback, a staged directory holds only what the run wrote
    let txn = store.begin_write().unwrap();
    assert!(
        Directory::open_in(&txn, STAGED_MEMBERS)
            .unwrap()
            .get("B")
            .unwrap()
            .is_none()
    );
}

/// A keyed member or account number finds its member with the leading zeros a core's export
/// pads it with, or without those it dropped; as keyed first, and never one of two members
/// the same number could be.
#[tokio::test]
async fn a_keyed_number_finds_its_member_whatever_its_leading_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let txn = store.begin_write().unwrap();
    for (id, phone, account) in [
        ("0000123456", "+16122030101", "0044001234"),
        ("777", "+16122030102", "555"),
        // the same number twice, with and without a zero: only its exact spelling finds one
        ("0888", "+16122030103", "1001"),
        ("00888", "+16122030104", "1002"),
        ("A-100", "+16122030105", "0099"),
    ] {
        Directory::open(&txn)
            .unwrap()
            .put(None, member(id, phone, account), Utc::now())
            .unwrap();
    }
    txn.commit().unwrap();
    let core = EmbeddedCore::new(store, Region::default());
    let (member, account) = (IdentifierKind::MemberNumber, IdentifierKind::AccountNumber);
    for (kind, keyed, want) in [
        (member, "0000123456", vec!["0000123456"]),
        (member, "123456", vec!["0000123456"]),
        (member, "00123456", vec!["0000123456"]),
        (member, "000000000000123456", vec!["0000123456"]),
        (member, "777", vec!["777"]),
        (member, "0777", vec!["777"]),
        (member, "7770", vec![]),
        (member, "0888", vec!["0888"]),
        (member, "00888", vec!["00888"]),
        (member, "888", vec!["00888", "0888"]),
        (member, "000888", vec!["00888", "0888"]),
        (member, "0", vec![]),
        (member, "000", vec![]),
        (member, "100", vec![]),
        (member, "0A-100", vec![]),
        (account, "0044001234", vec!["0000123456"]),
        (account, "44001234", vec!["0000123456"]),
        (account, "0555", vec!["777"]),
        (account, "99", vec!["A-100"]),
        (account, "4400123", vec![]),
    ] {
        let mut found = core.find_by_identifier(kind, keyed).await.unwrap();
        found.sort();
        assert_eq!(found, want, "{kind:?} {keyed}");
    }
}
