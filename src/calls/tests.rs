use std::sync::Mutex;

use chrono::TimeZone;
use redb::ReadableTable;

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
    crate::vault::create_key_file(&dir.path().join("vault.key")).unwrap();
    let clock = Arc::new(Hand(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap(),
    )));
    let (store, calls) = service(dir.path(), clock.clone());
    Fixture {
        _dir: dir,
        store,
        clock,
        calls,
    }
}

/// The call service on the store and vault key in `dir` (as the service opens them when it
/// starts), on the test's clock.
fn service(dir: &std::path::Path, clock: Arc<Hand>) -> (Arc<Store>, CallService) {
    let store = Arc::new(Store::open(&dir.join("state")).unwrap());
    let vault = Arc::new(Vault::open(store.clone(), &dir.join("vault.key"), 1).unwrap());
    let audit = AuditLog::start(store.clone(), clock.clone(), 64);
    let region = Region::parse("US").unwrap();
    let core = Arc::new(EmbeddedCore::new(store.clone(), region));
    let config = Arc::new(ArcSwap::from_pointee(Config::default()));
    let calls = CallService::new(store.clone(), audit, core, vault, clock, config).unwrap();
    (store, calls)
}

fn start(f: &Fixture, id: &str) {
    let step = tokio_test(f.calls.start(
        StartCall {
            call_id: id.into(),
            ani: Some("+16122030101".into()),
            dnis: None,
            app_token: None,
            verstat: None,
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
    tokio_test(f.calls.input("b", CallerInput::NoInput, None, "key:ivr1")).unwrap();
    f.clock.advance(Duration::minutes(2));
    let read_a = || read_call(&f.store, &f.calls.index, "a").unwrap().unwrap();
    let version = read_a().version;
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!((swept.expired, swept.deleted), (1, 0));
    let closed = read_a();
    assert!(closed.ended_at.is_some());
    // an agent's screen that shows the call sees it change
    assert_eq!(closed.version, version + 1);
    assert!(
        read_call(&f.store, &f.calls.index, "b")
            .unwrap()
            .unwrap()
            .ended_at
            .is_none()
    );
    assert!(matches!(
        tokio_test(f.calls.input("a", CallerInput::NoInput, None, "key:ivr1")),
        Err(CallError::Ended(_))
    ));
    // a closed call stays readable for calls.keep_hours (24), then goes, index and all
    f.clock.advance(Duration::hours(23));
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!((swept.expired, swept.deleted), (1, 0), "b expires now");
    f.clock.advance(Duration::hours(25));
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!(swept.deleted, 2);
    assert!(read_call(&f.store, &f.calls.index, "a").unwrap().is_none());
    assert!(
        f.calls
            .find_by_ani("+16122030101", false, usize::MAX)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.calls.index.sizes(),
        (0, 0, 0),
        "the deleted calls left the index"
    );
    // the id may be used again once the old call is gone
    start(&f, "a");
}

#[test]
fn calls_by_caller_id_are_the_newest_limit_and_active_ones_skip_the_closed() {
    let f = fixture();
    for i in 0..12 {
        f.clock.advance(Duration::seconds(1));
        start(&f, &format!("c{i}"));
        if i != 3 && i != 10 {
            tokio_test(f.calls.hang_up(&format!("c{i}"), "key:ivr1")).unwrap();
        }
    }
    let find = |active: bool, limit: usize| -> Vec<String> {
        f.calls
            .find_by_ani("+16122030101", active, limit)
            .unwrap()
            .into_iter()
            .map(|c| c.call_id)
            .collect()
    };
    let cases: [(bool, usize, &[&str]); 5] = [
        (false, 5, &["c11", "c10", "c9", "c8", "c7"]),
        (false, 1, &["c11"]),
        (true, 1, &["c10"]),
        (true, 50, &["c10", "c3"]),
        (
            false,
            50,
            &[
                "c11", "c10", "c9", "c8", "c7", "c6", "c5", "c4", "c3", "c2", "c1", "c0",
            ],
        ),
    ];
    for (active, limit, want) in cases {
        assert_eq!(find(active, limit), want, "active {active}, limit {limit}");
    }
    // after the first sweep the calls known closed are not read at all for active ones,
    // and the answer is the same
    tokio_test(f.calls.sweep()).unwrap();
    assert!(f.calls.index.open_complete());
    assert!(!f.calls.index.maybe_open(1) && f.calls.index.maybe_open(4));
    assert_eq!(find(true, 50), ["c10", "c3"]);
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
            verstat: None,
        },
        "key:ivr1",
    ))
    .unwrap();
    assert_eq!(step.status, dialog::Status::Identifying);
    // a withheld caller ID finds nothing, and says to use the call id
    for withheld in ["anonymous", "Restricted", "+266696687"] {
        match f.calls.find_by_ani(withheld, false, usize::MAX) {
            Err(CallError::BadRequest("bad_ani", m)) => {
                assert!(
                    m.starts_with("ani is a withheld caller ID"),
                    "{withheld}: {m}"
                )
            }
            other => panic!("{withheld}: {other:?}"),
        }
    }
    // a national number is found as its E.164 form
    let found = f
        .calls
        .find_by_ani("612-203-0101", false, usize::MAX)
        .unwrap();
    let ids: Vec<_> = found.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"a") && ids.contains(&"b"), "{ids:?}");
    // what a restarted service reads back from the store
    let loaded = CallIndex::load(&f.store).unwrap();
    let numbers = loaded.from_ani("+16122030101");
    assert_eq!(
        numbers,
        [loaded.number("a").unwrap(), loaded.number("b").unwrap()],
        "oldest first"
    );
    assert!(
        numbers[0] < numbers[1],
        "numbered in the order they started"
    );
    assert_eq!(
        loaded.sizes(),
        (3, 1, 0),
        "three calls; the one without caller ID is not under a number"
    );
    assert!(loaded.number("withheld").is_some());
    assert!(loaded.from_ani("+16122030102").is_empty());
    // numbering goes on after the last stored call, not from 1 again
    let next = loaded.reserve("c", None, Utc::now()).unwrap();
    assert!(next > loaded.number("withheld").unwrap(), "{next}");
    let after = loaded.reserve("d", None, Utc::now()).unwrap();
    assert_eq!(after, next + 1, "each start takes a number of its own");

    // A call row whose id entry is missing (a store written by other hands) is never
    // written over: numbering goes on past it as well.
    let txn = f.store.begin_write().unwrap();
    txn.open_table(tables::CALLS)
        .unwrap()
        .insert(40, b"x".as_slice())
        .unwrap();
    txn.commit().unwrap();
    let loaded = CallIndex::load(&f.store).unwrap();
    assert_eq!(loaded.reserve("e", None, Utc::now()), Some(41));
}

