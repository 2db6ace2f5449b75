//! The OpenAPI document, generated from the handlers and served from the binary.

use std::collections::HashMap;
use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Schema};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::auth::{Allowed, AnyRole};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "callvault",
        description = "Caller authentication for credit-union IVRs, agents and app back ends. \
            Errors are always {\"code\",\"message\"}; unknown JSON fields are 400 unknown_field, \
            whose message names the field likely meant or the fields there are; \
            bodies over 64 KiB are 413. Keys go as Bearer, X-Api-Key or the Basic password (or user name, with no password); \
            with server.client_ca set, a client certificate mapped in [[server.clients]] may \
            stand in for a key (mutualTLS)."
    ),
    paths(
        super::ops::livez,
        super::ops::readyz,
        super::ops::metrics,
        serve,
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
        super::calls::name_member,
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
    modifiers(&Security, &Refusals, &OneOf)
)]
pub struct ApiDoc;

/// The ways to present a key. An operation's `security` names the roles that may call it
/// once, on `bearer` (OpenAPI 3.1 lets a requirement list role names); this gives every way
/// of presenting a key the same list.
struct Security;

const SCHEMES: [&str; 4] = ["bearer", "api_key", "basic", "mtls"];

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
        for (_, op) in operations(openapi) {
            if let Some(roles) = roles_of(op) {
                op.security = Some(
                    SCHEMES
                        .iter()
                        .map(|scheme| SecurityRequirement::new(*scheme, roles.iter()))
                        .collect(),
                );
            }
        }
    }
}

/// The refusals any operation can give, in `components.responses` and named by every
/// operation they apply to, so that a client generated from the document knows them: 401
/// and 403 where a key is needed (403 only where some role may not call it), 400, 413 and
/// 415 where there is a body, 500 and 503 everywhere under `/v1`.
struct Refusals;

const REFUSALS: [(&str, &str, &str); 7] = [
    (
        "400",
        "BadRequest",
        "the body is not the JSON this operation takes (`invalid_json`, `unknown_field`, \
         `missing_field`, `invalid_field`, `duplicate_field`, or a code naming the field); the \
         message names the \
         field and what it takes, never the value sent",
    ),
    (
        "401",
        "Unauthorized",
        "no key, or a key that is malformed, unknown or revoked (`unauthorized`); with \
         server.client_ca, on a connection opened before a reload, a client certificate the \
         reloaded CAs no longer admit, or none where one is now required \
         (`certificate_refused`: the connection is closed, and the next handshake decides; \
         on any operation, keyed or not)",
    ),
    (
        "403",
        "Forbidden",
        "the key's role may not call this operation (`forbidden`; the roles that may are \
         listed in its security requirement)",
    ),
    (
        "413",
        "PayloadTooLarge",
        "the body is over 64 KiB (`payload_too_large`)",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "the body is not sent as application/json (`unsupported_media_type`)",
    ),
    (
        "500",
        "InternalError",
        "callvault could not complete the request (`internal_error`); the log says why",
    ),
    (
        "503",
        "Unavailable",
        "the store is being reopened after a failed write, or the audit log cannot be \
         written (`store_unavailable`, `audit_unavailable`); try again shortly",
    ),
];

impl Modify for Refusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description) in REFUSALS {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            components.responses.insert(
                name.to_string(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content("application/json", body)
                        .build(),
                ),
            );
        }
        for (path, op) in operations(openapi) {
            let roles = roles_of(op);
            if roles.is_some() {
                op.parameters
                    .get_or_insert_with(Vec::new)
                    .push(agent_id_header());
            }
            let applies = |status: &str| match status {
                "401" => roles.is_some(),
                "403" => roles
                    .as_ref()
                    .is_some_and(|r| r.len() < AnyRole::ROLES.len()),
                // a keyed operation also refuses a bad X-Agent-Id (`bad_agent_id`)
                "400" => op.request_body.is_some() || roles.is_some(),
                "413" | "415" => op.request_body.is_some(),
                _ => path.starts_with("/v1/"),
            };
            let wanted: Vec<_> = REFUSALS
                .iter()
                .filter(|(status, ..)| applies(status))
                .collect();
            for (status, name, _) in wanted {
                // an operation's own description of a status (what its 400s mean) stays
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| {
                        RefOr::Ref(Ref::new(format!("#/components/responses/{name}")))
                    });
            }
        }
    }
}

/// The optional `X-Agent-Id` header every keyed operation takes (`keys::agent_id`).
fn agent_id_header() -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    let value = ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(crate::keys::AGENT_ID_MAX))
        .pattern(Some(r"^[A-Za-z0-9._@\\-]+$"));
    ParameterBuilder::new()
        .name("X-Agent-Id")
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(
            "The person acting for this key (an agents' desktop back end that holds one key \
             for many agents): a login, DOMAIN\\user or user id, 1 to 64 of ASCII letters, \
             digits and . _ @ - \\. \
             The audit log's actor is then key:NAME/agent:ID. Anything else is 400 \
             bad_agent_id.",
        ))
        .schema(Some(value))
        .build()
}

