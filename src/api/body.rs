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

/// A JSON body, parsed by [`Body::parse`].
pub struct Body<T> {
    bytes: web::Bytes,
    /// The request said `application/json` (or a `+json` type).
    json: bool,
    _of: PhantomData<T>,
}

impl<T: 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = matches!(req.mime_type(), Ok(Some(m))
            if m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON));
        // the limit is the app's `web::PayloadConfig` (413 above it)
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            Ok(Body {
                bytes: bytes.await?,
                json,
                _of: PhantomData,
            })
        })
    }
}

impl<T: DeserializeOwned> Body<T> {
    /// The body as `T`, or the same errors `web::Json` gave (`415`, `invalid_json`,
    /// `unknown_field`, `missing_field`, `invalid_field`), which never quote a value.
    pub fn parse(self) -> Result<T, ApiError> {
        if !self.json {
            return Err(ApiError::from_json(&JsonPayloadError::ContentType));
        }
        serde_json::from_slice(&self.bytes).map_err(|e| {
            if e.is_data() {
                // a second pass, on a refused body only, names the field that failed
                let mut de = serde_json::Deserializer::from_slice(&self.bytes);
                if let Err(e) = serde_path_to_error::deserialize::<_, T>(&mut de) {
                    let path = e.path().to_string();
                    return ApiError::from_json_at(e.inner(), &path);
                }
            }
            ApiError::from_json(&JsonPayloadError::Deserialize(e))
        })
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
                    QueryPayloadError::Deserialize(e) => match field_path::<T>(&self.text) {
                        Some(field) => format!(": `{field}`: {e}"),
                        None => format!(": {e}"),
                    },
                    _ => String::new(),
                };
                ApiError::bad_request("bad_query", format!("the query string is malformed{why}"))
            })
    }
}

/// The parameter a refused query string went wrong at (`active`), from a second parse run
/// only on a refusal; none for a missing or unknown parameter, which serde names itself.
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
