//! Admission: what a connection keeps across requests, the caller's identity from the
//! server's guard, and the opening of an event stream. Shared by the handler and by the SSE
//! fast path (`http/stream.rs`), which opens a stream without hyper.

use std::sync::Arc;
use std::time::Instant;

use http::Response;
use http::request::Parts;
use sluice_shared::guard::Principal;
use sluice_shared::path::Params;
use sluice_shared::table::{Caller, HttpServer, RequestHead, Resolved, SseKafkaRoute, SseServer};

use crate::error::DataPlaneError;
use crate::head::Head;
use crate::metrics::RouteStats;
use crate::proxy::stream::Stream;
use crate::rescue::rescue;
use crate::response::Body;

use crate::guard::session::{ConnectionSessions, Session};
use crate::guard::{self, TokenCache};
use crate::http::cors::{self, Verdict};
use crate::proxy;
use crate::proxy::context::Identity;
use crate::snapshot::Snapshot;

/// What a connection keeps across its requests.
#[derive(Default)]
pub(crate) struct Connection {
    /// The last token verified on this connection.
    pub tokens: TokenCache,
    /// Sessions of the guarded streams open on this connection.
    pub sessions: ConnectionSessions,
}

/// The caller's principal, or whether credentials were present but refused.
pub(crate) async fn authenticate(
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
        Err(rejection) => {
            if let Some(guard) = active.table.guards.get(authorization.guard) {
                active.events.emit(
                    &guard.name,
                    "JWT_AUTHORIZATION_FAILED",
                    format_args!("JWT token authorization failed: {rejection}"),
                );
            }
            (None, true)
        }
    }
}

pub(crate) fn caller<'a>(
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

/// The `sse-kafka` route a request resolved to.
pub(crate) struct SseMatch<'a> {
    pub server: &'a SseServer,
    pub route: &'a SseKafkaRoute,
    pub params: &'a Params,
    /// A guarded route on the way admitted the caller: the stream lives on the caller's
    /// session, challenged before expiry and ended at expiry.
    pub guarded: bool,
}

/// The session a stream of `identity` lives on when a guarded route admitted it.
pub(crate) fn sse_session(
    active: &Snapshot,
    connection: &Connection,
    identity: Option<Identity<'_>>,
    guarded: bool,
) -> Option<Arc<Session>> {
    match (identity, guarded) {
        (Some(identity), true) => Some(connection.sessions.join(
            &active.sessions,
            identity.principal,
            identity.guard,
            identity.token,
        )),
        _ => None,
    }
}

/// The session of a relayed stream, with its guard's leeway and challenge (seconds).
pub(crate) fn relayed_session(
    active: &Snapshot,
    connection: &Connection,
    identity: Option<Identity<'_>>,
    guarded: bool,
) -> Option<(Arc<Session>, u64, Option<u64>)> {
    let session = sse_session(active, connection, identity, guarded)?;
    let guard = identity.and_then(|i| active.table.guards.get(i.principal.guard));
    Some((
        session,
        guard.map_or(0, |g| g.leeway_seconds),
        guard.and_then(|g| g.challenge_seconds),
    ))
}

pub(crate) fn sse_request<'a>(
    active: &Snapshot,
    connection: &Connection,
    identity: Option<Identity<'a>>,
    found: SseMatch<'a>,
    parts: &'a Parts,
) -> proxy::sse::SseRequest<'a> {
    let SseMatch {
        server,
        route,
        params,
        guarded,
    } = found;
    let session = sse_session(active, connection, identity, guarded);
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

/// What the SSE fast path does with a connection's first request, an HTTP/1.1 `GET` that
/// asks for an event stream.
#[allow(
    clippy::large_enum_variant,
    reason = "made once per connection and taken apart at once; boxing the stream would add an allocation per stream"
)]
pub(crate) enum Opened {
    /// The stream and its response headers: served on the socket without hyper.
    Stream(http::HeaderMap, Stream),
    /// Refused (no route, credentials, a stream that cannot open): the answer is written
    /// on the socket, then hyper serves the connection's next requests.
    Answered(Response<Body>),
    /// Not for an SSE route (a preflight, a fetch route): hyper serves it.
    Elsewhere,
}