#[test]
fn calls_are_stored_in_the_order_they_start_whatever_their_ids() {
    let f = fixture();
    // IVR platforms send random ids; the rows go in by number all the same
    let ids = ["f3c1", "0a9e", "b7d2", "0000", "ffff"];
    for id in ids {
        start(&f, id);
    }
    let txn = f.store.begin_read().unwrap();
    let stored: Vec<String> = txn
        .open_table(tables::CALL_IDS)
        .unwrap()
        .iter()
        .unwrap()
        .map(|r| r.unwrap().1.value().0.to_string())
        .collect();
    assert_eq!(stored, ids);
    let rows: Vec<u64> = txn
        .open_table(tables::CALLS)
        .unwrap()
        .iter()
        .unwrap()
        .map(|r| r.unwrap().0.value())
        .collect();
    let numbers: Vec<u64> = ids
        .iter()
        .map(|id| f.calls.index.number(id).unwrap())
        .collect();
    assert_eq!(rows, numbers);
    // a used id is refused however it is spelled in the store
    assert!(matches!(
        tokio_test(f.calls.start(
            StartCall {
                call_id: "b7d2".into(),
                ani: None,
                dnis: None,
                app_token: None,
                verstat: None,
            },
            "key:ivr1",
        )),
        Err(CallError::InUse(_))
    ));
}

#[test]
fn the_index_takes_an_id_once_and_gives_back_only_its_own_number() {
    let index = CallIndex::load(&fixture().store).unwrap();
    let at = Utc::now();
    let a = index.reserve("a", Some("+16122030101"), at).unwrap();
    assert_eq!(index.reserve("a", Some("+16122030102"), at), None, "in use");
    let b = index.reserve("b", Some("+16122030101"), at).unwrap();
    let c = index.reserve("c", None, at).unwrap();
    assert!(a < b && b < c, "{a} {b} {c}");
    // idle from the first instant after their last step, not at it
    assert!(index.idle(at).is_empty());
    assert_eq!(index.idle(at + Duration::microseconds(1)), [a, b, c]);
    assert_eq!(index.from_ani("+16122030101"), [a, b]);
    assert!(index.from_ani("+16122030102").is_empty());
    // a release naming another number (an older call with that id) changes nothing
    index.release("b", Some("+16122030101"), a);
    assert_eq!(index.number("b"), Some(b));
    index.release("a", Some("+16122030101"), a);
    index.release("c", None, c);
    index.release("x", None, 99);
    assert_eq!(index.number("a"), None);
    assert_eq!(index.from_ani("+16122030101"), [b]);
    assert_eq!(index.sizes(), (1, 1, 1));
    // the id is free again, under a new number
    assert!(index.reserve("a", None, at).unwrap() > c);
    index.release("b", Some("+16122030101"), b);
    assert_eq!(index.sizes(), (1, 0, 1), "an emptied number is forgotten");
}

/// A start whose commit fails gives its call id back: the IVR's retry of the same id starts
/// the call, rather than being told the id is in use by a call that was never stored.
#[test]
fn a_start_that_fails_to_commit_gives_its_call_id_back() {
    let f = fixture();
    start(&f, "a");
    // an audit record the next commit cannot read its chain from
    let put = |bytes: Option<&[u8]>| {
        let txn = f.store.begin_write().unwrap();
        {
            let mut audit = txn.open_table(tables::AUDIT).unwrap();
            match bytes {
                Some(b) => audit.insert(u64::MAX, b).unwrap(),
                None => audit.remove(u64::MAX).unwrap(),
            };
        }
        txn.commit().unwrap();
    };
    put(Some(b"not json"));
    let again = || {
        tokio_test(f.calls.start(
            StartCall {
                call_id: "b".into(),
                ani: Some("+16122030101".into()),
                dnis: None,
                app_token: None,
                verstat: None,
            },
            "key:ivr1",
        ))
    };
    assert!(matches!(again(), Err(CallError::Audit(_))));
    assert_eq!(f.calls.index.number("b"), None);
    assert_eq!(
        f.calls.index.from_ani("+16122030101"),
        [f.calls.index.number("a").unwrap()]
    );
    put(None);
    assert_eq!(again().unwrap().status, dialog::Status::Identifying);
}

#[test]
fn an_unreadable_call_row_fails_its_own_reads_not_other_calls() {
    let f = fixture();
    start(&f, "a");
    let number = f.calls.index.number("a").unwrap();
    let txn = f.store.begin_write().unwrap();
    txn.open_table(tables::CALLS)
        .unwrap()
        .insert(number, b"not json".as_slice())
        .unwrap();
    txn.commit().unwrap();
    let err = read_call(&f.store, &f.calls.index, "a").unwrap_err();
    assert!(err.to_string().contains("call a"), "{err}");
    let err = f
        .calls
        .find_by_ani("+16122030101", false, usize::MAX)
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!("number {number}")),
        "{err}"
    );
    start(&f, "b");
    assert!(read_call(&f.store, &f.calls.index, "b").unwrap().is_some());
}

#[test]
fn the_sweep_leaves_alone_a_call_that_took_a_step_after_the_scan_found_it() {
    let f = fixture();
    start(&f, "a");
    f.clock.advance(Duration::minutes(31));
    let now = f.clock.now();
    let (idle, keep) = (now - Duration::minutes(30), now - Duration::hours(24));
    let due = records::scan(&f.store, records::Reach::All, idle, keep)
        .unwrap()
        .due;
    assert_eq!(due, vec![f.calls.index.number("a").unwrap()]);
    // a step arrives between the scan (no writer held) and the sweep's write
    tokio_test(f.calls.input("a", CallerInput::NoInput, None, "key:ivr1")).unwrap();
    let numbers = [due, vec![9_999]].concat(); // and a call deleted meanwhile
    let txn = f.store.begin_write().unwrap();
    let ((swept, deleted), events) =
        records::sweep(&txn, &numbers, false, now, idle, keep).unwrap();
    drop(txn);
    assert_eq!(swept, Swept::default());
    assert!(deleted.deleted.is_empty() && events.is_empty());
    assert_eq!(deleted.closed, [9_999], "a call gone is no longer open");
    assert!(
        read_call(&f.store, &f.calls.index, "a")
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
            .find_by_ani("+16122030101", false, usize::MAX)
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.calls.index.sizes(), (0, 0, 0));
}

/// Rows a sweep's scan reads (`callvault_calls_sweep_rows_read_total`), and what it found.
fn scan(f: &Fixture) -> records::Scan {
    let now = f.clock.now();
    let (idle, keep) = (now - Duration::minutes(30), now - Duration::hours(24));
    tokio_test(f.calls.sweep_scan(idle, keep)).unwrap()
}

