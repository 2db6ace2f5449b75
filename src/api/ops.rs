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

/// The store answers, the vault key is loaded, the core adapter is reachable.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready", body = Health),
              (status = 503, description = "not ready", body = super::error::ErrorBody)))]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    let mut checks = std::collections::BTreeMap::new();
    if let Some(fault) = state.store.fault() {
        tracing::warn!(error = %fault, "readiness: the store cannot be written");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the last write to the store failed (is the disk full?); see the service log",
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
    checks.insert("store".into(), format!("open (schema {schema})"));
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
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
