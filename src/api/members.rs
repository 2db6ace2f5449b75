//! Agents' actions on a member's PIN (roles `agent` and `admin`): clear a lockout, force a
//! PIN change. Both are audited with the acting key's name.

use actix_web::web;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{AgentOrAdmin, Authorized};
use super::body::{Body, NoFields};
use super::error::ApiError;
use crate::audit::{AuditEvent, EventKind, Outcome};
use crate::vault::VaultError;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unlocked {
    pub member_id: String,
    /// Whether there was a lockout, or a run of wrong PINs or of wrong keypad answers, to
    /// clear.
    pub was_locked: bool,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PinChangeForced {
    pub member_id: String,
    /// Always true: the member chooses a new PIN after their next correct one.
    pub force_pin_change: bool,
}

/// The member the core holds under `member_id`; none, with no core asked, for an id that
/// cannot be one (`crate::member::plausible_member_id`).
pub(super) async fn core_member(
    state: &AppState,
    member_id: &str,
) -> Result<Option<crate::member::Member>, crate::core::CoreError> {
    match crate::member::plausible_member_id(member_id) {
        true => state.core.member(member_id).await,
        false => Ok(None),
    }
}

/// 404 unless the core knows the member; 503 when the core cannot say.
async fn known_member(state: &AppState, member_id: &str) -> Result<(), ApiError> {
    match core_member(state, member_id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "no_such_member",
            format!("no member {}", crate::member::named(member_id)),
        )),
        Err(e) => Err(ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "core_unavailable",
            e.to_string(),
        )),
    }
}

/// Clear a member's lockout: the runs of wrong PINs and of wrong keypad answers, and the
/// lock either put on the member.
#[utoipa::path(post, path = "/v1/members/{member_id}/unlock", tag = "agents",
    params(("member_id" = String, Path, description = "the core's member number")),
    security(("bearer" = ["agent", "admin"])),
    responses((status = 200, body = Unlocked),
              (status = 404, body = super::error::ErrorBody),
              (status = 403, body = super::error::ErrorBody)))]
pub async fn unlock(
    auth: Authorized<AgentOrAdmin>,
    state: web::Data<AppState>,
    member_id: web::Path<String>,
    body: Body<NoFields>,
) -> Result<web::Json<Unlocked>, ApiError> {
    body.parse_none()?;
    let member_id = member_id.into_inner();
    known_member(&state, &member_id).await?;
    let vault = state.vault.clone();
    let id = member_id.clone();
    let cleared = web::block(move || vault.unlock(&id))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    state
        .audit
        .record(
            AuditEvent::new(auth.client.actor(), EventKind::MemberUnlocked, Outcome::Ok)
                .member(member_id.clone())
                .detail(cleared.describe()),
        )
        .await
        .map_err(ApiError::audit_unavailable)?;
    Ok(web::Json(Unlocked {
        member_id,
        was_locked: cleared.any(),
    }))
}

/// Make the member choose a new PIN after their next correct one.
#[utoipa::path(post, path = "/v1/members/{member_id}/force-pin-change", tag = "agents",
    params(("member_id" = String, Path, description = "the core's member number")),
    security(("bearer" = ["agent", "admin"])),
    responses((status = 200, body = PinChangeForced),
              (status = 404, description = "no such member, or the member has no PIN (`no_pin`): none in the vault, and no core that checks PINs (`[core.rest.pin]`) to hold one", body = super::error::ErrorBody),
              (status = 403, body = super::error::ErrorBody)))]
pub async fn force_pin_change(
    auth: Authorized<AgentOrAdmin>,
    state: web::Data<AppState>,
    member_id: web::Path<String>,
    body: Body<NoFields>,
) -> Result<web::Json<PinChangeForced>, ApiError> {
    body.parse_none()?;
    let member_id = member_id.into_inner();
    known_member(&state, &member_id).await?;
    let vault = state.vault.clone();
    let id = member_id.clone();
    // a member whose PIN the core holds is marked, and changes it after the next right one
    let core_holds = state.config.load().core_pin().is_some();
    match web::block(move || vault.flag_force_change(&id, core_holds))
        .await
        .map_err(ApiError::internal)?
    {
        Ok(()) => {}
        Err(VaultError::NoPin(_)) => {
            return Err(ApiError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                "no_pin",
                format!("member {member_id:?} has no PIN to change; activation covers that"),
            ));
        }
        Err(e) => return Err(ApiError::internal(e)),
    }
    state
        .audit
        .record(
            AuditEvent::new(auth.client.actor(), EventKind::PinChangeForced, Outcome::Ok)
                .member(member_id.clone()),
        )
        .await
        .map_err(ApiError::audit_unavailable)?;
    Ok(web::Json(PinChangeForced {
        member_id,
        force_pin_change: true,
    }))
}
