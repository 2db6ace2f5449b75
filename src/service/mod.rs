//! `callvault serve`: load and check everything, open the store, start the audit committer,
//! serve HTTPS, answer the admin socket, reload on SIGHUP, stop gracefully on SIGTERM.

pub mod https;
pub mod logging;
mod reload;
mod watchdog;

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use actix_web::web;
use arc_swap::ArcSwap;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};

pub use reload::Reloader;

use crate::admin::{self, socket::SocketFile};
use crate::api::{self, AppState};
use crate::audit::{AuditEvent, AuditLog, EventKind, Outcome};
use crate::clock::{Clock, SystemClock};
use crate::config::files::Reader;
use crate::config::{Config, ConfigError};
use crate::store::{Store, StoreError};
use crate::tls::{self, ReloadableCert, TlsError, TlsPaths};
use crate::vault::{self, KeyFileError, Vault, VaultError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {error}")]
    Listen { addr: String, error: std::io::Error },
    #[error("admin socket {path}: {error}")]
    AdminSocket { path: String, error: std::io::Error },
    #[error("metrics: {0}")]
    Metrics(String),
    #[error("the audit log cannot be written: {0}")]
    Audit(String),
    #[error("core adapter: {0}")]
    Core(String),
    #[error("the HTTP server failed: {0}")]
    Server(std::io::Error),
    /// The store's PINs are sealed under a key the vault key file does not hold.
    #[error("{0}")]
    VaultKeyMismatch(String),
}

/// Run the service until SIGTERM or SIGINT. Blocks.
pub fn serve(config_path: &Path, config: Config) -> Result<(), ServiceError> {
    without_huge_pages();
    match raise_open_files_limit() {
        Ok(limit) if limit < FEW_OPEN_FILES => tracing::warn!(
            limit,
            "this process may open only {limit} files, and each connection takes one: about \
             that many clients (IVR channels, agents' browsers) can be connected at once; \
             raise LimitNOFILE= (systemctl edit callvault) or the hard `ulimit -n`"
        ),
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
    }
    actix_web::rt::System::new().block_on(run(config_path, config))
}

/// Below this many open files, the service warns at start: a contact center's agents'
/// browsers keep several connections each, besides the IVR's.
pub const FEW_OPEN_FILES: u64 = 4096;

/// The soft limit on open files raised to the hard one, which it returns. systemd starts
/// services with 1024 soft (for old programs' `select`) and 524288 hard, and leaves raising
/// the soft limit to programs that need more: each connection is a file, and at 1024 about
/// 1,000 idle keep-alive connections (agents' browsers keep up to six each) kept every new
/// one, the IVR's too, from being accepted, while the inbox and backups could open no file.
pub fn raise_open_files_limit() -> Result<u64, rustix::io::Errno> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        )?;
    }
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}

/// Transparent huge pages off for the service's process, as database servers advise. With the
/// kernel's `transparent_hugepage/enabled` at `always` (the default of Debian's and RHEL's
/// kernels), the first touch of each fresh 2 MiB of heap zeroes all of it at once. redb
/// allocates its pages on the one writer's thread, and it did that while holding locks every
/// reader needs, so each such fault stopped every IVR step for as long as it took: 10 to 30
/// ms in the load script's runs (BENCHMARKS.md, "Huge pages"). With 4 KiB pages the same
/// memory is faulted in small steps.
fn without_huge_pages() {
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::warn!(error = %e, "cannot turn transparent huge pages off for this process");
    }
}

/// The Prometheus recorder as the service configures it: each histogram's buckets.
pub(crate) fn recorder_builder()
-> Result<PrometheusBuilder, metrics_exporter_prometheus::BuildError> {
    let latency: &[f64] = &[
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ];
    let buckets: [(&str, &[f64]); 8] = [
        ("callvault_http_request_duration_seconds", latency),
        (crate::core::live::SECONDS, latency),
        (crate::notify::SEND_SECONDS, latency),
        ("callvault_audit_commit_seconds", latency),
        ("callvault_calls_sweep_seconds", latency),
        ("callvault_worker_lag_seconds", latency),
        (
            "callvault_audit_batch_size",
            &[
                1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0, 4096.0,
            ],
        ),
        // a call's time in the IVR, from its start to its ending
        (
            "callvault_call_dialog_seconds",
            &[
                1.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
            ],
        ),
    ];
    buckets
        .into_iter()
        .try_fold(PrometheusBuilder::new(), |builder, (name, bounds)| {
            builder.set_buckets_for_metric(Matcher::Full(name.into()), bounds)
        })
}

