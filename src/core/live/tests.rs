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
    let cases: [(&str, Option<&str>); 6] = [
        ("", None),
        ("[lockout]\nmax_wrong_pins = 3\n", None),
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
