//! `callvault.toml`: loading (file, then `CALLVAULT__SECTION__KEY` environment overrides),
//! unknown-key detection, and one `validate()` that reports every problem with its key path.

pub mod files;
mod known;
mod notify;
mod secret;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::enroll::progress::counted;

pub use notify::{BodyEncoding, EmailConfig, NotifyConfig, PushConfig, SmsConfig, SmtpSecurity};
pub use secret::Secret;

/// Where the packaged service looks for its configuration.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/callvault/callvault.toml";
/// Environment overrides are `CALLVAULT__SECTION__KEY` (double underscores).
pub const ENV_PREFIX: &str = "CALLVAULT";
const ENV_SEPARATOR: &str = "__";

/// The whole configuration. Every key is documented in `config.example.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub vault: VaultConfig,
    pub core: CoreConfig,
    pub pin_policy: PinPolicyConfig,
    pub pin_change: PinChangeConfig,
    pub lockout: LockoutConfig,
    pub otp: OtpConfig,
    pub notify: NotifyConfig,
    pub enroll: EnrollConfig,
    pub audit: AuditConfig,
    pub log: LogConfig,
    pub calls: CallsConfig,
    /// Dialed number -> profile. A number no route names uses the default profile.
    pub routing: Vec<crate::profile::Route>,
    /// Authentication profiles by name; none configured: one built-in default profile.
    pub profiles: BTreeMap<String, crate::profile::SharedProfile>,
    /// Values the file wrote as another kind than their keys take, read as meant
    /// ([`kind_slips`]): warned of with the [`Config::cautions`].
    #[serde(skip)]
    pub file_slips: Vec<ConfigIssue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ServerConfig {
    /// Address the HTTPS API binds to.
    pub listen: String,
    /// PEM certificate chain; absent: the pair `callvault init` generated beside the vault key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds in-flight requests get to finish on SIGTERM.
    pub shutdown_timeout_seconds: u64,
    /// Seconds an idle keep-alive connection stays open between requests (0: one request
    /// per connection). Longer than the clients' own pools keep a connection idle, so that
    /// the server does not close one just as a client sends on it.
    pub keep_alive_seconds: u64,
    /// PEM file of the CA certificates that issue client certificates (mTLS); absent: the
    /// handshake asks for none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: whether a connection needs a client certificate.
    pub client_cert: ClientCertMode,
    /// Client certificates that stand in for an API key: a DNS name in the certificate and
    /// the role it gets.
    pub clients: Vec<CertClient>,
    /// Web origins (`https://desk.cu.example`) whose pages may call the API from a browser:
    /// an agent desktop served from another host. Empty: no CORS headers at all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cors_origins: Vec<String>,
}

/// Whether `origin` is a web origin as a browser sends it in `Origin`: `https://` or
/// `http://`, a host, a port only when not the scheme's own, and nothing after.
pub fn is_web_origin(origin: &str) -> bool {
    url::Url::parse(origin).is_ok_and(|u| {
        let host_ok = match u.host() {
            Some(url::Host::Domain(d)) => d
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
            Some(_) => true, // an IP address
            None => false,
        };
        matches!(u.scheme(), "https" | "http")
            && host_ok
            && u.origin().ascii_serialization() == origin
    })
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8443".to_string(),
            tls_cert: None,
            tls_key: None,
            workers: 0,
            shutdown_timeout_seconds: 10,
            keep_alive_seconds: 75,
            client_ca: None,
            client_cert: ClientCertMode::Required,
            clients: Vec::new(),
            cors_origins: Vec::new(),
        }
    }
}

/// `server.client_cert`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientCertMode {
    /// No connection without a certificate from `client_ca`.
    Required,
    /// A certificate is checked when one is presented; API keys alone still work.
    Optional,
}

/// `[[server.clients]]`: a client certificate authenticates as `role` when `name` is one
/// of its DNS names (subjectAltName).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CertClient {
    pub name: String,
    pub role: crate::keys::Role,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StorageConfig {
    /// The redb file, the admin socket and the inbox/outbox/processed/failed folders live here.
    pub state_dir: PathBuf,
    /// Memory for the store's page cache, in MiB.
    pub cache_mb: u64,
    /// `/readyz` answers 503 while the disk holding the store has less free than this (MiB;
    /// 0: never).
    pub min_free_mb: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            state_dir: PathBuf::from("/var/lib/callvault"),
            cache_mb: crate::store::DEFAULT_CACHE_MB,
            min_free_mb: 100,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VaultMode {
    /// bcrypt hash of the PIN, sealed with XChaCha20-Poly1305.
    Hashed,
    /// The PIN itself sealed with XChaCha20-Poly1305 (faster, weaker if the key leaks).
    Encrypted,
}

impl VaultMode {
    /// The mode as `vault.mode` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            VaultMode::Hashed => "hashed",
            VaultMode::Encrypted => "encrypted",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct VaultConfig {
    /// 32 random bytes, mode 0600; the service refuses to start otherwise.
    pub key_file: PathBuf,
    pub mode: VaultMode,
    pub bcrypt_cost: u32,
    /// Threads that run bcrypt (PIN checks and changes), apart from the HTTPS workers;
    /// 0: one per core.
    pub pin_threads: usize,
}

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            key_file: PathBuf::from("/etc/callvault/vault.key"),
            mode: VaultMode::Hashed,
            bcrypt_cost: 10,
            pin_threads: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CoreKind {
    /// Members held in callvault's own store, fed by pre-enrollment.
    Embedded,
    /// A JSON-over-HTTPS gateway in front of the core; see `[core.rest]`.
    Rest,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CoreConfig {
    #[serde(rename = "type")]
    pub kind: CoreKind,
    /// A core answer slower than this becomes `transfer/core_unavailable`.
    pub timeout_ms: u64,
    /// The `rest` core's settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest: Option<RestCoreConfig>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            kind: CoreKind::Embedded,
            timeout_ms: 2000,
            rest: None,
        }
    }
}

/// A generic JSON gateway: URLs are templates, fields are JSON pointers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RestCoreConfig {
    /// `https://core-gw.cu.example` (http:// is allowed for a gateway on the same host).
    pub base_url: String,
    /// Members having a number; `{phone}` is E.164.
    pub by_phone: String,
    /// Members holding an account; `{account}`.
    pub by_account: String,
    /// One member; `{member_id}`. A 404 means no such member.
    pub member: String,
    /// Asked by `/readyz`.
    pub health: String,
    /// Where the list of members is in a list answer ("" = the answer is the list).
    pub members_pointer: String,
    /// A header sent with every request, e.g. `Authorization` / `Bearer ...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_value: Option<Secret>,
    /// PEM CA to trust for the gateway (besides the system's roots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    pub connect_timeout_ms: u64,
    /// Extra tries of a read that failed for a reason worth retrying (no answer, 5xx).
    pub retries: u32,
    /// Failures in a row that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long it stays open before one trial call.
    pub breaker_open_seconds: u64,
    pub fields: RestFields,
}

