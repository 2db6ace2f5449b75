//! Who is calling: the API key from `Authorization: Bearer`, `X-Api-Key` or HTTP Basic (or,
//! with no key, a client certificate mapped in `[[server.clients]]`), and whether its role
//! may call the endpoint. Every failure is an audit event before the answer. An
//! `X-Agent-Id` header names the person acting for the client (an agents' desktop back end
//! holding one key): the audit log's actor is then `key:NAME/agent:ID`.

use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::Arc;

use actix_web::dev::{Extensions, Payload};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use rustls_pki_types::{CertificateDer, UnixTime};

use super::AppState;
use super::error::ApiError;
use crate::audit::{AuditEvent, EventKind, Outcome};
use crate::keys::{self, AuthError, Client, Rejection, Role};
use crate::tls::ReloadableClients;

/// The roles an endpoint accepts.
pub trait Allowed: 'static {
    const ROLES: &'static [Role];
}

/// Any valid key.
pub struct AnyRole;
impl Allowed for AnyRole {
    const ROLES: &'static [Role] = &[Role::Ivr, Role::Agent, Role::App, Role::Admin];
}

/// Administration endpoints.
pub struct AdminOnly;
impl Allowed for AdminOnly {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// Agents' endpoints, which admins may call too.
pub struct AgentOrAdmin;
impl Allowed for AgentOrAdmin {
    const ROLES: &'static [Role] = &[Role::Agent, Role::Admin];
}

/// The IVR's dialog endpoints.
pub struct IvrOnly;
impl Allowed for IvrOnly {
    const ROLES: &'static [Role] = &[Role::Ivr];
}

/// The app back end's endpoints.
pub struct AppOnly;
impl Allowed for AppOnly {
    const ROLES: &'static [Role] = &[Role::App];
}

/// Reading a call: its IVR (later steps of the call flow), agents and admins.
pub struct CallReaders;
impl Allowed for CallReaders {
    const ROLES: &'static [Role] = &[Role::Ivr, Role::Agent, Role::Admin];
}

/// The end-entity certificate a connection's client presented, verified by the handshake
/// against `server.client_ca`.
#[derive(Clone)]
pub struct PeerCert(Arc<CertificateDer<'static>>);

/// What a connection's client showed at its handshake (its certificate chain; empty for
/// none), and the last client check that judged it: a reload that changes `server.client_ca`
/// or `client_cert` swaps the check in, and the connections opened before are judged again
/// at their next request ([`Handshake::refusal`]).
pub struct Handshake {
    chain: Vec<CertificateDer<'static>>,
    /// The generation of the client check that last judged the chain, and its verdict.
    judged: Cell<(u64, bool)>,
}

impl Handshake {
    /// `None` while the client check in force admits this connection's client; else why not,
    /// in words for the client. The verdict is kept until the next reload.
    pub fn refusal(&self, clients: &ReloadableClients) -> Option<&'static str> {
        let (generation, admitted) = self.judged.get();
        let admitted = if generation == clients.generation() {
            admitted
        } else {
            let verdict = clients.admits(&self.chain, UnixTime::now());
            self.judged.set(verdict);
            verdict.1
        };
        match (admitted, self.chain.is_empty()) {
            (true, _) => None,
            (false, true) => Some(
                "this connection was opened without a client certificate, which \
                 server.client_cert now requires: connect again with one",
            ),
            (false, false) => Some(
                "the client certificate this connection was opened with is no longer \
                 admitted by server.client_ca: connect again with one it admits",
            ),
        }
    }

    /// The audit log's words for the client: its certificate's DNS names, or none shown.
    pub fn client(&self) -> String {
        match self.chain.first() {
            None => "no client certificate".to_string(),
            Some(cert) => match crate::tls::dns_names(cert).as_slice() {
                [] => "a client certificate without a DNS name".to_string(),
                names => format!("the client certificate for {}", names.join(", ")),
            },
        }
    }
}

/// `HttpServer::on_connect`: keep the client's certificate with the connection, judged by
/// the client check in force (which a reload may have swapped since the handshake's).
pub fn keep_handshake(clients: &ReloadableClients, conn: &dyn Any, data: &mut Extensions) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    let Some(tls) = conn.downcast_ref::<Tls>() else {
        return;
    };
    let (_, session) = tls.get_ref();
    let chain: Vec<CertificateDer<'static>> = (session.peer_certificates().unwrap_or_default())
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    if let Some(cert) = chain.first() {
        data.insert(PeerCert(Arc::new(cert.clone())));
    }
    let judged = Cell::new(clients.admits(&chain, UnixTime::now()));
    data.insert(Handshake { chain, judged });
}

