//! The call dialog over HTTPS (role `ivr`), the agent's view of calls and checklist (roles
//! `agent`, `admin`), and app intents (role `app`). Business outcomes are `200` STEP
//! answers; 4xx is for malformed requests and auth only.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::AppState;
use super::auth::{AgentOrAdmin, AppOnly, Authorized, CallReaders, IvrOnly};
use super::body::{Body, NoFields, Query};
use super::error::ApiError;
use crate::calls::{CallError, CallView, CallerInput, ChecklistView, NewIntent, StartCall};
use crate::dialog::StepView;
use crate::keys::Role;
use crate::profile::Question;

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        let message = e.to_string();
        match e {
            CallError::BadRequest(code, m) => ApiError::bad_request(code, m),
            CallError::InUse(_) => ApiError::conflict("call_id_in_use", message),
            CallError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "no_such_call", message),
            CallError::Ended(_) => ApiError::conflict("call_ended", message),
            CallError::Concurrent(_) => ApiError::conflict("concurrent_input", message),
            CallError::StepMismatch { .. } => ApiError::conflict("step_mismatch", message),
            CallError::NoMember(_) => ApiError::conflict("no_member", message),
            CallError::NoChecklist(_) => ApiError::conflict("no_checklist", message),
            CallError::Checklist(t) => ApiError::conflict(
                match t {
                    crate::dialog::checklist::TickError::NotOnChecklist { .. } => {
                        "not_on_checklist"
                    }
                    crate::dialog::checklist::TickError::AlreadyAnswered(_) => "already_answered",
                    crate::dialog::checklist::TickError::Decided(..) => "checklist_decided",
                },
                message,
            ),
            CallError::Naming(n) => ApiError::conflict(
                match n {
                    crate::dialog::agent::NamingError::AtIvr(_) => "call_at_ivr",
                    crate::dialog::agent::NamingError::OtherMember { .. } => "member_differs",
                },
                message,
            ),
            CallError::NoSuchMember(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "no_such_member", message)
            }
            CallError::CoreUnavailable(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "core_unavailable", message)
            }
            CallError::Challenge(c) => {
                use crate::challenge::ChallengeError as E;
                ApiError::conflict(
                    match c {
                        E::Decided(_) => "challenge_decided",
                        E::NoCode => "no_code",
                        E::AwaitingMember => "awaiting_member",
                        E::NotPush => "not_push",
                        E::AlreadyAnswered => "already_answered",
                        E::ProofMissing => "proof_missing",
                        E::InIvr => "ivr_challenge",
                    },
                    message,
                )
            }
            CallError::NoSuchChallenge(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "no_such_challenge", message)
            }
            CallError::TooManyChallenges { .. } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_challenges",
                message,
            ),
            CallError::NoDestination(_) => ApiError::conflict("no_destination", message),
            CallError::SendFailed(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "send_failed", message)
            }
            CallError::Internal(detail) => ApiError::internal(detail),
            CallError::StoreClosed(detail) => ApiError::store_closed(detail),
            CallError::Audit(a) => ApiError::audit_unavailable(a),
        }
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Whether the client asked for `k=v` pairs (Asterisk `CURL()` + `HASH(...,hashcompat)`).
///
/// The form wins when `Accept` names it with a weight above zero and at least the weight it
/// gives `application/json`, so `form;q=0` or `json, form;q=0.5` keep JSON. Wildcards
/// (`*/*`, `application/*`) choose nothing: JSON stays the default. An item that cannot be
/// read is passed over, and an `Accept` that is not text is taken as absent.
fn wants_form(req: &HttpRequest) -> bool {
    use actix_web::http::header::{Accept, Header, Quality};
    let Ok(accept) = Accept::parse(req) else {
        return false;
    };
    let weight = |essence: &str| {
        accept
            .iter()
            .filter(|item| item.item.essence_str() == essence)
            .map(|item| item.quality)
            .max()
    };
    match weight(FORM) {
        Some(form) if form > Quality::ZERO => {
            weight(actix_web::mime::APPLICATION_JSON.essence_str()).is_none_or(|json| form >= json)
        }
        _ => false,
    }
}