impl Default for RestCoreConfig {
    fn default() -> Self {
        RestCoreConfig {
            base_url: String::new(),
            by_phone: "/members?phone={phone}".into(),
            by_account: "/accounts/{account}/members".into(),
            member: "/members/{member_id}".into(),
            health: "/health".into(),
            members_pointer: String::new(),
            auth_header: None,
            auth_value: None,
            ca_file: None,
            connect_timeout_ms: 500,
            retries: 1,
            breaker_failures: 5,
            breaker_open_seconds: 30,
            fields: RestFields::default(),
        }
    }
}

/// JSON pointers into one member object of the gateway's answers ("" = not provided).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RestFields {
    pub member_id: String,
    pub first_name: String,
    pub last_name: String,
    pub mobile_phone: String,
    pub phone_type: String,
    pub other_phones: String,
    pub email: String,
    pub dob: String,
    pub zip: String,
    pub ssn_last4: String,
    pub account_numbers: String,
    pub profile_changed_at: String,
    pub fraud_flag: String,
    pub place_of_birth: String,
    pub savings_balance: String,
    pub last_txn_amount: String,
    pub last_txn_date: String,
    pub needs_activation: String,
}

impl Default for RestFields {
    fn default() -> Self {
        let p = |s: &str| format!("/{s}");
        RestFields {
            member_id: p("member_id"),
            first_name: p("first_name"),
            last_name: p("last_name"),
            mobile_phone: p("mobile_phone"),
            phone_type: p("phone_type"),
            other_phones: p("other_phones"),
            email: p("email"),
            dob: p("dob"),
            zip: p("zip"),
            ssn_last4: p("ssn_last4"),
            account_numbers: p("account_numbers"),
            profile_changed_at: p("profile_changed_at"),
            fraud_flag: p("fraud_flag"),
            place_of_birth: p("place_of_birth"),
            savings_balance: p("savings_balance"),
            last_txn_amount: p("last_txn_amount"),
            last_txn_date: p("last_txn_date"),
            needs_activation: p("needs_activation"),
        }
    }
}

