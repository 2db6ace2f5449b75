//! Reload on SIGHUP or `POST /v1/admin/reload`: the new config, TLS pair, client CAs and core
//! adapter are loaded and checked whole first; only if all are good are they swapped in (and a
//! changed `log.level` applied). A bad file is refused, logged and audited, and the service
//! keeps what it had.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::audit::{AuditEvent, AuditLog, EventKind, Outcome};
use crate::config::files::Reader;
use crate::config::{self, Config};
use crate::core::{CoreError, LiveCore};
use crate::service::logging::{self, LevelChange};
use crate::tls::{self, ReloadableCert, ReloadableClients, TlsPaths};

/// What a reload that took left to do or to know.
#[derive(Debug, Default)]
pub struct Reloaded {
    /// Changed settings that take effect only after a restart.
    pub restart: Vec<String>,
    /// Weak or exposed settings the new configuration has ([`Config::cautions`],
    /// [`config::exposure`]), and files it names that it could not use
    /// ([`config::files::check_files`]'s problems).
    pub warnings: Vec<String>,
}

pub struct Reloader {
    config_path: PathBuf,
    config: Arc<ArcSwap<Config>>,
    cert: Arc<ReloadableCert>,
    clients: Arc<ReloadableClients>,
    core: Arc<LiveCore>,
    audit: AuditLog,
}

impl Reloader {
    pub fn new(
        config_path: PathBuf,
        config: Arc<ArcSwap<Config>>,
        cert: Arc<ReloadableCert>,
        clients: Arc<ReloadableClients>,
        core: Arc<LiveCore>,
        audit: AuditLog,
    ) -> Self {
        Reloader {
            config_path,
            config,
            cert,
            clients,
            core,
            audit,
        }
    }

    /// Reload; returns what the new configuration left to do or to know (also logged), or
    /// why it was refused.
    pub fn reload(&self, actor: &str) -> Result<Reloaded, String> {
        let loaded = config::load(&self.config_path)
            .map_err(|e| e.to_string())
            .and_then(|next| {
                tls::load(&TlsPaths::from_config(&next))
                    .and_then(|pair| Ok((pair, tls::client_verifier(&next)?)))
                    .map(|tls| (next, tls))
                    .map_err(|e| e.to_string())
            })
            .and_then(|(next, tls)| {
                self.core
                    .prepare(&next)
                    .map(|core| (next, tls, core))
                    .map_err(|e| match e {
                        // the adapter's own words name the key (core.rest.ca_file ...)
                        CoreError::Unavailable(why) | CoreError::BadAnswer(why) => why,
                    })
            });
        match loaded {
            Ok((next, (pair, clients), core)) => {
                let restart = restart_needed(&self.config.load(), &next);
                tls::report_validity(
                    &TlsPaths::from_config(&next).cert,
                    tls::Validity::of(&pair),
                    chrono::Utc::now(),
                );
                // the files this reload did not load: a CA file or client certificate of a code
                // channel, and the one only a restart reads (vault.key_file)
                let files =
                    config::files::check_files(&next, chrono::Utc::now(), Reader::Service).problems;
                let mut warnings: Vec<String> = config::exposure(&self.config_path)
                    .into_iter()
                    .chain(next.cautions().iter().map(ToString::to_string))
                    .chain(files.iter().map(|problem| match problem.path.as_str() {
                        // read only at start: the running service has what it read then
                        "vault.key_file" => format!(
                            "{problem} (the service goes on with the file it read at start; \
                             a restart would fail on this one)"
                        ),
                        _ => problem.to_string(),
                    }))
                    .collect();
                let core_kind = core.as_ref().map(|c| c.kind());
                let proxied = crate::outbound::proxied(&next);
                self.cert.replace(pair);
                self.clients.replace(clients);
                if let Some(core) = core {
                    self.core.swap(core);
                }
                if self.config.load().log.level != next.log.level {
                    warnings.extend(apply_log_level(&next.log.level));
                }
                self.config.store(Arc::new(next));
                if let Some(kind) = core_kind {
                    tracing::info!(core = kind, "the core adapter was rebuilt from [core]");
                }
                for line in proxied {
                    tracing::info!("{line}");
                }
                for warning in &warnings {
                    tracing::warn!("{warning}");
                }
                let mut detail = match restart.is_empty() {
                    true => "in effect at once".to_string(),
                    false => format!("a restart is needed for {}", restart.join(", ")),
                };
                tracing::info!("configuration, TLS certificate and client CAs reloaded: {detail}");
                if let Some(kind) = core_kind {
                    detail.push_str(&format!("; core adapter rebuilt ({kind})"));
                }
                self.record(
                    AuditEvent::new(actor, EventKind::ConfigReloaded, Outcome::Ok).detail(detail),
                );
                Ok(Reloaded { restart, warnings })
            }
            Err(why) => {
                tracing::error!(error = %why, "reload refused; keeping the running configuration");
                self.record(
                    AuditEvent::new(actor, EventKind::ConfigReloadRefused, Outcome::Failed)
                        .detail(why.clone()),
                );
                Err(why)
            }
        }
    }

    /// The validity of the certificate being served.
    pub fn cert_validity(&self) -> Option<tls::Validity> {
        self.cert.validity()
    }

    fn record(&self, event: AuditEvent) {
        if let Err(e) = self.audit.record_blocking(event) {
            tracing::error!(error = %e, "cannot audit the reload");
        }
    }
}

/// Apply a changed `log.level`; what stopped it, as a warning.
fn apply_log_level(level: &str) -> Option<String> {
    match logging::set_level(level) {
        Ok(LevelChange::Applied) => {
            tracing::info!("log filter now {level:?} (log.level)");
            None
        }
        Ok(LevelChange::EnvDecides) => Some(
            "log.level: RUST_LOG is set in the service's environment and decides the log \
             filter, so log.level is not used; remove it there (systemctl edit callvault) to \
             let log.level apply"
                .to_string(),
        ),
        Err(why) => Some(why),
    }
}

/// The keys among `$section.$key` whose values differ between two configurations, each
/// named by its path.
macro_rules! changed_keys {
    ($old:ident, $new:ident: $($section:ident . $key:ident),+ $(,)?) => {{
        let mut changed = Vec::new();
        $(
            if $old.$section.$key != $new.$section.$key {
                changed.push(concat!(stringify!($section), ".", stringify!($key)).to_string());
            }
        )+
        changed
    }};
}

/// Settings read only at start-up.
fn restart_needed(old: &Config, new: &Config) -> Vec<String> {
    changed_keys!(old, new:
        server.listen,
        server.workers,
        server.shutdown_timeout_seconds,
        server.keep_alive_seconds,
        storage.state_dir,
        storage.cache_mb,
        vault.key_file,
        vault.pin_threads,
        audit.max_batch,
        log.format,
    )
}

#[cfg(test)]
mod tests;
