//! Operations endpoints (no key): liveness, readiness, Prometheus metrics.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `alive` or `ready`.
    pub status: String,
    /// What was checked and what it found (readiness only).
    #[serde(default)]
    pub checks: std::collections::BTreeMap<String, String>,
}

/// The process is up.
#[utoipa::path(get, path = "/livez", tag = "operations",
    responses((status = 200, description = "alive", body = Health)))]
pub async fn livez() -> web::Json<Health> {
    web::Json(Health {
        status: "alive".into(),
        checks: Default::default(),
    })
}

const MIB: u64 = 1024 * 1024;

/// The store answers and can be written (its last write did not fail, its disk has at least
/// `storage.min_free_mb` free), the vault key is loaded, the core adapter is reachable, the
/// served TLS certificate is within its validity dates.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready", body = Health),
              (status = 503, description = "not ready", body = super::error::ErrorBody)))]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    let mut checks = std::collections::BTreeMap::new();
    let min_free = state.config.load().storage.min_free_mb.saturating_mul(MIB);
    let free = state.store.free_bytes();
    let low = free.filter(|f| *f < min_free);
    if low.is_none() && state.store.fault().is_some() {
        // after a failed write, with room on the disk again, see whether a write succeeds
        // now: a quiet service may have nothing else to write, and would stay "not ready"
        let store = state.store.clone();
        if let Ok(Err(e)) = web::block(move || store.probe()).await {
            tracing::debug!(error = %e, "readiness: the store still cannot be written");
        }
    }
    if let Some(fault) = state.store.fault() {
        tracing::warn!(error = %fault, "readiness: the store cannot be written");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!(
                "the last write to the store failed ({}); see the service log",
                state.store.write_failure_cause()
            ),
        ));
    }
    if let Some(free) = low {
        tracing::warn!(
            free_mib = free / MIB,
            "readiness: the store's disk is almost full"
        );
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!(
                "the disk holding the store has {} MiB free, under storage.min_free_mb ({})",
                free / MIB,
                min_free / MIB
            ),
        ));
    }
    let schema = state.store.schema_version().map_err(|e| {
        tracing::warn!(error = %e, "readiness: store check failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the store does not answer",
        )
    })?;
    let room = free.map_or(String::new(), |f| format!(", {} MiB free", f / MIB));
    checks.insert("store".into(), format!("open (schema {schema}){room}"));
    if let Some(validity) = state.reloader.cert_validity() {
        let status = validity.status(state.clock.now());
        if !status.usable() {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                format!("the TLS certificate {status}"),
            ));
        }
        checks.insert("tls".into(), format!("certificate {status}"));
    }
    checks.insert(
        "vault".into(),
        format!("key {} loaded", state.vault.key_id()),
    );
    state.core.check().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness: core check failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the core does not answer",
        )
    })?;
    checks.insert("core".into(), format!("{} reachable", state.core.kind()));
    Ok(web::Json(Health {
        status: "ready".into(),
        checks,
    }))
}

/// Prometheus text format; every name starts with `callvault_`.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state.metrics.run_upkeep();
    if let Some(free) = state.store.free_bytes() {
        metrics::gauge!("callvault_store_free_bytes").set(free as f64);
    }
    if let Ok(Some(at)) = crate::store::backups::last_backup(&state.store) {
        metrics::gauge!("callvault_backup_last_success_timestamp_seconds")
            .set(at.timestamp() as f64);
    }
    if let Ok(Some(at)) = crate::store::backups::created(&state.store) {
        metrics::gauge!("callvault_store_created_timestamp_seconds").set(at.timestamp() as f64);
    }
    if let Some(validity) = state.reloader.cert_validity() {
        metrics::gauge!("callvault_tls_certificate_expiry_timestamp_seconds")
            .set(validity.not_after.timestamp() as f64);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
