use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::{LAG_TICK, lag_probe};

/// The probe sees a blocked event loop: a task that holds the thread for 60 ms makes a tick
/// that late, and what is recorded is the lateness, not the tick.
#[test]
fn the_lag_probe_sees_an_event_loop_blocked() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let seen = Rc::new(RefCell::new(Vec::<Duration>::new()));
    let local = tokio::task::LocalSet::new();
    let record = seen.clone();
    rt.block_on(local.run_until(async move {
        tokio::task::spawn_local(lag_probe(move |late| record.borrow_mut().push(late)));
        tokio::task::spawn_local(async {
            tokio::time::sleep(LAG_TICK * 5).await;
            // a synchronous call that does not yield, as a blocked worker would make
            std::thread::sleep(Duration::from_millis(60));
        });
        tokio::time::sleep(LAG_TICK * 15).await;
    }));
    let seen = seen.borrow();
    assert!(seen.len() >= 5, "{seen:?}");
    let late = seen
        .iter()
        .filter(|d| **d >= Duration::from_millis(45))
        .count();
    assert!(late >= 1, "a tick waited for the blocked thread: {seen:?}");
    // what is recorded is the lateness, not the tick itself
    let least = seen.iter().min().unwrap();
    assert!(*least < LAG_TICK, "{seen:?}");
}
