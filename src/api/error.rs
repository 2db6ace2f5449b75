//! Every error answer is `{"code": "snake_case", "message": "human sentence"}`, JSON, with a
//! fitting status; never an HTML page, a stack trace or an echoed secret.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError, error::JsonPayloadError};
use serde::{Deserialize, Serialize};

use crate::throttle::Throttle;
use crate::throttled_error;

/// The error body of every 4xx/5xx answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, snake_case; clients branch on it.
    pub code: String,
    /// For people; never holds a secret.
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// Something on our side failed; the detail goes to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        static LOGGED: Throttle = Throttle::new(Duration::from_secs(1));
        throttled_error!(LOGGED, error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "callvault could not complete the request; see the service log",
        )
    }

    /// The audit record could not be made durable, so the action is not answered as done.
    pub fn audit_unavailable(detail: impl std::fmt::Display) -> Self {
        static LOGGED: Throttle = Throttle::new(Duration::from_secs(1));
        throttled_error!(LOGGED, error = %detail, "audit log unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "the audit log cannot be written; the request was not completed",
        )
    }

    /// A store error: 503 while the store is being reopened after a failed write (the client
    /// may try again), otherwise an internal error.
    pub fn store(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Closed { .. } => Self::store_closed(e),
            other => Self::internal(other),
        }
    }

    /// The store is closed after a failed write and is being reopened.
    pub fn store_closed(detail: impl std::fmt::Display) -> Self {
        static LOGGED: Throttle = Throttle::new(Duration::from_secs(1));
        throttled_error!(LOGGED, error = %detail, "store unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the store is being reopened after a failed write; try again shortly",
        )
    }

    /// The generic body for a status produced outside our handlers (router, payload limits).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => ("bad_request", "the request is malformed"),
            401 => ("unauthorized", "an API key is required"),
            403 => ("forbidden", "this API key may not call this endpoint"),
            404 => ("not_found", "no such endpoint"),
            405 => (
                "method_not_allowed",
                "this endpoint does not take that method",
            ),
            406 => (
                "not_acceptable",
                "the answer is JSON (or form-encoded for IVR steps)",
            ),
            408 => ("request_timeout", "the request took too long to arrive"),
            413 => ("payload_too_large", "request bodies are limited to 64 KiB"),
            415 => ("unsupported_media_type", "send application/json"),
            429 => ("too_many_requests", "slow down"),
            503 => ("unavailable", "the service is not ready"),
            s if s >= 500 => ("internal_error", "callvault could not complete the request"),
            _ => ("bad_request", "the request was refused"),
        };
        Self::new(status, code, message)
    }

    /// The answer's body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_string(),
            message: self.message.clone(),
        }
    }

    /// Map a JSON body error without echoing any value from the body.
    pub fn from_json(err: &JsonPayloadError) -> Self {
        match err {
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                Self::from_status(StatusCode::PAYLOAD_TOO_LARGE)
            }
            JsonPayloadError::ContentType => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ),
            JsonPayloadError::Deserialize(e) => describe_json_error(e, None, At::Position),
            _ => Self::bad_request("invalid_json", "the request body could not be read"),
        }
    }

    /// As [`ApiError::from_json`] for a body's value that failed at `path` (`event`,
    /// `answers[2].correct`, as serde_path_to_error writes it; `.` for the whole body).
    pub fn from_json_at(err: &serde_json::Error, path: &str) -> Self {
        describe_json_error(err, Some(path), At::Position)
    }

    /// As [`ApiError::from_json_at`] for a form body read as JSON: without a position, which
    /// would be one in JSON the client never sent.
    pub fn from_form_at(err: &serde_json::Error, path: &str) -> Self {
        describe_json_error(err, Some(path), At::Nowhere)
    }
}

/// Whether an error about a body says where in it (`(line 1, column 18)`).
#[derive(Clone, Copy)]
enum At {
    Position,
    /// A form's body, read as the JSON object of its pairs: a position would be in that.
    Nowhere,
}