/// Whether an error answer to `req` goes as `code=...&message=...`: the client asked for
/// `k=v` pairs on a route whose answers are STEPs (`POST /v1/calls`, an input, `GET
/// .../step`), so that a dialplan reading the STEP's keys reads a refusal's `code` the same
/// way. Known once the request is routed.
pub(super) fn errors_in_form(req: &HttpRequest) -> bool {
    use actix_web::http::Method;
    let step_route = matches!(
        (req.method(), req.match_pattern().as_deref()),
        (
            &Method::POST,
            Some("/v1/calls" | "/v1/calls/{call_id}/input")
        ) | (&Method::GET, Some("/v1/calls/{call_id}/step"))
    );
    step_route && wants_form(req)
}

/// An error answer's body as `code=...&message=...`, and its content type.
pub(super) fn form_error(error: &super::error::ErrorBody) -> (HeaderValue, String) {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("code", &error.code)
        .append_pair("message", &error.message)
        .finish();
    (HeaderValue::from_static(FORM), body)
}

/// The STEP as `k1=v1&k2=v2`: every key, `null` as an empty value.
pub fn form_encode(step: &StepView) -> String {
    let value = serde_json::to_value(step).unwrap_or_default();
    let mut out = form_urlencoded::Serializer::new(String::new());
    if let Some(map) = value.as_object() {
        for (k, v) in map {
            let text = match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.append_pair(k, &text);
        }
    }
    out.finish()
}

fn step_response(req: &HttpRequest, status: StatusCode, step: &StepView) -> HttpResponse {
    metrics::counter!("callvault_steps_total", "status" => step.status.as_str()).increment(1);
    if wants_form(req) {
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(FORM)))
            .body(form_encode(step))
    } else {
        HttpResponse::build(status).json(step)
    }
}

/// Start a call: identify by caller ID (or app intent) and answer the first STEP.
/// With `Accept: application/x-www-form-urlencoded` the STEP comes as `k=v` pairs, and so
/// does a refusal (`code=...&message=...`).
#[utoipa::path(post, path = "/v1/calls", tag = "calls",
    request_body(description = "JSON, or the same fields as a form (`call_id=...&ani=...`)",
        content((StartCall = "application/json"), (StartCall = "application/x-www-form-urlencoded"))),
    security(("bearer" = ["ivr"])),
    responses((status = 201, body = StepView, description = "the first STEP (also as k=v pairs with Accept: application/x-www-form-urlencoded)"),
              (status = 400, description = "`bad_call_id`, `bad_ani`, `bad_dnis`, `bad_verstat`, or a body that is not a StartCall", body = super::error::ErrorBody),
              (status = 409, description = "the call id is in use (`call_id_in_use`)", body = super::error::ErrorBody)))]
pub async fn start(
    auth: Authorized<IvrOnly>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body<StartCall>,
) -> Result<HttpResponse, ApiError> {
    let step = state
        .calls
        .start(body.parse_json_or_form()?, &auth.client.actor())
        .await?;
    Ok(step_response(&req, StatusCode::CREATED, &step))
}

/// `POST /v1/calls/{call_id}/input`: digits, or an event.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallInput {
    /// What the caller keyed: digits, `*` (a decimal point in amounts); a trailing `#` is
    /// dropped. Empty means no input.
    #[serde(default)]
    #[schema(pattern = "^[ \t\n\x0C\r]*[0-9*]{0,32}#*[ \t\n\x0C\r]*$")]
    pub digits: Option<String>,
    /// What happened instead of digits.
    #[serde(default)]
    pub event: Option<InputEvent>,
    /// The `step` of the STEP this input answers (optional). Sent, it makes a retry safe:
    /// an input the call took already gets the current STEP and is not counted again, and
    /// one that answers neither the current STEP nor the one before is `409 step_mismatch`.
    /// A number, or its digits as a string (`"3"`, as a data action whose contract holds
    /// every field as a string sends it; `""` is none).
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(schema_with = step_schema)]
    pub step: Option<u64>,
}

