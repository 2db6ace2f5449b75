use std::sync::Arc;

use super::LiveCore;
use crate::config::{Config, parse};
use crate::core::{CoreAdapter, CoreError};
use crate::store::Store;

fn config(toml: &str) -> Config {
    parse(toml, Vec::new()).unwrap()
}

fn live(toml: &str) -> (tempfile::TempDir, LiveCore) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let core = LiveCore::new(&config(toml), store).unwrap();
    (dir, core)
}

/// A gateway on a port nothing listens on: every call is `Unavailable` at once.
fn rest(extra: &str) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!(
        "[core]\ntype = \"rest\"\ntimeout_ms = 300\n[core.rest]\nconnect_timeout_ms = 100\nbase_url = \"http://127.0.0.1:{port}\"\n{extra}"
    )
}

/// Only a change to what the adapter is built from builds a new one; anything else keeps
/// the running adapter (and its breaker).
#[test]
fn a_reload_builds_the_core_anew_only_when_its_settings_change() {
    let rest = rest("");
    let cases: [(&str, Option<&str>); 9] = [
        ("", None),
        (
            "[enroll]\nslash_dates = \"day/month/year\"\n",
            Some("embedded"),
        ),
        ("[lockout]\nmax_wrong_pins = 3\n", None),
        ("[enroll]\nkeep_days = 9\n", None),
        ("[enroll]\nrecent_change_days = 7\n", Some("embedded")),
        (
            "[profiles.members]\ndefault = true\nidentify_attempts = 2\n",
            None,
        ),
        ("[core]\ntimeout_ms = 900\n", Some("embedded")),
        ("[enroll]\ndefault_region = \"CA\"\n", Some("embedded")),
        (&rest, Some("rest")),
    ];
    let (_dir, core) = live("");
    for (toml, want) in cases {
        let next = core.prepare(&config(toml)).unwrap();
        assert_eq!(next.as_ref().map(|n| n.kind()), want, "{toml}");
    }
}

/// After a swap every call goes to the new adapter; before it, none does.
#[tokio::test]
async fn calls_ask_the_adapter_swapped_in() {
    let (_dir, core) = live("");
    assert_eq!(core.kind(), "embedded");
    assert_eq!(core.member("100000").await.unwrap(), None);

    let gateway = rest("");
    let next = core.prepare(&config(&gateway)).unwrap().unwrap();
    assert_eq!(core.kind(), "embedded", "prepared, not yet in use");
    core.swap(next);
    assert!(
        core.prepare(&config(&gateway)).unwrap().is_none(),
        "the settings in use build nothing"
    );
    assert_eq!(core.kind(), "rest");
    assert!(matches!(
        core.member("100000").await,
        Err(CoreError::Unavailable(_))
    ));
    assert!(matches!(
        core.find_by_phone("+15551234567").await,
        Err(CoreError::Unavailable(_))
    ));
    assert!(matches!(core.check().await, Err(CoreError::Unavailable(_))));

    // another gateway, or back to the embedded directory: built again
    assert!(core.prepare(&config(&rest(""))).unwrap().is_some());
    let back = core.prepare(&config("")).unwrap().unwrap();
    core.swap(back);
    assert_eq!(core.member("100000").await.unwrap(), None);
}

/// A core that cannot be built refuses the reload, naming the key, and leaves the running
/// adapter in use.
#[test]
fn a_core_that_cannot_be_built_is_refused_and_the_running_one_stays() {
    let (dir, core) = live("");
    let missing = dir.path().join("no-such-ca.pem");
    let toml = rest(&format!("ca_file = \"{}\"\n", missing.display()));
    let err = core.prepare(&config(&toml)).err().unwrap().to_string();
    assert!(err.contains("core.rest.ca_file"), "{err}");
    // a file with no certificate in it: reqwest's own reader would take it as no CA at
    // all, and every call would then fail at the handshake
    let empty = dir.path().join("empty-ca.pem");
    std::fs::write(&empty, "# the CA goes here\n").unwrap();
    let toml = rest(&format!("ca_file = \"{}\"\n", empty.display()));
    let err = core.prepare(&config(&toml)).err().unwrap().to_string();
    assert!(
        err.contains("core.rest.ca_file") && err.contains("no certificate in the file"),
        "{err}"
    );
    assert_eq!(core.kind(), "embedded");
}