#[test]
fn after_the_first_sweep_a_sweep_reads_only_the_oldest_calls() {
    let f = fixture();
    for i in 0..40 {
        start(&f, &format!("c{i}"));
    }
    for i in 0..10 {
        tokio_test(f.calls.hang_up(&format!("c{i}"), "key:ivr1")).unwrap();
    }
    // the first sweep after a start reads every call, and learns which are open
    let first = scan(&f);
    assert_eq!((first.read, first.due.len()), (40, 0));
    assert_eq!(f.calls.index.sizes().2, 30, "the 30 not hung up are open");
    // later ones stop at the first call started within calls.keep_hours
    assert_eq!(scan(&f).read, 1);
    // 20 minutes on, ten take a step; 31 minutes after the start the other twenty are idle
    f.clock.advance(Duration::minutes(20));
    for i in 10..20 {
        tokio_test(
            f.calls
                .input(&format!("c{i}"), CallerInput::NoInput, None, "key:ivr1"),
        )
        .unwrap();
    }
    f.clock.advance(Duration::minutes(11));
    let idle = scan(&f);
    assert_eq!(idle.read, 1, "the idle calls come from the index");
    let want: Vec<_> = (20..40)
        .map(|i| f.calls.index.number(&format!("c{i}")).unwrap())
        .collect();
    assert_eq!(idle.due, want);
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!((swept.expired, swept.deleted), (20, 0));
    assert_eq!(f.calls.index.sizes().2, 10, "the expired calls are closed");
    // a day later: the thirty closed more than calls.keep_hours ago are read and deleted,
    // and the last ten, idle, are closed (so read, not yet deleted)
    f.clock.advance(Duration::hours(25));
    let old = scan(&f);
    assert_eq!((old.read, old.due.len()), (40, 40));
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!((swept.expired, swept.deleted), (10, 30));
    f.clock.advance(Duration::hours(25));
    let old = scan(&f);
    assert_eq!((old.read, old.due.len()), (10, 10));
    assert_eq!(tokio_test(f.calls.sweep()).unwrap().deleted, 10);
    assert_eq!(f.calls.index.sizes(), (0, 0, 0));
    assert_eq!(scan(&f).read, 0);
}

#[test]
fn a_restarted_service_learns_its_open_calls_from_its_first_sweep() {
    let f = fixture();
    start(&f, "open");
    start(&f, "closed");
    tokio_test(f.calls.hang_up("closed", "key:ivr1")).unwrap();
    // what a restart holds before its first sweep: the calls, none of them known open
    let restarted = CallIndex::load(&f.store).unwrap();
    assert_eq!(restarted.sizes(), (2, 1, 0));
    assert!(!restarted.open_complete());
    let now = f.clock.now();
    let found = records::scan(
        &f.store,
        records::Reach::All,
        now,
        now - Duration::hours(24),
    )
    .unwrap();
    // a call stepped since the scan keeps its newer time
    restarted.touched(
        restarted.number("open").unwrap(),
        now + Duration::minutes(5),
        false,
    );
    restarted.merge_open(&found.open);
    assert!(restarted.open_complete());
    assert_eq!(restarted.sizes().2, 1, "only the call not hung up is open");
    assert!(restarted.idle(now + Duration::minutes(1)).is_empty());
    assert_eq!(
        restarted.idle(now + Duration::minutes(6)),
        [restarted.number("open").unwrap()]
    );
}

/// Member m1, whose mobile is the fixture's caller ID.
fn enroll_m1(f: &Fixture) {
    let txn = f.store.begin_write().unwrap();
    {
        let mut dir = crate::core::embedded::Directory::open(&txn).unwrap();
        let m = Member {
            member_id: "m1".into(),
            mobile_phone: Some("+16122030101".into()),
            // what the known-number checklist asks
            place_of_birth: Some("Duluth".into()),
            savings_balance_cents: Some(120_000),
            last_txn_amount_cents: Some(4_250),
            ..Member::default()
        };
        dir.put(None, m, f.clock.now()).unwrap();
    }
    txn.commit().unwrap();
}

/// Member `id`, with only a mobile number.
fn enroll_with_mobile(f: &Fixture, id: &str, mobile: &str) {
    let txn = f.store.begin_write().unwrap();
    {
        let mut dir = crate::core::embedded::Directory::open(&txn).unwrap();
        let m = Member {
            member_id: id.into(),
            mobile_phone: Some(mobile.into()),
            ..Member::default()
        };
        dir.put(None, m, f.clock.now()).unwrap();
    }
    txn.commit().unwrap();
}

/// The app back end announces a call by `member` (from `phone`, if given).
fn announce_by(f: &Fixture, member: &str, phone: Option<&str>, ttl: u32) -> Announced {
    let intent = NewIntent {
        member_id: member.into(),
        phone: phone.map(str::to_string),
        ttl_seconds: Some(ttl),
    };
    tokio_test(f.calls.create_intent(intent, "key:app")).unwrap()
}

/// The app back end announces a call by m1 (from `phone`, if given); the token.
fn announce(f: &Fixture, phone: Option<&str>, ttl: u32) -> String {
    announce_by(f, "m1", phone, ttl).token
}

/// An intent lives 1 second to `calls.intent_max_ttl_seconds`; none sent is the default.
#[test]
fn an_intents_ttl_is_one_second_to_the_configured_most() {
    let f = fixture();
    enroll_m1(&f);
    let max = Config::default().calls.intent_max_ttl_seconds;
    let now = f.clock.now();
    for (ttl, lives) in [
        (Some(0), None),
        (Some(1), Some(1)),
        (Some(max), Some(max)),
        (Some(max + 1), None),
        (None, Some(Config::default().calls.intent_ttl_seconds)),
    ] {
        let intent = NewIntent {
            member_id: "m1".into(),
            phone: None,
            ttl_seconds: ttl,
        };
        match (tokio_test(f.calls.create_intent(intent, "key:app")), lives) {
            (Ok(announced), Some(s)) => assert_eq!(
                announced.expires_at,
                now + Duration::seconds(i64::from(s)),
                "{ttl:?}"
            ),
            (Err(CallError::BadRequest(code, message)), None) => {
                assert_eq!(code, "bad_ttl");
                assert_eq!(
                    message,
                    format!("ttl_seconds must be 1 to {max} (calls.intent_max_ttl_seconds)")
                );
            }
            (other, _) => panic!("{ttl:?}: {other:?}"),
        }
    }
}

/// A call from `ani` with `token`, started by the IVR: its first step.
fn start_from(f: &Fixture, call_id: &str, ani: &str, token: Option<&str>) -> dialog::StepView {
    let start = StartCall {
        call_id: call_id.into(),
        ani: Some(ani.into()),
        dnis: None,
        app_token: token.map(str::to_string),
        verstat: None,
    };
    tokio_test(f.calls.start(start, "key:ivr1")).unwrap()
}

/// The level a call from `ani` with `token` starts at.
fn level_at_start(
    f: &Fixture,
    call_id: &str,
    ani: &str,
    token: Option<&str>,
) -> Option<dialog::Level> {
    start_from(f, call_id, ani, token).level
}

