//! Request metrics, and the safety net that turns any non-JSON error answer (router 405s,
//! payload limits) into the `{"code","message"}` body.

use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;

use super::error::{ApiError, ErrorBody};
use crate::audit::{AuditEvent, EventKind, Outcome};

pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = method_label(req.method());
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16().to_string();
    metrics::histogram!("callvault_http_request_duration_seconds", "route" => route.clone())
        .record(start.elapsed().as_secs_f64());
    metrics::counter!(
        "callvault_http_requests_total",
        "route" => route,
        "method" => method,
        "status" => status
    )
    .increment(1);
    Ok(res)
}

/// A connection opened before a reload that changed the client check (`server.client_ca`,
/// the CAs in its file, `client_cert`) keeps the certificate it showed at its handshake; its
/// next request is judged by the check in force, as a new connection would be. One the check
/// no longer admits is refused (`401 certificate_refused`, audited) and closed, so the client
/// connects again and meets the handshake's check: a desk whose CA was taken out is shut out
/// even while it keeps its connection busy.
pub async fn connection_admitted(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    type State = actix_web::web::Data<super::AppState>;
    let refusal = match (
        req.conn_data::<super::auth::Handshake>(),
        req.app_data::<State>(),
    ) {
        (Some(handshake), Some(state)) => {
            (handshake.refusal(&state.clients)).map(|why| (why, handshake.client(), state.clone()))
        }
        _ => None,
    };
    let Some((why, client, state)) = refusal else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    metrics::counter!("callvault_auth_failures_total", "reason" => "certificate").increment(1);
    let endpoint = format!(
        "{} {}",
        super::shown(req.method().as_str()),
        super::shown(req.path())
    );
    state
        .audit
        .record(
            AuditEvent::new("anonymous", EventKind::AuthFailed, Outcome::Denied).detail(format!(
                "{client}, shown when the connection was opened, is no longer admitted \
                 (server.client_ca or client_cert reloaded) on {endpoint}"
            )),
        )
        .await
        .map_err(ApiError::audit_unavailable)?;
    let mut res = actix_web::ResponseError::error_response(&ApiError::new(
        actix_web::http::StatusCode::UNAUTHORIZED,
        "certificate_refused",
        why,
    ));
    res.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    Ok(req.into_response(res).map_into_right_body())
}

/// The method as a metrics label. Any token is a valid HTTP method, so those the API does not
/// use are counted together: a client cannot make a new series per request.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Error answers are `{"code","message"}`, or `code=...&message=...` on the STEP routes
/// when the client asked for `k=v` pairs (`super::calls::errors_in_form`); the answer's
/// other headers (`WWW-Authenticate`) stay.
pub async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let status = res.status();
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 {
        return Ok(res.map_into_left_body());
    }
    if super::calls::errors_in_form(res.request()) {
        let (req, res) = res.into_parts();
        let (head, body) = res.into_parts();
        let said = if is_json {
            actix_web::body::to_bytes(body).await.ok()
        } else {
            None
        };
        let error = said
            .and_then(|b| serde_json::from_slice::<ErrorBody>(&b).ok())
            .unwrap_or_else(|| ApiError::from_status(status).body());
        let (content_type, text) = super::calls::form_error(&error);
        let mut res = head.set_body(BoxBody::new(text));
        res.headers_mut().insert(CONTENT_TYPE, content_type);
        return Ok(ServiceResponse::new(req, res).map_into_right_body());
    }
    if is_json {
        return Ok(res.map_into_left_body());
    }
    let (req, res) = res.into_parts();
    let refusal = if is_cors_preflight(&req) {
        // actix-cors's refusal of a preflight (its body is plain text)
        ApiError::new(
            status,
            "cors_refused",
            "this origin, method or header may not call the API from a browser \
             (server.cors_origins)",
        )
    } else {
        ApiError::from_status(status)
    };
    let mut body = actix_web::ResponseError::error_response(&refusal);
    // CORS headers stay, so that a page that may call the API can read the refusal
    for (name, value) in res.headers() {
        if name.as_str().starts_with("access-control-") || name == actix_web::http::header::VARY {
            body.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, body).map_into_right_body())
}

/// A browser's CORS preflight: `OPTIONS` with `Access-Control-Request-Method`.
fn is_cors_preflight(req: &actix_web::HttpRequest) -> bool {
    req.method() == actix_web::http::Method::OPTIONS
        && req
            .headers()
            .contains_key(actix_web::http::header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Slashes written twice in a path read as one: `//v1/calls`, from an IVR's base URL that
/// ends with `/` joined to a path that begins with one, is `/v1/calls`, as nginx's
/// merge_slashes reads it. Outermost, so every layer sees the path routed. (actix-web's
/// `NormalizePath` does the same with a regex and a copy of every path: 7,000 to 12,000
/// instructions a request, where a path without `//` costs this one a scan.)
pub struct MergeSlashes;

impl<S, B> Transform<S, ServiceRequest> for MergeSlashes
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = MergedSlashes<S>;
    type InitError = ();
    type Future = std::future::Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        std::future::ready(Ok(MergedSlashes { service }))
    }
}

pub struct MergedSlashes<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for MergedSlashes<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = S::Future;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        if let Some(path) = merged_slashes(req.path()) {
            let with_query = match req.query_string() {
                "" => path,
                query => format!("{path}?{query}"),
            };
            // a path that was a URI's still is one with fewer slashes
            if let Ok(uri) = with_query.parse::<actix_web::http::Uri>() {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
        self.service.call(req)
    }
}

/// `path` with every run of slashes as one; `None` when it has none.
pub fn merged_slashes(path: &str) -> Option<String> {
    if !path.contains("//") {
        return None;
    }
    let mut merged = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && merged.ends_with('/')) {
            merged.push(c);
        }
    }
    Some(merged)
}

#[cfg(test)]
mod tests;
