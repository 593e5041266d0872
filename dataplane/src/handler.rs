//! One request, top to bottom: CORS, admit (authenticate the caller), resolve the route,
//! act, answer. The only place where errors become responses.

use std::sync::Arc;
use std::time::Instant;

use http::request::Parts;
use http::{Request, Response};
use hyper::body::Incoming;
use sluice_shared::path::Params;
use sluice_shared::table::models::RequestModels;
use sluice_shared::table::{
    Action, HttpKafkaBinding, HttpKafkaRoute, HttpLimits, HttpServer, RequestHead, Resolved,
};

use crate::admit::{Connection, SseMatch, authenticate, caller, relayed_session, sse_request};
use crate::challenge::{answer_challenge, is_challenge_answer};
use crate::error::DataPlaneError;
use crate::head::Head;
use crate::http::cors::{self, Verdict};
use crate::metrics::{Gauged, RouteStats};
use crate::proxy;
use crate::proxy::context::{Identity, ProduceRequest};
use crate::rescue::rescue;
use crate::response::Body;
use crate::snapshot::Snapshot;

/// Answers `request`, which arrived on `connection` to the listener configured for `port`.
pub(crate) async fn handle(
    active: Arc<Snapshot>,
    connection: Arc<Connection>,
    port: u16,
    request: Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let _active_request = Gauged::new(&active.metrics, |m| &m.requests_active);
    let (mut parts, body) = request.into_parts();
    if let Some(tracing) = &active.tracing {
        let trace = tracing.request(&parts, port);
        parts.extensions.insert(trace);
    }
    let server = active.table.server_for_port(port);
    // Counted under the server until a route matches.
    let mut stats = server.and_then(|s| active.stats.server(s));
    let response = answer(&active, &connection, server, port, &parts, body, &mut stats).await;
    if let Some(stats) = stats {
        stats.observe(response.status().as_u16(), started.elapsed());
        stats.observe_sizes(content_length(&parts.headers), response.body().exact_len());
    }
    if let Some(trace) = parts.extensions.get::<crate::trace::RequestTrace>() {
        trace.finish(response.status().as_u16());
    }
    if active.events.enabled() {
        let head = Head(&parts);
        active.events.emit(
            server.map_or("", |s| s.binding.as_str()),
            "HTTP_REQUEST_ACCEPTED",
            format_args!(
                "{} {}://{}{} {}",
                parts.method,
                head.scheme(),
                head.authority(),
                parts.uri.path_and_query().map_or("/", |p| p.as_str()),
                response.status().as_u16()
            ),
        );
    }
    response
}

/// The declared length of a request's body.
fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

pub(crate) async fn answer<'a>(
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
        Err(failure) => rescue(parts, cors, &failure),
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
    let limits = server.map(|server| server.limits).unwrap_or_default();
    let guard = crate::trace::phase(parts, "guard");
    let (authenticated, rejected) = authenticate(active, connection, server, parts).await;
    drop(guard);
    let authenticated = authenticated
        .as_ref()
        .map(|(principal, token)| (principal.as_ref(), token.as_str()));
    if server.is_some_and(|s| s.authorization.is_some()) && is_challenge_answer(parts) {
        return answer_challenge(active, connection, parts, authenticated, rejected);
    }
    let (caller, identity) = caller(active, authenticated, rejected);
    // Request models are checked before routing acts, as in Zilla.
    let models = proxy::validate::check_request(active, server, parts).await?;
    let route = crate::trace::phase(parts, "route");
    let resolved = active.table.resolve(port, &Head(parts), caller);
    drop(route);
    let request = Routed {
        connection,
        parts,
        limits: &limits,
        identity,
        models,
    };
    dispatch(active, resolved, request, body, stats).await
}

/// What the routing step knows of a request, for the action it resolved to.
struct Routed<'a> {
    connection: &'a Connection,
    parts: &'a Parts,
    limits: &'a HttpLimits,
    identity: Option<Identity<'a>>,
    models: Option<&'a RequestModels>,
}

/// Runs the action a request resolved to.
async fn dispatch<'a>(
    active: &'a Snapshot,
    resolved: Resolved<'a>,
    request: Routed<'_>,
    body: Incoming,
    stats: &mut Option<&'a RouteStats>,
) -> Result<Response<Body>, DataPlaneError> {
    let Routed {
        connection,
        parts,
        limits,
        identity,
        models,
    } = request;
    match resolved {
        Resolved::NotFound => Err(DataPlaneError::no_route(parts)),
        Resolved::Denied(denial) => Err(DataPlaneError::from(denial)),
        Resolved::BadParam(bad) => Err(DataPlaneError::BadRequest(bad.to_string())),
        Resolved::Echo => proxy::echo::echo(active, parts, body, limits, models).await,
        Resolved::File { route, params } => proxy::files::serve(route, &params, parts).await,
        Resolved::SseUpstream {
            upstream, guarded, ..
        } => {
            let session = relayed_session(active, connection, identity, guarded);
            proxy::sse_upstream::stream(active, upstream, parts, session).await
        }
        Resolved::Upstream(i) => {
            proxy::forward::forward(active, i, parts, body, limits, models).await
        }
        Resolved::Sse {
            server,
            route,
            params,
            guarded,
        } => {
            *stats = active.stats.route(route);
            let found = SseMatch {
                server,
                route,
                params: &params,
                guarded,
            };
            let request = sse_request(active, connection, identity, found, parts);
            proxy::sse::stream(active, request).await
        }
        Resolved::HttpKafka {
            binding,
            route,
            params,
        } => {
            *stats = active.stats.route(route);
            crate::trace::routed(parts, &binding.binding, route.index);
            let request = HttpKafkaRequest {
                binding,
                route,
                params: &params,
                parts,
                limits,
                identity,
                models,
            };
            act(active, request, body).await
        }
    }
}

/// An `http-kafka` route matched by a request.
struct HttpKafkaRequest<'a> {
    binding: &'a HttpKafkaBinding,
    route: &'a HttpKafkaRoute,
    params: &'a Params,
    parts: &'a Parts,
    limits: &'a HttpLimits,
    identity: Option<Identity<'a>>,
    models: Option<&'a RequestModels>,
}

/// Acts on an `http-kafka` route: produce (one-way or request-response) or fetch.
async fn act(
    active: &Snapshot,
    request: HttpKafkaRequest<'_>,
    body: Incoming,
) -> Result<Response<Body>, DataPlaneError> {
    let HttpKafkaRequest {
        binding,
        route,
        params,
        parts,
        limits,
        identity,
        models,
    } = request;
    match &route.action {
        Action::Produce(action) => {
            let request = ProduceRequest {
                binding,
                action,
                params,
                parts,
                limits,
                identity,
                models,
            };
            // A route with `reply-to` is request-response; the others one-way.
            match &action.reply {
                None => proxy::produce::oneway(active, request, body).await,
                Some(reply) => proxy::correlate::exchange(active, request, reply, body).await,
            }
        }
        Action::Fetch(action) => {
            let request = proxy::fetch::FetchRequest {
                binding,
                action,
                params,
                parts,
                identity,
            };
            proxy::fetch::fetch(active, request).await
        }
    }
}