/// Admits the first request of a connection that asks for an event stream, as the handler
/// would: CORS, the caller's credentials (verified once; the connection keeps them),
/// routing, opening the stream. Failures are answered through [`rescue`], like the
/// handler's.
pub(crate) async fn open_stream(
    active: &Snapshot,
    connection: &Connection,
    port: u16,
    parts: &Parts,
) -> Opened {
    let started = Instant::now();
    let head = Head(parts);
    let Some(server) = active.table.server_for_port(port) else {
        return Opened::Elsewhere;
    };
    let cors = server.cors.as_ref();
    if cors::is_preflight(parts) {
        return Opened::Elsewhere;
    }
    let mut stats = active.stats.server(server);
    let opened = match cors::check(cors, parts, head.scheme(), head.authority()) {
        Ok(verdict) => admit_stream(active, connection, port, parts, &mut stats)
            .await
            .map(|opened| (opened, verdict)),
        Err(refused) => Err(refused),
    };
    let opened = match opened {
        Ok((Some((mut headers, stream)), verdict)) => {
            if let Verdict::CrossOrigin(origin) = verdict {
                let mut response = Response::new(());
                *response.headers_mut() = std::mem::take(&mut headers);
                cors::decorate(cors, &origin, &mut response);
                headers = response.into_parts().0.headers;
            }
            Opened::Stream(headers, stream)
        }
        Ok((None, _)) => return Opened::Elsewhere,
        Err(failure) => Opened::Answered(rescue(parts, cors, &failure)),
    };
    if let Some(stats) = stats {
        let status = match &opened {
            Opened::Answered(response) => response.status().as_u16(),
            _ => 200,
        };
        stats.observe(status, started.elapsed());
    }
    opened
}

/// Authenticates, routes and opens the stream; `Ok(None)` when the request is not for an
/// SSE route. `stats` becomes the route's once one matches.
async fn admit_stream<'a>(
    active: &'a Snapshot,
    connection: &Connection,
    port: u16,
    parts: &Parts,
    stats: &mut Option<&'a RouteStats>,
) -> Result<Option<(http::HeaderMap, Stream)>, DataPlaneError> {
    let server = active.table.server_for_port(port);
    let (authenticated, rejected) = authenticate(active, connection, server, parts).await;
    let authenticated = authenticated
        .as_ref()
        .map(|(principal, token)| (principal.as_ref(), token.as_str()));
    let (caller, identity) = caller(active, authenticated, rejected);
    let (sse_server, route, params, guarded) =
        match active.table.resolve(port, &Head(parts), caller) {
            Resolved::Sse {
                server,
                route,
                params,
                guarded,
            } => (server, route, params, guarded),
            Resolved::NotFound => return Err(DataPlaneError::no_route(parts)),
            Resolved::Denied(denial) => return Err(DataPlaneError::from(denial)),
            Resolved::BadParam(bad) => return Err(DataPlaneError::BadRequest(bad.to_string())),
            Resolved::Echo
            | Resolved::HttpKafka { .. }
            | Resolved::File { .. }
            | Resolved::Upstream(_)
            | Resolved::SseUpstream { .. } => return Ok(None),
        };
    *stats = active.stats.route(route);
    let found = SseMatch {
        server: sse_server,
        route,
        params: &params,
        guarded,
    };
    let request = sse_request(active, connection, identity, found, parts);
    let stream = proxy::sse::open(active, request).await?;
    let mut response = Response::new(());
    proxy::sse::insert_headers(response.headers_mut());
    Ok(Some((response.into_parts().0.headers, stream)))
}
