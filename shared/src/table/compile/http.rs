//! `http` servers and `tcp` listeners.

use std::collections::{HashMap, HashSet};

use super::{Compiler, MAX_BODY_LIMIT, MAX_HEADER_LIMIT, binding_pointer, not_yet};
use crate::spec::{
    BindingKind, BindingSpec, BindingType, ConditionSpec, HttpLimitsSpec, HttpOptionsSpec,
    OptionsSpec, RouteSpec, TlsOptionsSpec,
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
        let mut scan = ListenerScan {
            listeners: Vec::new(),
            reached: vec![false; self.servers.len()],
            seen_ports: HashMap::new(),
            tls_reached: HashSet::new(),
        };
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type == BindingType::Tcp && binding.kind == BindingKind::Server {
                self.tcp_server(name, binding, &mut scan);
            }
        }
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type == BindingType::Tls && !scan.tls_reached.contains(name.as_str())
            {
                self.errors.push(
                    binding_pointer(name),
                    format!("tls binding '{name}' is not the exit of any tcp server, so it has no listener"),
                );
            }
        }
        for (server, reached) in self.servers.iter().zip(&scan.reached) {
            if !reached {
                self.errors.push(
                    binding_pointer(&server.binding),
                    format!("http binding '{}' is not the exit of any tcp server, so it has no listener", server.binding),
                );
            }
        }
        scan.listeners
    }

    /// A `tcp` server binding: one listener per port, each to an `http` server (through a
    /// `tls` binding or not).
    fn tcp_server(&mut self, name: &'a str, binding: &'a BindingSpec, scan: &mut ListenerScan<'a>) {
        let at = binding_pointer(name);
        let options = match &binding.options {
            Some(OptionsSpec::Tcp(options)) => options,
            _ => {
                self.errors
                    .push(format!("{at}/options"), "a tcp server needs options.port");
                return;
            }
        };
        let Some(ports) = options.port.as_ref().map(|p| p.ports()) else {
            self.errors
                .push(format!("{at}/options"), "missing field 'port'");
            return;
        };
        let host = options.host.clone().unwrap_or_else(|| "0.0.0.0".to_owned());
        if host != "localhost" && host.parse::<std::net::IpAddr>().is_err() {
            self.errors.push(
                format!("{at}/options/host"),
                format!("host '{host}' is not an IP address or localhost"),
            );
        }
        self.check_route_ports(binding, &ports, &at);
        for port in ports {
            if let Some(other) = scan.seen_ports.insert(port, name.to_owned()) {
                self.errors.push(
                    format!("{at}/options/port"),
                    format!("port {port} is already used by tcp binding '{other}'"),
                );
                continue;
            }
            let Some((server, tls)) = self.port_exit(binding, port, &at, scan) else {
                continue;
            };
            scan.reached[server] = true;
            scan.listeners.push(Listener {
                binding: name.to_owned(),
                host: host.clone(),
                port,
                server,
                tls,
            });
        }
    }

    /// Every port a route's `when` names must be one of the binding's.
    fn check_route_ports(&mut self, binding: &BindingSpec, ports: &[u16], at: &str) {
        for (index, route) in binding.routes.iter().enumerate() {
            for (position, condition) in route.when.iter().enumerate() {
                let ConditionSpec::Tcp(condition) = condition else {
                    continue;
                };
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

    /// The `http` server (index) and TLS settings that `port` of a tcp binding leads to:
    /// tcp -> [tls ->] http.
    fn port_exit(
        &mut self,
        binding: &'a BindingSpec,
        port: u16,
        at: &str,
        scan: &mut ListenerScan<'a>,
    ) -> Option<(usize, Option<TlsListener>)> {
        let exit = binding
            .routes
            .iter()
            .find(|route| {
                route.when.is_empty()
                    || route.when.iter().any(
                        |c| matches!(c, ConditionSpec::Tcp(t) if t.port.ports().contains(&port)),
                    )
            })
            .and_then(|route| route.exit.as_deref())
            .or(binding.exit.as_deref());
        let Some(exit) = exit else {
            self.errors.push(at, format!("port {port} has no exit"));
            return None;
        };
        let (exit, tls) = match self.spec.bindings.get(exit) {
            Some(target) if target.binding_type == BindingType::Tls => {
                scan.tls_reached.insert(exit);
                let (http, tls) = self.tls_listener(exit)?;
                (http, Some(tls))
            }
            _ => {
                if !self.expect_exit(at, exit, BindingType::Http, &[BindingKind::Server]) {
                    return None;
                }
                (exit, None)
            }
        };
        self.server_index.get(exit).map(|&server| (server, tls))
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
        let default = TlsOptionsSpec::default();
        let options = match &binding.options {
            Some(OptionsSpec::Tls(options)) => options,
            _ => &default,
        };
        let (certificate, key) = pem_files(options, &at, &mut errors);
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
        let alpn = alpn(options.alpn.as_deref(), server, exit, &at, &mut errors);
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

/// What the listeners found so far: listeners, which servers and tls bindings a port leads
/// to, and which tcp binding has each port.
struct ListenerScan<'a> {
    listeners: Vec<Listener>,
    reached: Vec<bool>,
    seen_ports: HashMap<u16, String>,
    tls_reached: HashSet<&'a str>,
}

/// The ALPN protocols a tls binding offers: those listed (each must be a version of the
/// http server it exits to), or every version of that server.
fn alpn(
    listed: Option<&[String]>,
    server: Option<&HttpServer>,
    exit: &str,
    at: &str,
    errors: &mut Vec<(String, String)>,
) -> Vec<String> {
    let mut alpn = Vec::new();
    let Some(list) = listed else {
        if server.is_none_or(|s| s.h2) {
            alpn.push("h2".to_owned());
        }
        if server.is_none_or(|s| s.http1) {
            alpn.push("http/1.1".to_owned());
        }
        return alpn;
    };
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
                format!("'{protocol}' is not one of the versions of http server '{exit}'"),
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
    alpn
}

/// The PEM certificate and key files of a tls binding's options; vault options (`keys`,
/// `trust`, `sni`, `mutual`) are refused.
fn pem_files(
    options: &TlsOptionsSpec,
    at: &str,
    errors: &mut Vec<(String, String)>,
) -> (String, String) {
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
    (certificate, key)
}
