//! Runs the real `callvault` binary: `init`, then `serve` on a free port over real TLS.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_callvault");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A stand-in core gateway (HTTP/1.1 on a free port): a request whose request line holds a
/// route's key gets that route's body (the first that matches), any other `[]`. Its address.
pub fn stand_in_gateway(routes: Vec<(&'static str, &'static str)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            answer(stream, &routes);
        }
    });
    addr
}

/// [`stand_in_gateway`] over TLS, with a certificate for 127.0.0.1 of its own (self-signed:
/// it is its own CA). Its address, and the certificate's PEM for the client to trust.
pub fn stand_in_tls_gateway(routes: Vec<(&'static str, &'static str)>) -> (String, String) {
    stand_in_mtls_gateway(routes, None)
}

/// [`stand_in_tls_gateway`], asking every client for a certificate issued by `client_ca`
/// (DER) when given one, and refusing the connection of a client without one.
pub fn stand_in_mtls_gateway(
    routes: Vec<(&'static str, &'static str)>,
    client_ca: Option<rustls_pki_types::CertificateDer<'static>>,
) -> (String, String) {
    let (config, pem) = tls_server(client_ca);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { continue };
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            // a client that refuses the certificate ends the handshake: the next one
            answer(rustls::StreamOwned::new(conn, tcp), &routes);
        }
    });
    (addr, pem)
}

/// A stand-in server's TLS settings: a certificate for 127.0.0.1 of its own (self-signed: it
/// is its own CA), asking every client for a certificate issued by `client_ca` (DER) when
/// given one. The settings, and the certificate's PEM for a client to trust.
pub fn tls_server(
    client_ca: Option<rustls_pki_types::CertificateDer<'static>>,
) -> (Arc<rustls::ServerConfig>, String) {
    let pair = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(pair.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(vec![pair.cert.der().clone()], key)
        .unwrap();
    (Arc::new(config), pair.cert.pem())
}

/// Read one request from `stream` and answer it from `routes` ([`stand_in_gateway`]).
fn answer(mut stream: impl std::io::Read + std::io::Write, routes: &[(&str, &str)]) {
    let mut request = String::new();
    let mut header = String::new();
    {
        let mut reader = BufReader::new(&mut stream);
        if reader.read_line(&mut request).is_err() {
            return;
        }
        while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
            header.clear();
        }
    }
    let body = routes
        .iter()
        .find(|(key, _)| request.contains(key))
        .map_or("[]", |(_, body)| body);
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

pub struct Instance {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub port: u16,
    pub admin: String,
    /// More environment variables for `serve` (which need not be UTF-8).
    pub serve_env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    /// `RUST_LOG` for `serve`: `trace` (more than a site would ever log: every crate,
    /// rustls, actix, reqwest and the `log` records tracing takes in, at its most), so
    /// that `assert_never_written` covers every level; or none, so that `log.level`
    /// decides.
    pub rust_log: Option<&'static str>,
    /// The user (and group) id `serve` runs as, as the packages run it as `callvault`; none:
    /// the test's own.
    pub serve_as: Option<u32>,
    /// The soft limit on open files `serve` starts with (systemd gives 1024); none: the
    /// test's own.
    pub serve_open_files: Option<u64>,
    /// With `serve_open_files`, the hard limit too (none: the test's own).
    pub serve_open_files_hard: Option<u64>,
    child: Option<Child>,
    /// Everything the service wrote to stderr, over every start.
    log: Arc<Mutex<String>>,
}

/// `callvault` with none of the test runner's own `CALLVAULT...` variables, which would
/// change the configuration the tests write.
fn callvault() -> Command {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CALLVAULT") {
            command.env_remove(name);
        }
    }
    command
}

impl Instance {
    /// A fresh config and `callvault init`; not yet serving.
    pub fn init() -> Instance {
        Instance::init_with("")
    }