/// The gateway's CA counts by its contents: replaced in place, it is read again.
#[test]
fn a_ca_file_replaced_in_place_builds_the_core_anew() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("core-ca.pem");
    let pem = |name: &str| {
        rcgen::generate_simple_self_signed(vec![name.to_string()])
            .unwrap()
            .cert
            .pem()
    };
    std::fs::write(&ca, pem("gw-1.cu.example")).unwrap();
    let toml = rest(&format!("ca_file = \"{}\"\n", ca.display()));
    let store = Arc::new(Store::open(&dir.path().join("state")).unwrap());
    let core = LiveCore::new(&config(&toml), store).unwrap();
    assert!(core.prepare(&config(&toml)).unwrap().is_none());

    std::fs::write(&ca, pem("gw-2.cu.example")).unwrap();
    let next = core.prepare(&config(&toml)).unwrap();
    assert_eq!(next.as_ref().map(|n| n.kind()), Some("rest"));
}

/// `callvault_core_breaker_open` speaks for the adapter in use. A call still out on an
/// adapter a reload swapped out, failing after the swap, used to set it for the new one
/// (and with an embedded core in use nothing ever set it back).
#[test]
fn only_the_adapter_in_use_sets_the_breaker_gauge() {
    // a gateway that accepts and never answers: each call fails at core.timeout_ms
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gateway = |timeout_ms: u32| {
        format!(
            "[core]\ntype = \"rest\"\ntimeout_ms = {timeout_ms}\n[core.rest]\nbase_url = \
             \"http://{}\"\nconnect_timeout_ms = 100\nretries = 0\nbreaker_failures = 1\n",
            silent.local_addr().unwrap()
        )
    };
    let recorder = crate::service::recorder_builder().unwrap().build_recorder();
    let handle = recorder.handle();
    let gauge = || {
        let text = handle.render();
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(super::BREAKER_OPEN)?.strip_prefix(' '))
            .map(|v| v.parse::<f64>().unwrap());
        value.unwrap_or_else(|| panic!("no gauge in:\n{text}"))
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_dir, core) = live(&gateway(150));
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            // the adapter in use fails once: its breaker opens, and the gauge says so
            assert!(core.member("1001").await.is_err());
            assert_eq!(gauge(), 1.0);
            // another gateway setting: a new adapter, its breaker closed
            core.swap(core.prepare(&config(&gateway(200))).unwrap().unwrap());
            assert_eq!(gauge(), 0.0);
            // a call goes out on it; while it waits, a reload puts the embedded core in use
            let old = core.adapter();
            let swapped = async {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                core.swap(core.prepare(&config("")).unwrap().unwrap());
            };
            let (answer, ()) = tokio::join!(core.member("1001"), swapped);
            assert!(answer.is_err());
            assert!(old.breaker_open(), "the old adapter's breaker did open");
            assert_eq!(gauge(), 0.0, "but the embedded core in use has none");
        })
    });
    drop(silent);
}