impl RestFields {
    /// `(name, pointer)` of every field.
    pub fn all(&self) -> [(&'static str, &str); 18] {
        [
            ("member_id", &self.member_id),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("mobile_phone", &self.mobile_phone),
            ("phone_type", &self.phone_type),
            ("other_phones", &self.other_phones),
            ("email", &self.email),
            ("dob", &self.dob),
            ("zip", &self.zip),
            ("ssn_last4", &self.ssn_last4),
            ("account_numbers", &self.account_numbers),
            ("profile_changed_at", &self.profile_changed_at),
            ("fraud_flag", &self.fraud_flag),
            ("place_of_birth", &self.place_of_birth),
            ("savings_balance", &self.savings_balance),
            ("last_txn_amount", &self.last_txn_amount),
            ("last_txn_date", &self.last_txn_date),
            ("needs_activation", &self.needs_activation),
        ]
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PinPolicyConfig {
    pub min_length: u32,
    pub max_length: u32,
    /// 0: PINs never age out.
    pub max_age_days: u32,
    /// Refuse the built-in list of the most common PINs (see `src/pin/blocklist.rs`).
    pub blocklist: bool,
    /// More PINs to refuse, e.g. the credit union's own branch number.
    pub extra_blocklist: Vec<String>,
    /// Refuse PINs made of the member's own facts: SSN last 4, zip, phone last 4, birth date.
    pub refuse_member_facts: bool,
}

impl Default for PinPolicyConfig {
    fn default() -> Self {
        PinPolicyConfig {
            min_length: 4,
            max_length: 6,
            max_age_days: 0,
            blocklist: true,
            extra_blocklist: Vec::new(),
            refuse_member_facts: true,
        }
    }
}

/// Force-PIN-change: which scenarios apply when a member keys a correct PIN, and how a
/// clash with an activation scenario is settled (see `src/pin/scenario.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PinChangeConfig {
    pub scenarios: Vec<crate::pin::ForceChangeScenario>,
    pub on_conflict: crate::pin::ConflictRule,
    /// Tries a caller gets at choosing a new PIN (a refusal or a mismatched confirmation is
    /// one) before the call goes to an agent.
    pub attempts: u32,
}

impl Default for PinChangeConfig {
    fn default() -> Self {
        PinChangeConfig {
            scenarios: crate::pin::ForceChangeScenario::ALL.to_vec(),
            on_conflict: crate::pin::ConflictRule::default(),
            attempts: 3,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LockoutConfig {
    /// Wrong PINs in a row, across every call and channel, that lock a member.
    pub max_wrong_pins: u32,
    /// How long a lock lasts; 0: until an agent or admin unlocks the member.
    pub lock_minutes: u32,
    /// A run of wrong PINs is forgotten after this many minutes without another; 0: only a
    /// correct PIN or an unlock clears it.
    pub reset_minutes: u32,
    /// Wrong keypad answers (dob, zip, ...) across every call that lock a member out of
    /// questions, with the same lock and reset times.
    pub max_wrong_answers: u32,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_wrong_pins: 5,
            lock_minutes: 1440,
            reset_minutes: 0,
            max_wrong_answers: 10,
        }
    }
}

/// How long calls and app intents live.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CallsConfig {
    /// A call with no step for this long is closed (`call_expired` in the audit log).
    pub idle_minutes: u32,
    /// Closed calls stay readable (agents, later steps of the call flow) this long, then are
    /// deleted; their audit records stay.
    pub keep_hours: u32,
    /// `ttl_seconds` of an app intent when the app back end gives none.
    pub intent_ttl_seconds: u32,
    /// The longest `ttl_seconds` an app intent may ask for.
    pub intent_max_ttl_seconds: u32,
}

impl Default for CallsConfig {
    fn default() -> Self {
        CallsConfig {
            idle_minutes: 30,
            keep_hours: 24,
            intent_ttl_seconds: 300,
            intent_max_ttl_seconds: 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OtpConfig {
    /// How long a code or push approval stays good (10 to 600 seconds).
    pub ttl_seconds: u32,
    /// Wrong codes before a challenge fails.
    pub max_checks: u32,
    /// Challenges sent to one member in any hour, across calls.
    pub max_sends_per_hour: u32,
    /// The channel an IVR `otp` step sends its code on: `sms` or `email`.
    pub ivr_channel: OtpChannel,
}

impl Default for OtpConfig {
    fn default() -> Self {
        OtpConfig {
            ttl_seconds: 60,
            max_checks: 3,
            max_sends_per_hour: 5,
            ivr_channel: OtpChannel::Sms,
        }
    }
}

/// Where a challenge goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OtpChannel {
    Sms,
    Email,
    Push,
}

impl OtpChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            OtpChannel::Sms => "sms",
            OtpChannel::Email => "email",
            OtpChannel::Push => "push",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EnrollConfig {
    /// ISO 3166 region for numbers written without a country code.
    pub default_region: String,
    /// Rows whose `profile_changed_at` is this recent are `recent_change`.
    pub recent_change_days: u32,
    /// Pre-enrollment folders; absent: `inbox/`, `outbox/`, `processed/`, `failed/` in the
    /// state directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbox: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbox: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processed: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<PathBuf>,
    /// How often the service looks in the inbox.
    pub poll_seconds: u64,
    /// A file is taken once it has not changed for this long (an upload in progress is left).
    pub settle_seconds: u64,
    /// A full-mode file that leaves out more of the enrolled members than this, in percent,
    /// is refused (100: no limit). `callvault enroll --max-removed-percent` overrides it.
    pub full_max_removed_percent: u8,
    /// Files in `processed/`, `failed/` and `outbox/` older than this many days are removed
    /// (the service looks hourly); 0 keeps them.
    pub keep_days: u32,
}

impl Default for EnrollConfig {
    fn default() -> Self {
        EnrollConfig {
            default_region: "US".to_string(),
            recent_change_days: 30,
            inbox: None,
            outbox: None,
            processed: None,
            failed: None,
            poll_seconds: 5,
            settle_seconds: 2,
            full_max_removed_percent: 10,
            keep_days: 0,
        }
    }
}

impl EnrollConfig {
    /// The region, US when the setting does not parse (`validate()` reports that).
    pub fn region(&self) -> crate::member::phone::Region {
        crate::member::phone::Region::parse(&self.default_region).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AuditConfig {
    /// Most events one group commit (one fsync) carries.
    pub max_batch: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { max_batch: 4096 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `warn`, `callvault=debug,actix_web=info`, ...
    pub level: String,
    /// How each line is written.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_string(),
            format: LogFormat::Text,
        }
    }
}

/// How the service's log lines are written to stderr.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One line a message, for a person reading the journal.
    #[default]
    Text,
    /// One JSON object a line (`timestamp`, `level`, `fields.message` and the message's
    /// fields, the span), for a log shipper or SIEM.
    Json,
}

impl RestCoreConfig {
    fn validate(&self, total_ms: u64) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut check = |ok: bool, key: &str, message: String| {
            if !ok {
                issues.push(ConfigIssue::new(format!("core.rest.{key}"), message));
            }
        };
        if let Err(message) = endpoint_url(&self.base_url) {
            check(false, "base_url", message);
        }
        for (key, template, placeholder) in [
            ("by_phone", &self.by_phone, "{phone}"),
            ("by_account", &self.by_account, "{account}"),
            ("member", &self.member, "{member_id}"),
        ] {
            check(
                template.contains(placeholder),
                key,
                format!("{template:?} does not contain {placeholder}"),
            );
        }
        check(
            self.members_pointer.is_empty() || self.members_pointer.starts_with('/'),
            "members_pointer",
            "a JSON pointer starts with / (or is empty)".into(),
        );
        for (name, pointer) in self.fields.all() {
            check(
                pointer.is_empty() || pointer.starts_with('/'),
                &format!("fields.{name}"),
                format!("{pointer:?} is not a JSON pointer (they start with /)"),
            );
        }
        check(
            !self.fields.member_id.is_empty(),
            "fields.member_id",
            "must be set: callvault needs the member id".into(),
        );
        check(
            self.auth_header.is_some() == self.auth_value.is_some(),
            "auth_value",
            "auth_header and auth_value go together".into(),
        );
        check(
            (10..=total_ms.max(10)).contains(&self.connect_timeout_ms),
            "connect_timeout_ms",
            format!(
                "{} must be between 10 and core.timeout_ms ({total_ms})",
                self.connect_timeout_ms
            ),
        );
        check(
            self.retries <= 5,
            "retries",
            format!("{} is more than 5", self.retries),
        );
        check(
            (1..=100).contains(&self.breaker_failures),
            "breaker_failures",
            format!("{} is outside 1..=100", self.breaker_failures),
        );
        check(
            (1..=3600).contains(&self.breaker_open_seconds),
            "breaker_open_seconds",
            format!("{} is outside 1..=3600", self.breaker_open_seconds),
        );
        issues
    }
}

/// Where pre-enrollment files come in and their answers go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollDirs {
    pub inbox: PathBuf,
    pub outbox: PathBuf,
    pub processed: PathBuf,
    pub failed: PathBuf,
}

/// One problem in the configuration, with the key it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

impl ConfigIssue {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssue {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Where the packages install the example configuration (besides
/// `/etc/callvault/callvault.toml` itself).
pub const EXAMPLE_INSTALLED: &str = "/usr/share/doc/callvault/examples/callvault.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "config file {path} not found: start from the example, {EXAMPLE_INSTALLED} as \
         installed by the packages, or config.example.toml in the source"
    )]
    NotFound { path: PathBuf },
    #[error("cannot read config file {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{} in the configuration:\n{}", counted(.0.len() as u64, "problems"), join_issues(.0))]
    Invalid(Vec<ConfigIssue>),
}

fn join_issues(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// The individual problems, for callers that print or count them.
    pub fn issues(&self) -> Vec<ConfigIssue> {
        match self {
            ConfigError::Invalid(issues) => issues.clone(),
            other => vec![ConfigIssue::new("(file)", other.to_string())],
        }
    }
}

/// Load, check for unknown keys, and validate. Any problem is an error listing all of them.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with_env(path, env_overrides(std::env::vars_os())?)
}

/// The `CALLVAULT__SECTION__KEY` overrides among `vars`, the others left out. Any variable
/// may hold bytes that are not UTF-8 (`std::env::vars` would panic on one, and print it);
/// an override's value must be UTF-8 as the file is, and one that is not is an error that
/// names the variable and its key, never its value.
pub fn env_overrides(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let prefix = format!("{ENV_PREFIX}{ENV_SEPARATOR}");
    let mut overrides = Vec::new();
    let mut issues = Vec::new();
    for (name, value) in vars {
        let Some(name) = name.to_str().filter(|n| n.starts_with(&prefix)) else {
            continue;
        };
        match value.into_string() {
            Ok(value) => overrides.push((name.to_string(), value)),
            Err(_) => issues.push(ConfigIssue::new(
                env_key_path(name).unwrap_or_default(),
                format!("environment variable {name} is not UTF-8"),
            )),
        }
    }
    match issues.is_empty() {
        true => Ok(overrides),
        false => Err(ConfigError::Invalid(issues)),
    }
}

/// As [`load`], with the environment passed in (tests use their own).
pub fn load_with_env(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    if !path.exists() {
        return Err(ConfigError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    parse(&text, env)
}

/// The keys holding secrets (passwords, gateways' auth values), as they are written in the file.
pub const SECRET_KEYS: &[&str] = &[
    "core.rest.auth_value",
    "notify.email.password",
    "notify.sms.auth_value",
    "notify.push.auth_value",
];

/// Environment variables other than these that start with `CALLVAULT` are not read.
/// `CALLVAULT_CONFIG` is the configuration file's path (`--config`); the repository's
/// scripts and tests pass the binary they run in `CALLVAULT_BIN`.
const ENV_NAMES_READ_ELSEWHERE: [&str; 2] = ["CALLVAULT_CONFIG", "CALLVAULT_BIN"];

/// Warnings for environment variables that look meant for callvault but are not read: a
/// name starting with `CALLVAULT` in any case that is neither an override
/// (`CALLVAULT__SECTION__KEY`, two underscores after `CALLVAULT`, upper case) nor one of
/// [`ENV_NAMES_READ_ELSEWHERE`]. `CALLVAULT_LOCKOUT__MAX_WRONG_PINS=3` would otherwise be
/// ignored without a word. Only names are given: a value may be a secret.
pub fn unread_env_vars(names: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<String> {
    let override_prefix = format!("{ENV_PREFIX}{ENV_SEPARATOR}");
    let mut unread: Vec<String> = names
        .into_iter()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.to_ascii_uppercase().starts_with(ENV_PREFIX))
        .filter(|name| !name.starts_with(&override_prefix))
        .filter(|name| !ENV_NAMES_READ_ELSEWHERE.contains(&name.as_str()))
        .map(|name| {
            let meant = known::meant_variable(&name)
                .map(|meant| format!(" (did you mean {meant}?)"))
                .unwrap_or_default();
            format!(
                "environment variable {name} is not read{meant}: an override is \
                 {override_prefix}SECTION__KEY in upper case, with two underscores after \
                 {ENV_PREFIX} and between the parts (e.g. {override_prefix}SERVER__LISTEN)"
            )
        })
        .collect();
    unread.sort();
    unread
}

/// Why the configuration file is too open, if every local user can read it and it holds
/// secrets ([`SECRET_KEYS`] set in the file itself; secrets from the environment are not its
/// concern). A warning, not an error: the file works, but its secrets are exposed.
pub fn exposure(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    if mode & 0o004 == 0 {
        return None;
    }
    let table: toml::Table = std::fs::read_to_string(path).ok()?.parse().ok()?;
    let set: Vec<&str> = SECRET_KEYS
        .iter()
        .copied()
        .filter(|key| {
            let mut at = Some(&table);
            let parts: Vec<&str> = key.split('.').collect();
            for part in &parts[..parts.len() - 1] {
                at = at.and_then(|t| t.get(*part)).and_then(|v| v.as_table());
            }
            at.and_then(|t| t.get(parts[parts.len() - 1])).is_some()
        })
        .collect();
    (!set.is_empty()).then(|| {
        format!(
            "{} has mode {mode:04o} and holds secrets ({}): every local user can read them; \
             chmod 0640 it (group callvault) or 0600",
            path.display(),
            set.join(", ")
        )
    })
}

/// Parse TOML text plus environment overrides into a validated [`Config`].
pub fn parse(
    toml_text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}{ENV_SEPARATOR}")))
        .collect();
    // A type error stops serde's reading, and the config crate reads a table's keys in no
    // fixed order: what it had not reached (unknown keys, other wrong values) would go
    // unreported. So each wrong value is set aside and the rest read again, until a reading
    // finds no more, and every problem is reported at once.
    // toml's own error says where (the config crate's lost the place of a number too large)
    let table = toml_text.parse::<toml::Table>().map_err(|e| {
        ConfigError::Invalid(vec![ConfigIssue::new("(file)", not_toml(toml_text, &e))])
    })?;
    let mut reading = Reading {
        table,
        env: env.clone(),
        set_aside: Vec::new(),
        items_out: HashMap::new(),
    };
    let mut unknown: Vec<String> = Vec::new();
    let mut type_issues: Vec<ConfigIssue> = Vec::new();
    let parsed = loop {
        let (parsed, found) = read_once(&reading.text(toml_text), &reading.env)?;
        for path in found {
            if !unknown.contains(&path) {
                unknown.push(path);
            }
        }
        let e = match parsed {
            Ok(config) => break Some(config),
            Err(e) => e,
        };
        let path = reading.path_in_file(&e.path().to_string());
        let mut message = describe_type_error(e.inner());
        let key = path.split('[').next().unwrap_or_default();
        // a table that refuses unknown keys (a profile, a route) says so in serde's words
        let unknown_field = message.starts_with("unknown field `");
        if unknown_field {
            message = unknown_key(&env, key, &path);
        }
        if let Some(key) = message
            .strip_prefix("missing configuration field \"")
            .and_then(|rest| rest.strip_suffix('"'))
        {
            message = format!(
                "missing configuration field {:?}",
                reading.path_in_file(key)
            );
        }
        // a required key set aside by an earlier reading: its table goes too, unreported
        let quiet = reading.missed_after_set_aside(&path, &message) && reading.set_aside(&path);
        if !quiet && !unknown_field {
            if let Some(allowed) = allowed_values(&path) {
                let meant = not_a_choice(e.inner()).and_then(|word| {
                    crate::spelling::nearest_or_completion(word, allowed.iter().copied())
                });
                if let Some(meant) = meant {
                    message.push_str(&format!("; did you mean {meant:?}?"));
                }
                let quoted: Vec<String> = allowed.iter().map(|name| format!("{name:?}")).collect();
                message.push_str(&format!(" (allowed: {})", quoted.join(", ")));
            }
            if !message.contains("(set in the environment)") {
                message.push_str(&set_by(&env, key));
            }
        }
        if !quiet {
            type_issues.push(ConfigIssue::new(path.clone(), message));
            if !reading.set_aside(&path) {
                break None;
            }
        }
        if reading.set_aside.len() > MAX_READINGS {
            break None;
        }
    };

    // by key path, not in the reading's order, which changes from run to run
    unknown.sort();
    type_issues.sort_by(|a, b| a.path.cmp(&b.path));
    let mut issues: Vec<ConfigIssue> = unknown
        .iter()
        .map(|path| ConfigIssue::new(path.clone(), unknown_key(&env, path, path)))
        .collect();
    issues.extend(decimal_points(toml_text));
    issues.extend(env.iter().filter_map(|(name, value)| {
        let path = env_key_path(name)?;
        let decimal = value.contains(['.', 'e', 'E'])
            && value.parse::<f64>().is_ok_and(f64::is_finite)
            && !SECRET_KEYS.contains(&path.as_str());
        decimal.then(|| {
            ConfigIssue::new(
                path,
                format!(
                    "a number with a decimal point (set by environment variable {name}), which \
                     no key takes: write a whole number"
                ),
            )
        })
    }));
    issues.extend(type_issues);
    match parsed {
        // the checks of values run on a whole reading only: with values set aside, the
        // defaults in their place could be blamed for what the file does not say
        Some(config) if reading.set_aside.is_empty() => {
            let slips = kind_slips(&reading.table, &config);
            // a refused value's conversion (`true` read as 1) is not checked against its range
            issues.extend(
                config
                    .validate()
                    .into_iter()
                    .filter(|i| !slips.refused.iter().any(|s| s.path == i.path)),
            );
            issues.extend(slips.refused);
            let mut config = config;
            config.file_slips = slips.warned;
            match issues.is_empty() {
                true => Ok(config),
                false => Err(ConfigError::Invalid(issues)),
            }
        }
        _ => Err(ConfigError::Invalid(issues)),
    }
}

/// How many wrong values one check reports before it stops reading.
const MAX_READINGS: usize = 64;

/// What one reading made of the file: the configuration, or the first wrong value's error
/// with its key path.
type Typed = Result<Config, serde_path_to_error::Error<config::ConfigError>>;

/// One reading of the file and the overrides: the typed configuration or the first type
/// error, and the unknown keys met on the way.
fn read_once(
    toml_text: &str,
    env: &[(String, String)],
) -> Result<(Typed, Vec<String>), ConfigError> {
    let source = config::Config::builder()
        .add_source(config::File::from_str(toml_text, config::FileFormat::Toml))
        .add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator(ENV_SEPARATOR)
                .separator(ENV_SEPARATOR)
                .try_parsing(true)
                .source(Some(env.iter().cloned().collect())),
        )
        .build()
        .map_err(|e| ConfigError::Invalid(vec![ConfigIssue::new("(file)", e.to_string())]))?;
    let mut unknown = Vec::new();
    // serde_ignored writes an Option's value as a `?` step: `core.rest.?.fields.x`
    let mut note_unknown =
        |path: serde_ignored::Path| unknown.push(path.to_string().replace(".?.", "."));
    let ignored = serde_ignored::Deserializer::new(source, &mut note_unknown);
    let parsed = serde_path_to_error::deserialize(ignored);
    Ok((parsed, unknown))
}

/// The file and the overrides as the next reading sees them, less the values set aside.
struct Reading {
    /// The file's table.
    table: toml::Table,
    env: Vec<(String, String)>,
    /// The key paths set aside, in order (a list's item as `a.b[2]`).
    set_aside: Vec<String>,
    /// The items taken out of the file's lists, by the list's key: their indices in the file.
    items_out: HashMap<String, Vec<usize>>,
}

impl Reading {
    fn text(&self, original: &str) -> String {
        match self.set_aside.is_empty() {
            false => toml::to_string(&self.table).unwrap_or_default(),
            true => original.to_string(),
        }
    }