    /// As [`Instance::init`], with more configuration sections appended.
    pub fn init_with(sections: &str) -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("callvault.toml");
        let keep_days = !sections.contains("[enroll]");
        let body = format!("{}{sections}", base_config(dir.path(), port, "", keep_days));
        std::fs::write(&config, body).unwrap();
        let mut instance = Instance {
            dir,
            config,
            port,
            admin: String::new(),
            serve_env: Vec::new(),
            serve_as: None,
            serve_open_files: None,
            serve_open_files_hard: None,
            rust_log: Some("trace"),
            child: None,
            log: Arc::new(Mutex::new(String::new())),
        };
        let out = instance.cli(&["init"]);
        assert!(out.status.success(), "init failed: {}", text(&out.stderr));
        instance.admin = text(&out.stdout).trim().to_string();
        assert!(
            instance.admin.starts_with("cvk_"),
            "init printed {:?}",
            instance.admin
        );
        instance
    }

    pub fn started() -> Instance {
        let mut i = Instance::init();
        i.start();
        i
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn ca(&self) -> PathBuf {
        self.path("etc/tls.crt")
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_env(args, &[])
    }

    /// The CLI with extra environment variables.
    pub fn cli_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.cli_os_env(args, env.iter().map(|(k, v)| (k.into(), v.into())))
    }

    /// The CLI with extra environment variables, which need not be UTF-8. Whatever
    /// `CALLVAULT...` variables the test runner has are left out.
    pub fn cli_os_env(
        &self,
        args: &[&str],
        env: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    ) -> Output {
        self.cli_command(args).envs(env).output().unwrap()
    }

    /// The CLI as a command to spawn, with this instance's config and a clean environment:
    /// on a clock in UTC (`TZ`), which reads the times given without an offset (`audit
    /// export --since 2026-12-01`), whatever the test machine's zone (`cli_env` may name
    /// another).
    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut command = callvault();
        command
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("RUST_LOG")
            .env("TZ", "UTC");
        command
    }

    pub fn spawn_serve(&self) -> Child {
        let mut serve = callvault();
        serve
            .arg("--config")
            .arg(&self.config)
            .arg("serve")
            .envs(self.serve_env.iter().cloned());
        if let Some(id) = self.serve_as {
            std::os::unix::process::CommandExt::uid(&mut serve, id);
            std::os::unix::process::CommandExt::gid(&mut serve, id);
        }
        if let Some(soft) = self.serve_open_files {
            let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
            let limit = rustix::process::Rlimit {
                current: Some(soft),
                maximum: self.serve_open_files_hard.or(hard),
            };
            // SAFETY: between fork and exec only setrlimit is called, which is
            // async-signal-safe, with a value made before the fork.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut serve, move || {
                    rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                        .map_err(std::io::Error::from)
                });
            }
        }
        match self.rust_log {
            Some(filter) => serve.env("RUST_LOG", filter),
            None => serve.env_remove("RUST_LOG"),
        };
        serve
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Serve and wait until `/livez` answers.
    pub fn start(&mut self) {
        self.start_with(self.client());
    }

    /// Start serving, and wait until `client` gets an answer from `/livez`.
    pub fn start_with(&mut self, client: reqwest::blocking::Client) {
        let mut child = self.spawn_serve();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(e) = child.stderr.take() {
                    for line in BufReader::new(e).lines().map_while(Result::ok) {
                        err.push_str(&line);
                        err.push('\n');
                    }
                }
                panic!("serve exited with {status}: {err}");
            }
            if client.get(self.url("/livez")).send().is_ok() {
                break;
            }
            if Instant::now() >= deadline {
                // not left running after the failed test
                let _ = child.kill();
                let _ = child.wait();
                panic!("serve did not come up");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Keep stderr (and so never block the service on a full pipe).
        if let Some(err) = child.stderr.take() {
            let log = self.log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        self.child = Some(child);
    }

    /// The service's log so far (written at debug level for every crate).
    pub fn service_log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The service's log once it holds `needle`, or as it is after 10 s: it is read by a
    /// thread that starts only once `/livez` answers, so lines from the start-up may not be
    /// in it yet.
    pub fn service_log_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.service_log();
            if log.contains(needle) || Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Neither the audit log nor the service's log holds any of `secrets`. Each text line's
    /// time stamp is left out, and only secrets of six characters or more belong here, so that
    /// none turns up by chance among the counts.
    pub fn assert_never_written(&self, secrets: &[&str]) {
        // the service's log is read by a thread: let it catch up with the last request
        std::thread::sleep(Duration::from_millis(100));
        let log: String = self
            .service_log()
            .lines()
            // a text line's time stamp is its first word; a JSON line's, a field
            .map(|l| match l.starts_with('{') {
                true => l,
                false => l.split_once(' ').map_or(l, |(_, rest)| rest),
            })
            .flat_map(|l| [l, "\n"])
            .collect();
        assert!(
            log.contains("callvault is serving"),
            "no service log captured: {log}"
        );
        let audit = self.audit_events();
        for secret in secrets {
            assert!(secret.len() >= 6, "{secret:?} is too short to look for");
            assert!(!audit.contains(secret), "{secret} in the audit log");
            let line = log.lines().find(|l| l.contains(secret));
            assert!(line.is_none(), "{secret} in the service log: {line:?}");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// A client that trusts only this instance's certificate.
    pub fn client(&self) -> reqwest::blocking::Client {
        client_trusting(&self.ca())
    }

    /// The serving process's id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("serving").id()
    }

    pub fn signal(&self, sig: i32) {
        assert_eq!(unsafe { libc::kill(self.pid() as i32, sig) }, 0);
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// SIGTERM and wait for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, as a crash or a power cut would stop it, and reap it.
    pub fn kill(&mut self) -> ExitStatus {
        self.signal(libc::SIGKILL);
        self.child.take().unwrap().wait().unwrap()
    }

    pub fn write_config(&self, extra: &str) {
        std::fs::write(&self.config, config_text(self.dir.path(), self.port, extra)).unwrap();
    }

    /// The audit log as exported by the CLI. Reads with its own copy of the config, so a
    /// test may break the service's file.
    pub fn audit_export(&self) -> String {
        let cli_config = self.path("cli.toml");
        std::fs::write(&cli_config, config_text(self.dir.path(), self.port, "")).unwrap();
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&cli_config)
            .args(["audit", "export"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    }
}

impl Instance {
    /// The audit log's events without their chain hashes, times and sequence numbers:
    /// what to search for leaked digits (a 4-digit PIN turns up in hex hashes by chance).
    pub fn audit_events(&self) -> String {
        self.audit_export()
            .lines()
            .map(|l| {
                let mut record: serde_json::Value = serde_json::from_str(l).unwrap();
                let fields = record.as_object_mut().unwrap();
                for chain in ["hash", "prev_hash", "time", "seq"] {
                    fields.remove(chain);
                }
                record.to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `/metrics` as served.
    pub fn metrics_text(&self) -> String {
        self.client()
            .get(self.url("/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    }

    /// The sum of the series in `/metrics` named `name` whose labels include every one of
    /// `labels` (0 when there is none).
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        metric_in(&self.metrics_text(), name, labels)
    }
}

/// [`Instance::metric`] in a `/metrics` text fetched some other way (by a client with a
/// certificate the instance requires).
pub fn metric_in(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let rest = series.strip_prefix(name)?;
            let inside = match rest {
                "" => "",
                _ => rest.strip_prefix('{')?.strip_suffix('}')?,
            };
            labels
                .iter()
                .all(|(k, v)| inside.split(',').any(|kv| kv == format!("{k}=\"{v}\"")))
                .then(|| value.parse::<f64>().unwrap())
        })
        .fold(0.0, |sum, v| sum + v)
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn config_text(dir: &Path, port: u16, extra: &str) -> String {
    base_config(dir, port, extra, !extra.contains("[enroll]"))
}

/// The test config, with `extra` inside; `keep_days`: a number of days for
/// `enroll.keep_days`, as the installed file has, so that config check and the service warn
/// of nothing a test did not ask for.
fn base_config(dir: &Path, port: u16, extra: &str, keep_days: bool) -> String {
    let enroll = match keep_days {
        true => "[enroll]\nkeep_days = 90\n",
        false => "",
    };
    format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n{extra}\n[storage]\nstate_dir = \"{}\"\n[vault]\nkey_file = \"{}\"\n[log]\nlevel = \"info\"\n{enroll}",
        dir.join("state").display(),
        dir.join("etc/vault.key").display()
    )
}

pub fn client_trusting(ca: &Path) -> reqwest::blocking::Client {
    client_builder(ca).build().unwrap()
}

/// A client that trusts only `ca`, for more settings.
pub fn client_builder(ca: &Path) -> reqwest::blocking::ClientBuilder {
    let pem = std::fs::read(ca).unwrap();
    reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(10))
}

/// Whether `text` holds `secret` as a word of its own: not inside a longer run of letters
/// and digits, where a short PIN turns up by chance (a key's random hex id, a hash).
pub fn holds_secret(text: &str, secret: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(secret).any(|(at, _)| {
        !word(text[..at].chars().next_back()) && !word(text[at + secret.len()..].chars().next())
    })
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_secret_is_found_as_a_word_of_its_own_only() {
    for (text, held) in [
        ("digits=2749 ok", true),
        ("{\"pin\":\"2749\"}", true),
        ("2749", true),
        ("id=5ff12749a2e5", false),
        ("hash 27491", false),
        ("x2749", false),
        ("27 49", false),
    ] {
        assert_eq!(holds_secret(text, "2749"), held, "{text}");
    }
}
