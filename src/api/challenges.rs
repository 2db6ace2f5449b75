//! Agent-assisted verification (seed 001): one-time codes by SMS or e-mail and push
//! approvals (roles `agent`, `admin`), and the app back end's answer to a push (role `app`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::AppState;
use super::auth::{AgentOrAdmin, AppOnly, Authorized};
use super::body::Body;
use super::error::{ApiError, ErrorBody};
use crate::calls::{ChallengeSent, ChallengeView, CheckAnswer, NewChallenge};

fn known_id(id: &str) -> Result<(), ApiError> {
    match crate::challenge::valid_id(id) {
        true => Ok(()),
        false => Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "no_such_challenge",
            "no such challenge",
        )),
    }
}

/// Send the call's member a one-time code (SMS, e-mail) or a push approval. A push the app
/// back end cannot deliver falls back to a text with a code. An agent challenge still waiting
/// on the call ends as this one goes (`expired`, `how` `replaced`): the newest code works.
#[utoipa::path(post, path = "/v1/calls/{call_id}/challenges", tag = "agents",
    request_body = NewChallenge,
    params(("call_id" = String, Path, description = "the IVR's call id")),
    security(("bearer" = ["agent", "admin"])),
    responses((status = 201, body = ChallengeSent),
              (status = 400, description = "`channel_unavailable` (not configured), `bad_challenge`", body = ErrorBody),
              (status = 404, description = "no such call (`no_such_call`)", body = ErrorBody),
              (status = 409, description = "`no_member`, `no_destination`, `call_ended`", body = ErrorBody),
              (status = 429, description = "`too_many_challenges` (otp.max_sends_per_hour)", body = ErrorBody),
              (status = 502, description = "`send_failed`: the channel refused or did not answer; nothing was stored", body = ErrorBody)))]
pub async fn send(
    auth: Authorized<AgentOrAdmin>,
    state: web::Data<AppState>,
    call_id: web::Path<String>,
    body: Body<NewChallenge>,
) -> Result<HttpResponse, ApiError> {
    let sent = state
        .calls
        .send_challenge(&call_id, body.parse()?, &auth.client.actor())
        .await?;
    Ok(HttpResponse::Created().json(sent))
}

/// The challenge's state and countdown for the agent's screen.
#[utoipa::path(get, path = "/v1/challenges/{challenge_id}", tag = "agents",
    params(("challenge_id" = String, Path)),
    security(("bearer" = ["agent", "admin"])),
    responses((status = 200, body = ChallengeView), (status = 404, body = ErrorBody)))]
