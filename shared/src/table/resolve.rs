//! Routing one request: listener, `when` conditions, guards, path parameters, to a
//! [`Resolved`] outcome.

use super::action::{HttpKafkaBinding, HttpKafkaRoute, SseKafkaRoute};
use super::files::{FileRoute, FilesBinding};
use super::route_table::RouteTable;
use super::server::{Exit, Guarded, RequestCondition, SseExit, SseServer};
use crate::guard::Principal;
use crate::path::{BadParam, Params, wildcard_match};
use crate::request::RequestHead;

/// Outcome of routing one request.
#[derive(Debug)]
pub enum Resolved<'t> {
    /// An `echo` binding answers.
    Echo,
    /// An `http-kafka` route matched.
    HttpKafka {
        /// The binding.
        binding: &'t HttpKafkaBinding,
        /// The route.
        route: &'t HttpKafkaRoute,
        /// Path parameters, percent-decoded.
        params: Params,
    },
    /// An `sse-kafka` route matched.
    Sse {
        /// The `sse` server binding.
        server: &'t SseServer,
        /// The route.
        route: &'t SseKafkaRoute,
        /// Path parameters, percent-decoded.
        params: Params,
        /// Whether a guarded route on the way (http, sse or sse-kafka) admitted the caller:
        /// the stream then lives on the caller's authorization and ends when it expires.
        guarded: bool,
    },
    /// An `http-filesystem` route matched.
    File {
        /// The route.
        route: &'t FileRoute,
        /// Path parameters, percent-decoded.
        params: Params,
    },
    /// An `sse` client: the event stream of the upstream server of this index in
    /// [`RouteTable::upstreams`] is relayed.
    SseUpstream {
        /// The `sse` server binding.
        server: &'t SseServer,
        /// The upstream's index.
        upstream: usize,
        /// Whether a guarded route on the way admitted the caller (see [`Resolved::Sse`]).
        guarded: bool,
    },
    /// An `http` client: the request is proxied to the upstream server of this index in
    /// [`RouteTable::upstreams`].
    Upstream(usize),
    /// A route matched but a path parameter is not valid UTF-8.
    BadParam(BadParam),
    /// Routes matched but their guards refused the caller, and no other route matched.
    Denied(Denial),
    /// Nothing matched.
    NotFound,
}

/// Who is calling, as the server's guard sees it.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// No credentials (or the server has no guard).
    Anonymous,
    /// Credentials were present but not valid.
    Rejected,
    /// A valid token.
    Authorized(&'a Principal),
}

/// Why guarded routes refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No valid credentials: 401.
    Unauthenticated {
        /// Credentials were present but invalid.
        invalid: bool,
    },
    /// Valid credentials without the roles: 403.
    Forbidden {
        /// The roles the route requires.
        roles: Vec<String>,
    },
}

