//! `tcp` server bindings and the listeners they open: ports, exits, TLS termination.

use std::collections::{HashMap, HashSet};

use super::{Compiler, binding_pointer};
use crate::spec::{
    BindingKind, BindingSpec, BindingType, ConditionSpec, MutualSpec, OptionsSpec, TlsOptionsSpec,
};
use crate::table::server::{ClientTrust, HttpServer, Listener, TlsIdentity, TlsListener};

impl<'a> Compiler<'a> {
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
        // A binding that could not be read may be the missing link of a chain: "no listener"
        // would then be wrong, and its own error says what to fix.
        let traceable = self.spec.unparsed.is_empty();
        for (name, binding) in &self.spec.bindings {
            if traceable
                && binding.binding_type == BindingType::Tls
                && binding.kind == BindingKind::Server
                && !scan.tls_reached.contains(name.as_str())
            {
                self.errors.push(
                    binding_pointer(name),
                    format!("tls binding '{name}' is not the exit of any tcp server, so it has no listener"),
                );
            }
        }
        for (server, reached) in self.servers.iter().zip(&scan.reached) {
            if traceable && !reached {
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
            if let Some(server) = server {
                scan.reached[server] = true;
            }
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

    /// The `http` server (index; `None` for a TCP echo) and TLS settings that `port` of a
    /// tcp binding leads to: tcp -> [tls ->] http or echo.
    fn port_exit(
        &mut self,
        binding: &'a BindingSpec,
        port: u16,
        at: &str,
        scan: &mut ListenerScan<'a>,
    ) -> Option<(Option<usize>, Option<TlsListener>)> {
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
            Some(target) if target.binding_type == BindingType::Echo => (exit, None),
            _ => {
                if !self.expect_exit(at, exit, BindingType::Http, &[BindingKind::Server]) {
                    return None;
                }
                (exit, None)
            }
        };
        if self.spec.bindings.get(exit).map(|b| b.binding_type) == Some(BindingType::Echo) {
            return Some((None, tls));
        }
        self.server_index
            .get(exit)
            .map(|&server| (Some(server), tls))
    }

    /// A `tls` server binding: its settings and the `http` server it exits to. Errors are
    /// reported once, however many ports lead to it.
    fn tls_listener(&mut self, name: &'a str) -> Option<(&'a str, TlsListener)> {
        let binding = self.spec.bindings.get(name)?;
        let at = binding_pointer(name);
        let report = !self.tls_checked.contains(name);
        self.tls_checked.insert(name);
        let mut errors = Vec::new();
        let default = TlsOptionsSpec::default();
        let options = match &binding.options {
            Some(OptionsSpec::Tls(options)) => options,
            _ => &default,
        };
        let identity = self.identity(name, options, &at, &mut errors);
        let clients = self.client_trust(name, options, &at, &mut errors);
        let exit = match tls_exit(binding, &at, &mut errors) {
            Some(exit) => exit,
            None => {
                errors.push((at.clone(), "missing field 'exit'".to_owned()));
                ""
            }
        };
        let echo = self.spec.bindings.get(exit).map(|b| b.binding_type) == Some(BindingType::Echo);
        let exit_ok = !exit.is_empty()
            && (echo
                || (!report
                    || self.expect_exit(
                        &format!("{at}/exit"),
                        exit,
                        BindingType::Http,
                        &[BindingKind::Server],
                    ))
                    && self.server_index.contains_key(exit));
        let server = self.server_index.get(exit).map(|&i| &self.servers[i]);
        let alpn = if echo {
            // A TCP echo speaks whatever protocol its clients name.
            options.alpn.clone().unwrap_or_default()
        } else {
            alpn(options.alpn.as_deref(), server, exit, &at, &mut errors)
        };
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
                identity: identity?,
                alpn,
                sni: options.sni.clone().unwrap_or_default(),
                clients,
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

/// The exit of a tls server: its binding-level `exit`, or the one exit all its routes
/// share. Routes by `authority` (SNI) or `alpn` to different bindings are refused: a tls
/// listener of Sluice leads to one http server.
fn tls_exit<'a>(
    binding: &'a BindingSpec,
    at: &str,
    errors: &mut Vec<(String, String)>,
) -> Option<&'a str> {
    let mut exits = binding
        .routes
        .iter()
        .filter_map(|route| route.exit.as_deref())
        .chain(binding.exit.as_deref());
    let first = exits.next()?;
    if let Some(other) = exits.find(|exit| *exit != first) {
        errors.push((
            format!("{at}/routes"),
            format!("the routes of a tls binding lead to '{first}' and '{other}'; sluice serves one http server per tls listener, so every route must exit to the same binding"),
        ));
    }
    for (index, route) in binding.routes.iter().enumerate() {
        if !route.guarded.is_empty() {
            errors.push((
                format!("{at}/routes/{index}/guarded"),
                "guarded on tls routes needs an x509 guard, which sluice does not implement"
                    .to_owned(),
            ));
        }
    }
    Some(first)
}

impl Compiler<'_> {
    /// Where a tls server's certificate and key come from: PEM files, or key aliases in
    /// the binding's vault.
    fn identity(
        &self,
        binding: &str,
        options: &TlsOptionsSpec,
        at: &str,
        errors: &mut Vec<(String, String)>,
    ) -> Option<TlsIdentity> {
        if options.signers.is_some() {
            errors.push((
                format!("{at}/options/signers"),
                "signers apply to tls clients choosing their key; a server names its keys in keys"
                    .to_owned(),
            ));
        }
        if options.authorization.is_some() {
            errors.push((
                format!("{at}/options/authorization"),
                "authorization of client certificates needs an x509 guard, which sluice does not implement; mutual and trust check that a trusted authority signed them".to_owned(),
            ));
        }
        if let Some(aliases) = &options.keys {
            if options.certificate.is_some() || options.key.is_some() {
                errors.push((
                    format!("{at}/options"),
                    "give either keys (aliases in the vault) or certificate and key (PEM files), not both".to_owned(),
                ));
            }
            if aliases.is_empty() {
                errors.push((
                    format!("{at}/options/keys"),
                    "name at least one alias".to_owned(),
                ));
            }
            let store = self.store_file(binding, "keys", &format!("{at}/options/keys"), errors)?;
            return Some(TlsIdentity::Store {
                store,
                aliases: aliases.clone(),
            });
        }
        let mut file = |field: &str, value: &Option<String>| match value.as_deref() {
            Some(path) if !path.trim().is_empty() => Some(path.to_owned()),
            _ => {
                errors.push((
                    format!("{at}/options"),
                    format!("a tls server needs options.keys (aliases in its vault) or options.{field}, the path of a PEM file"),
                ));
                None
            }
        };
        let certificate = file("certificate", &options.certificate);
        let key = file("key", &options.key);
        Some(TlsIdentity::Pem {
            certificate: certificate?,
            key: key?,
        })
    }

    /// The client certificates a tls server asks for (`mutual`, `trust`).
    fn client_trust(
        &self,
        binding: &str,
        options: &TlsOptionsSpec,
        at: &str,
        errors: &mut Vec<(String, String)>,
    ) -> Option<ClientTrust> {
        let mutual = options.mutual.unwrap_or(if options.trust.is_some() {
            MutualSpec::Required
        } else {
            MutualSpec::None
        });
        if mutual == MutualSpec::None {
            return None;
        }
        let pointer = format!("{at}/options/trust");
        let store = self.store_file(binding, "trust", &pointer, errors)?;
        Some(ClientTrust {
            store,
            aliases: options.trust.clone().unwrap_or_default(),
            required: mutual == MutualSpec::Required,
        })
    }
}
