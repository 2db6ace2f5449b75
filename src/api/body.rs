//! Request bodies and query strings read by the extractor but judged only by the handler.
//!
//! actix-web polls a handler's extractors side by side. Authorization awaits its audit
//! record when it refuses a client, so an eager `web::Json` that failed meanwhile would
//! answer first: a client without a key (or with the wrong role) would get `400
//! missing_field` instead of API.md's `401`/`403`, and learn what the endpoint expects.
//! [`Body`] and [`Query`] only collect the bytes; the handler, which runs once every
//! extractor succeeded (so after authorization), parses them. Only a body over the limit is
//! refused before authorization (`413`): it is not read for anyone.

use std::marker::PhantomData;

use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::mime;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body, parsed by [`Body::parse`] (or, on the IVR's STEP routes, a form body too:
/// [`Body::parse_json_or_form`]).
pub struct Body<T> {
    bytes: web::Bytes,
    /// The request said `application/json` (or a `+json` type).
    json: bool,
    /// The request said `application/x-www-form-urlencoded`.
    form: bool,
    /// The request had no `Content-Type` at all.
    untyped: bool,
    /// The bytes are a form's pairs written as JSON ([`Body::parse_json_or_form`]).
    from_form: bool,
    _of: PhantomData<T>,
}

/// A request body that may also come as a form (`k=v&k=v`), as Asterisk's `CURL()` and
/// Twilio Studio's HTTP request post by default. Form values are text: the fields in
/// `NUMBER_FIELDS` are read as numbers (empty: not sent), and in `NULLABLE_FIELDS` the word
/// `null` is JSON's null (as OpenAPI tools write a null into a form).
pub trait FormBody {
    const NUMBER_FIELDS: &'static [&'static str] = &[];
    const NULLABLE_FIELDS: &'static [&'static str] = &[];
}

impl<T: 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mime = req.mime_type();
        let json = matches!(&mime, Ok(Some(m))
            if m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON));
        let form = matches!(&mime, Ok(Some(m))
            if m.type_() == mime::APPLICATION && m.subtype() == mime::WWW_FORM_URLENCODED);
        let untyped = !req
            .headers()
            .contains_key(actix_web::http::header::CONTENT_TYPE);
        // the limit is the app's `web::PayloadConfig` (413 above it)
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            Ok(Body {
                bytes: without_bom(bytes.await?),
                json,
                form,
                untyped,
                from_form: false,
                _of: PhantomData,
            })
        })
    }
}

/// The UTF-8 byte-order mark some clients put before a body (a .NET `StreamWriter` with
/// `Encoding.UTF8`, a file saved by Notepad and posted with `curl --data-binary @file`).
/// RFC 8259 lets a JSON parser ignore it, and serde_json does not: without this, such a body
/// was `400 invalid_json` at line 1, column 1, and a form's first key was not its own.
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn without_bom(bytes: web::Bytes) -> web::Bytes {
    match bytes.starts_with(BOM) {
        true => bytes.slice(BOM.len()..),
        false => bytes,
    }
}

impl<T: DeserializeOwned> Body<T> {
    /// The body as `T`, or the same errors `web::Json` gave (`415`, `invalid_json`,
    /// `unknown_field`, `missing_field`, `invalid_field`), which never quote a value.
    pub fn parse(self) -> Result<T, ApiError> {
        if !self.json {
            return Err(ApiError::from_json(&JsonPayloadError::ContentType));
        }
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            // `curl -X POST` with no `-d`; a client that dropped its body
            return Err(ApiError::bad_request(
                "invalid_json",
                "the body is empty: this operation takes a JSON object",
            ));
        }
        serde_json::from_slice(&self.bytes).map_err(|e| {
            if e.is_data() {
                // a second pass, on a refused body only, names the field that failed
                let mut de = serde_json::Deserializer::from_slice(&self.bytes);
                if let Err(e) = serde_path_to_error::deserialize::<_, T>(&mut de) {
                    let path = e.path().to_string();
                    return match self.from_form {
                        true => ApiError::from_form_at(e.inner(), &path),
                        false => ApiError::from_json_at(e.inner(), &path),
                    };
                }
            }
            ApiError::from_json(&JsonPayloadError::Deserialize(e))
        })
    }
}

/// What an operation that takes no body fields reads: see [`Body::parse_none`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

