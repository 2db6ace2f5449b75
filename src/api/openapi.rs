//! The OpenAPI document, generated from the handlers and served from the binary.

use actix_web::HttpResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "callvault",
        description = "Caller authentication for credit-union IVRs, agents and app back ends. \
            Errors are always {\"code\",\"message\"}; unknown JSON fields are 400 unknown_field; \
            bodies over 64 KiB are 413. Keys go as Bearer, X-Api-Key or the Basic password; \
            with server.client_ca set, a client certificate mapped in [[server.clients]] may \
            stand in for a key (mutualTLS)."
    ),
    paths(
        super::ops::livez,
        super::ops::readyz,
        super::ops::metrics,
        super::admin::whoami,
        super::admin::reload,
        super::admin::create_key,
        super::admin::list_keys,
        super::admin::revoke_key,
        super::admin::member,
        super::members::unlock,
        super::members::force_pin_change,
        super::calls::start,
        super::calls::input,
        super::calls::current_step,
        super::calls::hang_up,
        super::calls::view,
        super::calls::find,
        super::calls::checklist,
        super::calls::tick,
        super::calls::create_intent,
        super::challenges::send,
        super::challenges::view,
        super::challenges::check,
        super::challenges::decide,
        super::challenges::push_response,
    ),
    components(schemas(super::error::ErrorBody, crate::keys::Role)),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
        components.add_security_scheme(
            "mtls",
            SecurityScheme::MutualTls {
                description: Some(
                    "a client certificate from server.client_ca whose DNS name is mapped to a \
                     role in [[server.clients]]"
                        .into(),
                ),
                extensions: None,
            },
        );
    }
}

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_string())
}

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}