    /// `path` as this reading reports it (`a.b[1].c`), with its first list index counted
    /// in the file's list: items taken out before it shift the rest down.
    fn path_in_file(&self, path: &str) -> String {
        let Some((key, index, rest)) = split_index(path) else {
            return path.to_string();
        };
        let Some(out) = self.items_out.get(key) else {
            return path.to_string();
        };
        let in_file = (0..)
            .filter(|i| !out.contains(i))
            .nth(index)
            .unwrap_or(index);
        format!("{key}[{in_file}]{rest}")
    }

    /// Set aside the value at `path` (`a.b.c`; for `a.b[2]...`, the file's item 2 of the
    /// list `a.b`, or the whole list when an override gives it), from the overrides or the
    /// file. `path` counts list items as the file does ([`Reading::path_in_file`]). False
    /// when there is none to set aside.
    fn set_aside(&mut self, path: &str) -> bool {
        let key = path.split('[').next().unwrap_or_default();
        if key.is_empty() || key == "?" {
            return false;
        }
        let before = self.env.len();
        self.env
            .retain(|(name, _)| env_key_path(name).is_none_or(|p| p != key));
        if self.env.len() < before {
            self.set_aside.push(key.to_string());
            return true;
        }
        let table = &mut self.table;
        let removed = match split_index(path) {
            Some((key, in_file, _)) => {
                let out = self.items_out.entry(key.to_string()).or_default();
                let now_at = in_file - out.iter().filter(|i| **i < in_file).count();
                let removed = !out.contains(&in_file) && remove_item(table, key, now_at);
                if removed {
                    out.push(in_file);
                }
                removed
            }
            None => remove_key(table, key),
        };
        if removed {
            self.set_aside
                .push(path.split(']').next().unwrap_or(path).to_string());
        }
        removed
    }