impl Caller<'_> {
    /// Whether the caller passes `guarded`; `Err` says why not.
    fn admitted(self, guarded: &Guarded) -> Result<(), Denial> {
        for (guard, roles) in guarded {
            match self {
                Self::Anonymous => return Err(Denial::Unauthenticated { invalid: false }),
                Self::Rejected => return Err(Denial::Unauthenticated { invalid: true }),
                Self::Authorized(principal) => {
                    if principal.guard != *guard {
                        return Err(Denial::Unauthenticated { invalid: false });
                    }
                    if !principal.has_roles(roles) {
                        return Err(Denial::Forbidden {
                            roles: roles.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// The first guard refusal seen while routing, kept in case no route matches, and whether
/// a guarded step of the chain admitted the caller.
#[derive(Default)]
pub(crate) struct Refusals {
    first: Option<Denial>,
    guarded: bool,
}

impl Refusals {
    fn admits(&mut self, caller: Caller<'_>, guarded: &Guarded) -> bool {
        match caller.admitted(guarded) {
            Ok(()) => {
                self.guarded |= !guarded.is_empty();
                true
            }
            Err(denial) => {
                self.first.get_or_insert(denial);
                false
            }
        }
    }

    fn not_found<'t>(self) -> Resolved<'t> {
        self.first.map_or(Resolved::NotFound, Resolved::Denied)
    }
}

impl RouteTable {
    /// Routes a request that arrived on listener `port`, from `caller`.
    pub fn resolve(
        &self,
        port: u16,
        request: &dyn RequestHead,
        caller: Caller<'_>,
    ) -> Resolved<'_> {
        let Some(server) = self.server_for_port(port) else {
            return Resolved::NotFound;
        };
        let mut refusals = Refusals::default();
        let exit = server
            .routes
            .iter()
            .find(|route| {
                (route.when.is_empty() || route.when.iter().any(|all| headers_match(all, request)))
                    && refusals.admits(caller, &route.guarded)
            })
            .map(|route| route.exit)
            .or(server.exit);
        let resolved = match exit {
            None => Resolved::NotFound,
            Some(Exit::Echo) => Resolved::Echo,
            Some(Exit::Sse(index)) => {
                self.resolve_sse(&self.sse_servers[index], request, caller, &mut refusals)
            }
            Some(Exit::HttpKafka(index)) => {
                self.resolve_http_kafka(&self.http_kafka[index], request, caller, &mut refusals)
            }
            Some(Exit::Upstream(index)) => Resolved::Upstream(index),
            Some(Exit::Files(index)) => {
                self.resolve_files(&self.files[index], request, caller, &mut refusals)
            }
        };
        match resolved {
            Resolved::NotFound => refusals.not_found(),
            found => found,
        }
    }

    fn resolve_http_kafka<'t>(
        &'t self,
        binding: &'t HttpKafkaBinding,
        request: &dyn RequestHead,
        caller: Caller<'_>,
        refusals: &mut Refusals,
    ) -> Resolved<'t> {
        let routes = binding.routes.iter().map(|r| (r, &r.when[..], &r.guarded));
        match first_admitted(routes, request, caller, refusals) {
            Ok(Some((route, params))) => Resolved::HttpKafka {
                binding,
                route,
                params,
            },
            Ok(None) => Resolved::NotFound,
            Err(bad) => Resolved::BadParam(bad),
        }
    }
}

impl RouteTable {
    fn resolve_files<'t>(
        &'t self,
        binding: &'t FilesBinding,
        request: &dyn RequestHead,
        caller: Caller<'_>,
        refusals: &mut Refusals,
    ) -> Resolved<'t> {
        let routes = binding.routes.iter().map(|r| (r, &r.when[..], &r.guarded));
        match first_admitted(routes, request, caller, refusals) {
            Ok(Some((route, params))) => Resolved::File { route, params },
            Ok(None) => Resolved::NotFound,
            Err(bad) => Resolved::BadParam(bad),
        }
    }

    fn resolve_sse<'t>(
        &'t self,
        server: &'t SseServer,
        request: &dyn RequestHead,
        caller: Caller<'_>,
        refusals: &mut Refusals,
    ) -> Resolved<'t> {
        let path = request.path();
        let exit = server
            .routes
            .iter()
            .find(|route| {
                (route.when.is_empty() || route.when.iter().any(|t| t.matches(path).is_some()))
                    && refusals.admits(caller, &route.guarded)
            })
            .map(|route| route.exit)
            .or(server.exit);
        let index = match exit {
            Some(SseExit::Kafka(index)) => index,
            Some(SseExit::Upstream(upstream)) => {
                return Resolved::SseUpstream {
                    server,
                    upstream,
                    guarded: refusals.guarded,
                };
            }
            None => return Resolved::NotFound,
        };
        let Some(binding) = self.sse_kafka.get(index) else {
            return Resolved::NotFound;
        };
        for route in &binding.routes {
            let matched = if route.when.is_empty() {
                Some(Ok(Vec::new()))
            } else {
                route.when.iter().find_map(|t| t.matches(path))
            };
            match matched {
                None => continue,
                Some(Err(bad)) => return Resolved::BadParam(bad),
                Some(Ok(params)) => {
                    if refusals.admits(caller, &route.guarded) {
                        return Resolved::Sse {
                            server,
                            route,
                            params,
                            guarded: refusals.guarded,
                        };
                    }
                }
            }
        }
        Resolved::NotFound
    }
}

/// The first route whose method and path match `request` and whose guards admit `caller`,
/// with its path parameters.
fn first_admitted<'t, R: 't>(
    routes: impl Iterator<Item = (&'t R, &'t [RequestCondition], &'t Guarded)>,
    request: &dyn RequestHead,
    caller: Caller<'_>,
    refusals: &mut Refusals,
) -> Result<Option<(&'t R, Params)>, BadParam> {
    for (route, when, guarded) in routes {
        let matched = if when.is_empty() {
            Some(Ok(Vec::new()))
        } else {
            when.iter().find_map(|c| c.matches(request))
        };
        match matched {
            None => continue,
            Some(Err(bad)) => return Err(bad),
            Some(Ok(params)) => {
                if refusals.admits(caller, guarded) {
                    return Ok(Some((route, params)));
                }
            }
        }
    }
    Ok(None)
}

impl RequestCondition {
    fn matches(&self, request: &dyn RequestHead) -> Option<Result<Params, BadParam>> {
        if let Some(method) = &self.method
            && !method.eq_ignore_ascii_case(request.method())
        {
            return None;
        }
        match &self.path {
            Some(path) => path.matches(request.path()),
            None => Some(Ok(Vec::new())),
        }
    }
}

pub(crate) fn headers_match(all: &[(String, String)], request: &dyn RequestHead) -> bool {
    all.iter().all(|(name, pattern)| {
        let value = match name.as_str() {
            ":method" => Some(request.method()),
            ":path" => Some(request.path()),
            ":scheme" => Some(request.scheme()),
            ":authority" => Some(request.authority()),
            other => request.header(other),
        };
        value.is_some_and(|value| wildcard_match(pattern, value))
    })
}