pub async fn view(
    _auth: Authorized<AgentOrAdmin>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<ChallengeView>, ApiError> {
    known_id(&id)?;
    let calls = state.calls.clone();
    let view = web::block(move || calls.challenge(&id))
        .await
        .map_err(ApiError::internal)??;
    Ok(web::Json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeCheck {
    /// The six digits the member read out.
    pub code: String,
}

impl std::fmt::Debug for CodeCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeCheck { code: *** }")
    }
}

/// Check the code the member read out: `approved`, `wrong_code` (with `attempts_left`),
/// `denied` (the last wrong code) or `expired` (its time is up, or its call has ended). A
/// decided challenge is `409 challenge_decided`: a used code does not work twice.
#[utoipa::path(post, path = "/v1/challenges/{challenge_id}/check", tag = "agents",
    request_body = CodeCheck,
    params(("challenge_id" = String, Path)),
    security(("bearer" = ["agent", "admin"])),
    responses((status = 200, body = CheckAnswer),
              (status = 400, description = "`bad_code`: not six digits (spaces and dashes between them are fine); no attempt is used", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`challenge_decided`, `no_code`, `awaiting_member`, `ivr_challenge`", body = ErrorBody)))]
pub async fn check(
    auth: Authorized<AgentOrAdmin>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body<CodeCheck>,
) -> Result<web::Json<CheckAnswer>, ApiError> {
    known_id(&id)?;
    let code = keyed_code(&Zeroizing::new(body.parse()?.code))?;
    let answer = state
        .calls
        .check_challenge(&id, code, &auth.client.actor())
        .await?;
    Ok(web::Json(answer))
}

/// The code an agent keyed, as the six digits it must be: spaces and dashes between them
/// go (a code read out as "123 456" or written "123-456"). Anything else is `400 bad_code`,
/// which uses none of the challenge's attempts: it cannot be a code, so it is no guess. The
/// message never repeats what was keyed.
fn keyed_code(keyed: &str) -> Result<Zeroizing<String>, ApiError> {
    let digits: Zeroizing<String> = Zeroizing::new(
        keyed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\t'))
            .collect(),
    );
    if digits.len() == crate::challenge::CODE_DIGITS as usize
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Ok(digits);
    }
    Err(ApiError::bad_request(
        "bad_code",
        format!(
            "code is the {} digits the member read out (spaces or dashes between them are \
             fine); this was not checked, and used none of the challenge's attempts",
            crate::challenge::CODE_DIGITS
        ),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub approve: bool,
}

/// The agent's own approve / deny. Deny works on any waiting challenge; approve needs the
/// member's approval of a push first (`409 proof_missing` otherwise: check the code).
#[utoipa::path(post, path = "/v1/challenges/{challenge_id}/decision", tag = "agents",
    request_body = Approval,
    params(("challenge_id" = String, Path)),
    security(("bearer" = ["agent", "admin"])),
    responses((status = 200, body = ChallengeView),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`challenge_decided`, `proof_missing`, `ivr_challenge`", body = ErrorBody)))]
pub async fn decide(
    auth: Authorized<AgentOrAdmin>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body<Approval>,
) -> Result<web::Json<ChallengeView>, ApiError> {
    let body = body.parse()?;
    known_id(&id)?;
    let view = state
        .calls
        .decide_challenge(&id, body.approve, &auth.client.actor())
        .await?;
    Ok(web::Json(view))
}

/// The app back end relays the member's approve / deny of a push.
#[utoipa::path(post, path = "/v1/challenges/{challenge_id}/push-response", tag = "app",
    request_body = Approval,
    params(("challenge_id" = String, Path)),
    security(("bearer" = ["app"])),
    responses((status = 200, body = ChallengeView),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`not_push`, `already_answered`, `challenge_decided`", body = ErrorBody)))]
pub async fn push_response(
    auth: Authorized<AppOnly>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body<Approval>,
) -> Result<web::Json<ChallengeView>, ApiError> {
    let body = body.parse()?;
    known_id(&id)?;
    let view = state
        .calls
        .push_response(&id, body.approve, &auth.client.actor())
        .await?;
    Ok(web::Json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_code_is_six_digits_with_spaces_or_dashes_between_or_no_guess() {
        for (keyed, want) in [
            ("918273", Some("918273")),
            (" 918273 ", Some("918273")),
            ("918 273", Some("918273")),
            ("918-273", Some("918273")),
            ("9 1 8 2 7 3", Some("918273")),
            ("91827", None),
            ("9182734", None),
            ("91827a", None),
            ("９１８２７３", None), // full-width digits are not ASCII digits
            ("918.273", None),
            ("", None),
        ] {
            let got = keyed_code(keyed);
            match (got, want) {
                (Ok(code), Some(w)) => assert_eq!(code.as_str(), w, "{keyed:?}"),
                (Err(e), None) => {
                    assert_eq!((e.status.as_u16(), e.code), (400, "bad_code"), "{keyed:?}");
                    assert!(e.message.contains("used none of the challenge's attempts"));
                    if !keyed.is_empty() {
                        assert!(!e.message.contains(keyed.trim()), "{keyed:?} shown");
                    }
                }
                (other, _) => panic!("{keyed:?}: {:?}", other.map(|c| c.to_string())),
            }
        }
    }

    #[test]
    fn a_code_check_never_shows_its_code_and_a_malformed_id_is_no_challenge() {
        let check = CodeCheck {
            code: "918273".into(),
        };
        let shown = format!("{check:?}");
        assert!(
            shown.starts_with("CodeCheck") && !shown.contains("918273"),
            "{shown}"
        );
        let id = crate::challenge::new_id();
        assert!(known_id(&id).is_ok());
        for bad in [
            "",
            "ch_",
            &id[..24],
            &format!("{id}x"),
            &id.replace("ch_", "cx_"),
        ] {
            let e = known_id(bad).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.code),
                (404, "no_such_challenge"),
                "{bad:?}"
            );
        }
    }
}