    /// Whether `message` says a key this reading set aside is missing: the config crate's
    /// `missing configuration field "a.b.c"`, or serde's "missing field `c`" under `path`.
    fn missed_after_set_aside(&self, path: &str, message: &str) -> bool {
        let full = if let Some(rest) = message.strip_prefix("missing configuration field \"") {
            rest.split('"').next().unwrap_or_default().to_string()
        } else if let Some(rest) = message.strip_prefix("missing field `") {
            let field = rest.split('`').next().unwrap_or_default();
            match path {
                "" => field.to_string(),
                _ => format!("{path}.{field}"),
            }
        } else {
            return false;
        };
        self.set_aside.contains(&full)
    }
}

/// `a.b[2].c` as (`a.b`, 2, `.c`): the first list index in a key path.
fn split_index(path: &str) -> Option<(&str, usize, &str)> {
    let (key, after) = path.split_once('[')?;
    let (index, rest) = after.split_once(']')?;
    Some((key, index.parse().ok()?, rest))
}

/// Remove item `index` of the list at `a.b` from `table`: whether it was there.
fn remove_item(table: &mut toml::Table, key: &str, index: usize) -> bool {
    let (parent, last) = match key.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, key),
    };
    let mut at = table;
    for part in parent.into_iter().flat_map(|p| p.split('.')) {
        match at.get_mut(part).and_then(toml::Value::as_table_mut) {
            Some(inner) => at = inner,
            None => return false,
        }
    }
    match at.get_mut(last).and_then(toml::Value::as_array_mut) {
        Some(items) if index < items.len() => {
            items.remove(index);
            true
        }
        _ => false,
    }
}

/// Remove `a.b.c` from `table`: whether it was there.
fn remove_key(table: &mut toml::Table, key: &str) -> bool {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    let mut at = table;
    for part in parts {
        match at.get_mut(part).and_then(toml::Value::as_table_mut) {
            Some(inner) => at = inner,
            None => return false,
        }
    }
    at.remove(last).is_some()
}

/// Every value in the file written with a decimal point. No key takes one, and the config
/// crate would round it without a word (`workers = 1.5` became 2). The value is not quoted:
/// it could be a secret written unquoted. (An override from the environment is text, read
/// as a number when it looks like one; `parse` checks those too, secrets left out.)
fn decimal_points(toml_text: &str) -> Vec<ConfigIssue> {
    fn walk(path: &str, value: &toml::Value, issues: &mut Vec<ConfigIssue>) {
        match value {
            toml::Value::Float(_) => issues.push(ConfigIssue::new(
                path,
                "a number with a decimal point, which no key takes: write a whole number \
                 (or quote text)",
            )),
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), item, issues);
                }
            }
            toml::Value::Table(table) => {
                for (key, item) in table {
                    match path {
                        "" => walk(key, item, issues),
                        _ => walk(&format!("{path}.{key}"), item, issues),
                    }
                }
            }
            _ => {}
        }
    }
    let mut issues = Vec::new();
    if let Ok(table) = toml_text.parse::<toml::Table>() {
        walk("", &toml::Value::Table(table), &mut issues);
    }
    issues
}

/// Where and why the file is not TOML, without the file's line itself: toml's own message
/// quotes it, and the line could hold a secret written unquoted (`auth_value = s3cr3t`),
/// which would then reach the service's log.
fn not_toml(text: &str, e: &toml::de::Error) -> String {
    let why = e.message().trim().replace('\n', "; ");
    match e.span().and_then(|span| text.get(..span.start)) {
        Some(before) => {
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1;
            format!("TOML parse error at line {line}, column {column}: {why}")
        }
        None => format!("TOML parse error: {why}"),
    }
}

/// What the file writes as another kind than its key takes, which the config crate converts
/// without a word. `true` for a number (read as 1) means nothing a number could: refused.
/// Text for a number (`"128"`) or a boolean (`"yes"`, `"on"`), or a number for a boolean (1),
/// is read as the admin meant it, so only warned of: a file that worked before starts still.
/// The kind a key takes, and what the value was read as, come from the configuration those
/// values made (`config`, serialized). Secrets, which take any scalar as text, are left out.
#[derive(Debug, Default)]
struct Slips {
    refused: Vec<ConfigIssue>,
    warned: Vec<ConfigIssue>,
}

