//! `http` servers and `tcp` listeners.

use super::{Compiler, MAX_BODY_LIMIT, MAX_HEADER_LIMIT, binding_pointer, not_yet};
use crate::spec::{
    BindingKind, BindingType, ConditionSpec, HttpLimitsSpec, HttpOptionsSpec, OptionsSpec,
    RouteSpec,
};
use crate::table::limits::HttpLimits;
use crate::table::server::{Exit, HttpRoute, HttpServer};

impl<'a> Compiler<'a> {
    pub(super) fn compile_servers(&mut self) {
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type != BindingType::Http || binding.kind != BindingKind::Server {
                continue;
            }
            let at = binding_pointer(name);
            let mut server = HttpServer {
                binding: name.clone(),
                http1: true,
                h2: true,
                limits: HttpLimits::default(),
                authorization: None,
                cors: None,
                requests: self.request_models(name, false),
                routes: Vec::new(),
                exit: None,
            };
            if let Some(OptionsSpec::Http(options)) = &binding.options {
                self.server_options(&mut server, options, &at);
            }
            for (index, route) in binding.routes.iter().enumerate() {
                if let Some(route) = self.server_route(route, &format!("{at}/routes/{index}")) {
                    server.routes.push(route);
                }
            }
            if let Some(exit) = &binding.exit {
                server.exit = self.http_exit(&format!("{at}/exit"), exit);
            }
            let guard = server.authorization.as_ref().map(|a| a.guard);
            self.check_guard_reach(name, guard);
            self.server_index.insert(name, self.servers.len());
            self.servers.push(server);
        }
    }

    /// An `http` server's `options`: CORS, authorization, versions, limits.
    fn server_options(&mut self, server: &mut HttpServer, options: &HttpOptionsSpec, at: &str) {
        if let Some(spec) = &options.access_control {
            server.cors = Some(self.cors(spec, &format!("{at}/options/access-control")));
        }
        if let Some(spec) = &options.authorization {
            server.authorization = self.authorization(spec, &format!("{at}/options/authorization"));
        }
        let unsupported = [(
            "overrides",
            options.overrides.is_some(),
            "http header overrides",
        )];
        for (field, present, what) in unsupported {
            if present {
                self.errors
                    .push(format!("{at}/options/{field}"), not_yet(what));
            }
        }
        if let Some(versions) = &options.versions {
            self.server_versions(server, versions, &format!("{at}/options/versions"));
        }
        if let Some(limits) = &options.limits {
            server.limits = self.limits(limits, &format!("{at}/options/limits"));
        }
    }

    /// `options.versions`: which of HTTP/1.1 and h2 the server speaks.
    fn server_versions(&mut self, server: &mut HttpServer, versions: &[String], at: &str) {
        server.http1 = false;
        server.h2 = false;
        for (index, version) in versions.iter().enumerate() {
            match version.as_str() {
                "http/1.1" => server.http1 = true,
                "h2" => server.h2 = true,
                other => self.errors.push(
                    format!("{at}/{index}"),
                    format!("unknown version '{other}', expected http/1.1 or h2"),
                ),
            }
        }
        if versions.is_empty() {
            self.errors.push(at, "at least one version is needed");
        }
    }

    /// One route of an `http` server: header conditions, guards, exit.
    fn server_route(&mut self, route: &RouteSpec, at: &str) -> Option<HttpRoute> {
        if route.with.is_some() {
            self.errors
                .push(format!("{at}/with"), not_yet("http route header overrides"));
        }
        let when = route
            .when
            .iter()
            .filter_map(|condition| match condition {
                ConditionSpec::Http(c) => Some(
                    c.headers
                        .iter()
                        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                        .collect(),
                ),
                _ => None,
            })
            .collect();
        let exit = route
            .exit
            .as_deref()
            .and_then(|e| self.http_exit(&format!("{at}/exit"), e))?;
        Some(HttpRoute {
            when,
            guarded: self.guarded(route),
            exit,
        })
    }

    /// `options.limits`: each given value within its bounds, else its default.
    fn limits(&mut self, spec: &HttpLimitsSpec, at: &str) -> HttpLimits {
        let d = HttpLimits::default();
        let mut bounded =
            |field: &str, value: Option<u64>, default: u64, (min, max): (u64, u64)| {
                self.bounded(&format!("{at}/{field}"), value, default, min..=max)
            };
        HttpLimits {
            max_body_bytes: bounded(
                "max-body-bytes",
                spec.max_body_bytes,
                d.max_body_bytes,
                (0, MAX_BODY_LIMIT),
            ),
            max_header_bytes: bounded(
                "max-header-bytes",
                spec.max_header_bytes,
                d.max_header_bytes,
                (1024, MAX_HEADER_LIMIT),
            ),
            header_read_timeout_ms: bounded(
                "header-read-timeout-ms",
                spec.header_read_timeout_ms,
                d.header_read_timeout_ms,
                (100, 600_000),
            ),
            // invariant: bounded to 1..=10_000, which fits in a u32.
            max_concurrent_streams: bounded(
                "max-concurrent-streams",
                spec.max_concurrent_streams.map(u64::from),
                u64::from(d.max_concurrent_streams),
                (1, 10_000),
            ) as u32,
            max_connections: bounded(
                "max-connections",
                spec.max_connections,
                d.max_connections,
                (1, 1_000_000),
            ),
            max_reset_streams: bounded(
                "max-reset-streams",
                spec.max_reset_streams,
                d.max_reset_streams,
                (1, 10_000),
            ),
            idle_timeout_ms: bounded(
                "idle-timeout-ms",
                spec.idle_timeout_ms,
                d.idle_timeout_ms,
                (100, 86_400_000),
            ),
            body_read_timeout_ms: bounded(
                "body-read-timeout-ms",
                spec.body_read_timeout_ms,
                d.body_read_timeout_ms,
                (100, 3_600_000),
            ),
        }
    }

    /// `value` when it is within `range`; else an error at `pointer`, and `default`.
    pub(super) fn bounded(
        &mut self,
        pointer: &str,
        value: Option<u64>,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> u64 {
        match value {
            None => default,
            Some(v) if range.contains(&v) => v,
            Some(v) => {
                self.errors.push(
                    pointer,
                    format!("{v} is outside {}..={}", range.start(), range.end()),
                );
                default
            }
        }
    }

    fn http_exit(&mut self, pointer: &str, exit: &str) -> Option<Exit> {
        let target = self.spec.bindings.get(exit)?;
        match target.binding_type {
            BindingType::HttpKafka => self.http_kafka_index.get(exit).map(|i| Exit::HttpKafka(*i)),
            BindingType::Echo => Some(Exit::Echo),
            BindingType::Sse => self.sse_server_index.get(exit).map(|i| Exit::Sse(*i)),
            BindingType::HttpFilesystem => self.files_index.get(exit).map(|i| Exit::Files(*i)),
            BindingType::Http if target.kind == BindingKind::Client => {
                self.upstream_index.get(exit).map(|i| Exit::Upstream(*i))
            }
            other => {
                self.errors.push(
                    pointer,
                    format!(
                        "exit '{exit}' is a {} binding; an http server exits to http-kafka, sse, http-filesystem, an http client or echo",
                        other.as_str()
                    ),
                );
                None
            }
        }
    }
}