/// The process-wide Prometheus recorder (installed once).
pub fn metrics_handle() -> Result<PrometheusHandle, ServiceError> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = recorder_builder()
        .and_then(|b| b.install_recorder())
        .map_err(|e| ServiceError::Metrics(e.to_string()))?;
    describe_metrics();
    metrics::gauge!("callvault_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Describe every metric the service serves (`# HELP`), to the recorder in use. The alert
/// rules the packages ship (`packaging/prometheus/`) name only metrics described here.
pub(crate) fn describe_metrics() {
    metrics::describe_counter!(
        "callvault_http_requests_total",
        "HTTP requests by route, method and status"
    );
    metrics::describe_histogram!(
        "callvault_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route"
    );
    metrics::describe_counter!(
        "callvault_audit_commits_total",
        "audit group commits (one fsync each)"
    );
    metrics::describe_counter!("callvault_audit_events_total", "audit events made durable");
    metrics::describe_counter!(
        crate::audit::CLOCK_WENT_BACK,
        "audit commits dated more than a second before the record before them: the system \
         clock went back (an NTP step, a clock set by hand, a snapshot restored)"
    );
    metrics::describe_histogram!("callvault_audit_batch_size", "events per audit commit");
    metrics::describe_histogram!(
        "callvault_audit_commit_seconds",
        metrics::Unit::Seconds,
        "time of one group commit: its jobs applied, its events appended, the fsync"
    );
    metrics::describe_histogram!(
        "callvault_calls_sweep_seconds",
        metrics::Unit::Seconds,
        "time of one sweep of the calls (close idle ones, delete old ones)"
    );
    metrics::describe_histogram!(
        "callvault_worker_lag_seconds",
        metrics::Unit::Seconds,
        "how late each HTTPS worker ran a 10 ms timer: a blocked or starved worker delays \
         every request it holds, also outside the time callvault_http_request_duration_seconds \
         measures"
    );
    metrics::describe_counter!(
        "callvault_inputs_repeated_total",
        "inputs sent again with the step of an input already taken, answered with the current STEP"
    );
    metrics::describe_counter!(
        "callvault_calls_sweep_rows_read_total",
        "stored calls the sweeps read: all of them at the first sweep after a start, then only \
         those started before calls.keep_hours"
    );
    metrics::describe_gauge!(
        "callvault_store_free_bytes",
        metrics::Unit::Bytes,
        "free space on the disk holding the store; /readyz answers 503 below \
         storage.min_free_mb"
    );
    metrics::describe_gauge!(
        "callvault_backup_last_success_timestamp_seconds",
        metrics::Unit::Seconds,
        "when the last backup of the store was written (db backup, by the nightly timer or by \
         hand), as a Unix time; absent until the first"
    );
    metrics::describe_gauge!(
        "callvault_store_created_timestamp_seconds",
        metrics::Unit::Seconds,
        "when the store was created (callvault init, or a first start), as a Unix time: the \
         backup alert counts from it while no backup was ever written"
    );
    metrics::describe_gauge!(
        "callvault_tls_certificate_expiry_timestamp_seconds",
        metrics::Unit::Seconds,
        "when the served TLS certificate ends (notAfter), as a Unix time"
    );
    metrics::describe_counter!(
        "callvault_auth_failures_total",
        "requests refused for their API key, by reason"
    );
    metrics::describe_counter!(
        "callvault_plain_http_refused_total",
        "plain HTTP requests sent to the HTTPS port, answered 400 https_required"
    );
    metrics::describe_counter!(
        "callvault_tls_handshake_failures_total",
        "TLS handshakes that failed, by reason: incompatible (no version, cipher suite or \
         protocol in common), certificate_refused (the client refused callvault's certificate), \
         client_certificate (one server.client_ca does not admit), timeout, other"
    );
    metrics::describe_counter!(
        "callvault_steps_total",
        "STEP answers sent to IVRs (call starts, inputs, GET .../step), by their status"
    );
    crate::calls::describe_metrics();
    crate::core::live::describe_metrics();
    crate::notify::describe_metrics();
    metrics::describe_gauge!(
        crate::vault::pool::POOL_BUSY,
        "PIN vault jobs (bcrypt checks and hashes, vault writes) queued or running on its pool"
    );
    metrics::describe_counter!(
        crate::store::REOPENS,
        "times the store was reopened after writes to it failed (a full or read-only disk, \
         an I/O error)"
    );
    metrics::describe_gauge!(
        "callvault_build_info",
        "always 1; its version label says which callvault is running"
    );
    // Counters of rare events are served at 0 from the start: Prometheus takes a series
    // that first appears at 1 for one that has not increased, so an alert on a single store
    // reopen or clock step would miss the first (`increase(...) > 0`).
    for rare in [
        crate::store::REOPENS,
        crate::audit::CLOCK_WENT_BACK,
        "callvault_plain_http_refused_total",
        "callvault_inputs_repeated_total",
    ] {
        metrics::counter!(rare).increment(0);
    }
    for reason in ["unauthorized", "forbidden", "certificate"] {
        metrics::counter!("callvault_auth_failures_total", "reason" => reason).increment(0);
    }
    for reason in https::HandshakeFailure::LABELS {
        metrics::counter!("callvault_tls_handshake_failures_total", "reason" => reason)
            .increment(0);
    }
}

async fn run(config_path: &Path, config: Config) -> Result<(), ServiceError> {
    // the key file's permissions are checked before anything else is touched
    vault::load_key_file(&config.vault.key_file)?;
    let tls_paths = TlsPaths::from_config(&config);
    let cert = ReloadableCert::new(tls::load(&tls_paths)?);
    tls::report_validity(&tls_paths.cert, cert.validity(), chrono::Utc::now());
    if let Some(warning) = crate::config::exposure(config_path) {
        tracing::warn!("{warning}");
    }
    for caution in config.cautions() {
        tracing::warn!("{caution}");
    }
    for line in crate::outbound::proxied(&config) {
        tracing::info!("{line}");
    }
    for unread in crate::config::unread_env_vars(std::env::vars_os().map(|(name, _)| name)) {
        tracing::warn!("{unread}");
    }
    let clients = tls::ReloadableClients::new(tls::client_verifier(&config)?);
    let mut server_config = tls::server_config(cert.clone(), clients.clone())?;
    server_config.session_storage = clients.sessions();
    let store = Arc::new(Store::open(&config.storage.state_dir)?);
    let vault = Arc::new(Vault::open(
        store.clone(),
        &config.vault.key_file,
        config.vault.pin_threads,
    )?);
    if let Some(found) = vault::lost::unloaded_key_in_use(&vault)? {
        return Err(ServiceError::VaultKeyMismatch(
            vault::lost::mismatch_message(&found, &vault),
        ));
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let audit = AuditLog::start(store.clone(), clock.clone(), config.audit.max_batch);
    let metrics = metrics_handle()?;

    let addr = config.listen_addr()?;
    let listener = TcpListener::bind(addr).map_err(|error| ServiceError::Listen {
        addr: addr.to_string(),
        error,
    })?;
    // the port the system gave, when `server.listen` asks for port 0
    let addr = listener.local_addr().unwrap_or(addr);
    let live = Arc::new(ArcSwap::from_pointee(config.clone()));
    let live_core = Arc::new(
        crate::core::LiveCore::new(&config, store.clone())
            .map_err(|e| ServiceError::Core(e.to_string()))?,
    );
    // what is left once the files the service needs to start have loaded: the CA files and
    // client certificates of the code channels, read only when a code is sent
    for problem in
        crate::config::files::check_files(&config, chrono::Utc::now(), Reader::Service).problems
    {
        tracing::warn!("{problem}");
    }
    let reloader = Arc::new(Reloader::new(
        config_path.to_path_buf(),
        live.clone(),
        cert,
        clients.clone(),
        live_core.clone(),
        audit.clone(),
    ));
    let core: Arc<dyn crate::core::CoreAdapter> = live_core;
    let calls = Arc::new(crate::calls::CallService::new(
        store.clone(),
        audit.clone(),
        core.clone(),
        vault.clone(),
        clock.clone(),
        live.clone(),
    )?);
    let keys = Arc::new(crate::keys::KeyRing::new());
    let state = web::Data::new(AppState {
        store: store.clone(),
        audit: audit.clone(),
        clock: clock.clone(),
        calls: calls.clone(),
        core,
        config: live.clone(),
        reloader: reloader.clone(),
        metrics,
        vault: vault.clone(),
        keys: keys.clone(),
        clients: clients.clone(),
    });
    let workers = match config.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let settings = https::Settings {
        workers,
        keep_alive: match config.server.keep_alive_seconds {
            0 => actix_http::KeepAlive::Disabled,
            s => actix_http::KeepAlive::Timeout(std::time::Duration::from_secs(s)),
        },
        shutdown_timeout_seconds: config.server.shutdown_timeout_seconds,
        certificate: crate::tls::TlsPaths::from_config(&config).cert.into(),
    };
    let heartbeats = Arc::new(watchdog::Heartbeats::default());
    let server = https::server(
        listener,
        server_config,
        settings,
        {
            let clients = clients.clone();
            Arc::new(move |conn, data| api::auth::keep_handshake(&clients, conn, data))
        },
        {
            let heartbeats = heartbeats.clone();
            move || {
                // called once on each worker's thread, inside its event loop
                actix_web::rt::spawn(worker_lag_probe(heartbeats.join()));
                api::app(state.clone())
            }
        },
    )
    .map_err(ServiceError::Server)?;
    let handle = server.handle();

    let socket_path = config.admin_socket_path();
    let socket_err = |error| ServiceError::AdminSocket {
        path: socket_path.display().to_string(),
        error,
    };
    let listener = admin::socket::bind(&socket_path).map_err(socket_err)?;
    let _socket_file = SocketFile(socket_path.clone());
    let socket_task = actix_web::rt::spawn(admin::socket::serve(
        listener,
        admin::Context {
            store: store.clone(),
            audit: audit.clone(),
            clock: clock.clone(),
            config: live.clone(),
            vault: Ok(vault.clone()),
            terminal: false,
            client_gone: Default::default(),
            keys: Some(keys.clone()),
        },
    ));
    let inbox_task = actix_web::rt::spawn(watch_inbox(store.clone(), audit.clone(), live.clone()));
    let upgrade_task = actix_web::rt::spawn(upgrade_sealed_pins(vault.clone(), live.clone()));
    let calls_stopping = calls.clone();
    let sweep_task = actix_web::rt::spawn(sweep_calls(calls));
    let cert_task = actix_web::rt::spawn(remind_of_certificate(reloader.clone(), live.clone()));
    let head_task = actix_web::rt::spawn(audit_head_to_journal(store.clone()));
    let key_use_task = actix_web::rt::spawn(write_key_use(keys.clone(), store.clone()));

    audit
        .record(
            AuditEvent::new("system", EventKind::ServiceStarted, Outcome::Ok).detail(format!(
                "version {} listening on {addr}",
                env!("CARGO_PKG_VERSION")
            )),
        )
        .await
        .map_err(|e| ServiceError::Audit(e.to_string()))?;
    tracing::info!(%addr, workers, vault_key = %vault.key_id(), "callvault is serving");
    let _ = sd_notify::notify(false, &[NotifyState::Ready]);
    let watchdog_task = watchdog::period_from_env()
        .map(|period| actix_web::rt::spawn(watchdog::keep(heartbeats, period)));

    let signals = actix_web::rt::spawn(signal_loop(
        handle,
        reloader,
        watchdog_task.as_ref().map(|task| task.abort_handle()),
    ));
    let served = server.await;
    calls_stopping.stop_scans();
    signals.abort();
    socket_task.abort();
    inbox_task.abort();
    upgrade_task.abort();
    sweep_task.abort();
    cert_task.abort();
    head_task.abort();
    key_use_task.abort();
    if let Some(task) = watchdog_task {
        task.abort();
    }
    // An inbox run or a command through the admin socket may be under way on a thread of
    // its own: an enrollment ends at its next transaction (its file stays in the inbox),
    // other commands finish. Nothing is written after the record that says the service
    // stopped.
    let waiting = store.clone();
    let ended = tokio::task::spawn_blocking(move || waiting.wait_for_work(WORK_ON_STOP))
        .await
        .unwrap_or(false);
    if !ended {
        tracing::warn!(
            waited_s = WORK_ON_STOP.as_secs(),
            "work on the store is still under way; stopping without it"
        );
    }
    // the last uses of the API keys, for `key list` after the stop
    let writing = store.clone();
    let _ = tokio::task::spawn_blocking(move || keys.write_use_or_log(&writing)).await;
    let _ = audit
        .record(AuditEvent::new(
            "system",
            EventKind::ServiceStopped,
            Outcome::Ok,
        ))
        .await;
    log_audit_head(&store);
    tracing::info!("callvault stopped");
    served.map_err(ServiceError::Server)
}

/// How long a stop waits for an inbox run or an admin command under way: within systemd's
/// `TimeoutStopSec=30` with the HTTPS port's own `server.shutdown_timeout_seconds` before it.
const WORK_ON_STOP: std::time::Duration = std::time::Duration::from_secs(15);

/// A service can run for longer than its certificate: every six hours, say again in the log
/// if the certificate ends within `tls::EXPIRY_WARNING_DAYS` or has ended. (`/readyz` and
/// `callvault_tls_certificate_expiry_timestamp_seconds` say it to monitoring.)
async fn remind_of_certificate(reloader: Arc<Reloader>, config: Arc<ArcSwap<Config>>) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);
    loop {
        tokio::time::sleep(EVERY).await;
        let validity = reloader.cert_validity();
        let now = chrono::Utc::now();
        if validity.is_some_and(|v| v.status(now).needs_attention()) {
            tls::report_validity(&TlsPaths::from_config(&config.load()).cert, validity, now);
        }
    }
}