/// The client a verified certificate stands for, when no API key was presented.
fn cert_client(state: &AppState, cert: Option<&PeerCert>) -> Option<Client> {
    let config = state.config.load();
    crate::tls::mapped_client(&cert?.0, &config.server.clients)
        .map(|c| Client::from_cert(&c.name, c.role))
}

/// An authenticated client whose role is one of `A::ROLES`; else 401 / 403.
pub struct Authorized<A: Allowed> {
    pub client: Client,
    _allowed: PhantomData<A>,
}

impl<A: Allowed> FromRequest for Authorized<A> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        // present but not text (a byte beyond ASCII) is refused as any bad value is
        let agent = req
            .headers()
            .get("x-agent-id")
            .map(|v| v.to_str().unwrap_or("\u{fffd}").to_string());
        let authorization = zeroize::Zeroizing::new(header("authorization"));
        let x_api_key = zeroize::Zeroizing::new(header("x-api-key"));
        let peer_cert = req.conn_data::<PeerCert>().cloned();
        // named only in a refusal, so worked out only then
        let request = req.clone();
        let endpoint = move || {
            format!(
                "{} {}",
                request.method(),
                request
                    .match_pattern()
                    .unwrap_or_else(|| request.path().to_string())
            )
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let presented = keys::from_headers(authorization.as_deref(), x_api_key.as_deref());
            let outcome = match &presented {
                Ok(key) => state
                    .keys
                    .authenticate(&state.store, key, state.clock.now()),
                Err(Rejection::Missing) => cert_client(&state, peer_cert.as_ref())
                    .ok_or(AuthError::Rejected(Rejection::Missing)),
                Err(rejection) => Err(AuthError::Rejected(*rejection)),
            };
            let mut client = match outcome {
                Ok(client) => client,
                Err(AuthError::Rejected(rejection)) => {
                    let actor = match (&presented, rejection) {
                        (_, Rejection::Missing) => "anonymous".to_string(),
                        (Ok(key), _) => keys::public_id(key)
                            .map(|id| format!("key-id:{id}"))
                            .unwrap_or_else(|| "anonymous".to_string()),
                        (Err(_), _) => "anonymous".to_string(),
                    };
                    metrics::counter!("callvault_auth_failures_total", "reason" => "unauthorized")
                        .increment(1);
                    state
                        .audit
                        .record(
                            AuditEvent::new(actor, EventKind::AuthFailed, Outcome::Denied)
                                .detail(format!("{} on {}", rejection.as_str(), endpoint())),
                        )
                        .await
                        .map_err(ApiError::audit_unavailable)?;
                    return Err(ApiError::unauthorized(match (rejection, &peer_cert) {
                        (Rejection::Missing, Some(_)) => {
                            "no API key presented, and the client certificate is not one of \
                             [[server.clients]]"
                        }
                        _ => rejection.as_str(),
                    }));
                }
                Err(AuthError::Store(e)) => return Err(ApiError::store(e)),
            };
            if !A::ROLES.contains(&client.role) {
                metrics::counter!("callvault_auth_failures_total", "reason" => "forbidden")
                    .increment(1);
                state
                    .audit
                    .record(
                        AuditEvent::new(client.actor(), EventKind::AuthForbidden, Outcome::Denied)
                            .detail(format!("role {} on {}", client.role, endpoint())),
                    )
                    .await
                    .map_err(ApiError::audit_unavailable)?;
                let allowed: Vec<&str> = A::ROLES.iter().map(|r| r.as_str()).collect();
                return Err(ApiError::forbidden(format!(
                    "a {} with role {} may not call {} (needs {})",
                    match client.via {
                        keys::Credential::Key => "key",
                        keys::Credential::Cert => "client certificate",
                    },
                    client.role,
                    endpoint(),
                    allowed.join(" or ")
                )));
            }
            // judged only once the client may call the endpoint at all
            if let Some(raw) = &agent {
                let named = keys::agent_id(raw)
                    .map_err(|why| ApiError::bad_request("bad_agent_id", why))?;
                client.agent = Some(named.to_string());
            }
            Ok(Authorized {
                client,
                _allowed: PhantomData,
            })
        })
    }
}