/// serde_json's messages may quote values (which could be a PIN); only field names, which the
/// contract defines, what the field expects (from the type, never from the body) and
/// positions are passed on.
fn describe_json_error(e: &serde_json::Error, path: Option<&str>, at: At) -> ApiError {
    let text = e.to_string();
    let at = match at {
        At::Position => format!(" (line {}, column {})", e.line(), e.column()),
        At::Nowhere => String::new(),
    };
    if let Some((field, hint)) = unknown_field(&text, "fields") {
        return ApiError::bad_request("unknown_field", format!("unknown field {field}{at}{hint}"));
    }
    if let Some(rest) = text.strip_prefix("missing field `") {
        let field: String = rest.chars().take_while(|c| *c != '`').take(64).collect();
        return ApiError::bad_request("missing_field", format!("missing field `{field}`{at}"));
    }
    // a field of the contract's (serde names only those it knows), as a form's is said
    if let Some(rest) = text.strip_prefix("duplicate field `") {
        let field: String = rest.chars().take_while(|c| *c != '`').take(64).collect();
        return ApiError::bad_request(
            "duplicate_field",
            format!("`{field}` is given more than once{at}"),
        );
    }
    match e.classify() {
        serde_json::error::Category::Syntax => {
            ApiError::bad_request("invalid_json", format!("the body is not valid JSON{at}"))
        }
        serde_json::error::Category::Eof => ApiError::bad_request(
            "invalid_json",
            format!(
                "the body ends before its JSON does{at}: a closing }}, ] or \" is missing, \
                 or the body was cut short"
            ),
        ),
        _ => {
            let field = match path {
                Some(".") => "the body".to_string(),
                Some(p) if p.len() <= 64 => format!("`{p}`"),
                _ => "a field".to_string(),
            };
            // keypad digits or a caller id sent as a JSON number: its leading zeros are gone
            let number = ["invalid type: integer", "invalid type: floating point"]
                .iter()
                .any(|t| text.starts_with(t));
            let message = match expected(&text) {
                Some(what) if number && what == "a string" => format!(
                    "{field} has the wrong type or value: expected a string{at}; send it in \
                     quotes (\"0042\"): as a number its leading zeros are lost"
                ),
                Some(what) => {
                    format!("{field} has the wrong type or value: expected {what}{at}")
                }
                None => format!("{field} has the wrong type or value{at}"),
            };
            ApiError::bad_request("invalid_field", message)
        }
    }
}

/// From serde's "unknown field `x`, expected ...": the field, quoted (`` `pin` ``), and what
/// to say after it: the field it was likely meant to be (`; did you mean `digits`?`), else
/// the `names` there are (`fields`, `parameters`). None for another message. The field is
/// the body's, so it is quoted only when it reads as a name (a letter or `_`, then letters,
/// digits, `_`, `.` or `-`, 64 at most): a JSON body sent as a form has the whole body as
/// its one key, PIN and all.
pub(super) fn unknown_field(text: &str, names: &str) -> Option<(String, String)> {
    let rest = text.strip_prefix("unknown field `")?;
    let field: String = rest.chars().take_while(|c| *c != '`').collect();
    let fields = fields_taken(rest);
    if !reads_as_a_name(&field) {
        let hint = match fields.is_empty() {
            true => String::new(),
            false => format!("; the {names} are `{}`", fields.join("`, `")),
        };
        return Some(("(its name left out: not a name)".to_string(), hint));
    }
    let hint = match crate::spelling::nearest(&field, fields.iter().copied()) {
        Some(meant) => format!("; did you mean `{meant}`?"),
        None if fields.is_empty() => String::new(),
        None => format!("; the {names} are `{}`", fields.join("`, `")),
    };
    Some((format!("`{field}`"), hint))
}

/// Whether a body's field name may be repeated in an error: see [`unknown_field`].
fn reads_as_a_name(field: &str) -> bool {
    let mut chars = field.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && field.len() <= 64
}

/// The fields an object takes, from the rest of serde's "unknown field `x`, expected one of
/// `a`, `b` at line 1 column 8" (or "expected `a` or `b`", "expected `a`"): the names serde
/// writes from the target type, never from the body. Empty when there are none to tell.
fn fields_taken(rest: &str) -> Vec<&str> {
    let rest = rest.rfind(" at line ").map_or(rest, |end| &rest[..end]);
    // the list is last, after the unknown field's own name (the body's, which may hold
    // anything, "`, expected `" too); a type with no fields ends so instead
    if rest.ends_with(", there are no fields") {
        return Vec::new();
    }
    match rest.rsplit_once("`, expected ") {
        Some((_, said)) => said.split('`').skip(1).step_by(2).collect(),
        None => Vec::new(),
    }
}

/// What serde says a value should have been, from a message such as ``invalid type: string
/// "482913", expected u32 at line 1 column 19`` or ``unknown variant `dance`, expected
/// `no_input` or `opt_out` ...``: the part after the last ", expected ", which serde writes
/// from the target type (a visitor's `expecting`), never from the body; or the rest of a
/// message a field's own deserializer wrote, which opens with "expected " (`step`'s:
/// `expected a whole number, or its digits as a string`). `None` when the message has no
/// such part, or a part too long to be a type's description.
fn expected(text: &str) -> Option<&str> {
    // serde's own messages put it last; a field's own deserializer (`step`'s) says it first
    let rest = match text.rsplit_once(", expected ") {
        Some((_, rest)) => rest,
        None => text.strip_prefix("expected ")?,
    };
    let rest = rest.rfind(" at line ").map_or(rest, |end| &rest[..end]);
    if rest.starts_with("struct ") {
        return Some("an object"); // not the Rust type's name
    }
    // nor a number's Rust type
    match rest {
        "u8" | "u16" | "u32" | "u64" | "usize" => return Some("a whole number, 0 or more"),
        "i8" | "i16" | "i32" | "i64" | "isize" => return Some("a whole number"),
        "f32" | "f64" => return Some("a number"),
        _ => {}
    }
    (!rest.is_empty() && rest.len() <= 120 && !rest.contains('"')).then_some(rest)
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status).json(self.body());
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"callvault\", Basic realm=\"callvault\""),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests;
