//! `callvault.toml`: its shape and defaults here; loading (file, then
//! `CALLVAULT__SECTION__KEY` environment overrides) and unknown-key detection in `read.rs`;
//! one `validate()` that reports every problem with its key path in `check.rs`; the files it
//! names in `files.rs`.

mod check;
pub mod files;
mod known;
mod notify;
mod read;
mod secret;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[cfg(test)]
use check::log_filter_problem;
pub(crate) use check::{client_pair_set, endpoint_url};
pub use notify::{BodyEncoding, EmailConfig, NotifyConfig, PushConfig, SmsConfig, SmtpSecurity};
pub use read::{
    ConfigError, EXAMPLE_INSTALLED, env_overrides, exposure, load, load_with_env, parse,
    unread_env_vars,
};
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
    /// (`kind_slips` in `read.rs`): warned of with the [`Config::cautions`].
    #[serde(skip)]
    pub file_slips: Vec<ConfigIssue>,
    /// The file this configuration was read from (made absolute), when it was read from one
    /// ([`load`]): its folder is one more that the enrollment folders must keep apart from.
    #[serde(skip)]
    pub file: Option<PathBuf>,
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
    /// PEM certificate (chain) callvault presents to a gateway that asks for one (mutual
    /// TLS), with its key in `client_key`; set both or neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    pub connect_timeout_ms: u64,
    /// Extra tries of a read that failed for a reason worth retrying (no answer, 5xx).
    pub retries: u32,
    /// Failures in a row that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long it stays open before one trial call.
    pub breaker_open_seconds: u64,
    /// The credit union's time zone (IANA, `America/Chicago`; `""`: the system's): the day
    /// a last transaction the core dates in UTC fell on for the member
    /// ([`crate::civil::day_written`]).
    pub time_zone: String,
    pub fields: RestFields,
    /// `[core.rest.pin]`: the core checks the PINs the vault does not hold. None: PINs are
    /// the vault's alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<RestPinConfig>,
}

/// How the REST core checks a PIN: a POST of `body` to `url`, whose JSON answer says at
/// `correct` whether the PIN is right. A 404 means the core holds no PIN for the member.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RestPinConfig {
    /// POSTed to, under `base_url`; `{member_id}` (percent-encoded).
    pub url: String,
    /// The JSON body; `{pin}` (required) and `{member_id}`, JSON-escaped; `{{` and `}}` are
    /// braces.
    pub body: String,
    /// A JSON pointer to the answer's `true` (the PIN is right) or `false`.
    pub correct: String,
    /// Statuses a gateway answers a wrong PIN with instead of a 2xx (`[401, 422]`): each is
    /// a wrong PIN, not a failure of the core. 4xx only, and not 404.
    pub wrong_status: Vec<u16>,
    /// Seal a PIN the core found right into the vault, which checks that member's PIN from
    /// then on (a PIN set through callvault, by activation or a forced change, is the
    /// vault's in any case).
    pub keep: bool,
}

impl Default for RestPinConfig {
    fn default() -> Self {
        RestPinConfig {
            url: "/members/{member_id}/pin".into(),
            body: "{{\"pin\": \"{pin}\"}}".into(),
            correct: "/valid".into(),
            wrong_status: Vec::new(),
            keep: false,
        }
    }
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
            client_cert: None,
            client_key: None,
            connect_timeout_ms: 500,
            retries: 1,
            breaker_failures: 5,
            breaker_open_seconds: 30,
            time_zone: String::new(),
            fields: RestFields::default(),
            pin: None,
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
    /// Whether the core holds a PIN for the member (with `[core.rest.pin]`): false sends
    /// the member to activation (or the next method) without asking for a PIN. Absent or
    /// unreadable: asked, and the core says at the PIN step.
    pub has_pin: String,
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
            has_pin: p("has_pin"),
        }
    }
}

