//! `Config::validate`: every semantic problem of a configuration, each with its key path,
//! and the cautions (settings that work but are weak).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{Config, ConfigIssue, CoreKind, OtpChannel, RestCoreConfig, is_web_origin};

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
        if let Some(problem) = listen_problem(&s.listen) {
            check(false, "server.listen", problem);
        }
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
            let wildcard = c.name.contains('*');
            check(
                wildcard || rustls_pki_types::DnsName::try_from(c.name.as_str()).is_ok(),
                &format!("server.clients[{i}].name"),
                format!("{:?} is not a DNS name", c.name),
            );
            check(
                !wildcard,
                &format!("server.clients[{i}].name"),
                format!(
                    "{:?} is a wildcard: a certificate stands for the one client it names, \
                     so name each client's host (ivr-1.cu.example)",
                    c.name
                ),
            );
            check(
                !s.clients[..i]
                    .iter()
                    .any(|o| crate::tls::same_dns_name(&o.name, &c.name)),
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
        for same in self.enroll_folders_apart(written_alike) {
            check(false, &same.path, same.message);
        }
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
            let e164 =
                (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
            if !e164 && !crate::profile::line_label(&r.dnis) {
                // the number as a call would read it (a national form, a tel: URI), or the
                // label a URI holds (`sip:5000@pbx`)
                let user = crate::member::phone::uri_number(&r.dnis);
                let meant = crate::member::phone::normalize_dnis(&r.dnis, self.enroll.region())
                    .or_else(|| crate::profile::line_label(user).then(|| user.to_string()))
                    .map(|dnis| format!("; did you mean {dnis:?}?"))
                    .unwrap_or_default();
                issues.push(ConfigIssue::new(
                    format!("routing[{i}].dnis"),
                    format!(
                        "{:?} is not an E.164 number (+ and 8 to 15 digits), nor a line's \
                         label as a PBX hands it to the IVR (an extension of 1 to 7 digits, \
                         or a SIP user name){meant}",
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

    /// An IVR step that lists `otp` while [`super::OtpConfig::ivr_channel`]'s `[notify]` section
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
        self.cautions_on(&crate::civil::Zone::system())
    }

    /// [`Config::cautions`], on a system whose own time zone is `system`.
    pub(crate) fn cautions_on(&self, system: &crate::civil::Zone) -> Vec<ConfigIssue> {
        let mut cautions = self.file_slips.clone();
        cautions.extend(crate::profile::cautions(&self.profiles, &self.routing));
        if self.listen_addr().is_ok_and(|addr| addr.port() == 0) {
            cautions.push(ConfigIssue::new(
                "server.listen",
                "port 0: the system picks a free port at each start (the log's \"callvault is \
                 serving\" line names it), so IVRs cannot be set up with it; give a port, as \
                 8443",
            ));
        }
        if self.enroll.keep_days == 0 {
            cautions.push(ConfigIssue::new(
                "enroll.keep_days",
                "0 (or unset) keeps every file in processed/, failed/ and outbox/ forever: \
                 members' data in plain text; set how many days to keep them (the installed \
                 callvault.toml says 90)",
            ));
        }
        if let (CoreKind::Rest, Some(rest)) = (&self.core.kind, &self.core.rest)
            && rest.time_zone.is_empty()
            && !rest.fields.last_txn_date.is_empty()
            && system.is_utc()
        {
            cautions.push(ConfigIssue::new(
                "core.rest.time_zone",
                "unset, and this system's clock keeps UTC: a last transaction a core dates in \
                 UTC (2026-12-01T03:30:00Z) is taken to its UTC day, the next day for a member \
                 who paid in the evening; set the credit union's zone (\"America/Chicago\")",
            ));
        }
        if let (CoreKind::Rest, Some(rest)) = (&self.core.kind, &self.core.rest)
            && rest.pin.is_none()
            && !rest.fields.has_pin.is_empty()
            && rest.fields.has_pin != crate::config::RestFields::default().has_pin
        {
            cautions.push(ConfigIssue::new(
                "core.rest.fields.has_pin",
                "mapped, but there is no [core.rest.pin]: the vault holds every PIN, and what \
                 the core says of its own is not used (add [core.rest.pin] for the core to \
                 check the PINs it holds)",
            ));
        }
        if let Some(pin) = self.core_pin() {
            for (i, status) in pin.wrong_status.iter().enumerate() {
                if matches!(status, 401 | 403) {
                    cautions.push(ConfigIssue::new(
                        format!("core.rest.pin.wrong_status[{i}]"),
                        format!(
                            "{status} is also what a gateway answers when it refuses \
                             callvault's own credentials (auth_value, client_cert): then every \
                             PIN would count as wrong and lock members out; prefer a 2xx answer \
                             with false at core.rest.pin.correct, or a status such as 422"
                        ),
                    ));
                }
            }
        }
        cautions
    }
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
        if let Err((key, why)) = client_pair_set(&self.client_cert, &self.client_key) {
            check(false, key, why);
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
        if let Err(why) = crate::civil::Zone::named(&self.time_zone) {
            check(false, "time_zone", why);
        }
        check(
            (1..=3600).contains(&self.breaker_open_seconds),
            "breaker_open_seconds",
            format!("{} is outside 1..=3600", self.breaker_open_seconds),
        );
        if let Some(pin) = &self.pin {
            if let Err(why) = crate::notify::template::check(&pin.url, &["member_id"], &[]) {
                check(false, "pin.url", why);
            }
            check(
                pin.url.starts_with('/'),
                "pin.url",
                format!("{:?} is a path under base_url: it starts with /", pin.url),
            );
            if let Err(why) =
                crate::notify::template::check(&pin.body, &["pin", "member_id"], &["pin"])
            {
                check(false, "pin.body", why);
            }
            check(
                pin.correct.starts_with('/'),
                "pin.correct",
                format!(
                    "{:?} is not a JSON pointer (they start with /)",
                    pin.correct
                ),
            );
            for (i, status) in pin.wrong_status.iter().enumerate() {
                check(
                    (400..=499).contains(status) && *status != 404,
                    &format!("pin.wrong_status[{i}]"),
                    format!(
                        "{status} is not a 4xx status other than 404 (a 404 means the core \
                         holds no PIN for the member)"
                    ),
                );
            }
        }
        issues
    }
}

/// What is wrong with `server.listen`, if anything, and what to write instead: it takes an
/// IP address and a port, which a host name, a bare port or an address alone is not.
pub(crate) fn listen_problem(listen: &str) -> Option<String> {
    if listen.parse::<SocketAddr>().is_ok() {
        return None;
    }
    let said = format!("{listen:?} is not an IP address and port");
    let trimmed = listen.trim();
    let port = trimmed
        .rsplit_once(':')
        .map_or(trimmed, |(_, port)| port)
        .parse::<u16>()
        .ok();
    let host = trimmed.rsplit_once(':').map(|(host, _)| host);
    let hint = match (host, port) {
        (Some(host), Some(port)) if host.parse::<std::net::Ipv6Addr>().is_ok() => {
            format!("an IPv6 address takes brackets before its port: [{host}]:{port}")
        }
        (Some(host), Some(port)) if host.eq_ignore_ascii_case("localhost") => {
            format!("write 127.0.0.1:{port} (this host only; [::1]:{port} for IPv6)")
        }
        (None | Some("" | "*"), Some(port)) => {
            format!("write 127.0.0.1:{port} (this host only) or 0.0.0.0:{port} (every interface)")
        }
        _ if trimmed.parse::<std::net::IpAddr>().is_ok() => {
            match trimmed.parse::<std::net::Ipv6Addr>() {
                Ok(v6) => format!("add the port, with brackets for IPv6: [{v6}]:8443"),
                Err(_) => format!("add the port: {trimmed}:8443"),
            }
        }
        _ => "as 127.0.0.1:8443 (this host only), 0.0.0.0:8443 (every interface) or \
              [::1]:8443"
            .to_string(),
    };
    Some(format!("{said}: {hint}"))
}

/// `client_cert` and `client_key` set together or both left out; else the key left out and
/// why it is needed.
pub(crate) fn client_pair_set(
    cert: &Option<std::path::PathBuf>,
    key: &Option<std::path::PathBuf>,
) -> Result<(), (&'static str, String)> {
    let why = || "client_cert and client_key must be set together (or both left out)".to_string();
    match (cert, key) {
        (Some(_), None) => Err(("client_key", why())),
        (None, Some(_)) => Err(("client_cert", why())),
        _ => Ok(()),
    }
}

/// An outbound endpoint (core gateway, SMS gateway, push webhook): `https://`, or plain
/// `http://` only to this host, since members' facts and one-time codes travel in it.
pub(crate) fn endpoint_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    if !url.starts_with("http://") {
        return Err("must start with https:// (or http:// for a gateway on this host)".into());
    }
    match crate::outbound::on_this_host(url) {
        true => Ok(()),
        false => Err(format!(
            "http:// is only for a gateway on this host (localhost, 127.0.0.1, [::1]); \
             {:?} needs https://",
            crate::outbound::host(url).unwrap_or_default()
        )),
    }
}

/// What is wrong with a `log.level` filter, if anything. tracing's syntax takes a bare word
/// as a target with every level on, so a misspelt level (`verbose`, `warning`) would pass and
/// turn every log of callvault's off; a bare word here must be a level, and a target is
/// written with its level (`callvault=debug`).
pub(super) fn log_filter_problem(filter: &str) -> Option<String> {
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

impl Config {
    /// The enrollment folders that are the inbox's folder too, written so (whatever trailing
    /// `/` or `.` between): the service would take what it puts there (its answers, the
    /// files it took) from the inbox again, a file taken at every look without end. Said
    /// at the key that was set; the inbox's when the other is its default. And an
    /// enrollment folder that is the folder of callvault's own files (the store's, the vault
    /// key's, the TLS pair's, the CA files' and client pairs' it reads, and the
    /// configuration file's when it was read from one): the
    /// inbox would take them and move them to failed/, and the others would lose them once
    /// older than `enroll.keep_days`.
    ///
    /// `same` tells two folders for one: [`Config::validate`] compares their paths as
    /// written; [`Config::enroll_folders_apart_on_disk`] the folders themselves (a link
    /// between).
    pub(super) fn enroll_folders_apart(
        &self,
        same: impl Fn(&Path, &Path) -> bool,
    ) -> Vec<ConfigIssue> {
        let dirs = self.enroll_dirs();
        let e = &self.enroll;
        let apart = [
            (
                "enroll.outbox",
                &dirs.outbox,
                &e.outbox,
                "would take its answers there (NAME.results.csv) for files to enroll",
            ),
            (
                "enroll.processed",
                &dirs.processed,
                &e.processed,
                "would take each file it enrolled there again, at every look without end",
            ),
            (
                "enroll.failed",
                &dirs.failed,
                &e.failed,
                "would take each file that failed there again, at every look without end",
            ),
        ];
        let mut issues: Vec<ConfigIssue> = apart
            .into_iter()
            .filter(|(_, folder, _, _)| same(folder, &dirs.inbox))
            .map(|(key, folder, set, what)| {
                let message = format!(
                    "{} is both enroll.inbox and {key}: the service {what}; give each its own \
                     folder",
                    folder.display()
                );
                ConfigIssue::new(if set.is_some() { key } else { "enroll.inbox" }, message)
            })
            .collect();
        issues.extend(self.enroll_folders_holding(&self.own_files(), same));
        issues
    }

    /// The folders of callvault's own files: the store's, and the folder of each file it
    /// reads or writes (the vault key, the TLS pair, the CA files and client pairs, and
    /// the configuration file when it was read from one).
    fn own_files(&self) -> Vec<OwnFile> {
        let tls = crate::tls::TlsPaths::from_config(self);
        let keyed = |key: &str, what: &'static str, file: &Path| OwnFile {
            named: key.to_string(),
            what,
            folder: file.parent().map(Path::to_path_buf),
            file: Some(file.to_path_buf()),
        };
        let mut own = vec![
            OwnFile {
                named: "storage.state_dir".into(),
                what: "the store",
                folder: Some(self.storage.state_dir.clone()),
                file: None,
            },
            keyed("vault.key_file", "the vault key", &self.vault.key_file),
            keyed("server.tls_cert", "the TLS certificate", &tls.cert),
            keyed("server.tls_key", "the TLS key", &tls.key),
        ];
        // the files the gateways and the client checks read (CA files, client pairs)
        let mut copy = self.clone();
        let others = copy.paths_mut().into_iter().filter_map(|(key, path)| {
            let what = [
                ("client_ca", "the client CA file"),
                ("ca_file", "the CA file"),
                ("client_cert", "the client certificate"),
                ("client_key", "the client key"),
            ]
            .into_iter()
            .find_map(|(end, what)| key.ends_with(end).then_some(what))?;
            Some(keyed(key, what, path))
        });
        own.extend(others.collect::<Vec<_>>());
        own.extend(self.config_file_folder());
        own
    }

    /// What [`Config::validate`] cannot see, for [`super::load`] once the paths are made
    /// absolute: the enrollment folders that are one through a link with the inbox or a
    /// folder of callvault's own files (the folders themselves compared), and those that are
    /// the folder a file of callvault's own links to (a vault key kept on its own volume,
    /// a configuration file kept elsewhere by a configuration tool), however reached: the
    /// inbox would move it to failed/.
    pub(super) fn enroll_folders_apart_on_disk(&self) -> Vec<ConfigIssue> {
        let identity = |p: &Path| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
        };
        let one = |a: &Path, b: &Path| identity(a).is_some_and(|id| identity(b) == Some(id));
        // written alike, the validation has said so
        let mut issues = self.enroll_folders_apart(|a, b| !written_alike(a, b) && one(a, b));
        // the validation ran before the file was known
        issues.extend(self.enroll_folders_holding(&self.config_file_folder(), written_alike));
        let is_link = |f: &Path| std::fs::symlink_metadata(f).is_ok_and(|m| m.is_symlink());
        let targets: Vec<OwnFile> = self
            .own_files()
            .into_iter()
            .filter_map(|own| {
                let file = own.file.filter(|f| is_link(f))?;
                let target = std::fs::canonicalize(&file).ok()?;
                // a link beside its target: its folder was compared above
                let folder = target
                    .parent()
                    .filter(|t| !file.parent().is_some_and(|f| one(f, t)))?;
                Some(OwnFile {
                    named: format!("{}, a link to {}", own.named, target.display()),
                    what: own.what,
                    folder: Some(folder.to_path_buf()),
                    file: None,
                })
            })
            .collect();
        issues
            .extend(self.enroll_folders_holding(&targets, |a, b| written_alike(a, b) || one(a, b)));
        issues
    }

    /// The configuration file, when the configuration was read from one (the service's
    /// files are named in it).
    fn config_file_folder(&self) -> Vec<OwnFile> {
        self.file
            .iter()
            .map(|file| OwnFile {
                named: file.display().to_string(),
                what: "the configuration file",
                folder: file.parent().map(Path::to_path_buf),
                file: Some(file.clone()),
            })
            .collect()
    }

    /// The enrollment folders that are one of `own`'s: the inbox takes every file at its top
    /// level (and would move them to failed/), and the others lose their files older than
    /// `enroll.keep_days`.
    fn enroll_folders_holding(
        &self,
        own: &[OwnFile],
        same: impl Fn(&Path, &Path) -> bool,
    ) -> Vec<ConfigIssue> {
        let dirs = self.enroll_dirs();
        let enrollment = [
            ("enroll.inbox", &dirs.inbox),
            ("enroll.outbox", &dirs.outbox),
            ("enroll.processed", &dirs.processed),
            ("enroll.failed", &dirs.failed),
        ];
        let mut issues = Vec::new();
        for (enroll_key, folder) in enrollment {
            let Some(OwnFile { named, what, .. }) = own
                .iter()
                .find(|o| o.folder.as_deref().is_some_and(|f| same(folder, f)))
            else {
                continue;
            };
            let does = match enroll_key {
                "enroll.inbox" => {
                    format!("takes every file there to enroll, and would move {what} to failed/")
                }
                _ => format!(
                    "removes the files there older than enroll.keep_days, {what} among them"
                ),
            };
            issues.push(ConfigIssue::new(
                enroll_key,
                format!(
                    "{} is the folder of {what} ({named}): the service {does}; give {enroll_key} \
                     a folder of its own",
                    folder.display()
                ),
            ));
        }
        issues
    }
}

/// Two paths written alike, whatever trailing `/` or `.` between: one folder, as far as a
/// configuration can tell without looking at the disk.
pub(super) fn written_alike(a: &Path, b: &Path) -> bool {
    a.components().eq(b.components())
}

/// A file of callvault's own, by the key that names it (or its path), and its folder.
struct OwnFile {
    named: String,
    what: &'static str,
    folder: Option<PathBuf>,
    /// The file itself; none for a folder of callvault's own (the store's).
    file: Option<PathBuf>,
}
