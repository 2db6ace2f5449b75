//! The HTTPS face: parse, authenticate, call the domain, answer JSON. Nothing here decides
//! anything a test of the domain could not.

pub mod admin;
pub mod auth;
mod body;
pub mod calls;
pub mod challenges;
mod cors;
pub mod error;
pub mod members;
mod middleware;
pub mod openapi;
pub mod ops;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, guard, web};
use arc_swap::ArcSwap;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::config::Config;
use crate::service::Reloader;
use crate::store::Store;
use error::ApiError;

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach.
pub struct AppState {
    pub store: Arc<Store>,
    pub audit: AuditLog,
    pub clock: Arc<dyn Clock>,
    /// Calls, intents and checklists (the dialog's service).
    pub calls: Arc<crate::calls::CallService>,
    pub core: Arc<dyn crate::core::CoreAdapter>,
    pub config: Arc<ArcSwap<Config>>,
    pub reloader: Arc<Reloader>,
    pub metrics: PrometheusHandle,
    /// The PIN vault (its key loaded, its bcrypt pool running).
    pub vault: Arc<crate::vault::Vault>,
    /// The API keys, held for checking requests.
    pub keys: Arc<crate::keys::KeyRing>,
    /// The handshake's client-certificate check, which a reload swaps: connections opened
    /// before one are judged again by it (`middleware::connection_admitted`).
    pub clients: Arc<crate::tls::ReloadableClients>,
}

/// The whole application: routes, limits, JSON errors, metrics.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = cors::LiveCors::new(Arc::clone(&state.config));
    App::new()
        .app_data(state)
        // bodies are read as bytes (over the limit: 413) and parsed by the handlers, after
        // authorization (`body.rs`)
        .app_data(web::PayloadConfig::new(BODY_LIMIT))
        .app_data(
            web::PathConfig::default()
                .error_handler(|_, _| ApiError::bad_request("bad_path", "bad path").into()),
        )
        .wrap(cors)
        .wrap(from_fn(middleware::connection_admitted))
        .wrap(from_fn(middleware::json_errors))
        .wrap(from_fn(middleware::track))
        // answers carry members' names, a checklist's expected answers, new API keys: no
        // browser on an agent's desktop nor proxy between may keep one (on errors too)
        .wrap(
            actix_web::middleware::DefaultHeaders::new()
                .add((actix_web::http::header::CACHE_CONTROL, "no-store")),
        )
        .wrap(middleware::MergeSlashes)
        .configure(routes)
        .default_service(web::to(not_found))
}

fn routes(cfg: &mut web::ServiceConfig) {
    // RFC 9110 (9.1): a server that takes GET takes HEAD, which answers the same status and
    // headers without the body (actix-web leaves a HEAD's body out): `curl -I`, monitors
    // that only look at the status line
    let read = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    let resource = |path: &str| web::resource(path).default_service(web::to(method_not_allowed));
    cfg.service(resource("/livez").route(read().to(ops::livez)))
        .service(resource("/readyz").route(read().to(ops::readyz)))
        .service(resource("/metrics").route(read().to(ops::metrics)))
        .service(resource("/openapi.json").route(read().to(openapi::serve)))
        .service(resource("/v1/whoami").route(read().to(admin::whoami)))
        .service(resource("/v1/admin/reload").post(admin::reload))
        .service(
            resource("/v1/admin/keys")
                .route(read().to(admin::list_keys))
                .post(admin::create_key),
        )
        .service(resource("/v1/admin/keys/{name}").delete(admin::revoke_key))
        .service(
            resource("/v1/calls")
                .post(calls::start)
                .route(read().to(calls::find)),
        )
        .service(
            resource("/v1/calls/{call_id}")
                .route(read().to(calls::view))
                .delete(calls::hang_up),
        )
        .service(resource("/v1/calls/{call_id}/input").post(calls::input))
        .service(resource("/v1/calls/{call_id}/step").route(read().to(calls::current_step)))
        .service(resource("/v1/calls/{call_id}/member").post(calls::name_member))
        .service(resource("/v1/calls/{call_id}/checklist").post(calls::checklist))
        .service(resource("/v1/calls/{call_id}/checklist/{question_id}").post(calls::tick))
        .service(resource("/v1/intents").post(calls::create_intent))
        .service(resource("/v1/calls/{call_id}/challenges").post(challenges::send))
        .service(resource("/v1/challenges/{challenge_id}").route(read().to(challenges::view)))
        .service(resource("/v1/challenges/{challenge_id}/check").post(challenges::check))
        .service(resource("/v1/challenges/{challenge_id}/decision").post(challenges::decide))
        .service(
            resource("/v1/challenges/{challenge_id}/push-response").post(challenges::push_response),
        )
        .service(resource("/v1/members/{member_id}").route(read().to(admin::member)))
        .service(resource("/v1/members/{member_id}/unlock").post(members::unlock))
        .service(
            resource("/v1/members/{member_id}/force-pin-change").post(members::force_pin_change),
        );
}

/// 405, with the `Allow` header RFC 9110 asks for: the methods the OpenAPI document lists
/// for the path, and HEAD with GET.
async fn method_not_allowed(req: HttpRequest) -> actix_web::HttpResponse {
    let refusal = ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not take {}",
            shown(req.path()),
            shown(req.method().as_str())
        ),
    );
    let mut res = actix_web::ResponseError::error_response(&refusal);
    if let Some(allow) = req
        .match_pattern()
        .and_then(|pattern| openapi::allowed_methods(&pattern))
    {
        res.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
    }
    res
}

async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let meant = openapi::meant_path(req.path())
        .map(|path| format!("; did you mean {}?", shown(&path)))
        .unwrap_or_default();
    Err(ApiError::not_found(format!(
        "no endpoint {} {}{meant}",
        shown(req.method().as_str()),
        shown(req.path())
    )))
}

/// A path or a method as a refusal repeats it: whole up to [`SHOWN_WHOLE`] characters, else
/// its first [`SHOWN_CUT`] and its length (a path can be some 30,000 characters).
pub(super) fn shown(sent: &str) -> String {
    match sent.char_indices().nth(SHOWN_WHOLE) {
        None => sent.to_string(),
        Some(_) => {
            let cut = sent
                .char_indices()
                .nth(SHOWN_CUT)
                .map_or(sent.len(), |(i, _)| i);
            format!("{}... ({} characters)", &sent[..cut], sent.chars().count())
        }
    }
}

/// The longest path or method a refusal repeats whole.
const SHOWN_WHOLE: usize = 100;
/// How much of a longer one it repeats.
const SHOWN_CUT: usize = 80;

#[cfg(test)]
mod tests;