/// Every question to the core passes its answer through, whatever the operation, and is
/// counted in `/metrics` by operation and result. A question given up on (the dialog drops it
/// when `core.timeout_ms` runs out) is counted as `timeout`.
#[test]
fn every_question_is_answered_through_and_counted() {
    use crate::core::IdentifierKind;
    use crate::member::Member;

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let txn = store.begin_write().unwrap();
    {
        let mut members = crate::core::embedded::Directory::open(&txn).unwrap();
        let ada = Member {
            member_id: "1001".into(),
            first_name: Some("Ada".into()),
            mobile_phone: Some("+16122030101".into()),
            account_numbers: vec!["90001".into()],
            ..Member::default()
        };
        members.put(None, ada, chrono::Utc::now()).unwrap();
    }
    txn.commit().unwrap();
    let core = LiveCore::new(&config(""), store).unwrap();

    let recorder = crate::service::recorder_builder().unwrap().build_recorder();
    let handle = recorder.handle();
    let count = |op: &str, result: &str| {
        let series = format!(
            "{}{{core=\"embedded\",op=\"{op}\",result=\"{result}\"}} ",
            super::REQUESTS
        );
        let text = handle.render();
        text.lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .map_or(0, |v| v.parse::<u64>().unwrap())
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        super::describe_metrics();
        rt.block_on(async {
            let found = core.find_by_phone("+16122030101").await.unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].member_id, "1001");
            assert!(found[0].verified);
            let ids = core
                .find_by_identifier(IdentifierKind::AccountNumber, "90001")
                .await
                .unwrap();
            assert_eq!(ids, ["1001"]);
            let none = core
                .find_by_identifier(IdentifierKind::MemberNumber, "2002")
                .await
                .unwrap();
            assert!(none.is_empty());
            let ada = core.member("1001").await.unwrap().unwrap();
            assert_eq!(ada.first_name.as_deref(), Some("Ada"));
            let by_phone = core.member_by_phone("+16122030101").await.unwrap();
            assert_eq!(by_phone.map(|m| m.member_id).as_deref(), Some("1001"));
            assert_eq!(core.member_by_phone("+16122030199").await.unwrap(), None);
            core.check().await.unwrap();
        });
    });
    let counted = [
        ("phone", "ok", 1),
        ("identifier", "ok", 2),
        ("member", "ok", 1),
        ("member_by_phone", "ok", 2),
        ("check", "ok", 1),
        ("member", "timeout", 0),
        ("member", "unavailable", 0),
    ];
    for (op, result, want) in counted {
        assert_eq!(count(op, result), want, "{op} {result}");
    }
    let text = handle.render();
    for described in [super::REQUESTS, super::SECONDS] {
        assert!(
            text.contains(&format!("# HELP {described} ")),
            "{described} not described:\n{text}"
        );
    }
    assert!(!core.breaker_open(), "the embedded core has no breaker");

    // A gateway that accepts and never answers: one question given up on, one that fails.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gateway = format!(
        "[core]\ntype = \"rest\"\ntimeout_ms = 300\n[core.rest]\nconnect_timeout_ms = 100\nbase_url = \"http://{}\"\n\
         retries = 0\nbreaker_failures = 1\n",
        silent.local_addr().unwrap()
    );
    core.swap(core.prepare(&config(&gateway)).unwrap().unwrap());
    let rest = |op: &str, result: &str| {
        let series = format!(
            "{}{{core=\"rest\",op=\"{op}\",result=\"{result}\"}} ",
            super::REQUESTS
        );
        handle
            .render()
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str()).map(str::to_string))
    };
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let short = std::time::Duration::from_millis(20);
            assert!(
                tokio::time::timeout(short, core.member("1001"))
                    .await
                    .is_err()
            );
            assert!(matches!(
                core.member("1001").await,
                Err(CoreError::Unavailable(_))
            ));
        });
    });
    assert_eq!(rest("member", "timeout").as_deref(), Some("1"));
    assert_eq!(rest("member", "unavailable").as_deref(), Some("1"));
    assert!(core.breaker_open(), "the gateway's breaker opened");
    drop(silent);
}

/// Whether PINs are the core's to check follows the adapter in use: the embedded core
/// never, a REST core with `[core.rest.pin]` once it is swapped in, and not after a swap
/// back.
#[test]
fn whether_the_core_checks_pins_follows_the_adapter_swapped_in() {
    let (_dir, core) = live("");
    assert!(!core.checks_pins());
    let without = rest("");
    let with = rest("[core.rest.pin]\nurl = \"/members/{member_id}/pin\"\ncorrect = \"/valid\"\n");
    for (toml, checks) in [(&with, true), (&without, false), (&with, true)] {
        let next = core.prepare(&config(toml)).unwrap().unwrap();
        assert_ne!(core.checks_pins(), checks, "prepared, not yet in use");
        core.swap(next);
        assert_eq!(core.checks_pins(), checks, "{toml}");
    }
}
