use std::sync::Mutex;
use std::time::Duration;

use super::{AfterAWhile, Progress};

/// What a progress was told, one line a call.
#[derive(Default)]
struct Told(Mutex<Vec<String>>);

impl Progress for Told {
    fn phase(&self, name: &str, total: u64) {
        self.0.lock().unwrap().push(format!("{name} {total}"));
    }
    fn advance_to(&self, done: u64) {
        self.0.lock().unwrap().push(format!("at {done}"));
    }
    fn finish(&self) {
        self.0.lock().unwrap().push("finish".to_string());
    }
}

/// A run over before its while says nothing at all; one that goes on past it is told from
/// the phase it is in (earlier phases, over by then, are not), and everything after.
#[test]
fn progress_is_told_only_once_the_work_has_gone_on_a_while() {
    let run = |after: Duration| {
        let told = Told::default();
        let progress = AfterAWhile::new(&told, after);
        progress.phase("reading", 10);
        progress.advance_to(5);
        progress.phase("verifying", 300);
        progress.advance_to(100);
        progress.advance_to(200);
        progress.phase("comparing", 7);
        progress.advance_to(7);
        progress.finish();
        told.0.into_inner().unwrap()
    };
    assert_eq!(run(Duration::from_secs(3600)), Vec::<String>::new());
    assert_eq!(
        run(Duration::ZERO),
        [
            "reading 10",
            "at 5",
            "verifying 300",
            "at 100",
            "at 200",
            "comparing 7",
            "at 7",
            "finish"
        ]
    );
    // the while over during the second phase: told from there
    let told = Told::default();
    let progress = AfterAWhile::new(&told, Duration::from_secs(3600));
    progress.phase("reading", 10);
    progress.advance_to(5);
    progress.phase("verifying", 300);
    progress.end_the_while();
    progress.advance_to(100);
    progress.finish();
    assert_eq!(
        told.0.into_inner().unwrap(),
        ["verifying 300", "at 100", "finish"]
    );
}

/// A stoppable progress tells everything to the one it wraps, and says to stop once its own
/// check or the wrapped one's says so; a progress shown after a while passes that on.
#[test]
fn a_stop_is_passed_through_every_wrapper() {
    use super::Stoppable;
    use crate::store::StoreError;
    let interrupted = || Err(StoreError::Interrupted);
    let stopping = || Err(StoreError::Stopping);
    let goes_on = || Ok(());
    // (its own check, the wrapped one's: what go_on says)
    for (own, wrapped, said) in [
        (
            goes_on as fn() -> Result<(), StoreError>,
            goes_on as fn() -> _,
            None,
        ),
        (interrupted, goes_on, Some("interrupted before the end")),
        (goes_on, stopping, Some("the service is stopping")),
        (interrupted, stopping, Some("interrupted before the end")),
    ] {
        let told = Told::default();
        let inner = Stoppable::new(&told, wrapped);
        let progress = Stoppable::new(&inner, own);
        progress.phase("verifying", 3);
        progress.advance_to(2);
        progress.finish();
        let err = |p: &dyn Progress| p.go_on().err().map(|e| e.to_string());
        assert_eq!(err(&progress).as_deref(), said);
        let after = AfterAWhile::new(&progress, Duration::ZERO);
        assert_eq!(err(&after).as_deref(), said);
        assert_eq!(
            told.0.into_inner().unwrap(),
            ["verifying 3", "at 2", "finish"]
        );
    }
}