/// The audit chain's head in the log (the journal, which is kept apart from the store and
/// often forwarded off the machine) at start, every hour, and at stop: anchors for
/// `callvault audit verify --anchor SEQ:HASH`, which find a chain rewritten since.
async fn audit_head_to_journal(store: Arc<Store>) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
    loop {
        let store = store.clone();
        let _ = actix_web::rt::task::spawn_blocking(move || log_audit_head(&store)).await;
        tokio::time::sleep(EVERY).await;
    }
}

fn log_audit_head(store: &Store) {
    let head = store
        .begin_read()
        .and_then(|txn| crate::audit::anchor::head(&txn));
    match head {
        Ok(Some(head)) => tracing::info!(anchor = %head, "audit head"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the audit head"),
    }
}

/// Give imported (sealed) PINs their bcrypt hash in the background, in hashed mode, while
/// the PIN pool has nothing else to do.
async fn upgrade_sealed_pins(vault: Arc<Vault>, config: Arc<ArcSwap<Config>>) {
    let mut cursor = None;
    loop {
        let settings = vault::Settings::from_config(&config.load());
        match vault.upgrade_sealed(cursor.take(), 64, &settings).await {
            Ok((done, next)) => {
                if done > 0 {
                    tracing::debug!(done, "sealed PINs given their bcrypt hash");
                }
                cursor = next;
            }
            Err(e) => tracing::warn!("upgrading sealed PINs: {e}"),
        }
        if cursor.is_none() {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    }
}

/// The timer the lag probe sets, over and over.
const LAG_TICK: std::time::Duration = std::time::Duration::from_millis(10);

/// How late this HTTPS worker's event loop runs a [`LAG_TICK`] timer, recorded in
/// `callvault_worker_lag_seconds`. A worker that is blocked (a long synchronous call, a
/// lock) or starved of CPU delays every request it holds, including their reading and
/// writing, which the request-duration metric does not time: an IVR's p99 can then be far
/// above the service's own figures, and this tells where the time went. Each timer that
/// runs is also the worker's `beat` for systemd's watchdog ([`watchdog`]).
async fn worker_lag_probe(beat: watchdog::Beat) {
    lag_probe(|late| {
        metrics::histogram!("callvault_worker_lag_seconds").record(late.as_secs_f64());
        beat.now();
    })
    .await
}

/// Set a [`LAG_TICK`] timer over and over on the current event loop; give `record` how late
/// each one ran.
async fn lag_probe(record: impl Fn(std::time::Duration)) {
    loop {
        let began = std::time::Instant::now();
        tokio::time::sleep(LAG_TICK).await;
        record(began.elapsed().saturating_sub(LAG_TICK));
    }
}

/// Write down when each API key was last used, once a minute (and, apart from this, before
/// keys are listed and as the service stops): `key list` shows it.
async fn write_key_use(keys: Arc<crate::keys::KeyRing>, store: Arc<Store>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        let (keys, store) = (keys.clone(), store.clone());
        let _ = tokio::task::spawn_blocking(move || keys.write_use_or_log(&store)).await;
    }
}

/// Close idle calls and delete old ones, once a minute.
async fn sweep_calls(calls: Arc<crate::calls::CallService>) {
    loop {
        match calls.sweep().await {
            Ok(s) if s != crate::calls::Swept::default() => {
                tracing::info!(
                    expired = s.expired,
                    deleted = s.deleted,
                    intents_deleted = s.intents_deleted,
                    challenges_deleted = s.challenges_deleted,
                    "calls swept"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("sweeping calls: {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
}

/// Reload on SIGHUP; on SIGTERM or SIGINT, stop the watchdog's pings (systemd no longer
/// watches a service that is stopping) and the server, gracefully.
async fn signal_loop(
    handle: actix_web::dev::ServerHandle,
    reloader: Arc<Reloader>,
    watchdog: Option<tokio::task::AbortHandle>,
) {
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the service with SIGKILL");
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let _ = sd_notify::notify(false, &[NotifyState::Reloading]);
                let r = reloader.clone();
                let _ = tokio::task::spawn_blocking(move || r.reload("signal:SIGHUP")).await;
                let _ = sd_notify::notify(false, &[NotifyState::Ready]);
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("stopping: finishing requests in flight");
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    let _ = sd_notify::notify(false, &[NotifyState::Stopping]);
    handle.stop(true).await;
}

/// Poll the inbox and enroll what settles there, one file at a time, off the async workers.
async fn watch_inbox(store: Arc<Store>, audit: AuditLog, config: Arc<ArcSwap<Config>>) {
    let mut retries = crate::enroll::inbox::Retries::default();
    let mut last_cleanup: Option<std::time::Instant> = None;
    loop {
        let current = config.load_full();
        let poll = std::time::Duration::from_secs(current.enroll.poll_seconds.max(1));
        tokio::time::sleep(poll).await;
        let (store, audit) = (store.clone(), audit.clone());
        let dirs = current.enroll_dirs();
        let options =
            crate::enroll::Options::from_config(&current, crate::enroll::Mode::Incremental, false);
        let settle = std::time::Duration::from_secs(current.enroll.settle_seconds);
        let keep_days = current.enroll.keep_days;
        let now = std::time::Instant::now();
        let cleanup = crate::enroll::retention::due(keep_days, last_cleanup, now);
        if cleanup {
            last_cleanup = Some(now);
        }
        // counted from here, so that a stop waits for a run already handed to its thread
        let work = store.work();
        let handled = tokio::task::spawn_blocking(move || {
            let _work = work;
            crate::enroll::inbox::process_ready(
                &store,
                &audit,
                &dirs,
                &options,
                settle,
                &mut retries,
            );
            if cleanup {
                remove_old_enrollment_files(&audit, &dirs, keep_days, std::time::SystemTime::now());
            }
            retries
        })
        .await;
        match handled {
            Ok(r) => retries = r,
            Err(e) => {
                tracing::error!(error = %e, "inbox task failed");
                retries = crate::enroll::inbox::Retries::default();
            }
        }
    }
}

/// Remove pre-enrollment files older than `keep_days` ([`crate::enroll::retention`]), and
/// audit what went.
fn remove_old_enrollment_files(
    audit: &AuditLog,
    dirs: &crate::config::EnrollDirs,
    keep_days: u32,
    now: std::time::SystemTime,
) {
    let keep = std::time::Duration::from_secs(u64::from(keep_days) * 86_400);
    let removed = crate::enroll::retention::remove_old_files(dirs, keep, now);
    for failure in &removed.failures {
        tracing::warn!(error = %failure, "cannot remove an old pre-enrollment file");
    }
    if removed.total() == 0 {
        return;
    }
    let detail = format!(
        "{} files older than {keep_days} days (enroll.keep_days): {}",
        removed.total(),
        removed.describe()
    );
    tracing::info!(
        files = removed.total(),
        "old pre-enrollment files removed: {detail}"
    );
    let event =
        AuditEvent::new("system", EventKind::EnrollmentFilesRemoved, Outcome::Ok).detail(detail);
    if let Err(e) = audit.record_blocking(event) {
        tracing::error!(error = %e, "cannot audit the removal of old pre-enrollment files");
    }
}

#[cfg(test)]
mod tests;
