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

/// Where each channel reaches a member: a text only to their verified mobile of their own
/// (not withdrawn as shared, not a landline; another phone on file never), an e-mail only
/// to an address, a push to the member's app; what is shown of it masked.
#[test]
fn a_channel_reaches_the_member_only_where_it_should() {
    use crate::member::{Member, PhoneType};
    let ada = Member {
        member_id: "1001".into(),
        mobile_phone: Some("+16122030101".into()),
        phone_type: PhoneType::Mobile,
        other_phones: vec!["+16122030199".into()],
        email: Some("ada@example.org".into()),
        ..Member::default()
    };
    let sms = |m: &Member| destination(m, OtpChannel::Sms);
    let email = |m: &Member| destination(m, OtpChannel::Email);
    assert_eq!(
        sms(&ada),
        Some(("+16122030101".into(), "+1******0101".into()))
    );
    let unknown_type = Member {
        phone_type: PhoneType::Unknown,
        ..ada.clone()
    };
    assert!(
        sms(&unknown_type).is_some(),
        "an unknown line type is texted"
    );
    for (why, m) in [
        (
            "a landline",
            Member {
                phone_type: PhoneType::Landline,
                ..ada.clone()
            },
        ),
        (
            "withdrawn: shared",
            Member {
                withdrawn_phones: vec!["+16122030101".into()],
                ..ada.clone()
            },
        ),
        (
            "another phone only",
            Member {
                mobile_phone: None,
                ..ada.clone()
            },
        ),
    ] {
        assert_eq!(sms(&m), None, "{why}");
    }
    let (to, shown) = email(&ada).unwrap();
    assert_eq!(to, "ada@example.org");
    assert_ne!(shown, to, "masked");
    for address in [None, Some("ada at example.org")] {
        let m = Member {
            email: address.map(str::to_string),
            ..ada.clone()
        };
        assert_eq!(email(&m), None, "{address:?}");
    }
    assert_eq!(
        destination(&Member::default(), OtpChannel::Push),
        Some((String::new(), "app".into()))
    );
    assert_eq!(
        destination(&ada, OtpChannel::Push),
        Some(("1001".into(), "app".into()))
    );
}

/// The audit record of a send names the channel, where it went (masked) and whether it
/// holds a code; a fallback says from which channel and why. The IVR's reasons are stable.
#[test]
fn a_send_is_audited_as_it_went_and_a_failure_has_the_ivr_s_reason() {
    let now = Utc::now();
    let mut c = challenge("c1", now);
    assert_eq!(audit_detail(&c, None), "sms to +1******0101, with a code");
    assert_eq!(
        audit_detail(&c, Some("no app")),
        "sms to +1******0101, with a code",
        "no fallback, no reason"
    );
    c.fallback_from = Some(OtpChannel::Push);
    c.with_code = false;
    assert_eq!(
        audit_detail(&c, Some("the app back end refused")),
        "sms to +1******0101; fallback from push: the app back end refused"
    );
    assert_eq!(audit_detail(&c, None), "sms to +1******0101");
    for (not_sent, reason) in [
        (NotSent::NoChannel(OtpChannel::Email), "no_channel"),
        (NotSent::NoDestination(OtpChannel::Sms), "no_destination"),
        (NotSent::Failed("refused".into()), "send_failed"),
    ] {
        assert_eq!(not_sent.ivr_reason(), reason, "{not_sent:?}");
    }
}
