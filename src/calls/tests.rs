use std::sync::Mutex;

use chrono::TimeZone;

use super::*;
use crate::core::EmbeddedCore;
use crate::member::phone::Region;

/// A clock the test moves by hand.
struct Hand(Mutex<DateTime<Utc>>);

impl Clock for Hand {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl Hand {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    clock: Arc<Hand>,
    calls: CallService,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("state")).unwrap());
    let key = dir.path().join("vault.key");
    crate::vault::create_key_file(&key).unwrap();
    let vault = Arc::new(Vault::open(store.clone(), &key, 1).unwrap());
    let clock = Arc::new(Hand(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap(),
    )));
    let audit = AuditLog::start(store.clone(), clock.clone(), 64);
    let region = Region::parse("US").unwrap();
    let core = Arc::new(EmbeddedCore::new(store.clone(), region));
    let config = Arc::new(ArcSwap::from_pointee(Config::default()));
    let calls = CallService::new(store.clone(), audit, core, vault, clock.clone(), config);
    Fixture {
        _dir: dir,
        store,
        clock,
        calls,
    }
}

fn start(f: &Fixture, id: &str) {
    let step = tokio_test(f.calls.start(
        StartCall {
            call_id: id.into(),
            ani: Some("+16122030101".into()),
            dnis: None,
            app_token: None,
        },
        "key:ivr1",
    ))
    .unwrap();
    assert_eq!(step.status, dialog::Status::Identifying);
}

fn tokio_test<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn idle_calls_expire_and_old_ones_are_deleted_on_the_configured_clock() {
    let f = fixture();
    start(&f, "a");
    start(&f, "b");
    // 29 minutes idle: still live (calls.idle_minutes = 30)
    f.clock.advance(Duration::minutes(29));
    assert_eq!(tokio_test(f.calls.sweep()).unwrap(), Swept::default());
    // "b" takes a step and stays fresh; "a" passes 30 idle minutes and is closed
    tokio_test(f.calls.input("b", CallerInput::NoInput, "key:ivr1")).unwrap();
    f.clock.advance(Duration::minutes(2));
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!((swept.expired, swept.deleted), (1, 0));
    assert!(
        read_call(&f.store, "a")
            .unwrap()
            .unwrap()
            .ended_at
            .is_some()
    );
    assert!(
        read_call(&f.store, "b")
            .unwrap()
            .unwrap()
            .ended_at
            .is_none()
    );
    assert!(matches!(
        tokio_test(f.calls.input("a", CallerInput::NoInput, "key:ivr1")),
        Err(CallError::Ended(_))
    ));
    // a closed call stays readable for calls.keep_hours (24), then goes, index and all
    f.clock.advance(Duration::hours(23));
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!((swept.expired, swept.deleted), (1, 0), "b expires now");
    f.clock.advance(Duration::hours(25));
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!(swept.deleted, 2);
    assert!(read_call(&f.store, "a").unwrap().is_none());
    assert!(
        f.calls
            .find_by_ani("+16122030101", false)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.calls.by_ani.numbers(),
        0,
        "the deleted calls left the index"
    );
    // the id may be used again once the old call is gone
    start(&f, "a");
}

#[test]
fn calls_by_caller_id_are_found_again_after_a_restart() {
    let f = fixture();
    start(&f, "a");
    start(&f, "b");
    let step = tokio_test(f.calls.start(
        StartCall {
            call_id: "withheld".into(),
            ani: None,
            dnis: None,
            app_token: None,
        },
        "key:ivr1",
    ))
    .unwrap();
    assert_eq!(step.status, dialog::Status::Identifying);
    // a national number is found as its E.164 form
    let found = f.calls.find_by_ani("612-203-0101", false).unwrap();
    let ids: Vec<_> = found.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"a") && ids.contains(&"b"), "{ids:?}");
    // what a restarted service reads back from the store
    let loaded = by_ani::CallsByAni::default();
    loaded.add("+16122030101", "a");
    loaded.load(&f.store);
    let mut again = loaded.ids("+16122030101").unwrap();
    again.sort();
    assert_eq!(again, ["a", "b"]);
    assert_eq!(
        loaded.numbers(),
        1,
        "a call without caller ID is not indexed"
    );
    assert!(loaded.ids("+16122030102").unwrap().is_empty());
}

#[test]
fn a_stale_index_entry_does_not_show_a_call_from_another_number() {
    let f = fixture();
    start(&f, "a");
    // as if "a" had been deleted while the index loaded, and its id reused from elsewhere
    f.calls.by_ani.add("+16122030102", "a");
    assert!(
        f.calls
            .find_by_ani("+16122030102", false)
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.calls.find_by_ani("+16122030101", false).unwrap().len(), 1);
}

#[test]
fn an_unreadable_call_row_fails_lookups_by_caller_id_not_the_start() {
    let f = fixture();
    let txn = f.store.begin_write().unwrap();
    txn.open_table(tables::CALLS)
        .unwrap()
        .insert("broken", b"not json".as_slice())
        .unwrap();
    txn.commit().unwrap();
    let index = by_ani::CallsByAni::default();
    index.load(&f.store);
    let err = index.ids("+16122030101").unwrap_err();
    assert!(err.to_string().contains("indexed by caller ID"), "{err}");
}

