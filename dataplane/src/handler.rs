//! One request, top to bottom: resolve the route, act, answer. The only place where errors
//! become responses.

use std::sync::Arc;

use http::request::Parts;
use http::{Request, Response};
use hyper::body::Incoming;
use sluice_shared::Party;
use sluice_shared::table::{Action, RequestHead, Resolved};
use tracing::{debug, error, warn};

use crate::error::DataPlaneError;
use crate::proxy;
use crate::response::{self, Body};
use crate::server::Active;

/// Answers `request`, which arrived on the listener configured for `port`.
pub(crate) async fn handle(
    active: Arc<Active>,
    port: u16,
    request: Request<Incoming>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    match respond(&active, port, &parts, body).await {
        Ok(response) => response,
        Err(failure) => {
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
            response::error(&failure)
        }
    }
}

async fn respond(
    active: &Active,
    port: u16,
    parts: &Parts,
    body: Incoming,
) -> Result<Response<Body>, DataPlaneError> {
    let table = &active.table;
    let limits = table
        .server_for_port(port)
        .map(|server| server.limits)
        .unwrap_or_default();
    match table.resolve(port, &Head(parts)) {
        Resolved::NotFound => Err(DataPlaneError::NoRoute {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
        }),
        Resolved::BadParam(bad) => Err(DataPlaneError::BadRequest(bad.to_string())),
        Resolved::Echo => proxy::echo(parts, body, &limits).await,
        Resolved::Sse {
            server,
            route,
            params,
        } => {
            let request = proxy::sse::SseRequest {
                server,
                route,
                params: &params,
                parts,
            };
            proxy::sse::stream(active, request).await
        }
        Resolved::HttpKafka {
            binding,
            route,
            params,
        } => match &route.action {
            Action::Produce(action) => {
                let request = proxy::produce::ProduceRequest {
                    binding,
                    action,
                    params: &params,
                    parts,
                    limits: &limits,
                };
                proxy::produce::produce(active, request, body).await
            }
            Action::Fetch(action) => {
                let request = proxy::fetch::FetchRequest {
                    binding,
                    action,
                    params: &params,
                    parts,
                };
                proxy::fetch::fetch(active, request).await
            }
        },
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