fn kind_slips(file: &toml::Table, config: &Config) -> Slips {
    use toml::Value as V;
    fn walk(path: &str, file: &V, typed: &V, slips: &mut Slips) {
        let (refused, said) = match (file, typed) {
            (V::Boolean(b), V::Integer(_)) => {
                (true, format!("{b} is not a number: write a whole number"))
            }
            // (text that is no number or boolean at all, the config crate refuses itself)
            (V::String(t), V::Integer(n)) => (
                false,
                format!("{t:?} is quoted: read as {n}; write the number without quotes"),
            ),
            (V::String(t), V::Boolean(b)) => (
                false,
                format!("{t:?} is read as {b}; write true or false, without quotes"),
            ),
            (V::Integer(n), V::Boolean(b)) => {
                (false, format!("{n} is read as {b}; write true or false"))
            }
            (V::Array(items), V::Array(typed)) => {
                for (i, (item, typed)) in items.iter().zip(typed).enumerate() {
                    walk(&format!("{path}[{i}]"), item, typed, slips);
                }
                return;
            }
            (V::Table(table), V::Table(typed)) => {
                for (key, item) in table {
                    let at = match path {
                        "" => key.clone(),
                        _ => format!("{path}.{key}"),
                    };
                    if let Some(typed) = typed.get(key)
                        && !SECRET_KEYS.contains(&at.as_str())
                    {
                        walk(&at, item, typed, slips);
                    }
                }
                return;
            }
            _ => return,
        };
        match refused {
            true => slips.refused.push(ConfigIssue::new(path, said)),
            false => slips.warned.push(ConfigIssue::new(path, said)),
        }
    }
    let mut slips = Slips::default();
    if let Ok(V::Table(typed)) = V::try_from(config) {
        walk("", &V::Table(file.clone()), &V::Table(typed), &mut slips);
    }
    slips
}

/// An outbound endpoint (core gateway, SMS gateway, push webhook): `https://`, or plain
/// `http://` only to this host, since members' facts and one-time codes travel in it.
pub(crate) fn endpoint_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("must start with https:// (or http:// for a gateway on this host)".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match local {
        true => Ok(()),
        false => Err(format!(
            "http:// is only for a gateway on this host (localhost, 127.0.0.1, [::1]); \
             {host:?} needs https://"
        )),
    }
}

/// ` (set by environment variable NAME)` when an override among `env` sets `key`; empty
/// otherwise. The variable is named, never its value.
/// "unknown key", where it was set if not in the file, and what it was likely meant to be.
/// `key`: its path without list indices, as an environment variable names it.
fn unknown_key(env: &[(String, String)], key: &str, path: &str) -> String {
    let from = set_by(env, key);
    format!(
        "unknown key{from}{}",
        known::unknown_key_hint(path, !from.is_empty())
    )
}

fn set_by(env: &[(String, String)], key: &str) -> String {
    env.iter()
        .find(|(name, _)| env_key_path(name).as_deref() == Some(key))
        .map(|(name, _)| format!(" (set by environment variable {name})"))
        .unwrap_or_default()
}

/// `CALLVAULT__SERVER__LISTEN` -> `server.listen`.
fn env_key_path(var: &str) -> Option<String> {
    var.strip_prefix(&format!("{ENV_PREFIX}{ENV_SEPARATOR}"))
        .map(|rest| rest.to_lowercase().replace(ENV_SEPARATOR, "."))
}

/// The choices of the keys that take one of a fixed set of words.
fn allowed_values(path: &str) -> Option<Vec<&'static str>> {
    use crate::core::IdentifierKind;
    use crate::pin::{ActivationScenario, ForceChangeScenario};
    use crate::profile::{Method, Question};
    let profile = |list: &str| path.starts_with("profiles.") && path.contains(list);
    Some(match path {
        "vault.mode" => vec!["hashed", "encrypted"],
        "log.format" => vec!["text", "json"],
        "core.type" => vec!["embedded", "rest"],
        "server.client_cert" => vec!["required", "optional"],
        p if p.starts_with("server.clients") && p.ends_with(".role") => {
            vec!["ivr", "agent", "app", "admin"]
        }
        "pin_change.on_conflict" => vec!["activation_list", "activation", "force_change"],
        "otp.ivr_channel" => vec!["sms", "email", "push"],
        "notify.email.type" => vec!["smtp"],
        "notify.email.security" => vec!["none", "starttls", "tls"],
        "notify.sms.type" => vec!["http"],
        "notify.sms.encoding" => vec!["json", "form"],
        "notify.push.type" => vec!["webhook"],
        _ if profile(".activation.scenarios") => ActivationScenario::ALL
            .map(ActivationScenario::as_str)
            .into(),
        _ if profile(".methods") => Method::ALL.map(Method::as_str).into(),
        _ if profile(".questions") => Question::ALL.map(Question::as_str).into(),
        _ if profile(".identifiers") => IdentifierKind::ALL.map(IdentifierKind::as_str).into(),
        p if p.starts_with("pin_change.scenarios") => ForceChangeScenario::ALL
            .map(ForceChangeScenario::as_str)
            .into(),
        _ => return None,
    })
}

/// The word that is not one of an enum's choices, from the config crate's "enum X does not
/// have variant constructor word".
fn not_a_choice(e: &config::ConfigError) -> Option<&str> {
    match e {
        config::ConfigError::Message(m) => m
            .strip_prefix("enum ")?
            .split_once(" does not have variant constructor ")
            .map(|(_, word)| word),
        config::ConfigError::At { error, .. } => not_a_choice(error),
        _ => None,
    }
}

/// serde's messages can quote the offending value. Configuration values are not secret,
/// except those of [`Secret`] type, which accept any scalar and so never fail to parse; the
/// message is kept because it shows the admin what was wrong.
///
/// The key path is already in front of the message, so the config crate's own
/// "for key `...`" is left out, and its wording for a word that is not one of an enum's
/// choices is replaced.
fn describe_type_error(e: &config::ConfigError) -> String {
    let from = |origin: &Option<String>| match origin {
        Some(origin) => format!(" (set in {origin})"),
        None => String::new(),
    };
    match e {
        config::ConfigError::Message(m) => match not_a_choice(e) {
            Some(word) => format!("{word:?} is not one of the choices"),
            None => m.clone(),
        },
        config::ConfigError::Type {
            origin,
            unexpected,
            expected,
            ..
        } => match out_of_range(unexpected, expected) {
            Some(said) => format!("{said}{}", from(origin)),
            None => format!(
                "invalid type: {unexpected}, expected {expected}{}",
                from(origin)
            ),
        },
        config::ConfigError::At { error, origin, .. } => {
            format!("{}{}", describe_type_error(error), from(origin))
        }
        // the config crate joins a list item and its key without a dot: `routing[2]profile`
        config::ConfigError::NotFound(key) => format!(
            "missing configuration field {:?}",
            key.replace(']', "].")
                .replace("].[", "][")
                .trim_end_matches('.')
        ),
        other => other.to_string(),
    }
}

