//! One request, top to bottom: resolve the route, act, answer. The only place where errors
//! become responses.

use std::sync::Arc;

use http::header;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use sluice_shared::Party;
use sluice_shared::guard::Principal;
use sluice_shared::path::Params;
use sluice_shared::table::{
    Action, Caller, Denial, HttpServer, RequestHead, Resolved, SseKafkaRoute, SseServer,
};
use std::time::Instant;

use tracing::{debug, error, warn};

use crate::error::DataPlaneError;
use crate::guard::session::{CHALLENGE_RESPONSE, ConnectionSessions, Renewal, SESSION_HEADER};
use crate::guard::{self, TokenCache};
use crate::http::cors::{self, Verdict};
use crate::metrics::RouteStats;
use crate::proxy;
use crate::proxy::context::{Identity, ProduceRequest};
use crate::response::{self, Body};
use crate::snapshot::Snapshot;

/// What a connection keeps across its requests.
#[derive(Default)]
pub(crate) struct Connection {
    /// The last token verified on this connection.
    pub tokens: TokenCache,
    /// Sessions of the guarded streams open on this connection.
    pub sessions: ConnectionSessions,
}

/// Answers `request`, which arrived on `connection` to the listener configured for `port`.
pub(crate) async fn handle(
    active: Arc<Snapshot>,
    connection: Arc<Connection>,
    port: u16,
    request: Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let server = active.table.server_for_port(port);
    // Counted under the server until a route matches.
    let mut stats = server.and_then(|s| active.stats.server(s));
    let response = answer(&active, &connection, server, port, &parts, body, &mut stats).await;
    if let Some(stats) = stats {
        stats.observe(response.status().as_u16(), started.elapsed());
    }
    response
}

async fn answer<'a>(
    active: &'a Snapshot,
    connection: &Connection,
    server: Option<&'a HttpServer>,
    port: u16,
    parts: &Parts,
    body: Incoming,
    stats: &mut Option<&'a RouteStats>,
) -> Response<Body> {
    let head = Head(parts);
    let cors = server.and_then(|s| s.cors.as_ref());
    if cors::is_preflight(parts) {
        return cors::preflight(cors, parts, head.scheme(), head.authority());
    }
    let outcome = match cors::check(cors, parts, head.scheme(), head.authority()) {
        Ok(verdict) => respond(active, connection, server, port, parts, body, stats)
            .await
            .map(|response| (response, verdict)),
        Err(refused) => Err(refused),
    };
    match outcome {
        Ok((mut response, verdict)) => {
            if let Verdict::CrossOrigin(origin) = verdict {
                cors::decorate(cors, &origin, &mut response);
            }
            response
        }
        Err(failure) => {
            log(parts, &failure);
            let mut response = response::error(&failure);
            if let Ok(Verdict::CrossOrigin(origin)) =
                cors::check(cors, parts, head.scheme(), head.authority())
            {
                cors::decorate(cors, &origin, &mut response);
            }
            response
        }
    }
}

fn log(parts: &Parts, failure: &DataPlaneError) {
    let code = failure.code();
    match code.party() {
        Party::Client => {
            debug!(method = %parts.method, path = parts.uri.path(), code = code.as_str(), error = %failure, "request refused")
        }
        Party::Kafka => {
            warn!(method = %parts.method, path = parts.uri.path(), code = code.as_str(), error = %failure, "kafka failed the request")
        }
        Party::Gateway => {
            error!(method = %parts.method, path = parts.uri.path(), code = code.as_str(), error = %failure, "request failed")
        }
    }
}

/// The caller's principal, or whether credentials were present but refused.
async fn authenticate(
    active: &Snapshot,
    connection: &Connection,
    server: Option<&HttpServer>,
    parts: &Parts,
) -> (Option<(Arc<Principal>, String)>, bool) {
    let Some(authorization) = server.and_then(|s| s.authorization.as_ref()) else {
        return (None, false);
    };
    let head = Head(parts);
    let Some(token) = authorization.credentials(&head) else {
        return (None, false);
    };
    match guard::verify(
        &active.table,
        &active.guard_keys,
        &connection.tokens,
        authorization.guard,
        &token,
    )
    .await
    {
        Ok(principal) => (Some((principal, token.into_owned())), false),
        Err(_) => (None, true),
    }
}

