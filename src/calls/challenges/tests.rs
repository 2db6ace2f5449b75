use super::*;

fn challenge(id: &str, created_at: DateTime<Utc>) -> Challenge {
    Challenge {
        challenge_id: id.into(),
        call_id: format!("call-{id}"),
        member_id: "1001".into(),
        channel: OtpChannel::Sms,
        fallback_from: None,
        with_code: true,
        sent_to: "+1******0101".into(),
        code_mac: Some("mac".into()),
        state: State::Expired,
        checks_left: 3,
        member_response: None,
        for_ivr: false,
        created_at,
        expires_at: created_at + Duration::seconds(60),
        decided_at: None,
        decided_by: None,
        how: None,
    }
}

#[test]
fn old_challenges_and_idle_send_counts_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = Utc::now();
    let keep = now - Duration::hours(24);
    let txn = store.begin_write().unwrap();
    write(&txn, &challenge("old", keep - Duration::seconds(1))).unwrap();
    write(&txn, &challenge("kept", keep + Duration::seconds(1))).unwrap();
    record_send(&txn, "1001", now - Duration::minutes(61)).unwrap();
    record_send(&txn, "1002", now - Duration::minutes(59)).unwrap();
    txn.commit().unwrap();

    let txn = store.begin_write().unwrap();
    assert_eq!(sweep(&txn, now, keep).unwrap(), 1);
    txn.commit().unwrap();
    assert!(read(&store, "old").unwrap().is_none());
    assert!(read(&store, "kept").unwrap().is_some());
    let txn = store.begin_read().unwrap();
    let sends = txn.open_table(tables::CHALLENGE_SENDS).unwrap();
    assert!(
        sends.get("1001").unwrap().is_none(),
        "no send in the last hour"
    );
    assert!(
        sends.get("1002").unwrap().is_some(),
        "a send 59 minutes ago still counts"
    );
}
