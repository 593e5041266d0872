//! `http` servers and `tcp` listeners.

use std::collections::HashMap;

use super::{Compiler, MAX_BODY_LIMIT, MAX_HEADER_LIMIT, binding_pointer, not_yet};
use crate::spec::{
    BindingKind, BindingType, ConditionSpec, HttpLimitsSpec, OptionsSpec, TlsOptionsSpec,
};
use crate::table::limits::HttpLimits;
use crate::table::server::{Exit, HttpRoute, HttpServer, Listener, TlsListener};

impl<'a> Compiler<'a> {
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
            idle_timeout_ms: bounded(
                "idle-timeout-ms",
                spec.idle_timeout_ms,
                defaults.idle_timeout_ms,
                100,
                86_400_000,
            ),
            body_read_timeout_ms: bounded(
                "body-read-timeout-ms",
                spec.body_read_timeout_ms,
                defaults.body_read_timeout_ms,
                100,
                3_600_000,
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
        let mut tls_reached: std::collections::HashSet<&str> = std::collections::HashSet::new();
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
                // tcp -> [tls ->] http
                let (exit, tls) = match self.spec.bindings.get(exit) {
                    Some(target) if target.binding_type == BindingType::Tls => {
                        tls_reached.insert(exit);
                        let Some((http, tls)) = self.tls_listener(exit) else {
                            continue;
                        };
                        (http, Some(tls))
                    }
                    _ => {
                        if !self.expect_exit(&at, exit, BindingType::Http, &[BindingKind::Server]) {
                            continue;
                        }
                        (exit, None)
                    }
                };
                if let Some(&server) = self.server_index.get(exit) {
                    reached[server] = true;
                    listeners.push(Listener {
                        binding: name.clone(),
                        host: host.clone(),
                        port,
                        server,
                        tls,
                    });
                }
            }
        }
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type == BindingType::Tls && !tls_reached.contains(name.as_str()) {
                self.errors.push(
                    binding_pointer(name),
                    format!("tls binding '{name}' is not the exit of any tcp server, so it has no listener"),
                );
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

    /// A `tls` server binding: its settings and the `http` server it exits to. Errors are
    /// reported once, however many ports lead to it.
    fn tls_listener(&mut self, name: &'a str) -> Option<(&'a str, TlsListener)> {
        let binding = self.spec.bindings.get(name)?;
        let at = binding_pointer(name);
        let report = !self.tls_checked.contains(name);
        self.tls_checked.insert(name);
        let mut errors = Vec::new();
        if !binding.routes.is_empty() {
            errors.push((
                format!("{at}/routes"),
                "routes on a tls binding are not supported; name the http server in 'exit'"
                    .to_owned(),
            ));
        }
        let default = TlsOptionsSpec {
            certificate: None,
            key: None,
            alpn: None,
            keys: None,
            trust: None,
            sni: None,
            mutual: None,
        };
        let options = match &binding.options {
            Some(OptionsSpec::Tls(options)) => options,
            _ => &default,
        };
        for (field, present) in [
            ("keys", options.keys.is_some()),
            ("trust", options.trust.is_some()),
            ("sni", options.sni.is_some()),
            ("mutual", options.mutual.is_some()),
        ] {
            if present {
                errors.push((
                    format!("{at}/options/{field}"),
                    format!("'{field}' names keys in a vault, which sluice does not have; set options.certificate and options.key to PEM files"),
                ));
            }
        }
        let mut file = |field: &str, value: &Option<String>| match value.as_deref() {
            Some(path) if !path.trim().is_empty() => path.to_owned(),
            _ => {
                errors.push((
                    format!("{at}/options"),
                    format!("a tls server needs options.{field}, the path of a PEM file"),
                ));
                String::new()
            }
        };
        let certificate = file("certificate", &options.certificate);
        let key = file("key", &options.key);
        let exit = match binding.exit.as_deref() {
            Some(exit) => exit,
            None => {
                errors.push((at.clone(), "missing field 'exit'".to_owned()));
                ""
            }
        };
        let exit_ok = !exit.is_empty()
            && (!report
                || self.expect_exit(
                    &format!("{at}/exit"),
                    exit,
                    BindingType::Http,
                    &[BindingKind::Server],
                ))
            && self.server_index.contains_key(exit);
        let server = self.server_index.get(exit).map(|&i| &self.servers[i]);
        let mut alpn = Vec::new();
        match &options.alpn {
            Some(list) => {
                for (index, protocol) in list.iter().enumerate() {
                    let enabled = match protocol.as_str() {
                        "h2" => server.is_none_or(|s| s.h2),
                        "http/1.1" => server.is_none_or(|s| s.http1),
                        other => {
                            errors.push((
                                format!("{at}/options/alpn/{index}"),
                                format!("unknown protocol '{other}'; expected h2 or http/1.1"),
                            ));
                            continue;
                        }
                    };
                    if !enabled {
                        errors.push((
                            format!("{at}/options/alpn/{index}"),
                            format!(
                                "'{protocol}' is not one of the versions of http server '{exit}'"
                            ),
                        ));
                    } else if !alpn.contains(protocol) {
                        alpn.push(protocol.clone());
                    }
                }
                if list.is_empty() {
                    errors.push((
                        format!("{at}/options/alpn"),
                        "name at least one protocol: h2, http/1.1".to_owned(),
                    ));
                }
            }
            None => {
                if server.is_none_or(|s| s.h2) {
                    alpn.push("h2".to_owned());
                }
                if server.is_none_or(|s| s.http1) {
                    alpn.push("http/1.1".to_owned());
                }
            }
        }
        let failed = !errors.is_empty() || !exit_ok;
        if report {
            for (pointer, message) in errors {
                self.errors.push(pointer, message);
            }
        }
        if failed {
            return None;
        }
        Some((
            exit,
            TlsListener {
                binding: name.to_owned(),
                certificate,
                key,
                alpn,
            },
        ))
    }
}