async fn respond<'a>(
    active: &'a Snapshot,
    connection: &Connection,
    server: Option<&HttpServer>,
    port: u16,
    parts: &Parts,
    body: Incoming,
    stats: &mut Option<&'a RouteStats>,
) -> Result<Response<Body>, DataPlaneError> {
    let table = &active.table;
    let limits = server.map(|server| server.limits).unwrap_or_default();
    let (authenticated, rejected) = authenticate(active, connection, server, parts).await;
    let authenticated = authenticated
        .as_ref()
        .map(|(principal, token)| (principal.as_ref(), token.as_str()));
    if server.is_some_and(|s| s.authorization.is_some()) && is_challenge_answer(parts) {
        return answer_challenge(active, connection, parts, authenticated, rejected);
    }
    let (caller, identity) = caller(active, authenticated, rejected);
    match table.resolve(port, &Head(parts), caller) {
        Resolved::NotFound => Err(DataPlaneError::NoRoute {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
        }),
        Resolved::Denied(Denial::Unauthenticated { invalid }) => {
            Err(DataPlaneError::Unauthorized {
                reason: if invalid {
                    "the credentials are not valid".to_owned()
                } else {
                    "this route needs credentials".to_owned()
                },
                invalid,
            })
        }
        Resolved::Denied(Denial::Forbidden { roles }) => {
            Err(DataPlaneError::InsufficientScope { roles })
        }
        Resolved::BadParam(bad) => Err(DataPlaneError::BadRequest(bad.to_string())),
        Resolved::Echo => proxy::echo::echo(parts, body, &limits, &active.body_budget).await,
        Resolved::Sse {
            server,
            route,
            params,
        } => {
            *stats = active.stats.route(route);
            let request = sse_request(active, connection, identity, server, route, &params, parts);
            proxy::sse::stream(active, request).await
        }
        Resolved::HttpKafka {
            binding,
            route,
            params,
        } => {
            *stats = active.stats.route(route);
            match &route.action {
                Action::Produce(action) => {
                    let request = ProduceRequest {
                        binding,
                        action,
                        params: &params,
                        parts,
                        limits: &limits,
                        identity,
                    };
                    // A route with `reply-to` is request-response; the others one-way.
                    match &action.reply {
                        None => proxy::produce::oneway(active, request, body).await,
                        Some(reply) => {
                            proxy::correlate::exchange(active, request, reply, body).await
                        }
                    }
                }
                Action::Fetch(action) => {
                    let request = proxy::fetch::FetchRequest {
                        binding,
                        action,
                        params: &params,
                        parts,
                        identity,
                    };
                    proxy::fetch::fetch(active, request).await
                }
            }
        }
    }
}

fn caller<'a>(
    active: &'a Snapshot,
    authenticated: Option<(&'a Principal, &'a str)>,
    rejected: bool,
) -> (Caller<'a>, Option<Identity<'a>>) {
    let caller = match (authenticated, rejected) {
        (Some((principal, _)), _) => Caller::Authorized(principal),
        (None, true) => Caller::Rejected,
        (None, false) => Caller::Anonymous,
    };
    let identity = authenticated.and_then(|(principal, token)| {
        active.table.guards.get(principal.guard).map(|g| Identity {
            guard: &g.name,
            principal,
            token,
        })
    });
    (caller, identity)
}

fn sse_request<'a>(
    active: &Snapshot,
    connection: &Connection,
    identity: Option<Identity<'a>>,
    server: &'a SseServer,
    route: &'a SseKafkaRoute,
    params: &'a Params,
    parts: &'a Parts,
) -> proxy::sse::SseRequest<'a> {
    let session = match (identity, route.is_guarded()) {
        (Some(identity), true) => Some(connection.sessions.join(
            &active.sessions,
            identity.principal,
            identity.guard,
            identity.token,
        )),
        _ => None,
    };
    let challenge = identity
        .and_then(|i| active.table.guards.get(i.principal.guard))
        .and_then(|g| g.challenge_seconds);
    proxy::sse::SseRequest {
        server,
        route,
        params,
        parts,
        identity,
        session,
        challenge,
    }
}

