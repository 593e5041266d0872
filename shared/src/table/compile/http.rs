//! `http` servers and `tcp` listeners.

use std::collections::HashMap;

use super::{Compiler, MAX_BODY_LIMIT, MAX_HEADER_LIMIT, binding_pointer, not_yet};
use crate::spec::{BindingKind, BindingType, ConditionSpec, HttpLimitsSpec, OptionsSpec};
use crate::table::{Exit, HttpLimits, HttpRoute, HttpServer, Listener};

impl Compiler<'_> {
    pub(super) fn compile_servers(&mut self) {
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type != BindingType::Http {
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
                routes: Vec::new(),
                exit: None,
            };
            if let Some(OptionsSpec::Http(options)) = &binding.options {
                if let Some(spec) = &options.access_control {
                    server.cors = Some(self.cors(spec, &format!("{at}/options/access-control")));
                }
                if let Some(spec) = &options.authorization {
                    server.authorization =
                        self.authorization(spec, &format!("{at}/options/authorization"));
                }
                let unsupported = [
                    (
                        "overrides",
                        options.overrides.is_some(),
                        "http header overrides",
                    ),
                    (
                        "requests",
                        options.requests.is_some(),
                        "typed request validation",
                    ),
                ];
                for (field, present, what) in unsupported {
                    if present {
                        self.errors
                            .push(format!("{at}/options/{field}"), not_yet(what));
                    }
                }
                if let Some(versions) = &options.versions {
                    server.http1 = false;
                    server.h2 = false;
                    for (index, version) in versions.iter().enumerate() {
                        match version.as_str() {
                            "http/1.1" => server.http1 = true,
                            "h2" => server.h2 = true,
                            other => self.errors.push(
                                format!("{at}/options/versions/{index}"),
                                format!("unknown version '{other}', expected http/1.1 or h2"),
                            ),
                        }
                    }
                    if versions.is_empty() {
                        self.errors.push(
                            format!("{at}/options/versions"),
                            "at least one version is needed",
                        );
                    }
                }
                if let Some(limits) = &options.limits {
                    server.limits = self.limits(limits, &format!("{at}/options/limits"));
                }
            }
            for (index, route) in binding.routes.iter().enumerate() {
                let route_at = format!("{at}/routes/{index}");
                if route.with.is_some() {
                    self.errors.push(
                        format!("{route_at}/with"),
                        not_yet("http route header overrides"),
                    );
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
                if let Some(exit) = route
                    .exit
                    .as_deref()
                    .and_then(|e| self.http_exit(&format!("{route_at}/exit"), e))
                {
                    let guarded = self.guarded(route);
                    server.routes.push(HttpRoute {
                        when,
                        guarded,
                        exit,
                    });
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

    fn limits(&mut self, spec: &HttpLimitsSpec, at: &str) -> HttpLimits {
        let defaults = HttpLimits::default();
        let mut bounded =
            |field: &str, value: Option<u64>, default: u64, min: u64, max: u64| match value {
                None => default,
                Some(v) if (min..=max).contains(&v) => v,
                Some(v) => {
                    self.errors.push(
                        format!("{at}/{field}"),
                        format!("{v} is outside {min}..={max}"),
                    );
                    default
                }
            };
        HttpLimits {
            max_body_bytes: bounded(
                "max-body-bytes",
                spec.max_body_bytes,
                defaults.max_body_bytes,
                0,
                MAX_BODY_LIMIT,
            ),
            max_header_bytes: bounded(
                "max-header-bytes",
                spec.max_header_bytes,
                defaults.max_header_bytes,
                1024,
                MAX_HEADER_LIMIT,
            ),
            header_read_timeout_ms: bounded(
                "header-read-timeout-ms",
                spec.header_read_timeout_ms,
                defaults.header_read_timeout_ms,
                100,
                600_000,
            ),
            max_concurrent_streams: bounded(
                "max-concurrent-streams",
                spec.max_concurrent_streams.map(u64::from),
                u64::from(defaults.max_concurrent_streams),
                1,
                10_000,
            ) as u32,
            max_connections: bounded(
                "max-connections",
                spec.max_connections,
                defaults.max_connections,
                1,
                1_000_000,
            ),
            max_reset_streams: bounded(
                "max-reset-streams",
                spec.max_reset_streams,
                defaults.max_reset_streams,
                1,
                10_000,
            ),
        }
    }

    fn http_exit(&mut self, pointer: &str, exit: &str) -> Option<Exit> {
        let target = self.spec.bindings.get(exit)?;
        match target.binding_type {
            BindingType::HttpKafka => self.http_kafka_index.get(exit).map(|i| Exit::HttpKafka(*i)),
            BindingType::Echo => Some(Exit::Echo),
            BindingType::Sse => self.sse_server_index.get(exit).map(|i| Exit::Sse(*i)),
            other => {
                self.errors.push(
                    pointer,
                    format!(
                        "exit '{exit}' is a {} binding; an http server exits to http-kafka, sse or echo",
                        other.as_str()
                    ),
                );
                None
            }
        }
    }

    pub(super) fn compile_listeners(&mut self) -> Vec<Listener> {
        let mut listeners: Vec<Listener> = Vec::new();
        let mut reached: Vec<bool> = vec![false; self.servers.len()];
        let mut seen_ports: HashMap<u16, String> = HashMap::new();
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type != BindingType::Tcp || binding.kind != BindingKind::Server {
                continue;
            }
            let at = binding_pointer(name);
            let options = match &binding.options {
                Some(OptionsSpec::Tcp(options)) => options,
                _ => {
                    self.errors
                        .push(format!("{at}/options"), "a tcp server needs options.port");
                    continue;
                }
            };
            let Some(ports) = options.port.as_ref().map(|p| p.ports()) else {
                self.errors
                    .push(format!("{at}/options"), "missing field 'port'");
                continue;
            };
            let host = options.host.clone().unwrap_or_else(|| "0.0.0.0".to_owned());
            if host != "localhost" && host.parse::<std::net::IpAddr>().is_err() {
                self.errors.push(
                    format!("{at}/options/host"),
                    format!("host '{host}' is not an IP address or localhost"),
                );
            }
            for (index, route) in binding.routes.iter().enumerate() {
                for (position, condition) in route.when.iter().enumerate() {
                    if let ConditionSpec::Tcp(condition) = condition {
                        for port in condition.port.ports() {
                            if !ports.contains(&port) {
                                self.errors.push(
                                    format!("{at}/routes/{index}/when/{position}/port"),
                                    format!("port {port} is not one of this binding's ports"),
                                );
                            }
                        }
                    }
                }
            }
            for port in ports {
                if let Some(other) = seen_ports.insert(port, name.clone()) {
                    self.errors.push(
                        format!("{at}/options/port"),
                        format!("port {port} is already used by tcp binding '{other}'"),
                    );
                    continue;
                }
                let exit = binding
                    .routes
                    .iter()
                    .find(|route| {
                        route.when.is_empty()
                            || route.when.iter().any(|c| matches!(c, ConditionSpec::Tcp(t) if t.port.ports().contains(&port)))
                    })
                    .and_then(|route| route.exit.as_deref())
                    .or(binding.exit.as_deref());
                let Some(exit) = exit else {
                    self.errors
                        .push(at.clone(), format!("port {port} has no exit"));
                    continue;
                };
                if !self.expect_exit(&at, exit, BindingType::Http, &[BindingKind::Server]) {
                    continue;
                }
                if let Some(&server) = self.server_index.get(exit) {
                    reached[server] = true;
                    listeners.push(Listener {
                        binding: name.clone(),
                        host: host.clone(),
                        port,
                        server,
                    });
                }
            }
        }
        for (server, reached) in self.servers.iter().zip(reached) {
            if !reached {
                self.errors.push(
                    binding_pointer(&server.binding),
                    format!("http binding '{}' is not the exit of any tcp server, so it has no listener", server.binding),
                );
            }
        }
        listeners
    }
}