#[test]
fn the_index_adds_a_call_once_and_forgets_emptied_numbers() {
    let index = by_ani::CallsByAni::default();
    index.load(&fixture().store);
    index.add("+16122030101", "a");
    index.add("+16122030101", "a");
    index.add("+16122030101", "b");
    index.add("+16122030102", "c");
    assert_eq!(index.ids("+16122030101").unwrap(), ["a", "b"]);
    index.remove("+16122030101", "a");
    index.remove("+16122030102", "c");
    index.remove("+16122030109", "x");
    assert_eq!(index.ids("+16122030101").unwrap(), ["b"]);
    assert_eq!(index.numbers(), 1);
}

#[test]
fn intents_expire_and_cannot_be_used_after_their_ttl() {
    let f = fixture();
    let txn = f.store.begin_write().unwrap();
    let now = f.clock.now();
    intents::put(
        &txn,
        &intents::token_hash("cvi_x"),
        &Intent {
            member_id: "1001".into(),
            phone: Some("+16122030101".into()),
            created_at: now,
            expires_at: now + Duration::seconds(60),
            created_by: "key:app1".into(),
        },
    )
    .unwrap();
    txn.commit().unwrap();
    let hash = intents::token_hash(" cvi_x ");
    assert!(intents::get(&f.store, &hash, now).unwrap().is_some());
    assert!(
        intents::for_phone(&f.store, "+16122030101", now)
            .unwrap()
            .is_some()
    );
    let later = now + Duration::seconds(60);
    assert!(intents::get(&f.store, &hash, later).unwrap().is_none());
    assert!(
        intents::for_phone(&f.store, "+16122030101", later)
            .unwrap()
            .is_none()
    );
    f.clock.advance(Duration::seconds(61));
    assert_eq!(tokio_test(f.calls.sweep()).unwrap().intents_deleted, 1);
}

#[test]
fn call_ids_are_visible_ascii_of_bounded_length() {
    for (id, ok) in [
        ("ivr-123", true),
        ("a", true),
        ("", false),
        ("has space", false),
        ("tab\t", false),
        ("é", false),
    ] {
        assert_eq!(valid_call_id(id), ok, "{id:?}");
    }
    assert!(valid_call_id(&"x".repeat(128)));
    assert!(!valid_call_id(&"x".repeat(129)));
}

#[test]
fn a_call_is_due_by_its_times() {
    let t = |m: i64| Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + Duration::minutes(m);
    // idle before minute 0, keep closed calls that ended from minute 10 on
    let (idle, keep) = (t(0), t(10));
    let cases = [
        (
            "live, last step before the idle line",
            t(-1),
            None,
            Some(records::Due::Expire),
        ),
        ("live, last step on the idle line", t(0), None, None),
        ("live, recent step", t(5), None, None),
        (
            "closed before the keep line",
            t(-90),
            Some(t(9)),
            Some(records::Due::Delete),
        ),
        ("closed on the keep line", t(-90), Some(t(10)), None),
        (
            "closed recently, long idle before",
            t(-90),
            Some(t(20)),
            None,
        ),
    ];
    for (name, updated, ended, want) in cases {
        assert_eq!(records::due_now(updated, ended, idle, keep), want, "{name}");
    }
}

#[test]
fn the_sweep_leaves_alone_a_call_that_took_a_step_after_the_scan_found_it() {
    let f = fixture();
    start(&f, "a");
    f.clock.advance(Duration::minutes(31));
    let now = f.clock.now();
    let (idle, keep) = (now - Duration::minutes(30), now - Duration::hours(24));
    let due = records::due(&f.store, idle, keep).unwrap();
    assert_eq!(due, vec!["a".to_string()]);
    // a step arrives between the scan (no writer held) and the sweep's write
    tokio_test(f.calls.input("a", CallerInput::NoInput, "key:ivr1")).unwrap();
    let ids = [due, vec!["deleted-meanwhile".to_string()]].concat();
    let txn = f.store.begin_write().unwrap();
    let ((swept, deleted), events) = records::sweep(&txn, &ids, false, now, idle, keep).unwrap();
    drop(txn);
    assert_eq!(swept, Swept::default());
    assert!(deleted.is_empty() && events.is_empty());
    assert!(
        read_call(&f.store, "a")
            .unwrap()
            .unwrap()
            .ended_at
            .is_none()
    );
}

#[test]
fn a_sweep_with_more_than_one_batch_to_do_does_all_of_it() {
    let f = fixture();
    let n = SWEEP_BATCH * 2 + 3;
    for i in 0..n {
        start(&f, &format!("c{i}"));
    }
    f.clock.advance(Duration::minutes(31));
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!(swept.expired, n as u64);
    f.clock.advance(Duration::hours(25));
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!(swept.deleted, n as u64);
    assert!(
        f.calls
            .find_by_ani("+16122030101", false)
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.calls.by_ani.numbers(), 0);
}