/// For a connection whose first request asks for an event stream: the response headers and
/// the opened stream, when the request resolves to an SSE route and the stream opens. Anything
/// else, errors included, is left to hyper, which answers the request in full.
pub(crate) async fn open_stream(
    active: &Snapshot,
    connection: &Connection,
    port: u16,
    parts: &Parts,
) -> Option<(http::HeaderMap, proxy::sse::Stream)> {
    let started = Instant::now();
    let head = Head(parts);
    let server = active.table.server_for_port(port)?;
    if cors::is_preflight(parts) {
        return None;
    }
    let verdict = cors::check(server.cors.as_ref(), parts, head.scheme(), head.authority()).ok()?;
    let (authenticated, rejected) = authenticate(active, connection, Some(server), parts).await;
    let authenticated = authenticated
        .as_ref()
        .map(|(principal, token)| (principal.as_ref(), token.as_str()));
    let (caller, identity) = caller(active, authenticated, rejected);
    let Resolved::Sse {
        server: sse_server,
        route,
        params,
    } = active.table.resolve(port, &head, caller)
    else {
        return None;
    };
    let request = sse_request(
        active, connection, identity, sse_server, route, &params, parts,
    );
    let stream = proxy::sse::open(active, request).await.ok()?;
    if let Some(stats) = active.stats.route(route) {
        stats.observe(200, started.elapsed());
    }
    let mut response = Response::new(());
    proxy::sse::insert_headers(response.headers_mut());
    if let Verdict::CrossOrigin(origin) = verdict {
        cors::decorate(server.cors.as_ref(), &origin, &mut response);
    }
    Some((response.into_parts().0.headers, stream))
}

fn is_challenge_answer(parts: &Parts) -> bool {
    parts.method == Method::POST
        && parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case(CHALLENGE_RESPONSE))
            })
}

/// A challenge answer: renews the caller's stream sessions, 204; 401 for bad credentials.
fn answer_challenge(
    active: &Snapshot,
    connection: &Connection,
    parts: &Parts,
    authenticated: Option<(&Principal, &str)>,
    rejected: bool,
) -> Result<Response<Body>, DataPlaneError> {
    let Some((principal, credentials)) = authenticated else {
        return Err(DataPlaneError::Unauthorized {
            reason: if rejected {
                "the challenge answer's credentials are not valid".to_owned()
            } else {
                "a challenge answer needs new credentials".to_owned()
            },
            invalid: rejected,
        });
    };
    let token = parts
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok());
    match connection
        .sessions
        .renew(&active.sessions, principal, credentials, token)
    {
        Renewal::Renewed(sessions) => {
            debug!(sessions, "stream sessions renewed by a challenge answer");
            Ok(response::empty(StatusCode::NO_CONTENT))
        }
        Renewal::UnknownSession => Err(DataPlaneError::NoSession(
            "the session named by sluice-session has ended".to_owned(),
        )),
        Renewal::NoSession => Err(DataPlaneError::NoSession(format!(
            "no stream of this identity to renew on this connection; send the {SESSION_HEADER} header from the challenge"
        ))),
        Renewal::NotAllowed => Err(DataPlaneError::RenewalRefused),
    }
}

/// Routing's view of a request.
struct Head<'a>(&'a Parts);

impl RequestHead for Head<'_> {
    fn method(&self) -> &str {
        self.0.method.as_str()
    }

    fn path(&self) -> &str {
        self.0.uri.path()
    }

    fn query(&self) -> Option<&str> {
        self.0.uri.query()
    }

    fn scheme(&self) -> &str {
        self.0.uri.scheme_str().unwrap_or("http")
    }

    fn authority(&self) -> &str {
        self.0
            .uri
            .authority()
            .map(|a| a.as_str())
            .or_else(|| self.header("host"))
            .unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.0.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