impl super::body::FormBody for CallInput {
    const NUMBER_FIELDS: &'static [&'static str] = &["step"];
    const NULLABLE_FIELDS: &'static [&'static str] = &["digits", "event", "step"];
}

impl super::body::FormBody for StartCall {
    const NULLABLE_FIELDS: &'static [&'static str] = &["ani", "dnis", "app_token", "verstat"];
}

/// A count sent as `3` or as `3.0` (JSON has one number type; some IVR platforms write every
/// number with a fraction), or as the string `"3"` (a Genesys Cloud data action whose input
/// contract declares the field a string, a template that quotes every value); `""` is none.
/// `3.5`, a negative number, and a string other than 1 to 19 digits are refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Number(serde_json::Number),
        Digits(String),
    }
    let n = match Option::<Written>::deserialize(d)? {
        None => return Ok(None),
        Some(Written::Digits(s)) if s.is_empty() => return Ok(None),
        Some(Written::Digits(s)) => {
            return match s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()) {
                true => s.parse().map(Some).map_err(D::Error::custom),
                false => Err(D::Error::custom(
                    "expected a whole number, or its digits as a string",
                )),
            };
        }
        Some(Written::Number(n)) => n,
    };
    if let Some(n) = n.as_u64() {
        return Ok(Some(n));
    }
    match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64 => Ok(Some(f as u64)),
        _ => Err(D::Error::custom("expected a whole number")),
    }
}

/// What [`whole_number`] takes, for the document: a whole number, its digits as a string, or
/// null.
fn step_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
    };
    let choices = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9]{0,19}$")),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "The `step` of the STEP this input answers: a number, or its digits as a string \
             (\"\" is none)",
        ))
        .build();
    Schema::OneOf(choices)
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputEvent {
    NoInput,
    OptOut,
}

fn caller_input(body: CallInput) -> Result<CallerInput, ApiError> {
    let digits = body.digits.map(Zeroizing::new);
    match (digits, body.event) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "bad_input",
            "send either digits or an event, not both",
        )),
        (None, None) => Err(ApiError::bad_request(
            "bad_input",
            "send {\"digits\": \"...\"} or {\"event\": \"no_input\" | \"opt_out\"}",
        )),
        (None, Some(InputEvent::NoInput)) => Ok(CallerInput::NoInput),
        (None, Some(InputEvent::OptOut)) => Ok(CallerInput::OptOut),
        (Some(d), None) => {
            // the pattern in CallInput's schema says the same
            let trimmed = d
                .trim_matches(|c: char| c.is_ascii_whitespace())
                .trim_end_matches('#');
            if trimmed.is_empty() {
                return Ok(CallerInput::NoInput);
            }
            if trimmed.len() > 32 || !trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'*') {
                // never echo what was sent: it may be a PIN
                return Err(ApiError::bad_request(
                    "bad_digits",
                    "digits must be 1 to 32 keypad characters (0-9, *, a trailing #)",
                ));
            }
            Ok(CallerInput::Digits(Zeroizing::new(trimmed.to_string())))
        }
    }
}

/// Answer the current step.
/// With `Accept: application/x-www-form-urlencoded` the STEP comes as `k=v` pairs, and so
/// does a refusal (`code=...&message=...`).
#[utoipa::path(post, path = "/v1/calls/{call_id}/input", tag = "calls",
    request_body(description = "JSON, or the same fields as a form (`digits=1234`)",
        content((CallInput = "application/json"), (CallInput = "application/x-www-form-urlencoded"))),
    params(("call_id" = String, Path, description = "the IVR's call id")),
    security(("bearer" = ["ivr"])),
    responses((status = 200, body = StepView),
              (status = 404, description = "no such call (`no_such_call`)", body = super::error::ErrorBody),
              (status = 409, description = "the call has ended (`call_ended`); the input's `step` is neither the call's current STEP nor the one before (`step_mismatch`); or (a guard that inputs taking turns should never meet) it changed while this input was being checked (`concurrent_input`: send it again)", body = super::error::ErrorBody)))]
