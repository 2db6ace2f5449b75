use super::*;

#[test]
fn messages_fill_code_and_lifetime() {
    let msg = Outgoing {
        challenge_id: "ch".into(),
        member_id: "m".into(),
        call_id: "c".into(),
        to: "+15551234567".into(),
        code: Some(Zeroizing::new("482913".into())),
        ttl_seconds: 90,
        expires_at: Utc::now(),
    };
    assert_eq!(
        msg.render_message("{code} in {minutes} min ({seconds} s)")
            .as_str(),
        "482913 in 2 min (90 s)"
    );
}

#[test]
fn a_send_s_result_is_labelled_for_the_metrics() {
    let cases = [
        (Ok(()), "sent"),
        (Err(SendError::Unreachable("no app".into())), "unreachable"),
        (Err(SendError::Failed("503".into())), "failed"),
    ];
    for (sent, want) in cases {
        assert_eq!(result_label(&sent), want, "{sent:?}");
    }
}

#[test]
fn channels_are_made_once_per_configuration_for_the_sections_it_has() {
    use crate::config::{PushConfig, SmsConfig};
    let live = LiveChannels::default();
    let mut config = Config::default();
    config.notify.sms = Some(SmsConfig {
        url: "https://sms.cu.example/send?to={to}".into(),
        ..SmsConfig::default()
    });
    let first = Arc::new(config.clone());
    let made = live.of(&first);
    let offered = |c: &Channels| {
        [OtpChannel::Email, OtpChannel::Sms, OtpChannel::Push].map(|k| c.get(k).is_some())
    };
    assert_eq!(offered(&made), [false, true, false]);
    // the same configuration: the same channels, and with them their connections
    assert!(Arc::ptr_eq(&made, &live.of(&first)));
    // another (a reload: even an equal one, whose files may have been renewed): made again
    config.notify.push = Some(PushConfig {
        url: "https://app.cu.example/push".into(),
        ..PushConfig::default()
    });
    let reloaded = Arc::new(config);
    let remade = live.of(&reloaded);
    assert!(!Arc::ptr_eq(&made, &remade));
    assert_eq!(offered(&remade), [false, true, true]);
    assert!(Arc::ptr_eq(&remade, &live.of(&reloaded)));
    assert!(!Arc::ptr_eq(&remade, &live.of(&Arc::new((*first).clone()))));
}
