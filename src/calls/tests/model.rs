//! The stored calls against a model: random call starts (ids reused, caller IDs shared or
//! withheld), inputs, hang-ups, time passing, sweeps and restarts, on a real store. The
//! in-memory index ([`CallIndex`]: ids, caller IDs, the calls not known closed) is a cache
//! of the store that a restart rebuilds and every write and sweep must keep; the model is
//! a plain map, so any drift between the two shows as a call found, missed, closed or kept
//! where the model says otherwise.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

const IDS: [&str; 4] = ["c0", "c1", "c2", "c3"];
/// Caller IDs: two calls may share one, and one call in four has none.
const ANIS: [Option<&str>; 4] = [
    Some("+16122030101"),
    Some("+16122030102"),
    Some("+16122030103"),
    None,
];

#[derive(Debug, Clone)]
enum Op {
    Start {
        id: usize,
        ani: usize,
    },
    /// No input: moves the dialog (and the call's last step) until the dialog is over.
    Input(usize),
    HangUp(usize),
    Wait(Duration),
    Sweep,
    /// Drop the service and open the store again, as a restart does.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..IDS.len(), 0..ANIS.len()).prop_map(|(id, ani)| Op::Start { id, ani }),
        3 => (0..IDS.len()).prop_map(Op::Input),
        2 => (0..IDS.len()).prop_map(Op::HangUp),
        // either side of calls.idle_minutes (30) and calls.keep_hours (24)
        3 => prop_oneof![Just(1), Just(29), Just(31), Just(23 * 60), Just(25 * 60)]
            .prop_map(|m| Op::Wait(Duration::minutes(m))),
        3 => Just(Op::Sweep),
        1 => Just(Op::Restart),
    ]
}

/// What the model knows of a stored call.
#[derive(Debug)]
struct Kept {
    ani: Option<&'static str>,
    /// Starts so far when it started: the order among calls started at the same time.
    order: usize,
    started: DateTime<Utc>,
    updated: DateTime<Utc>,
    ended: Option<DateTime<Utc>>,
    /// The dialog is over (authenticated or transferred): inputs change nothing.
    over: bool,
}

struct Model {
    calls: BTreeMap<&'static str, Kept>,
    starts: usize,
}

impl Model {
    /// What a sweep at `now` does: (closed as idle, deleted).
    fn sweep(&mut self, now: DateTime<Utc>) -> (u64, u64) {
        let idle = now - Duration::minutes(30);
        let keep = now - Duration::hours(24);
        let mut expired = 0;
        for call in self.calls.values_mut() {
            if call.ended.is_none() && call.updated < idle {
                call.ended = Some(now);
                expired += 1;
            }
        }
        let before = self.calls.len();
        self.calls.retain(|_, c| c.ended.is_none_or(|e| e >= keep));
        (expired, (before - self.calls.len()) as u64)
    }
}

fn terminal(step: &StepView) -> bool {
    matches!(
        step.status,
        dialog::Status::Authenticated | dialog::Status::Transferred
    )
}