pub async fn input(
    auth: Authorized<IvrOnly>,
    state: web::Data<AppState>,
    req: HttpRequest,
    call_id: web::Path<String>,
    body: Body<CallInput>,
) -> Result<HttpResponse, ApiError> {
    let body = body.parse_json_or_form()?;
    let answering = body.step;
    let input = caller_input(body)?;
    let step = state
        .calls
        .input(&call_id, input, answering, &auth.client.actor())
        .await?;
    Ok(step_response(&req, StatusCode::OK, &step))
}

/// The call's current STEP, unchanged: for an IVR that lost an answer (its input's or its
/// start's, whose retry is `409 call_id_in_use`). Waits for an input being taken.
/// With `Accept: application/x-www-form-urlencoded` the STEP comes as `k=v` pairs, and so
/// does a refusal (`code=...&message=...`).
#[utoipa::path(get, path = "/v1/calls/{call_id}/step", tag = "calls",
    params(("call_id" = String, Path, description = "the IVR's call id")),
    security(("bearer" = ["ivr"])),
    responses((status = 200, body = StepView, description = "the current STEP (also as k=v pairs with Accept: application/x-www-form-urlencoded)"),
              (status = 404, description = "no such call (`no_such_call`)", body = super::error::ErrorBody),
              (status = 409, description = "the call has ended (`call_ended`)", body = super::error::ErrorBody)))]
pub async fn current_step(
    _auth: Authorized<IvrOnly>,
    state: web::Data<AppState>,
    req: HttpRequest,
    call_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let step = state.calls.current_step(&call_id).await?;
    Ok(step_response(&req, StatusCode::OK, &step))
}

/// The caller hung up: the call ends; its record stays for agents.
#[utoipa::path(delete, path = "/v1/calls/{call_id}", tag = "calls",
    params(("call_id" = String, Path, description = "the IVR's call id")),
    security(("bearer" = ["ivr"])),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
pub async fn hang_up(
    auth: Authorized<IvrOnly>,
    state: web::Data<AppState>,
    call_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.calls.hang_up(&call_id, &auth.client.actor()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Everything known about a call: the agent's screen pop.
#[utoipa::path(get, path = "/v1/calls/{call_id}", tag = "agents",
    params(("call_id" = String, Path, description = "the IVR's call id")),
    security(("bearer" = ["ivr", "agent", "admin"])),
    responses((status = 200, body = CallView), (status = 404, body = super::error::ErrorBody)))]
