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

use crate::guard::session::ConnectionSessions;
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
        Err(_) => (None, true),
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

pub(crate) fn sse_request<'a>(
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
) -> Option<(http::HeaderMap, proxy::stream::Stream)> {
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

/// Routing's view of a request.
pub(crate) struct Head<'a>(pub(crate) &'a Parts);

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