impl RestFields {
    /// `(name, pointer)` of every field.
    pub fn all(&self) -> [(&'static str, &str); 19] {
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
            ("has_pin", &self.has_pin),
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
    /// The order of month and day in a date a file writes with slashes (`3/12/1984`);
    /// none: such dates are refused, their order being unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slash_dates: Option<crate::civil::SlashDates>,
    /// How the text of an enrollment file is written: UTF-8, or Windows-1252 (Excel's "CSV
    /// (Comma delimited)") or Mac Roman (Excel for Mac's), where a line that is valid UTF-8
    /// still reads as UTF-8.
    pub encoding: crate::enroll::lines::Encoding,
    /// What stands between an enrollment file's columns: the comma, or `;`, a tab or `|`.
    pub separator: crate::enroll::lines::Separator,
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
            slash_dates: None,
            encoding: crate::enroll::lines::Encoding::Utf8,
            separator: crate::enroll::lines::Separator::Comma,
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

impl Config {
    /// `[core.rest.pin]` when the REST core is in use and checks PINs the vault does not hold.
    pub fn core_pin(&self) -> Option<&RestPinConfig> {
        match self.core.kind {
            CoreKind::Rest => self.core.rest.as_ref()?.pin.as_ref(),
            _ => None,
        }
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

    /// Every file and folder the configuration names, with its key.
    fn paths_mut(&mut self) -> Vec<(&'static str, &mut PathBuf)> {
        let server = &mut self.server;
        let enroll = &mut self.enroll;
        let mut optional = vec![
            ("server.tls_cert", &mut server.tls_cert),
            ("server.tls_key", &mut server.tls_key),
            ("server.client_ca", &mut server.client_ca),
            ("enroll.inbox", &mut enroll.inbox),
            ("enroll.outbox", &mut enroll.outbox),
            ("enroll.processed", &mut enroll.processed),
            ("enroll.failed", &mut enroll.failed),
        ];
        if let Some(rest) = self.core.rest.as_mut() {
            optional.push(("core.rest.ca_file", &mut rest.ca_file));
            optional.push(("core.rest.client_cert", &mut rest.client_cert));
            optional.push(("core.rest.client_key", &mut rest.client_key));
        }
        if let Some(email) = self.notify.email.as_mut() {
            optional.push(("notify.email.ca_file", &mut email.ca_file));
        }
        if let Some(sms) = self.notify.sms.as_mut() {
            optional.push(("notify.sms.ca_file", &mut sms.ca_file));
            optional.push(("notify.sms.client_cert", &mut sms.client_cert));
            optional.push(("notify.sms.client_key", &mut sms.client_key));
        }
        if let Some(push) = self.notify.push.as_mut() {
            optional.push(("notify.push.ca_file", &mut push.ca_file));
            optional.push(("notify.push.client_cert", &mut push.client_cert));
            optional.push(("notify.push.client_key", &mut push.client_key));
        }
        let mut paths = vec![
            ("storage.state_dir", &mut self.storage.state_dir),
            ("vault.key_file", &mut self.vault.key_file),
        ];
        paths.extend(
            optional
                .into_iter()
                .filter_map(|(key, path)| path.as_mut().map(|path| (key, path))),
        );
        paths
    }

    /// Makes every relative path absolute: one written in the file is taken from the
    /// file's folder (`file_folder`), one an environment variable set from the working
    /// directory, where the shell that set it was (`from_env` lists the keys the
    /// environment set). Relative to the working directory alone, the service (started in
    /// `/`) and a CLI command run elsewhere would read two different stores and key files
    /// with one configuration file. An empty path is left for the checks to refuse.
    pub fn anchor_paths(&mut self, file_folder: &Path, from_env: &[String], working_dir: &Path) {
        for (key, path) in self.paths_mut() {
            if path.is_relative() && !path.as_os_str().is_empty() {
                let folder = match from_env.iter().any(|k| k == key) {
                    true => working_dir,
                    false => file_folder,
                };
                *path = folder.join(&*path);
            }
        }
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

#[cfg(test)]
mod tests;