pub async fn view(
    _auth: Authorized<CallReaders>,
    state: web::Data<AppState>,
    call_id: web::Path<String>,
) -> Result<web::Json<CallView>, ApiError> {
    let calls = state.calls.clone();
    let view = web::block(move || calls.view(&call_id))
        .await
        .map_err(ApiError::internal)??;
    Ok(web::Json(view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindCalls {
    /// The caller's number: E.164, national, or a `tel:` or `sip:` URI holding one. Left
    /// out: the calls from any number (a supervisor's list; with `active=true`, the calls
    /// still going).
    #[param(required = false, min_length = 1)]
    pub ani: Option<String>,
    /// Only calls not yet ended.
    #[serde(default)]
    #[param(required = false)]
    pub active: bool,
    /// At most this many calls, the newest (default 50).
    #[param(required = false, minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// `GET /v1/calls`' `limit` when none is given, and the most it may ask for.
pub const FIND_LIMIT: (u32, u32) = (50, 500);

/// Find calls from a number, newest first: the newest `limit` (50 unless given). Without
/// `ani`, the newest calls from any number (callvault's addition to API.md), for agents and
/// admins only: an IVR key finds the calls of the number it has on the line, and lists no
/// one else's callers (`403 forbidden`).
#[utoipa::path(get, path = "/v1/calls", tag = "agents", params(FindCalls),
    security(("bearer" = ["ivr", "agent", "admin"])),
    responses((status = 200, body = Vec<CallView>), (status = 400, body = super::error::ErrorBody),
              (status = 403, description = "`forbidden`: a key of a role this operation does not take, or an `ivr` key without `ani`", body = super::error::ErrorBody)))]
pub async fn find(
    auth: Authorized<CallReaders>,
    state: web::Data<AppState>,
    query: Query<FindCalls>,
) -> Result<web::Json<Vec<CallView>>, ApiError> {
    let calls = state.calls.clone();
    let q = query.parse()?;
    if q.ani.is_none() && auth.client.role == Role::Ivr {
        return Err(ApiError::forbidden(
            "a key with role ivr finds calls by their number (ani); the calls from every \
             number need an agent or admin key",
        ));
    }
    let (default, max) = FIND_LIMIT;
    let limit = q.limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_limit",
            format!("limit must be 1 to {max}"),
        ));
    }
    let found = web::block(move || match &q.ani {
        Some(ani) => calls.find_by_ani(ani, q.active, limit as usize),
        None => calls.find_recent(q.active, limit as usize),
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(web::Json(found))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedMember {
    /// The core's member number of the caller, as the agent identified them; when no member
    /// has it as written, it is tried with other leading zeros, as a keyed member number is.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,64}$"
    )]
    pub member_id: String,
}

/// The agent names the caller's member on a call the IVR transferred without one (the
/// caller opted out, keyed nothing that matched, called from a number that names no one or
/// several members, or the core was down). The trust is the call's number's for that member,
/// as when a caller keys an identifier: `known_number` from their verified mobile,
/// `unknown_number` otherwise. The checklist and one-time codes then work on the call.
/// Naming the member the call already has changes nothing. Audited as `call_identified`
/// (`by an agent`). Not in API.md: callvault's addition.
#[utoipa::path(post, path = "/v1/calls/{call_id}/member", tag = "agents",
    request_body = NamedMember,
    params(("call_id" = String, Path, description = "the IVR's call id")),
    security(("bearer" = ["agent", "admin"])),
    responses((status = 200, description = "the call's screen pop, with the member named", body = CallView),
              (status = 400, description = "`bad_member_id`: empty, over 64 characters, or control characters", body = super::error::ErrorBody),
              (status = 404, description = "no such call (`no_such_call`), or the core knows no such member (`no_such_member`)", body = super::error::ErrorBody),
              (status = 409, description = "`call_at_ivr` (the IVR's dialog is still running: the member is its to find), `member_differs` (the call has another member), `call_ended` (the caller has hung up)", body = super::error::ErrorBody),
              (status = 503, description = "`core_unavailable`: the core did not answer within core.timeout_ms", body = super::error::ErrorBody)))]
pub async fn name_member(
    auth: Authorized<AgentOrAdmin>,
    state: web::Data<AppState>,
    call_id: web::Path<String>,
    body: Body<NamedMember>,
) -> Result<web::Json<CallView>, ApiError> {
    let named = body.parse()?;
    if !crate::member::plausible_member_id(&named.member_id) {
        return Err(ApiError::bad_request(
            "bad_member_id",
            format!(
                "member_id must be 1 to {} characters, none of them control characters",
                crate::member::MEMBER_ID_MAX_CHARS
            ),
        ));
    }
    let view = state
        .calls
        .name_member(&call_id, &named.member_id, &auth.client.actor())
        .await?;
    Ok(web::Json(view))
}

/// Start (or show again) the agent checklist for the call's trust level. Expected answers
/// are shown to the `agent` role only; every reveal is an audit event. A checklist decided
/// before any question (nothing to ask at the trust level, or a record that answers fewer
/// questions than `required`: `total` under `required`) has its `result` at once, and
/// marks the call and the member as a tick's verdict does.
#[utoipa::path(post, path = "/v1/calls/{call_id}/checklist", tag = "agents",
    params(("call_id" = String, Path, description = "the IVR's call id")),
    security(("bearer" = ["agent", "admin"])),
    responses((status = 200, body = ChecklistView),
              (status = 404, description = "no such call (`no_such_call`)", body = super::error::ErrorBody),
              (status = 409, description = "no member identified yet (`no_member`), or the caller has hung up (`call_ended`: the screen pop still shows the checklist, without its answers)", body = super::error::ErrorBody)))]
