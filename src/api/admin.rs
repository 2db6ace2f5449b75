//! Admin endpoints (role `admin`): reload, API keys. And `whoami` for any key.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{AdminOnly, AnyRole, Authorized};
use super::body::{Body, NoFields};
use super::error::ApiError;
use crate::keys::{self, KeyError, KeyInfo, Role};

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhoAmI {
    pub name: String,
    pub role: Role,
    /// `key`, or `cert` for a client certificate mapped in `[[server.clients]]`.
    pub via: keys::Credential,
    /// The `X-Agent-Id` the request sent (null without one): the audit log's actor is then
    /// `key:NAME/agent:ID`.
    pub agent: Option<String>,
}

/// The client's own name and role: a first call to check a key (or certificate) works.
#[utoipa::path(get, path = "/v1/whoami", tag = "admin",
    security(("bearer" = ["ivr", "agent", "app", "admin"])),
    responses((status = 200, body = WhoAmI), (status = 401, body = super::error::ErrorBody)))]
pub async fn whoami(auth: Authorized<AnyRole>) -> web::Json<WhoAmI> {
    web::Json(WhoAmI {
        name: auth.client.name,
        role: auth.client.role,
        via: auth.client.via,
        agent: auth.client.agent,
    })
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reloaded {
    pub reloaded: bool,
    /// Settings that changed but take effect only after a restart.
    pub restart_needed_for: Vec<String>,
    /// What the new configuration allows that works but is weak (a known number that
    /// needs nothing), or exposes (a file every local user can read that holds a secret),
    /// and the files it names that the reload did not load and could not use (a code
    /// channel's CA file; `vault.key_file`, read at the next restart),
    /// each led by its key path: what `callvault config check` prints. Also logged.
    pub warnings: Vec<String>,
}

/// Re-read the config, TLS pair and client CAs; a bad file is refused and the old one stays.
#[utoipa::path(post, path = "/v1/admin/reload", tag = "admin",
    security(("bearer" = ["admin"])),
    responses((status = 200, body = Reloaded),
              (status = 422, description = "refused; the running config stays", body = super::error::ErrorBody),
              (status = 403, body = super::error::ErrorBody)))]
pub async fn reload(
    auth: Authorized<AdminOnly>,
    state: web::Data<AppState>,
    body: Body<NoFields>,
) -> Result<web::Json<Reloaded>, ApiError> {
    body.parse_none()?;
    let reloader = state.reloader.clone();
    let actor = auth.client.actor();
    let result = web::block(move || reloader.reload(&actor))
        .await
        .map_err(ApiError::internal)?;
    match result {
        Ok(done) => Ok(web::Json(Reloaded {
            reloaded: true,
            restart_needed_for: done.restart,
            warnings: done.warnings,
        })),
        Err(e) => Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "config_invalid",
            format!("reload refused, the running configuration stays: {e}"),
        )),
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// 1–64 letters, digits, `.`, `-` and `_`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub info: KeyInfo,
    /// The key itself, shown this once.
    pub key: String,
}

fn key_error(e: KeyError) -> ApiError {
    match e {
        KeyError::NameTaken { .. } => ApiError::conflict("key_exists", e.to_string()),
        KeyError::LastAdmin { .. } => ApiError::conflict("last_admin_key", e.to_string()),
        KeyError::NoSuchKey { .. } => ApiError::not_found(e.to_string()),
        KeyError::BadName(_) | KeyError::BadRole(_) => {
            ApiError::bad_request("invalid_field", e.to_string())
        }
        KeyError::Store(e) => ApiError::internal(e),
    }
}

/// Create an API key; the answer holds the key, shown once.
#[utoipa::path(post, path = "/v1/admin/keys", tag = "admin", request_body = CreateKey,
    security(("bearer" = ["admin"])),
    responses((status = 201, body = CreatedKey), (status = 409, body = super::error::ErrorBody)))]
pub async fn create_key(
    auth: Authorized<AdminOnly>,
    state: web::Data<AppState>,
    body: Body<CreateKey>,
) -> Result<HttpResponse, ApiError> {
    let body = body.parse()?;
    let st = state.clone();
    let created = web::block(move || {
        keys::create(
            &st.store,
            &body.name,
            body.role,
            &auth.client.actor(),
            st.clock.now(),
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(key_error)?;
    Ok(HttpResponse::Created().json(CreatedKey {
        info: created.info,
        key: created.plaintext.to_string(),
    }))
}

/// Every key, active and revoked (never the keys themselves).
#[utoipa::path(get, path = "/v1/admin/keys", tag = "admin",
    security(("bearer" = ["admin"])),
    responses((status = 200, body = [KeyInfo])))]
pub async fn list_keys(
    _auth: Authorized<AdminOnly>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<KeyInfo>>, ApiError> {
    let state = state.into_inner();
    web::block(move || {
        state.keys.write_use_or_log(&state.store);
        let txn = state.store.begin_read().map_err(ApiError::internal)?;
        keys::list(&txn).map(web::Json).map_err(key_error)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Revoke the active key with this name.
#[utoipa::path(delete, path = "/v1/admin/keys/{name}", tag = "admin",
    params(("name" = String, Path, description = "the key's name")),
    security(("bearer" = ["admin"])),
    responses((status = 204), (status = 404, body = super::error::ErrorBody),
              (status = 409, description = "the last active admin key (`last_admin_key`)",
               body = super::error::ErrorBody)))]
pub async fn revoke_key(
    auth: Authorized<AdminOnly>,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // an admin's client certificate ([[server.clients]]) manages keys as well as a key does
    let last_admin = {
        let cfg = state.config.load();
        let cert_admin = cfg.server.client_ca.is_some()
            && (cfg.server.clients.iter()).any(|c| c.role == keys::Role::Admin);
        match cert_admin {
            true => keys::LastAdmin::MayGo,
            false => keys::LastAdmin::Keep,
        }
    };
    let st = state.clone();
    web::block(move || {
        let actor = auth.client.actor();
        keys::revoke(&st.store, &name, &actor, st.clock.now(), last_admin)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(key_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The member as callvault holds it (or the core answers it), sensitive fields masked.
#[utoipa::path(get, path = "/v1/members/{member_id}", tag = "admin",
    params(("member_id" = String, Path, description = "the core's member number")),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = crate::member::MaskedMember),
              (status = 404, body = super::error::ErrorBody),
              (status = 503, description = "the core is unavailable", body = super::error::ErrorBody)))]
pub async fn member(
    _auth: Authorized<AdminOnly>,
    state: web::Data<AppState>,
    member_id: web::Path<String>,
) -> Result<web::Json<crate::member::MaskedMember>, ApiError> {
    match super::members::core_member(&state, &member_id).await {
        Ok(Some(m)) => Ok(web::Json(m.masked())),
        Ok(None) => Err(ApiError::not_found(format!(
            "no member {}",
            crate::member::named(&member_id)
        ))),
        Err(e) => Err(ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "core_unavailable",
            e.to_string(),
        )),
    }
}
