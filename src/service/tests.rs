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

/// What the service describes in `/metrics`: each metric's name and kind.
fn described_metrics() -> Vec<(String, &'static str)> {
    let recorder = Described::default();
    metrics::with_local_recorder(&recorder, super::describe_metrics);
    recorder.0.into_inner().unwrap()
}

/// The `callvault_*` names a text mentions.
fn metric_names(text: &str) -> std::collections::BTreeSet<&str> {
    text.match_indices("callvault_")
        .map(|(at, _)| {
            let rest = &text[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// Whether `name` is a series the service serves: a counter or gauge by its name, a
/// histogram by one of its `_bucket`, `_sum` and `_count` series (never by its bare name).
fn served(described: &[(String, &'static str)], name: &str) -> bool {
    let kind_of = |name: &str| {
        described
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, kind)| *kind)
    };
    let histogram = ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .is_some_and(|base| kind_of(base) == Some("histogram"));
    histogram || kind_of(name).is_some_and(|k| k != "histogram")
}

#[test]
fn served_series_are_a_histogram_by_its_series_and_the_others_by_name() {
    let described = described_metrics();
    let table = [
        ("callvault_store_reopens_total", true),
        ("callvault_core_breaker_open", true),
        ("callvault_pin_pool_busy", true),
        ("callvault_audit_commit_seconds_bucket", true),
        ("callvault_audit_batch_size_sum", true),
        ("callvault_call_dialog_seconds_count", true),
        ("callvault_audit_commit_seconds", false),
        ("callvault_audit_commits_total_count", false),
        ("callvault_calls_started", false),
        ("callvault_no_such_total", false),
    ];
    for (name, expected) in table {
        assert_eq!(served(&described, name), expected, "{name}");
    }
}

/// The alert rules the packages ship, and their promtool tests, name only metrics the
/// service describes, each as the kind it is (a histogram by its `_bucket` series): a
/// metric renamed or dropped would leave an alert that never fires.
#[test]
fn the_shipped_alert_rules_name_only_metrics_the_service_serves() {
    let described = described_metrics();
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
        let named = metric_names(text);
        assert!(named.len() >= 12, "{file}: {named:?}");
        for name in named {
            assert!(
                served(&described, name),
                "{file} names {name}, which the service does not describe so"
            );
        }
    }
}

/// The Grafana dashboard the packages ship: every query names series the service serves
/// (a renamed metric would leave a panel that says "No data" for ever) and follows the
/// dashboard's two variables (the Prometheus picked on import, the instances picked above
/// the panels); every panel says what it shows; panels keep inside the 24 columns and do
/// not overlap. `scripts/check-alerts.sh` has promtool parse each query.
#[test]
fn the_shipped_dashboard_asks_for_served_series_by_its_variables() {
    let described = described_metrics();
    let text = include_str!("../../packaging/grafana/callvault-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(text).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let mut ids = std::collections::BTreeSet::new();
    let mut cells = std::collections::BTreeSet::new();
    let mut queried = std::collections::BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "{title}: id reused"
        );
        let at = &panel["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| at[k].as_u64().unwrap());
        assert!(w > 0 && h > 0 && x + w <= 24, "{title}: {at}");
        for cell in (x..x + w).flat_map(|c| (y..y + h).map(move |r| (c, r))) {
            assert!(
                cells.insert(cell),
                "{title} overlaps another panel at {cell:?}"
            );
        }
        if panel["type"] == "row" {
            continue;
        }
        let described_here = panel["description"].as_str().unwrap_or("");
        assert!(described_here.len() > 40, "{title}: no description");
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{title}");
            let expr = target["expr"].as_str().unwrap();
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{title}: {expr}");
            for name in names {
                assert!(
                    served(&described, name),
                    "{title} asks for {name}, which the service does not serve"
                );
                let selectors = expr.matches(&format!("{name}{{")).count();
                assert!(
                    selectors > 0 && expr.matches("instance=~\"$instance\"").count() >= selectors,
                    "{title}: {name} not narrowed to the instances picked: {expr}"
                );
                queried.insert(name.to_string());
            }
        }
    }
    // the variables the queries use, and the metric the instances are listed from
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(variables, ["datasource", "instance"]);
    let listed = dashboard["templating"]["list"][1]["definition"]
        .as_str()
        .unwrap();
    assert!(
        metric_names(listed)
            .iter()
            .all(|name| served(&described, name)),
        "{listed}"
    );
    // every metric the service describes is on the dashboard, or left off by name here
    // (the store's creation: the backup alert's start while no backup was ever written; the
    // dashboard's figure says "never" then)
    let left_off = [
        "callvault_calls_sweep_rows_read_total",
        "callvault_store_created_timestamp_seconds",
    ];
    for (name, _) in &described {
        let on_a_panel = ["", "_bucket", "_sum", "_count"]
            .iter()
            .any(|suffix| queried.contains(&format!("{name}{suffix}")));
        assert!(
            on_a_panel || left_off.contains(&name.as_str()),
            "{name} is on no panel"
        );
    }
}

/// An alert on a counter's increase fires at its first increment only if Prometheus saw the
/// counter before it: a series that first appears at 1 has not increased. Each counter whose
/// increase an alert rule takes is served, at 0, from the start.
#[test]
fn counters_whose_increase_an_alert_watches_are_served_from_the_start() {
    let recorder = super::recorder_builder().unwrap().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, super::describe_metrics);
    let served = handle.render();
    let rules = include_str!("../../packaging/prometheus/callvault-alerts.yml");
    let watched: std::collections::BTreeSet<&str> = rules
        .match_indices("increase(")
        .map(|(at, found)| {
            let rest = &rules[at + found.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    assert_eq!(
        watched.iter().copied().collect::<Vec<_>>(),
        [
            "callvault_clock_went_back_total",
            "callvault_members_locked_total",
            "callvault_store_reopens_total"
        ]
    );
    for name in watched {
        let at_zero: Vec<&str> = (served.lines())
            .filter(|l| l.starts_with(name) && l.ends_with(" 0"))
            .collect();
        assert!(!at_zero.is_empty(), "{name} is not served at 0: {served}");
    }
    // and each reason a handshake fails for, so the dashboard's refused clients have series
    for reason in super::https::HandshakeFailure::LABELS {
        let line = format!("callvault_tls_handshake_failures_total{{reason=\"{reason}\"}} 0");
        assert!(served.lines().any(|l| l == line), "{line}: {served}");
    }
}