impl Body<NoFields> {
    /// The body of an operation that takes no fields (an unlock, a reload): none at all, or
    /// a JSON object with no fields (`{}`, which many clients send with every `POST`),
    /// whatever its `Content-Type` says (`curl -d '{}'` sends a form's). Anything else is
    /// `400`, as for every body: a field the client means to pass (a `reason`, say) is not
    /// dropped without a word.
    pub fn parse_none(mut self) -> Result<(), ApiError> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.json = true;
        self.parse().map(|NoFields {}| ()).map_err(|e| {
            let message = match e.code {
                "unknown_field" => format!("{}; this operation takes no fields", e.message),
                _ => "this operation takes no body (or an empty JSON object, {})".to_string(),
            };
            ApiError::bad_request(e.code, message)
        })
    }
}

impl<T: DeserializeOwned + FormBody> Body<T> {
    /// As [`Body::parse`], and a form body read as the JSON object of its pairs: the same
    /// fields, the same checks, the same errors. A key given twice is refused. A body sent
    /// with no `Content-Type` at all (a dialplan's HTTP client may send none once it is given
    /// headers of its own) is JSON when it opens with `{`, else a form; so is a body sent as
    /// a form that opens with `{` (`curl -d '{...}'`, which says form).
    pub fn parse_json_or_form(mut self) -> Result<T, ApiError> {
        let opens = self.bytes.iter().find(|b| !b.is_ascii_whitespace());
        if self.untyped {
            self.json = opens == Some(&b'{');
            self.form = !self.json;
        } else if self.form && opens == Some(&b'{') {
            // JSON sent as a form (`curl -d '{...}'` says form): no form of ours opens so
            self.form = false;
            self.json = true;
        }
        if !self.form {
            if !self.json {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as application/json or application/x-www-form-urlencoded",
                ));
            }
            return self.parse();
        }
        let mut object = serde_json::Map::new();
        for (key, value) in form_urlencoded::parse(&self.bytes) {
            let value = if value == "null" && T::NULLABLE_FIELDS.contains(&key.as_ref()) {
                serde_json::Value::Null
            } else if T::NUMBER_FIELDS.contains(&key.as_ref()) {
                if value.is_empty() {
                    continue;
                }
                match value.parse::<serde_json::Number>() {
                    Ok(n) => serde_json::Value::Number(n),
                    // never echo the value
                    Err(_) => {
                        return Err(ApiError::bad_request(
                            "invalid_field",
                            format!("`{key}` must be a number"),
                        ));
                    }
                }
            } else {
                serde_json::Value::String(value.into_owned())
            };
            if object.insert(key.to_string(), value).is_some() {
                // as unknown fields are named: at most 64 characters of the key
                let key: String = key.chars().take(64).collect();
                return Err(ApiError::bad_request(
                    "duplicate_field",
                    format!("`{key}` is given more than once"),
                ));
            }
        }
        self.bytes = serde_json::to_vec(&object)
            .map_err(|_| ApiError::bad_request("invalid_form", "the form could not be read"))?
            .into();
        self.json = true;
        self.from_form = true;
        self.parse()
    }
}

/// A query string, parsed by [`Query::parse`].
pub struct Query<T> {
    text: String,
    _of: PhantomData<T>,
}

impl<T> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Query {
            text: req.query_string().to_string(),
            _of: PhantomData,
        }))
    }
}

impl<T: DeserializeOwned> Query<T> {
    pub fn parse(self) -> Result<T, ApiError> {
        web::Query::<T>::from_query(&self.text)
            .map(web::Query::into_inner)
            .map_err(|e| {
                // serde's message, with the field it went wrong at where serde's own message
                // does not name it (query strings here carry no secrets)
                let why = match e {
                    QueryPayloadError::Deserialize(e) => {
                        let e = e.to_string();
                        match super::error::unknown_field(&e, "parameters") {
                            Some((name, hint)) => format!(": unknown parameter {name}{hint}"),
                            // serde's word is "field"; in a query it is a parameter
                            None if e.starts_with("missing field `") => {
                                format!(": {}", e.replacen("missing field", "missing parameter", 1))
                            }
                            None => match field_path::<T>(&self.text) {
                                Some(field) if !e.contains(&format!("`{field}`")) => {
                                    format!(": `{field}`: {e}")
                                }
                                _ => format!(": {e}"),
                            },
                        }
                    }
                    _ => String::new(),
                };
                ApiError::bad_request("bad_query", format!("the query string is malformed{why}"))
            })
    }
}

/// The parameter a refused query string went wrong at (`active`), from a second parse run
/// only on a refusal; none for a missing parameter (the path is the whole query). An
/// unknown parameter has a path, but serde's message names it already.
fn field_path<T: DeserializeOwned>(text: &str) -> Option<String> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(text.as_bytes()));
    let path = serde_path_to_error::deserialize::<_, T>(de)
        .err()?
        .path()
        .to_string();
    (path != "." && path.len() <= 64).then_some(path)
}

#[cfg(test)]
mod tests;