/// The config crate's words for a whole number its key's type cannot hold ("invalid type:
/// 64-bit integer `-5`, expected an unsigned 64 bit or less integer"), said plainly.
fn out_of_range(unexpected: &impl std::fmt::Display, expected: &str) -> Option<String> {
    let bits = expected
        .strip_prefix("an unsigned ")?
        .split(' ')
        .next()?
        .parse::<u32>()
        .ok()?;
    let unexpected = unexpected.to_string();
    let n = unexpected
        .strip_suffix('`')?
        .rsplit_once('`')?
        .1
        .parse::<i128>()
        .ok()?;
    Some(match n {
        ..0 => format!("{n} is negative: write a whole number, 0 or more"),
        _ if bits < 64 => format!("{n} is too large: at most {}", u64::MAX >> (64 - bits)),
        _ => format!("{n} is too large: at most {}", u64::MAX),
    })
}

impl Config {
    /// Every semantic problem, each with its key path. Empty means valid.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut check = |ok: bool, path: &str, message: String| {
            if !ok {
                issues.push(ConfigIssue::new(path, message));
            }
        };
        let s = &self.server;
        check(
            s.listen.parse::<SocketAddr>().is_ok(),
            "server.listen",
            format!("{:?} is not an IP address and port", s.listen),
        );
        check(
            s.tls_cert.is_some() == s.tls_key.is_some(),
            if s.tls_cert.is_some() {
                "server.tls_key"
            } else {
                "server.tls_cert"
            },
            "tls_cert and tls_key must be set together (or both left out)".to_string(),
        );
        check(
            s.workers <= 256,
            "server.workers",
            format!("{} is more than 256", s.workers),
        );
        check(
            s.shutdown_timeout_seconds <= 300,
            "server.shutdown_timeout_seconds",
            format!("{} is more than 300", s.shutdown_timeout_seconds),
        );
        check(
            s.keep_alive_seconds <= 3600,
            "server.keep_alive_seconds",
            format!("{} is more than 3600", s.keep_alive_seconds),
        );
        check(
            s.clients.is_empty() || s.client_ca.is_some(),
            "server.clients",
            "client certificates need server.client_ca, the CA that issues them".to_string(),
        );
        for (i, o) in s.cors_origins.iter().enumerate() {
            check(
                is_web_origin(o),
                &format!("server.cors_origins[{i}]"),
                format!(
                    "{o:?} is not a web origin: write it as the browser sends it, \
                     https://host or https://host:port, lower case, with no path or \
                     trailing slash (no wildcards)"
                ),
            );
        }
        for (i, c) in s.clients.iter().enumerate() {
            check(
                rustls_pki_types::DnsName::try_from(c.name.as_str()).is_ok(),
                &format!("server.clients[{i}].name"),
                format!("{:?} is not a DNS name", c.name),
            );
            check(
                !s.clients[..i].iter().any(|o| o.name == c.name),
                &format!("server.clients[{i}].name"),
                format!("{:?} is mapped twice", c.name),
            );
        }
        check(
            !self.storage.state_dir.as_os_str().is_empty(),
            "storage.state_dir",
            "must not be empty".to_string(),
        );
        check(
            (16..=65_536).contains(&self.storage.cache_mb),
            "storage.cache_mb",
            format!("{} is outside 16..=65536", self.storage.cache_mb),
        );
        check(
            self.storage.min_free_mb <= 1_048_576,
            "storage.min_free_mb",
            format!("{} is more than 1048576 (1 TiB)", self.storage.min_free_mb),
        );
        check(
            !self.vault.key_file.as_os_str().is_empty(),
            "vault.key_file",
            "must not be empty".to_string(),
        );
        check(
            (4..=31).contains(&self.vault.bcrypt_cost),
            "vault.bcrypt_cost",
            format!("{} is outside 4..=31", self.vault.bcrypt_cost),
        );
        check(
            self.vault.pin_threads <= 256,
            "vault.pin_threads",
            format!("{} is more than 256", self.vault.pin_threads),
        );
        check(
            (50..=60_000).contains(&self.core.timeout_ms),
            "core.timeout_ms",
            format!("{} is outside 50..=60000", self.core.timeout_ms),
        );
        let p = &self.pin_policy;
        check(
            (4..=12).contains(&p.min_length),
            "pin_policy.min_length",
            format!("{} is outside 4..=12", p.min_length),
        );
        check(
            (4..=12).contains(&p.max_length),
            "pin_policy.max_length",
            format!("{} is outside 4..=12", p.max_length),
        );
        check(
            p.min_length <= p.max_length,
            "pin_policy.min_length",
            format!(
                "{} is more than pin_policy.max_length ({})",
                p.min_length, p.max_length
            ),
        );
        check(
            self.lockout.max_wrong_pins >= 1,
            "lockout.max_wrong_pins",
            "must be at least 1".to_string(),
        );
        check(
            self.lockout.max_wrong_pins <= 100,
            "lockout.max_wrong_pins",
            format!("{} is more than 100", self.lockout.max_wrong_pins),
        );
        check(
            (1..=100).contains(&self.lockout.max_wrong_answers),
            "lockout.max_wrong_answers",
            format!("{} is outside 1..=100", self.lockout.max_wrong_answers),
        );
        check(
            (1..=10).contains(&self.pin_change.attempts),
            "pin_change.attempts",
            format!("{} is outside 1..=10", self.pin_change.attempts),
        );
        let c = &self.calls;
        check(
            (1..=1440).contains(&c.idle_minutes),
            "calls.idle_minutes",
            format!("{} is outside 1..=1440", c.idle_minutes),
        );
        check(
            (1..=8760).contains(&c.keep_hours),
            "calls.keep_hours",
            format!("{} is outside 1..=8760", c.keep_hours),
        );
        check(
            (10..=86_400).contains(&c.intent_max_ttl_seconds),
            "calls.intent_max_ttl_seconds",
            format!("{} is outside 10..=86400", c.intent_max_ttl_seconds),
        );
        check(
            c.intent_ttl_seconds >= 10 && c.intent_ttl_seconds <= c.intent_max_ttl_seconds,
            "calls.intent_ttl_seconds",
            format!(
                "{} is outside 10..=calls.intent_max_ttl_seconds ({})",
                c.intent_ttl_seconds, c.intent_max_ttl_seconds
            ),
        );
        for (i, pin) in p.extra_blocklist.iter().enumerate() {
            check(
                !pin.is_empty() && pin.len() <= 12 && pin.bytes().all(|b| b.is_ascii_digit()),
                &format!("pin_policy.extra_blocklist[{i}]"),
                "must be 1 to 12 digits".to_string(),
            );
        }
        check(
            p.max_age_days <= 3650,
            "pin_policy.max_age_days",
            format!("{} is more than 3650", p.max_age_days),
        );
        check(
            (10..=600).contains(&self.otp.ttl_seconds),
            "otp.ttl_seconds",
            format!("{} is outside 10..=600", self.otp.ttl_seconds),
        );
        check(
            (1..=10).contains(&self.otp.max_checks),
            "otp.max_checks",
            format!("{} is outside 1..=10", self.otp.max_checks),
        );
        check(
            (1..=100).contains(&self.otp.max_sends_per_hour),
            "otp.max_sends_per_hour",
            format!("{} is outside 1..=100", self.otp.max_sends_per_hour),
        );
        check(
            self.otp.ivr_channel != OtpChannel::Push,
            "otp.ivr_channel",
            "must be \"sms\" or \"email\" (the caller keys the code into the IVR)".into(),
        );
        let e = &self.enroll;
        check(
            crate::member::phone::Region::parse(&e.default_region).is_some(),
            "enroll.default_region",
            format!(
                "{:?} is not an ISO 3166 region code (try \"US\")",
                e.default_region
            ),
        );
        check(
            e.recent_change_days <= 3650,
            "enroll.recent_change_days",
            format!("{} is more than 3650", e.recent_change_days),
        );
        check(
            (1..=3600).contains(&e.poll_seconds),
            "enroll.poll_seconds",
            format!("{} is outside 1..=3600", e.poll_seconds),
        );
        check(
            e.settle_seconds <= 600,
            "enroll.settle_seconds",
            format!("{} is more than 600", e.settle_seconds),
        );
        check(
            e.keep_days <= 3650,
            "enroll.keep_days",
            format!("{} is more than 3650", e.keep_days),
        );
        check(
            e.full_max_removed_percent <= 100,
            "enroll.full_max_removed_percent",
            format!("{} is more than 100", e.full_max_removed_percent),
        );
        check(
            (1..=100_000).contains(&self.audit.max_batch),
            "audit.max_batch",
            format!("{} is outside 1..=100000", self.audit.max_batch),
        );
        if let Some(problem) = log_filter_problem(&self.log.level) {
            issues.push(ConfigIssue::new("log.level", problem));
        }
        match (&self.core.kind, &self.core.rest) {
            (CoreKind::Rest, None) => issues.push(ConfigIssue::new(
                "core.rest",
                "required when core.type = \"rest\"",
            )),
            (_, Some(rest)) => issues.extend(rest.validate(self.core.timeout_ms)),
            _ => {}
        }
        for (i, r) in self.routing.iter().enumerate() {
            let digits = r.dnis.strip_prefix('+').unwrap_or_default();
            if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                // the number as a call would read it (a national form, a tel: URI)
                let meant = crate::member::phone::normalize_dnis(&r.dnis, self.enroll.region())
                    .map(|e164| format!("; did you mean {e164:?}?"))
                    .unwrap_or_default();
                issues.push(ConfigIssue::new(
                    format!("routing[{i}].dnis"),
                    format!(
                        "{:?} is not an E.164 number (+ and 8 to 15 digits){meant}",
                        r.dnis
                    ),
                ));
            }
        }
        issues.extend(self.notify.validate());
        issues.extend(crate::profile::validate(&self.profiles, &self.routing));
        issues.extend(self.otp_without_its_channel());
        issues
    }

    /// An IVR step that lists `otp` while [`OtpConfig::ivr_channel`]'s `[notify]` section
    /// is absent: no code could ever go out, so the method would be passed over in every
    /// call (the dialog moves on to the next method when a code cannot be sent).
    fn otp_without_its_channel(&self) -> Vec<ConfigIssue> {
        let channel = self.otp.ivr_channel;
        let configured = match channel {
            OtpChannel::Sms => self.notify.sms.is_some(),
            OtpChannel::Email => self.notify.email.is_some(),
            // refused above: the caller keys the code into the IVR
            OtpChannel::Push => true,
        };
        if configured {
            return Vec::new();
        }
        let mut issues = Vec::new();
        for (name, p) in &self.profiles {
            for (trust, step) in p.ivr.by_trust() {
                for (i, _) in step
                    .methods
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| **m == crate::profile::Method::Otp)
                {
                    issues.push(ConfigIssue::new(
                        format!("profiles.{name}.ivr.{trust}.methods[{i}]"),
                        format!(
                            "\"otp\" sends its code by {0} (otp.ivr_channel), and there is no \
                             [notify.{0}] section: add one, or set otp.ivr_channel to a channel \
                             that is configured",
                            channel.as_str()
                        ),
                    ));
                }
            }
        }
        issues
    }

    /// Settings that work but are weak ([`crate::profile::cautions`]): warned of, not refused.
    pub fn cautions(&self) -> Vec<ConfigIssue> {
        let mut cautions = self.file_slips.clone();
        cautions.extend(crate::profile::cautions(&self.profiles, &self.routing));
        if self.enroll.keep_days == 0 {
            cautions.push(ConfigIssue::new(
                "enroll.keep_days",
                "0 (or unset) keeps every file in processed/, failed/ and outbox/ forever: \
                 members' data in plain text; set how many days to keep them (the installed \
                 callvault.toml says 90)",
            ));
        }
        cautions
    }

    /// The profile for a call to `dnis` (E.164), with its name: the route's, else the
    /// default one, else (no profiles configured) the built-in default.
    pub fn profile_for(&self, dnis: Option<&str>) -> (String, crate::profile::SharedProfile) {
        static BUILT_IN: std::sync::LazyLock<crate::profile::SharedProfile> =
            std::sync::LazyLock::new(Default::default);
        match crate::profile::for_dnis(&self.profiles, &self.routing, dnis) {
            Some((name, p)) => (name.to_string(), p.clone()),
            None => (crate::profile::BUILT_IN.to_string(), BUILT_IN.clone()),
        }
    }

    /// The listen address; `validate()` has checked it parses.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| {
            ConfigError::Invalid(vec![ConfigIssue::new(
                "server.listen",
                "not an IP address and port",
            )])
        })
    }

    /// The effective configuration as TOML, secrets shown as `***`.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }

    /// The redb file.
    pub fn db_path(&self) -> PathBuf {
        self.storage.state_dir.join(crate::store::DB_FILE_NAME)
    }

    /// The pre-enrollment folders: (inbox, outbox, processed, failed).
    pub fn enroll_dirs(&self) -> EnrollDirs {
        let at = |set: &Option<PathBuf>, name: &str| {
            set.clone()
                .unwrap_or_else(|| self.storage.state_dir.join(name))
        };
        EnrollDirs {
            inbox: at(&self.enroll.inbox, "inbox"),
            outbox: at(&self.enroll.outbox, "outbox"),
            processed: at(&self.enroll.processed, "processed"),
            failed: at(&self.enroll.failed, "failed"),
        }
    }

    /// The local admin socket the CLI talks to while the service runs.
    pub fn admin_socket_path(&self) -> PathBuf {
        self.storage.state_dir.join("admin.sock")
    }
}

/// What is wrong with a `log.level` filter, if anything. tracing's syntax takes a bare word
/// as a target with every level on, so a misspelt level (`verbose`, `warning`) would pass and
/// turn every log of callvault's off; a bare word here must be a level, and a target is
/// written with its level (`callvault=debug`).
fn log_filter_problem(filter: &str) -> Option<String> {
    const LEVELS: &str = "trace, debug, info, warn, error or off";
    if filter.trim().is_empty() {
        return Some(format!("is empty (a level: {LEVELS})"));
    }
    for directive in filter.split(',') {
        let bare = !directive.is_empty() && !directive.contains(['=', '[']);
        if bare
            && directive
                .parse::<tracing::level_filters::LevelFilter>()
                .is_err()
        {
            return Some(format!(
                "{directive:?} is not a level ({LEVELS}); a target takes its level: \
                 \"{directive}=debug\""
            ));
        }
    }
    match tracing_subscriber::EnvFilter::try_new(filter) {
        Ok(_) => None,
        Err(e) => Some(format!(
            "{filter:?} is not a log filter: {e} (try \"info\")"
        )),
    }
}

#[cfg(test)]
mod tests;
