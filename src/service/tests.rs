use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::{LAG_TICK, lag_probe, remove_old_enrollment_files};

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

/// Old pre-enrollment files go, and their removal is audited with the counts (never a name
/// of a member's file's contents); a pass that finds nothing records nothing.
#[test]
fn old_enrollment_files_are_removed_and_the_removal_audited() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(crate::store::Store::open(&dir.path().join("state")).unwrap());
    let audit = crate::audit::AuditLog::start(
        store.clone(),
        std::sync::Arc::new(crate::clock::SystemClock),
        64,
    );
    let dirs = crate::config::EnrollDirs {
        inbox: dir.path().join("inbox"),
        outbox: dir.path().join("outbox"),
        processed: dir.path().join("processed"),
        failed: dir.path().join("failed"),
    };
    for (folder, name) in [
        (&dirs.inbox, "waiting.csv"),
        (&dirs.processed, "members.csv"),
        (&dirs.outbox, "members.results.csv"),
        (&dirs.outbox, "members.summary.json"),
    ] {
        std::fs::create_dir_all(folder).unwrap();
        std::fs::write(folder.join(name), "member_id\n").unwrap();
    }
    let exported = || {
        let mut out = Vec::new();
        crate::audit::export(&store.begin_read().unwrap(), None, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let now = std::time::SystemTime::now();
    // 30 days kept, 29 gone by: nothing to remove, nothing audited
    remove_old_enrollment_files(&audit, &dirs, 30, now + Duration::from_secs(29 * 86_400));
    assert!(dirs.processed.join("members.csv").exists());
    assert!(!exported().contains("enrollment_files_removed"));
    // 31 days on
    remove_old_enrollment_files(&audit, &dirs, 30, now + Duration::from_secs(31 * 86_400));
    assert!(!dirs.processed.join("members.csv").exists());
    assert!(!dirs.outbox.join("members.results.csv").exists());
    assert!(
        dirs.inbox.join("waiting.csv").exists(),
        "the inbox is never touched"
    );
    let records = exported();
    let line = records
        .lines()
        .find(|l| l.contains("\"enrollment_files_removed\""))
        .unwrap_or_else(|| panic!("{records}"));
    let record: serde_json::Value = serde_json::from_str(line).unwrap();
    let detail = record["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("3 files older than 30 days (enroll.keep_days): ")
            && detail.contains(&format!("{} 1", dirs.processed.display()))
            && detail.contains(&format!("{} 2", dirs.outbox.display())),
        "{detail}"
    );
    assert!(!detail.contains("members.csv"), "{detail}");
}

/// The metrics described to a recorder: name and kind.
#[derive(Default)]
struct Described(std::sync::Mutex<Vec<(String, &'static str)>>);

impl Described {
    fn note(&self, key: metrics::KeyName, kind: &'static str) {
        self.0
            .lock()
            .unwrap()
            .push((key.as_str().to_string(), kind));
    }
}

impl metrics::Recorder for Described {
    fn describe_counter(
        &self,
        key: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
        self.note(key, "counter");
    }
    fn describe_gauge(
        &self,
        key: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
        self.note(key, "gauge");
    }
    fn describe_histogram(
        &self,
        key: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
        self.note(key, "histogram");
    }
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// The alert rules the packages ship, and their promtool tests, name only metrics the
/// service describes, each as the kind it is (a histogram by its `_bucket` series): a
/// metric renamed or dropped would leave an alert that never fires.
#[test]
fn the_shipped_alert_rules_name_only_metrics_the_service_serves() {
    let recorder = Described::default();
    metrics::with_local_recorder(&recorder, super::describe_metrics);
    let described = recorder.0.into_inner().unwrap();
    let kind_of = |name: &str| {
        described
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, kind)| *kind)
    };
    assert_eq!(kind_of("callvault_store_reopens_total"), Some("counter"));
    assert_eq!(kind_of("callvault_core_breaker_open"), Some("gauge"));
    assert_eq!(kind_of("callvault_pin_pool_busy"), Some("gauge"));
    for (file, text) in [
        (
            "callvault-alerts.yml",
            include_str!("../../packaging/prometheus/callvault-alerts.yml"),
        ),
        (
            "callvault-alerts.test.yml",
            include_str!("../../packaging/prometheus/callvault-alerts.test.yml"),
        ),
    ] {
        let named: std::collections::BTreeSet<&str> = text
            .match_indices("callvault_")
            .map(|(at, _)| {
                let rest = &text[at..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect();
        assert!(named.len() >= 12, "{file}: {named:?}");
        for name in named {
            let found = match name.strip_suffix("_bucket") {
                Some(base) => kind_of(base) == Some("histogram"),
                None => kind_of(name).is_some_and(|k| k != "histogram"),
            };
            assert!(
                found,
                "{file} names {name}, which the service does not describe so"
            );
        }
    }
}