#[test]
fn each_change_an_agent_makes_to_a_call_moves_its_version_on() {
    let f = fixture();
    enroll_m1(&f);
    let step = start_from(&f, "v1", "+16122030101", None);
    assert_eq!(step.trust, Some(Trust::KnownNumber));
    let version = || {
        read_call(&f.store, &f.calls.index, "v1")
            .unwrap()
            .unwrap()
            .version
    };
    let at_start = version();
    let list = tokio_test(f.calls.checklist("v1", false, "key:agent1")).unwrap();
    assert_eq!(list.total, 3);
    assert_eq!(version(), at_start + 1, "the checklist started");
    tokio_test(f.calls.checklist("v1", false, "key:agent1")).unwrap();
    assert_eq!(version(), at_start + 1, "only shown again");
    let q = crate::profile::Question::PlaceOfBirth;
    tokio_test(f.calls.tick("v1", q, true, "key:agent1")).unwrap();
    assert_eq!(version(), at_start + 2, "a tick");
    tokio_test(f.calls.hang_up("v1", "key:ivr1")).unwrap();
    assert_eq!(version(), at_start + 3, "the hang-up");
    tokio_test(f.calls.hang_up("v1", "key:ivr1")).unwrap();
    assert_eq!(version(), at_start + 3, "a second hang-up changes nothing");
}

#[test]
fn an_app_token_proves_nothing_once_forged_altered_expired_or_used() {
    let f = fixture();
    enroll_m1(&f);
    let announce = |ttl| announce(&f, None, ttl);
    let level =
        |call_id: &str, token: &str| level_at_start(&f, call_id, "+16122030101", Some(token));
    let token = announce(60);
    let (other, _) = intents::new_token();
    let mut altered = token.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let cases = [
        (
            "forged",
            "cvi_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
        ),
        ("fresh but never announced", other.to_string()),
        ("altered", altered),
        ("empty", String::new()),
    ];
    for (i, (what, forged)) in cases.iter().enumerate() {
        assert_eq!(level(&format!("f{i}"), forged), None, "{what}");
    }
    // none of those used the intent up; the real token, once
    assert_eq!(level("real", &token), Some(dialog::Level::AppIntent));
    assert_eq!(level("again", &token), None, "used twice");
    // an intent past its TTL is no proof either
    let late = announce(60);
    f.clock.advance(Duration::seconds(60));
    assert_eq!(level("late", &late), None, "expired");
    // each token that authenticated no one is on the record (never the token), and the one
    // that did is recorded as used
    let mut exported = Vec::new();
    let txn = f.store.begin_read().unwrap();
    crate::audit::export(&txn, None, &mut exported).unwrap();
    let intents: Vec<(String, String, String)> = String::from_utf8(exported)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["kind"] == "intent_used")
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (field("call_id"), field("outcome"), field("detail"))
        })
        .collect();
    let refused = |call: &str| {
        let why = "app token not valid: unknown, used already, or expired";
        (call.to_string(), "denied".to_string(), why.to_string())
    };
    let used = ("real".to_string(), "ok".to_string(), String::new());
    let want = [
        refused("f0"),
        refused("f1"),
        refused("f2"),
        used,
        refused("again"),
        refused("late"),
    ];
    assert_eq!(intents, want);
    for (_, forged) in &cases {
        assert!(forged.is_empty() || !intents.iter().any(|i| i.2.contains(forged.as_str())));
    }
}

/// A token whose member left the directory after the app announced the call proves no one,
/// and the record says why.
#[test]
fn an_app_token_whose_member_is_gone_is_recorded_as_not_used() {
    let f = fixture();
    enroll_m1(&f);
    let token = announce(&f, None, 60);
    let txn = f.store.begin_write().unwrap();
    {
        let mut dir = crate::core::embedded::Directory::open(&txn).unwrap();
        let m1 = dir.get("m1").unwrap().unwrap();
        dir.remove(&m1).unwrap();
    }
    txn.commit().unwrap();
    assert_eq!(
        level_at_start(&f, "gone", "+16122030101", Some(&token)),
        None
    );
    let mut exported = Vec::new();
    crate::audit::export(&f.store.begin_read().unwrap(), None, &mut exported).unwrap();
    let exported = String::from_utf8(exported).unwrap();
    let record = exported
        .lines()
        .find(|l| l.contains("\"intent_used\""))
        .unwrap();
    assert!(
        record.contains("\"outcome\":\"denied\"")
            && record.contains("app token not used: its member is not enrolled"),
        "{record}"
    );
}

#[test]
fn an_intent_announced_for_a_phone_counts_for_a_call_from_it_until_its_ttl_or_use() {
    let f = fixture();
    enroll_m1(&f);
    let announce = |phone: &str, ttl| announce(&f, Some(phone), ttl);
    let level = |call_id: &str, ani: &str, token| level_at_start(&f, call_id, ani, token);
    let app = Some(dialog::Level::AppIntent);
    // announced in national form, called from in E.164: the same number
    announce("(612) 203-0101", 60);
    assert_eq!(level("other-number", "+16122030199", None), None);
    assert_eq!(level("by-phone", "+16122030101", None), app);
    assert_eq!(level("by-phone-again", "+16122030101", None), None, "used");

    // two intents for one number: using the first by its token leaves the second's
    let first = announce("+16122030101", 60);
    announce("+16122030101", 60);
    assert_eq!(level("first", "+16122030199", Some(&first)), app);
    assert_eq!(level("second", "+16122030101", None), app);

    announce("+16122030101", 60);
    f.clock.advance(Duration::seconds(60));
    assert_eq!(level("late", "+16122030101", None), None, "expired");

    // the clock goes back an hour after an announcement: the intent would stand for an hour
    // more, so it stands no more, by phone or by token; a second of slack is allowed
    let by_token = announce("+16122030101", 60);
    f.clock.advance(Duration::seconds(-1));
    assert_eq!(level("a-second-back", "+16122030199", Some(&by_token)), app);
    let by_token = announce("+16122030101", 60);
    f.clock.advance(Duration::seconds(-3600));
    assert_eq!(level("an-hour-back", "+16122030101", None), None);
    assert_eq!(
        level("an-hour-back-2", "+16122030199", Some(&by_token)),
        None
    );
}