/// Every call id, every caller ID's calls and the newest calls from any number, as the
/// service finds them, against the model.
fn check(model: &Model, store: &Store, calls: &CallService) -> Result<(), TestCaseError> {
    for id in IDS {
        let stored = read_call(store, &calls.index, id)
            .map_err(|e| TestCaseError::fail(format!("reading {id}: {e}")))?;
        match (stored, model.calls.get(id)) {
            (None, None) => {}
            (Some(c), Some(k)) => {
                prop_assert_eq!(c.ani.as_deref(), k.ani, "{}'s caller ID", id);
                prop_assert_eq!(c.started_at, k.started, "{} started", id);
                prop_assert_eq!(c.updated_at, k.updated, "{}'s last step", id);
                prop_assert_eq!(c.ended_at, k.ended, "{} ended", id);
            }
            (found, kept) => {
                return Err(TestCaseError::fail(format!(
                    "{id}: stored {:?}, the model has {kept:?}",
                    found.map(|c| c.call_id)
                )));
            }
        }
    }
    // every caller ID (None: the calls from any number, withheld ones too)
    for ani in ANIS.into_iter().flatten().map(Some).chain([None]) {
        for active in [false, true] {
            let find = |limit| match ani {
                Some(a) => calls.find_by_ani(a, active, limit),
                None => calls.find_recent(active, limit),
            };
            let found: Vec<String> = find(usize::MAX)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .into_iter()
                .map(|v| v.call_id)
                .collect();
            let mut kept: Vec<(&&str, &Kept)> = model
                .calls
                .iter()
                .filter(|(_, k)| ani.is_none_or(|a| k.ani == Some(a)))
                .filter(|(_, k)| !active || k.ended.is_none())
                .collect();
            // newest first; of calls started at the same time, the one started last first
            kept.sort_by_key(|(_, k)| (std::cmp::Reverse(k.started), std::cmp::Reverse(k.order)));
            let kept: Vec<String> = kept.iter().map(|(id, _)| id.to_string()).collect();
            prop_assert_eq!(
                &found,
                &kept,
                "calls from {:?} (active only: {})",
                ani,
                active
            );
            // a limit takes the newest
            let newest: Vec<String> = find(2)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .into_iter()
                .map(|v| v.call_id)
                .collect();
            prop_assert_eq!(&newest[..], &kept[..kept.len().min(2)], "limit 2");
        }
    }
    Ok(())
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    crate::vault::create_key_file(&dir.path().join("vault.key"))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let clock = Arc::new(Hand(std::sync::Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0)
            .single()
            .unwrap_or_default(),
    )));
    let mut running = Some(service(dir.path(), clock.clone()));
    let mut model = Model {
        calls: BTreeMap::new(),
        starts: 0,
    };
    for op in ops {
        let Some((_, calls)) = running.as_ref() else {
            break;
        };
        let now = clock.now();
        match *op {
            Op::Start { id, ani } => {
                let call_id = IDS[id];
                let got = tokio_test(calls.start(
                    StartCall {
                        call_id: call_id.into(),
                        ani: ANIS[ani].map(str::to_string),
                        dnis: None,
                        app_token: None,
                        verstat: None,
                    },
                    "key:ivr1",
                ));
                if model.calls.contains_key(call_id) {
                    prop_assert!(
                        matches!(got, Err(CallError::InUse(_))),
                        "a second start of {} answered {:?}",
                        call_id,
                        got
                    );
                } else {
                    let step = got.map_err(|e| TestCaseError::fail(e.to_string()))?;
                    model.starts += 1;
                    model.calls.insert(
                        call_id,
                        Kept {
                            ani: ANIS[ani],
                            order: model.starts,
                            started: now,
                            updated: now,
                            ended: None,
                            over: terminal(&step),
                        },
                    );
                }
            }
            Op::Input(id) => {
                let call_id = IDS[id];
                let got = tokio_test(calls.input(call_id, CallerInput::NoInput, None, "key:ivr1"));
                match model.calls.get_mut(call_id) {
                    None => prop_assert!(matches!(got, Err(CallError::NotFound(_))), "{:?}", got),
                    Some(k) if k.ended.is_some() => {
                        prop_assert!(matches!(got, Err(CallError::Ended(_))), "{:?}", got)
                    }
                    Some(k) => {
                        let step = got.map_err(|e| TestCaseError::fail(e.to_string()))?;
                        if !k.over {
                            k.updated = now;
                        }
                        k.over = terminal(&step);
                    }
                }
            }
            Op::HangUp(id) => {
                let call_id = IDS[id];
                let got = tokio_test(calls.hang_up(call_id, "key:ivr1"));
                match model.calls.get_mut(call_id) {
                    None => prop_assert!(matches!(got, Err(CallError::NotFound(_))), "{:?}", got),
                    Some(k) => {
                        prop_assert!(got.is_ok(), "{:?}", got);
                        k.ended.get_or_insert(now);
                    }
                }
            }
            Op::Wait(d) => clock.advance(d),
            Op::Sweep => {
                let swept =
                    tokio_test(calls.sweep()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!((swept.expired, swept.deleted), model.sweep(now));
            }
            Op::Restart => {
                // the old service, its committer and its store are gone before the new opens
                drop(running.take());
                running = Some(service(dir.path(), clock.clone()));
            }
        }
        if let Some((store, calls)) = running.as_ref() {
            check(&model, store, calls)?;
        }
    }
    Ok(())
}

proptest! {
    // every case is a real store with a durable commit per write: a few dozen cases
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn stored_calls_and_their_index_follow_the_model(
        ops in proptest::collection::vec(op(), 1..48)
    ) {
        run(&ops)?;
    }
}
