//! `http` client bindings and the `tls` and `tcp` clients behind them.

use super::{Compiler, binding_pointer};
use crate::spec::{BindingKind, BindingType, OptionsSpec};
use crate::table::cluster::KafkaStoreRole;
use crate::table::upstream::{Upstream, UpstreamTls};

impl Compiler<'_> {
    pub(super) fn compile_upstreams(&mut self) {
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type != BindingType::Http || binding.kind != BindingKind::Client {
                continue;
            }
            let at = binding_pointer(name);
            let (mut http1, mut h2) = (true, true);
            if let Some(OptionsSpec::Http(options)) = &binding.options {
                for (field, present) in [
                    ("access-control", options.access_control.is_some()),
                    ("authorization", options.authorization.is_some()),
                    ("overrides", options.overrides.is_some()),
                    ("limits", options.limits.is_some()),
                ] {
                    if present {
                        self.errors.push(
                            format!("{at}/options/{field}"),
                            format!(
                                "'{field}' applies to http servers; an http client takes versions and requests"
                            ),
                        );
                    }
                }
                if let Some(versions) = &options.versions {
                    http1 = versions.iter().any(|v| v == "http/1.1");
                    h2 = versions.iter().any(|v| v == "h2");
                }
            }
            let Some(exit) = binding.exit.as_deref() else {
                self.errors
                    .push(at, "missing field 'exit' (a tls or tcp client)");
                continue;
            };
            let Some(mut upstream) = self.upstream_chain(name, exit, http1, h2) else {
                continue;
            };
            upstream.requests = self.request_models(name, true);
            self.upstream_index.insert(name, self.upstreams.len());
            self.upstreams.push(upstream);
        }
    }

    /// http client -> [tls client ->] tcp client with host and port.
    fn upstream_chain(
        &mut self,
        name: &str,
        exit: &str,
        http1: bool,
        h2: bool,
    ) -> Option<Upstream> {
        let at = binding_pointer(name);
        let target = self.spec.bindings.get(exit)?;
        let (tls, tcp_name) = if target.binding_type == BindingType::Tls {
            (
                Some(self.upstream_tls(exit, target)),
                target.exit.as_deref(),
            )
        } else {
            (None, Some(exit))
        };
        let tcp_at = format!(
            "{}/exit",
            tls.as_ref()
                .map_or(at.clone(), |t| binding_pointer(&t.binding))
        );
        let Some(tcp_name) = tcp_name else {
            self.errors
                .push(tcp_at, "missing field 'exit' (the tcp client)");
            return None;
        };
        if !self.expect_exit(&tcp_at, tcp_name, BindingType::Tcp, &[BindingKind::Client]) {
            return None;
        }
        let tcp = self.spec.bindings.get(tcp_name)?;
        let options = match &tcp.options {
            Some(OptionsSpec::Tcp(options)) => Some(options),
            _ => None,
        };
        let host = options.and_then(|o| o.host.clone());
        let port = options
            .and_then(|o| o.port.as_ref())
            .map(|p| p.ports())
            .filter(|ports| ports.len() == 1)
            .and_then(|ports| ports.first().copied());
        let (Some(host), Some(port)) = (host, port) else {
            self.errors.push(
                format!("{}/options", binding_pointer(tcp_name)),
                "the tcp client of an http client needs host and one port",
            );
            return None;
        };
        if let Some(tls) = &tls
            && !self.alpn_fits(tls, http1, h2)
        {
            return None;
        }
        Some(Upstream {
            binding: name.to_owned(),
            host,
            port,
            http1,
            h2,
            tls,
            requests: Vec::new(),
        })
    }

    /// The settings of the tls client `name` (binding `target`) in front of an upstream.
    fn upstream_tls(&mut self, name: &str, target: &crate::spec::BindingSpec) -> UpstreamTls {
        let tls_at = binding_pointer(name);
        let options = match &target.options {
            Some(OptionsSpec::Tls(options)) => Some(options),
            _ => None,
        };
        let stores = options
            .map(|o| self.client_stores_of(name, o, &tls_at))
            .unwrap_or_default();
        let mut tls = UpstreamTls {
            binding: name.to_owned(),
            trust: None,
            system_authorities: options.is_none_or(|o| o.trustcacerts.unwrap_or(o.trust.is_none())),
            key: None,
            sni: options
                .and_then(|o| o.sni.as_ref())
                .and_then(|s| s.first().cloned()),
            alpn: options.and_then(|o| o.alpn.clone()).unwrap_or_default(),
        };
        for store in stores {
            match store.role {
                KafkaStoreRole::Trust(aliases) => tls.trust = Some((store.file, aliases)),
                KafkaStoreRole::Key(alias) => tls.key = Some((store.file, alias)),
            }
        }
        tls
    }

    /// A tls client's ALPN in front of an http client must name a version it allows.
    fn alpn_fits(&mut self, tls: &UpstreamTls, http1: bool, h2: bool) -> bool {
        let fits = tls.alpn.is_empty()
            || tls
                .alpn
                .iter()
                .any(|p| (p == "h2" && h2) || (p == "http/1.1" && http1));
        if !fits {
            self.errors.push(
                format!("{}/options/alpn", binding_pointer(&tls.binding)),
                "in front of an http client, alpn names h2 or http/1.1, one the http client's versions allow",
            );
        }
        fits
    }
}
