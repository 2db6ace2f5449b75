//! CORS for `server.cors_origins`, read from the live configuration on each request, so a
//! reload that adds or removes a desktop's origin applies from the next request (before
//! 2026-12-05 it took a restart).
//!
//! A page from a listed origin may call the API from a browser with its key in
//! `Authorization` or `X-Api-Key`, and its agent in `X-Agent-Id` (no cookies: `credentials`
//! is not allowed). A request from another origin is served as if it had no `Origin` (the
//! browser then withholds the answer from the page); its preflight is `400 cors_refused`.
//! With none listed CORS is off: the request goes past actix-cors untouched, with no CORS
//! headers at all, and a preflight is `405` like any method a path does not take.

use std::rc::Rc;
use std::sync::Arc;

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header;
use arc_swap::ArcSwap;
use futures_util::TryFutureExt;
use futures_util::future::{Either, LocalBoxFuture, MapOk};

use crate::config::Config;

/// The middleware: [`actix_cors::Cors`] when the live configuration lists an origin,
/// nothing when it lists none.
pub struct LiveCors {
    config: Arc<ArcSwap<Config>>,
}

impl LiveCors {
    pub fn new(config: Arc<ArcSwap<Config>>) -> Self {
        Self { config }
    }

    /// actix-cors, asking the live configuration whether an origin is listed.
    fn cors(&self) -> actix_cors::Cors {
        let config = Arc::clone(&self.config);
        actix_cors::Cors::default()
            .allowed_origin_fn(move |origin, _| listed(&config.load(), origin))
            .allowed_methods(["GET", "POST", "DELETE"])
            .allowed_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::HeaderName::from_static("x-api-key"),
                header::HeaderName::from_static("x-agent-id"),
            ])
            .max_age(600)
            .block_on_origin_mismatch(false)
    }
}

/// Whether `origin` is one of `server.cors_origins`, exactly as the browser sends it.
pub fn listed(config: &Config, origin: &header::HeaderValue) -> bool {
    config
        .server
        .cors_origins
        .iter()
        .any(|o| origin.as_bytes() == o.as_bytes())
}

impl<S, B> Transform<S, ServiceRequest> for LiveCors
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = LiveCorsMiddleware<S>;
    type InitError = ();
    type Future = LocalBoxFuture<'static, Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let plain = Rc::new(service);
        let cors = self.cors().new_transform(Rc::clone(&plain));
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            Ok(LiveCorsMiddleware {
                cors: cors.await?,
                plain,
                config,
            })
        })
    }
}

/// One worker's: the same inner service, reached through actix-cors or directly.
pub struct LiveCorsMiddleware<S> {
    cors: actix_cors::CorsMiddleware<Rc<S>>,
    plain: Rc<S>,
    config: Arc<ArcSwap<Config>>,
}

impl<S, B> Service<ServiceRequest> for LiveCorsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Either<
        MapOk<S::Future, fn(ServiceResponse<B>) -> Self::Response>,
        LocalBoxFuture<'static, Result<Self::Response, Error>>,
    >;

    forward_ready!(plain);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if self.config.load().server.cors_origins.is_empty() {
            Either::Left(
                self.plain
                    .call(req)
                    .map_ok(ServiceResponse::map_into_left_body as _),
            )
        } else {
            Either::Right(self.cors.call(req))
        }
    }
}

#[cfg(test)]
mod tests;