/// Bodies that take exactly one of some fields (the handler checks it; the derive cannot say
/// it): the schema gains a `oneOf` of objects, each with one of the fields present and not
/// null. A body with both, or neither, matches no choice or two.
struct OneOf;

/// A body's name, and each of the fields it takes exactly one of with its schema when present.
type Choices = (&'static str, Vec<(&'static str, RefOr<Schema>)>);

fn one_of() -> [Choices; 1] {
    let string = ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String);
    [(
        "CallInput",
        vec![
            ("digits", string.into()),
            ("event", Ref::from_schema_name("InputEvent").into()),
        ],
    )]
}

impl Modify for OneOf {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (name, fields) in one_of() {
            let Some(schema) = components.schemas.remove(name) else {
                continue;
            };
            let mut choices = OneOfBuilder::new();
            for (field, present) in fields {
                choices = choices.item(
                    ObjectBuilder::new()
                        .required(field)
                        .property(field, present),
                );
            }
            let both = AllOfBuilder::new().item(schema).item(choices);
            components
                .schemas
                .insert(name.to_string(), RefOr::T(Schema::AllOf(both.build())));
        }
    }
}

/// Every operation with its path.
fn operations(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = (&str, &mut Operation)> {
    openapi.paths.paths.iter_mut().flat_map(|(path, item)| {
        methods(item)
            .into_iter()
            .filter_map(|(_, op)| op.as_mut())
            .map(move |op| (path.as_str(), op))
    })
}

/// A path's operations by method, in the order an `Allow` header lists them.
fn methods(item: &mut PathItem) -> [(&'static str, &mut Option<Operation>); 8] {
    [
        ("GET", &mut item.get),
        ("HEAD", &mut item.head),
        ("POST", &mut item.post),
        ("PUT", &mut item.put),
        ("PATCH", &mut item.patch),
        ("DELETE", &mut item.delete),
        ("OPTIONS", &mut item.options),
        ("TRACE", &mut item.trace),
    ]
}

/// The roles an operation's key may have (from its `bearer` requirement); `None` when it
/// needs no key.
fn roles_of(op: &Operation) -> Option<Vec<String>> {
    op.security.as_ref()?.iter().find_map(|req| {
        let value = serde_json::to_value(req).ok()?;
        let roles = value.get("bearer")?.as_array()?;
        Some(
            roles
                .iter()
                .filter_map(|r| r.as_str().map(String::from))
                .collect(),
        )
    })
}

/// The methods each path takes, as the document lists them and HEAD beside GET
/// (`/v1/calls/{call_id}`: "GET, HEAD, DELETE"): the `Allow` header of a 405. Paths are
/// actix's patterns, which have the document's shape; a test checks that the router and the
/// document agree.
pub fn allowed_methods(pattern: &str) -> Option<&'static str> {
    ALLOW.get(pattern).map(String::as_str)
}

/// Each path of the document with the methods it takes, HEAD with GET.
static ALLOW: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    let mut doc = ApiDoc::openapi();
    doc.paths
        .paths
        .iter_mut()
        .map(|(path, item)| {
            let mut allow: Vec<&str> = methods(item)
                .into_iter()
                .filter(|(_, op)| op.is_some())
                .map(|(method, _)| method)
                .collect();
            // the router takes HEAD wherever it takes GET (`super::routes`); the document,
            // like most, leaves HEAD implied
            if allow.first() == Some(&"GET") && !allow.contains(&"HEAD") {
                allow.insert(1, "HEAD");
            }
            (path.clone(), allow.join(", "))
        })
        .collect()
});

/// The endpoint a path that is none was likely meant to be: one of the document's paths
/// whose every fixed segment is the path's or a slip of it, the path's own values where
/// the document has parameters (`/v1/call/c1/inputs`: `/v1/calls/c1/input`), a trailing
/// `/` left out. None when no path fits, or more than one.
pub fn meant_path(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let fits = |pattern: &String| {
        let parts: Vec<&str> = pattern.split('/').collect();
        if parts.len() != segments.len() {
            return None;
        }
        let mut meant = Vec::with_capacity(parts.len());
        for (part, segment) in parts.into_iter().zip(&segments) {
            let fits = match part.starts_with('{') {
                true => !segment.is_empty(),
                false => part == *segment || crate::spelling::nearest(segment, [part]).is_some(),
            };
            if !fits {
                return None;
            }
            meant.push(if part.starts_with('{') {
                *segment
            } else {
                part
            });
        }
        Some(meant.join("/"))
    };
    let mut meant = ALLOW.keys().filter_map(fits);
    match (meant.next(), meant.next()) {
        (Some(one), None) if one != path => Some(one),
        _ => None,
    }
}

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_string())
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "the OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}

#[cfg(test)]
mod tests;