/// A phone that is not the member's verified number never stands for their intent, and
/// takes nothing from a call from it: the caller ID still identifies whoever it belongs to.
#[test]
fn an_intent_for_a_phone_not_the_members_verified_number_is_token_only() {
    let f = fixture();
    enroll_m1(&f);
    enroll_with_mobile(&f, "m2", "+16122030102");
    let app = Some(dialog::Level::AppIntent);
    let cases = [
        // (phone given, counts by phone)
        (Some("+16122030101"), true),
        (Some("(612) 203-0101"), true),
        (None, false),
        (Some("+16122030199"), false), // no member's
        (Some("+16122030102"), false), // m2's verified number
    ];
    for (phone, counts) in cases {
        assert_eq!(
            announce_by(&f, "m1", phone, 60).by_phone,
            counts,
            "{phone:?}"
        );
    }
    let phones = || {
        let txn = f.store.begin_read().unwrap();
        let table = txn.open_table(tables::INTENT_PHONES).unwrap();
        table
            .iter()
            .unwrap()
            .map(|r| r.unwrap().0.value().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        phones(),
        ["+16122030101"],
        "only the counting number is kept"
    );

    // m2 calls from their own number, which m1's app named: identified as m2, not m1
    let step = start_from(&f, "m2-calls", "+16122030102", None);
    assert_eq!(
        (step.member_id.as_deref(), step.trust, step.level),
        (Some("m2"), Some(Trust::KnownNumber), None)
    );
    // m2's own intent for it stands
    announce_by(&f, "m2", Some("+16122030102"), 60);
    assert_eq!(level_at_start(&f, "m2-app", "+16122030102", None), app);

    // m1's intent kept for their number, but a call from m2's number does not use it
    let token = announce(&f, Some("+16122030101"), 60);
    assert_eq!(level_at_start(&f, "elsewhere", "+16122030102", None), None);
    assert_eq!(
        level_at_start(&f, "m1-token", "+16122030199", Some(&token)),
        app
    );

    // an intent whose number is no longer the member's (their record changed since): a call
    // from it is identified by its caller ID, as if the intent were not there
    let (_, hash) = intents::new_token();
    let txn = f.store.begin_write().unwrap();
    let stale = Intent {
        member_id: "m2".into(),
        phone: Some("+16122030101".into()),
        created_at: f.clock.now(),
        expires_at: f.clock.now() + Duration::seconds(60),
        created_by: "key:app".into(),
    };
    intents::put(&txn, &hash, &stale).unwrap();
    txn.commit().unwrap();
    let step = start_from(&f, "m1-calls", "+16122030101", None);
    assert_eq!(
        (step.member_id.as_deref(), step.trust, step.level),
        (Some("m1"), Some(Trust::KnownNumber), None)
    );

    // a number two members share (a joint account's one mobile) never stands for either
    let joint = "+16122030103";
    enroll_with_mobile(&f, "m3", joint);
    enroll_with_mobile(&f, "m4", joint);
    assert!(!announce_by(&f, "m3", Some(joint), 60).by_phone);
    // nor does an intent kept from before the number was shared
    let (_, hash) = intents::new_token();
    let txn = f.store.begin_write().unwrap();
    let before_sharing = Intent {
        member_id: "m3".into(),
        phone: Some(joint.into()),
        ..stale
    };
    intents::put(&txn, &hash, &before_sharing).unwrap();
    txn.commit().unwrap();
    let step = start_from(&f, "joint-calls", joint, None);
    assert_eq!(
        (step.member_id, step.level, step.status),
        (None, None, dialog::Status::Identifying),
        "asked who is calling"
    );
}

#[test]
fn the_sweep_deletes_expired_intents_and_their_phones_only() {
    let f = fixture();
    enroll_m1(&f);
    enroll_with_mobile(&f, "m2", "+16122030102");
    let announce = |phone, ttl| announce(&f, phone, ttl);
    announce(Some("+16122030101"), 30);
    announce(None, 30);
    let kept = announce_by(&f, "m2", Some("+16122030102"), 90).token;
    f.clock.advance(Duration::seconds(30));
    let rows = |f: &Fixture| {
        let txn = f.store.begin_read().unwrap();
        let intents = txn
            .open_table(tables::INTENTS)
            .unwrap()
            .iter()
            .unwrap()
            .count();
        let phones: Vec<String> = txn
            .open_table(tables::INTENT_PHONES)
            .unwrap()
            .iter()
            .unwrap()
            .map(|r| r.unwrap().0.value().to_string())
            .collect();
        (intents, phones)
    };
    assert_eq!(
        rows(&f),
        (3, vec!["+16122030101".into(), "+16122030102".into()])
    );
    // the service's sweep does it, with no call due (its first, empty, batch)
    let swept = tokio_test(f.calls.sweep()).unwrap();
    assert_eq!((swept.intents_deleted, swept.expired), (2, 0));
    assert_eq!(rows(&f), (1, vec!["+16122030102".into()]));
    let txn = f.store.begin_write().unwrap();
    assert_eq!(intents::sweep(&txn, f.clock.now()).unwrap(), 0, "once");
    txn.commit().unwrap();
    let hash = intents::token_hash(&kept);
    assert!(
        intents::get(&f.store, &hash, f.clock.now())
            .unwrap()
            .is_some()
    );
}

#[test]
fn two_calls_racing_for_one_app_intent_both_start_and_one_uses_it() {
    let f = fixture();
    enroll_m1(&f);
    let intent = NewIntent {
        member_id: "m1".into(),
        phone: None,
        ttl_seconds: None,
    };
    let token = tokio_test(f.calls.create_intent(intent, "key:app"))
        .unwrap()
        .token;
    let with_token = |id: &str| StartCall {
        call_id: id.into(),
        ani: Some("+16122030101".into()),
        dnis: None,
        app_token: Some(token.clone()),
        verstat: None,
    };
    // both read the intent before either commit takes it
    let (a, b) = tokio_test(async {
        tokio::join!(
            f.calls.start(with_token("a"), "key:ivr1"),
            f.calls.start(with_token("b"), "key:ivr1")
        )
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    let by_intent = [&a, &b]
        .iter()
        .filter(|s| s.level == Some(dialog::Level::AppIntent))
        .count();
    assert_eq!(by_intent, 1, "{a:?} {b:?}");
    for id in ["a", "b"] {
        assert!(
            read_call(&f.store, &f.calls.index, id).unwrap().is_some(),
            "{id}"
        );
    }
    // the loser started once, without the intent: no stray number was left for its id
    assert_eq!(f.calls.index.sizes().0, 2);
}

#[test]
fn an_input_reuses_the_call_it_read_only_while_its_row_is_unchanged() {
    let f = fixture();
    start(&f, "a");
    let seen = || {
        records::read_seen(&f.store, &f.calls.index, "a")
            .unwrap()
            .unwrap()
    };
    let reread = |s: records::Seen| {
        let txn = f.store.begin_write().unwrap();
        records::reread_in(&txn, &f.calls.index, "a", s).unwrap()
    };
    // The row is unchanged: the call given is the one returned, not a second decoding (the
    // mark below is in no stored row).
    let mut same = seen();
    assert_eq!(
        same.call,
        read_call(&f.store, &f.calls.index, "a").unwrap().unwrap()
    );
    same.call.error = Some("mark".into());
    assert_eq!(reread(same).unwrap().error.as_deref(), Some("mark"));
    // The row changed since it was read (here: the row held is not the stored one): the
    // stored row is decoded.
    let mut stale = seen();
    stale.call.error = Some("mark".into());
    stale.row.push(b' ');
    let fresh = reread(stale).unwrap();
    assert_eq!(fresh.error, None);
    assert_eq!(
        fresh,
        read_call(&f.store, &f.calls.index, "a").unwrap().unwrap()
    );
    // an input between the read and the write: the version moved, and the guard sees it
    let before = seen();
    let read_at = before.call.version;
    tokio_test(f.calls.input("a", CallerInput::NoInput, None, "key:ivr1")).unwrap();
    let after = reread(before).unwrap();
    assert!(after.version > read_at);
    assert_eq!(after.version, seen().call.version);
    assert!(
        records::read_seen(&f.store, &f.calls.index, "nobody")
            .unwrap()
            .is_none()
    );
}

mod model;

/// The value of a series in `/metrics`' text (0 when it is not there).
fn series(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().unwrap())
}

#[test]
fn calls_count_in_metrics_once_as_they_start_and_as_they_close_before_an_ending() {
    let f = fixture();
    let recorder = crate::service::recorder_builder().unwrap().build_recorder();
    let metrics = recorder.handle();
    let counted = |work: &dyn Fn()| metrics::with_local_recorder(&recorder, work);
    counted(&|| {
        start(&f, "a");
        start(&f, "b");
    });
    let text = metrics.render();
    assert_eq!(
        series(&text, r#"callvault_calls_started_total{trust="none"}"#),
        2.0,
        "{text}"
    );
    // "a" is hung up while the caller is asked who they are; then once more
    counted(&|| {
        for _ in 0..2 {
            tokio_test(f.calls.hang_up("a", "key:ivr1")).unwrap();
        }
    });
    // "b" is closed by the sweep after calls.idle_minutes, and swept again later
    f.clock.advance(Duration::minutes(31));
    counted(&|| {
        for _ in 0..2 {
            tokio_test(f.calls.sweep()).unwrap();
        }
    });
    let text = metrics.render();
    let finished = |outcome: &str| {
        series(
            &text,
            &format!(
                "callvault_calls_finished_total{{outcome=\"{outcome}\",level=\"\",reason=\"\",\
                 status=\"identifying\",trust=\"none\"}}"
            ),
        )
    };
    assert_eq!(
        (finished("hung_up"), finished("expired")),
        (1.0, 1.0),
        "{text}"
    );
    // nothing else finished
    let all: f64 = text
        .lines()
        .filter(|l| l.starts_with("callvault_calls_finished_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(all, 2.0, "{text}");
}

#[test]
fn a_dialog_that_ends_is_counted_and_timed_from_its_start() {
    let f = fixture();
    let recorder = crate::service::recorder_builder().unwrap().build_recorder();
    let metrics = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        start(&f, "a");
        // nobody keys an identifier: three silences, the last 45 s after the start
        for _ in 0..2 {
            tokio_test(f.calls.input("a", CallerInput::NoInput, None, "key:ivr1")).unwrap();
        }
        f.clock.advance(Duration::seconds(45));
        let step = tokio_test(f.calls.input("a", CallerInput::NoInput, None, "key:ivr1"));
        assert_eq!(step.unwrap().status, dialog::Status::Transferred);
        // answered again once it ended: counted once
        tokio_test(f.calls.input("a", CallerInput::NoInput, None, "key:ivr1")).unwrap();
    });
    let text = metrics.render();
    let finished = series(
        &text,
        r#"callvault_calls_finished_total{outcome="transfer",level="",reason="no_identifier",status="",trust="none"}"#,
    );
    assert_eq!(finished, 1.0, "{text}");
    let bucket = |le: &str| {
        series(
            &text,
            &format!("callvault_call_dialog_seconds_bucket{{outcome=\"transfer\",le=\"{le}\"}}"),
        )
    };
    assert_eq!(
        (bucket("30"), bucket("45"), bucket("60")),
        (0.0, 1.0, 1.0),
        "{text}"
    );
    let total = series(
        &text,
        r#"callvault_call_dialog_seconds_sum{outcome="transfer"}"#,
    );
    assert_eq!(total, 45.0, "{text}");
}

/// What a sweep does to a call, at the edges: a live call is closed only once its last step
/// is before the idle limit, a closed one deleted only once it closed before the keep limit.
#[test]
fn a_sweep_closes_and_deletes_calls_only_past_their_limits() {
    use records::{Due, due_now};
    let idle_before = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
    let keep_after = idle_before - Duration::hours(24);
    let tick = Duration::microseconds(1);
    let cases = [
        // (last step, closed at) -> due
        (idle_before - tick, None, Some(Due::Expire)),
        (idle_before, None, None),
        (idle_before + tick, None, None),
        (
            keep_after - Duration::hours(1),
            Some(keep_after - tick),
            Some(Due::Delete),
        ),
        (keep_after - Duration::hours(1), Some(keep_after), None),
        // a closed call is never closed again, however long ago its last step
        (keep_after - Duration::hours(1), Some(idle_before), None),
    ];
    for (updated_at, ended_at, due) in cases {
        assert_eq!(
            due_now(updated_at, ended_at, idle_before, keep_after),
            due,
            "{updated_at} {ended_at:?}"
        );
    }
}

/// A scan of many stored calls reads them all, looking every 1,024 rows whether the service
/// is stopping; once it is, the scan gives up rather than hold the stop.
#[test]
fn a_long_scan_reads_every_call_and_stops_when_the_service_does() {
    let f = fixture();
    let now = f.clock.now();
    let rows = 2_100u64;
    let txn = f.store.begin_write().unwrap();
    {
        let mut calls = txn.open_table(tables::CALLS).unwrap();
        for n in 1..=rows {
            // a live call with a recent step: neither closed nor deleted
            let row = serde_json::json!({"started_at": now, "updated_at": now, "ended_at": null});
            calls.insert(n, row.to_string().as_bytes()).unwrap();
        }
    }
    txn.commit().unwrap();
    let (idle, keep) = (now - Duration::minutes(30), now - Duration::hours(24));
    let scanned = records::scan(&f.store, records::Reach::All, idle, keep).unwrap();
    assert_eq!((scanned.read, scanned.due.len()), (rows, 0));
    assert_eq!(scanned.open.len() as u64, rows);
    f.store.stop_scans();
    assert!(matches!(
        records::scan(&f.store, records::Reach::All, idle, keep),
        Err(StoreError::Stopping)
    ));
}

/// The sweep's part for one-time codes: challenges created before the keep limit go (their
/// calls go then too), one created at it stays; a member's send count goes once no send is
/// left in the last hour, so the hourly limit starts afresh.
#[test]
fn the_sweep_deletes_old_challenges_and_send_counts_with_nothing_recent() {
    use crate::challenge::{Challenge, Sends, State};
    let f = fixture();
    let now = f.clock.now();
    let keep = now - Duration::hours(24);
    let challenge = |id: &str, created_at| Challenge {
        challenge_id: id.into(),
        call_id: format!("call-{id}"),
        member_id: "m1".into(),
        channel: crate::config::OtpChannel::Sms,
        fallback_from: None,
        with_code: true,
        sent_to: "+1******0101".into(),
        code_mac: None,
        state: State::Waiting,
        checks_left: 3,
        member_response: None,
        for_ivr: false,
        created_at,
        expires_at: created_at + Duration::minutes(5),
        decided_at: None,
        decided_by: None,
        how: None,
    };
    let txn = f.store.begin_write().unwrap();
    {
        let mut table = txn.open_table(tables::CHALLENGES).unwrap();
        for c in [
            challenge("old", keep - Duration::microseconds(1)),
            challenge("edge", keep),
        ] {
            let bytes = serde_json::to_vec(&c).unwrap();
            table
                .insert(c.challenge_id.as_str(), bytes.as_slice())
                .unwrap();
            txn.open_table(tables::CALL_CHALLENGES)
                .unwrap()
                .insert((c.call_id.as_str(), c.challenge_id.as_str()), ())
                .unwrap();
        }
        let mut sends = txn.open_table(tables::CHALLENGE_SENDS).unwrap();
        let sent = |at: DateTime<Utc>| serde_json::to_vec(&Sends::default().record(at)).unwrap();
        sends
            .insert("quiet", sent(now - Duration::minutes(61)).as_slice())
            .unwrap();
        sends
            .insert("recent", sent(now - Duration::minutes(59)).as_slice())
            .unwrap();
    }
    let gone = challenges::sweep(&txn, now, keep).unwrap();
    txn.commit().unwrap();
    assert_eq!(gone, 1);
    let txn = f.store.begin_read().unwrap();
    let keys = |name: redb::TableDefinition<&str, &[u8]>| -> Vec<String> {
        let table = txn.open_table(name).unwrap();
        table
            .iter()
            .unwrap()
            .map(|r| r.unwrap().0.value().to_string())
            .collect()
    };
    assert_eq!(keys(tables::CHALLENGES), ["edge"]);
    assert_eq!(keys(tables::CHALLENGE_SENDS), ["recent"]);
    // the call's list of challenges loses the one that went, and only it
    assert_eq!(
        crate::store::tests::call_challenges_listed(&txn),
        [("call-edge".to_string(), "edge".to_string())]
    );
}

#[test]
fn a_call_start_refuses_an_id_ani_or_dnis_it_cannot_keep_and_keeps_a_dnis_that_is_no_number() {
    let f = fixture();
    let long = "5".repeat(NUMBER_FIELD_MAX + 1);
    let widest = format!(
        "\"{}\" <sip:+16125550100@pbx>",
        "é".repeat(NUMBER_FIELD_MAX - 25)
    );
    assert_eq!(widest.chars().count(), NUMBER_FIELD_MAX);
    // (call id, ani, dnis) -> the refusal's code, or the dnis the call keeps
    type Case<'a> = (&'a str, &'a str, &'a str, Result<Option<&'a str>, &'a str>);
    let cases: &[Case] = &[
        (
            "c1",
            "+16122030101",
            "+18005550100",
            Ok(Some("+18005550100")),
        ),
        (
            "c2",
            "+16122030101",
            "(800) 555-0100",
            Ok(Some("+18005550100")),
        ),
        // an extension or a SIP user name: kept as it is, routed to the default profile
        (
            "c3",
            "+16122030101",
            "sip:ivr-main@pbx",
            Ok(Some("ivr-main")),
        ),
        ("c4", "+16122030101", "", Ok(None)),
        ("c5", &widest, &widest, Ok(Some("+16125550100"))),
        ("c6", &long, "4100", Err("bad_ani")),
        ("c7", "+16122030101", &long, Err("bad_dnis")),
        ("c8", "+1612203\n0101", "", Err("bad_ani")),
        ("c9", "+16122030101", "4100\u{85}", Err("bad_dnis")),
        ("c 10", "+16122030101", "", Err("bad_call_id")),
        ("", "+16122030101", "", Err("bad_call_id")),
    ];
    for (call_id, ani, dnis, expected) in cases {
        let started = tokio_test(f.calls.start(
            StartCall {
                call_id: call_id.to_string(),
                ani: Some(ani.to_string()),
                dnis: Some(dnis.to_string()),
                app_token: None,
                verstat: None,
            },
            "key:ivr1",
        ));
        match (expected, started) {
            (Ok(kept), Ok(_)) => {
                let view = f.calls.view(call_id).unwrap();
                assert_eq!(view.dnis.as_deref(), *kept, "{call_id}");
            }
            (Err(code), Err(CallError::BadRequest(got, message))) => {
                assert_eq!(got, *code, "{call_id}: {message}");
                // the message names the field, and holds nothing of the value
                assert!(
                    message.starts_with(&code["bad_".len()..]),
                    "{call_id}: {message}"
                );
                assert!(
                    f.calls.view(call_id).is_err(),
                    "{call_id} was refused, yet kept"
                );
            }
            (expected, got) => panic!("{call_id}: expected {expected:?}, got {got:?}"),
        }
    }
}

/// Once the caller has hung up there is no one to ask: no checklist is started or shown
/// with its answers, and no tick is taken (the screen pop still shows where it stood).
#[test]
fn a_hung_up_call_takes_no_checklist_and_no_tick() {
    let f = fixture();
    enroll_m1(&f);
    let q = crate::profile::Question::PlaceOfBirth;
    start_from(&f, "started", "+16122030101", None);
    tokio_test(f.calls.checklist("started", true, "key:agent1")).unwrap();
    tokio_test(f.calls.tick("started", q, true, "key:agent1")).unwrap();
    start_from(&f, "never", "+16122030101", None);
    for id in ["started", "never"] {
        tokio_test(f.calls.hang_up(id, "key:ivr1")).unwrap();
        for reveal in [true, false] {
            match tokio_test(f.calls.checklist(id, reveal, "key:agent1")) {
                Err(CallError::Ended(e)) => assert_eq!(e, id),
                other => panic!("{id}: {other:?}"),
            }
        }
    }
    let q2 = crate::profile::Question::SavingsBalance;
    match tokio_test(f.calls.tick("started", q2, true, "key:agent1")) {
        Err(CallError::Ended(_)) => {}
        other => panic!("{other:?}"),
    }
    let call = read_call(&f.store, &f.calls.index, "started")
        .unwrap()
        .unwrap();
    let list = call.checklist.unwrap();
    assert_eq!(
        (list.answered(), list.verdict()),
        (1, crate::dialog::checklist::Verdict::Pending),
        "as it stood: {list:?}"
    );
}

/// A member who keys their identifier from their verified number gets `known_number` only
/// when that number is theirs alone; one another member has too gives `unknown_number`.
#[test]
fn a_keyed_identifier_from_a_number_another_member_has_too_earns_no_known_number() {
    let f = fixture();
    // callers are asked who they are, so the keyed identifier decides
    let mut config = Config::default();
    let profile: crate::profile::SharedProfile =
        toml::from_str("default = true\nidentify_by_ani = false\n").unwrap();
    config.profiles.insert("keyed".into(), profile);
    f.calls.config.store(Arc::new(config));
    let joint = "+16122030103";
    enroll_with_mobile(&f, "3003", joint);
    enroll_with_mobile(&f, "3004", joint);
    // 3005's account number is their member number: keyed, both name them, once
    let txn = f.store.begin_write().unwrap();
    {
        let mut dir = crate::core::embedded::Directory::open(&txn).unwrap();
        let m = Member {
            member_id: "3005".into(),
            mobile_phone: Some("+16122030105".into()),
            account_numbers: vec!["3005".into()],
            ..Member::default()
        };
        dir.put(None, m, f.clock.now()).unwrap();
    }
    txn.commit().unwrap();
    for (call, ani, keyed, trust) in [
        ("own", "+16122030105", "3005", Trust::KnownNumber),
        ("joint", joint, "3003", Trust::UnknownNumber),
        ("elsewhere", "+16122030199", "3005", Trust::UnknownNumber),
    ] {
        let step = start_from(&f, call, ani, None);
        assert_eq!(step.status, dialog::Status::Identifying, "{call}");
        let digits = CallerInput::Digits(Zeroizing::new(keyed.to_string()));
        let step = tokio_test(f.calls.input(call, digits, None, "key:ivr1")).unwrap();
        assert_eq!(
            (step.member_id.as_deref(), step.trust),
            (Some(keyed), Some(trust)),
            "{call}"
        );
    }
}

/// The calls still going, newest first, from memory once the first sweep has told the calls
/// stored before the start apart; until then the index cannot say, and the store is read.
#[test]
fn the_index_lists_open_calls_newest_first_once_it_knows_them_all() {
    let index = CallIndex::default();
    let at = Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap();
    let a = index.reserve("a", None, at).unwrap();
    let b = index.reserve("b", Some("+16122030101"), at).unwrap();
    let c = index.reserve("c", None, at).unwrap();
    index.touched(b, at, true);
    assert_eq!(index.open_newest_first(), None, "before the first sweep");
    // the first sweep found no other call open
    index.merge_open(&[]);
    assert_eq!(index.open_newest_first(), Some(vec![c, a]));
    index.closed(&[c]);
    assert_eq!(index.open_newest_first(), Some(vec![a]));
}

/// Seed 004's agent checklist, at the service: a verdict marks the call and the member
/// Verified / Not Verified, with who gave it and how, and an audit record; a checklist still
/// pending leaves both as they were (here as the IVR left them: m1's record answers none of
/// the IVR's questions, so its calls come to the agent as not verified). Known number: 2
/// correct of 3.
#[test]
fn a_checklist_verdict_marks_the_call_and_the_member_and_a_pending_one_nothing() {
    use crate::profile::Question::{LastTxnAmount, PlaceOfBirth, SavingsBalance};
    let f = fixture();
    enroll_m1(&f);
    let verified = |call_id: &str| {
        let call = read_call(&f.store, &f.calls.index, call_id);
        call.unwrap().unwrap().verified
    };
    let member = || records::verification(&f.store.begin_read().unwrap(), "m1").unwrap();
    // (call, ticks, the verdict, the audit detail)
    let cases = [
        (
            "c-yes",
            vec![(PlaceOfBirth, true), (SavingsBalance, true)],
            Some(true),
            "checklist: verified",
        ),
        (
            "c-no",
            vec![(PlaceOfBirth, false), (SavingsBalance, false)],
            Some(false),
            "checklist: not verified",
        ),
        (
            "c-open",
            vec![(PlaceOfBirth, true), (SavingsBalance, false)],
            None,
            "",
        ),
        (
            "c-last",
            vec![
                (PlaceOfBirth, true),
                (SavingsBalance, false),
                (LastTxnAmount, true),
            ],
            Some(true),
            "checklist: verified",
        ),
    ];
    for (call_id, ticks, verdict, detail) in cases {
        start_from(&f, call_id, "+16122030101", None);
        f.clock.advance(Duration::seconds(1));
        let (call_before, member_before) = (verified(call_id), member());
        assert_eq!(call_before, Some(false), "{call_id}: the IVR's verdict");
        tokio_test(f.calls.checklist(call_id, false, "key:agent1")).unwrap();
        for (q, correct) in ticks {
            f.clock.advance(Duration::seconds(1));
            tokio_test(f.calls.tick(call_id, q, correct, "key:agent1/agent:j.doe")).unwrap();
        }
        let mut exported = Vec::new();
        crate::audit::export(&f.store.begin_read().unwrap(), None, &mut exported).unwrap();
        let verdicts: Vec<String> = String::from_utf8(exported)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"member_verified\"") && l.contains(&format!("\"{call_id}\"")))
            .map(str::to_string)
            .collect();
        match verdict {
            Some(mark) => {
                assert_eq!(verified(call_id), Some(mark), "{call_id}");
                let v = member().unwrap();
                assert_eq!(
                    (
                        v.verified,
                        v.call_id.as_str(),
                        v.by.as_str(),
                        v.how.as_str()
                    ),
                    (mark, call_id, "key:agent1/agent:j.doe", "checklist"),
                    "{call_id}"
                );
                assert!(
                    verdicts.len() == 1
                        && verdicts[0].contains(&format!("\"detail\":\"{detail}\"")),
                    "{call_id}: {verdicts:?}"
                );
            }
            None => {
                assert_eq!(verified(call_id), call_before, "{call_id}");
                assert_eq!(member(), member_before, "{call_id}");
                assert!(verdicts.is_empty(), "{call_id}: {verdicts:?}");
            }
        }
    }
}

/// A call that is not there is named by its id when the id could be a call's; else by what
/// a call id is (not the 20,000 characters of a path).
#[test]
fn a_call_not_found_is_named_as_its_id_allows() {
    let none = "no call with that id: a call_id is 1 to 128 visible ASCII characters";
    for (id, says) in [
        ("c1".to_string(), "no call \"c1\"".to_string()),
        ("x".repeat(128), format!("no call \"{}\"", "x".repeat(128))),
        ("x".repeat(129), none.to_string()),
        ("a b".to_string(), none.to_string()),
        ("é".to_string(), none.to_string()),
        (String::new(), none.to_string()),
    ] {
        assert_eq!(CallError::NotFound(id.clone()).to_string(), says, "{id:?}");
    }
}