pub async fn checklist(
    auth: Authorized<AgentOrAdmin>,
    state: web::Data<AppState>,
    call_id: web::Path<String>,
    body: Body<NoFields>,
) -> Result<web::Json<ChecklistView>, ApiError> {
    body.parse_none()?;
    let reveal = auth.client.role == Role::Agent;
    let view = state
        .calls
        .checklist(&call_id, reveal, &auth.client.actor())
        .await?;
    Ok(web::Json(view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tick {
    pub correct: bool,
}

/// The agent's tick on one checklist question.
#[utoipa::path(post, path = "/v1/calls/{call_id}/checklist/{question_id}", tag = "agents",
    request_body = Tick,
    params(("call_id" = String, Path, description = "the IVR's call id"),
           ("question_id" = Question, Path, description = "a question on the checklist")),
    security(("bearer" = ["agent", "admin"])),
    responses((status = 200, body = ChecklistView),
              (status = 404, description = "no such call (`no_such_call`)", body = super::error::ErrorBody),
              (status = 409, description = "`no_checklist` (start it first), `not_on_checklist`, `already_answered`, `checklist_decided`, `call_ended` (the caller has hung up)", body = super::error::ErrorBody)))]
pub async fn tick(
    auth: Authorized<AgentOrAdmin>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Body<Tick>,
) -> Result<web::Json<ChecklistView>, ApiError> {
    let body = body.parse()?;
    let (call_id, question_id) = path.into_inner();
    let question = question_in_path(&question_id)?;
    let view = state
        .calls
        .tick(&call_id, question, body.correct, &auth.client.actor())
        .await?;
    Ok(web::Json(view))
}

/// The question a tick's path names; else `bad_question`, with the question likely meant
/// (`dobb`, `place`) or the list of them.
fn question_in_path(id: &str) -> Result<Question, ApiError> {
    Question::parse(id).ok_or_else(|| {
        let names = Question::ALL.map(Question::as_str);
        let hint = match crate::spelling::nearest_or_completion(id, names) {
            Some(meant) => format!("; did you mean {meant}?"),
            None => format!("; the questions are {}", names.join(", ")),
        };
        let shown: String = id.chars().take(64).collect();
        ApiError::bad_request("bad_question", format!("{shown:?} is not a question{hint}"))
    })
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntentCreated {
    /// Shown once: pass it to the IVR as `app_token`. Single use.
    pub app_token: String,
    pub expires_at: DateTime<Utc>,
    /// Whether a call from the `phone` given counts as this intent (where the call's profile
    /// allows it, `app_intent_by_ani`): only the member's verified number does, and only
    /// when no other member has that number too. False when no phone was given, or the phone
    /// is not such a number; then only `app_token` counts.
    pub by_phone: bool,
}

/// The member's app announces a call (seed 004's "intention recorded").
#[utoipa::path(post, path = "/v1/intents", tag = "app", request_body = NewIntent,
    security(("bearer" = ["app"])),
    responses((status = 201, body = IntentCreated),
              (status = 404, description = "no such member", body = super::error::ErrorBody)))]
pub async fn create_intent(
    auth: Authorized<AppOnly>,
    state: web::Data<AppState>,
    body: Body<NewIntent>,
) -> Result<HttpResponse, ApiError> {
    let announced = state
        .calls
        .create_intent(body.parse()?, &auth.client.actor())
        .await?;
    Ok(HttpResponse::Created().json(IntentCreated {
        app_token: announced.token,
        expires_at: announced.expires_at,
        by_phone: announced.by_phone,
    }))
}

#[cfg(test)]
mod tests;
