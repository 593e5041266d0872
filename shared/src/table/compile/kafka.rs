//! Kafka clusters and `http-kafka` routes.

use indexmap::IndexMap;

use super::correlate::CorrelationHeaders;
use super::{
    Compiler, RESERVED_PROPERTIES, binding_pointer, check_topic_name, http_names, not_yet,
};
use crate::error::pointer_token;
use crate::path::PathTemplate;
use crate::spec::{
    Acks, BindingKind, BindingType, Capability, ConditionSpec, HttpKafkaWithSpec, KafkaOptionsSpec,
    KafkaTlsSpec, OptionsSpec, RouteSpec, SaslSpec, WithSpec,
};
use crate::table::action::{Action, HttpKafkaBinding, HttpKafkaRoute, ProduceAction};
use crate::table::cluster::{KafkaCluster, KafkaSecurity};
use crate::table::server::RequestCondition;
use crate::template::{Allowed, Template};

impl Compiler<'_> {
    pub(super) fn compile_clusters(&mut self) {
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type != BindingType::Kafka {
                continue;
            }
            let at = binding_pointer(name);
            let options = match &binding.options {
                Some(OptionsSpec::Kafka(options)) => Some(options),
                _ => None,
            };
            if binding.kind != BindingKind::Client {
                if let Some(options) = options {
                    self.cache_options(options, &at);
                }
                if let Some(exit) = &binding.exit {
                    self.expect_kafka_exit(&format!("{at}/exit"), exit);
                }
                continue;
            }
            let mut cluster = KafkaCluster {
                binding: name.clone(),
                servers: Vec::new(),
                properties: IndexMap::new(),
                topics: Vec::new(),
                cache_max_bytes: crate::table::cluster::DEFAULT_CACHE_MAX_BYTES,
                security: KafkaSecurity::default(),
            };
            if let Some(options) = options {
                self.client_options(&mut cluster, options, &at);
            }
            if let Some(servers) = &self.options.kafka_servers {
                cluster.servers = servers.clone();
            } else if cluster.servers.is_empty() {
                cluster.servers = self.options.fallback_servers.clone().unwrap_or_default();
            }
            if let Some(exit) = &binding.exit {
                self.expect_exit(
                    &format!("{at}/exit"),
                    exit,
                    BindingType::Tcp,
                    &[BindingKind::Client],
                );
            }
            self.cluster_index.insert(name, self.clusters.len());
            self.clusters.push(cluster);
        }
    }

    /// The options of a kafka `cache_client` or `cache_server`: client settings belong on
    /// the client binding; bootstrap topics must be valid names.
    fn cache_options(&mut self, options: &KafkaOptionsSpec, at: &str) {
        let misplaced = [
            ("servers", options.servers.is_some()),
            ("properties", !options.properties.is_empty()),
            ("sasl", options.sasl.is_some()),
            ("tls", options.tls.is_some()),
            ("authorization", options.authorization.is_some()),
            ("cache-max-bytes", options.cache_max_bytes.is_some()),
        ];
        for (field, present) in misplaced {
            if present {
                self.errors.push(
                    format!("{at}/options/{field}"),
                    format!("'{field}' belongs on the kafka client binding"),
                );
            }
        }
        if options.topics.is_some() {
            self.errors.push(
                format!("{at}/options/topics"),
                not_yet("per-topic cache settings"),
            );
        }
        for (index, topic) in options.bootstrap.iter().flatten().enumerate() {
            if let Err(message) = check_topic_name(topic) {
                self.errors
                    .push(format!("{at}/options/bootstrap/{index}"), message);
            }
        }
    }

    /// The options of a kafka `client`: servers, properties, security, cache size.
    fn client_options(&mut self, cluster: &mut KafkaCluster, options: &KafkaOptionsSpec, at: &str) {
        if options.bootstrap.is_some() || options.topics.is_some() {
            self.errors.push(
                format!("{at}/options"),
                "'bootstrap' and 'topics' belong on the kafka cache_server binding",
            );
        }
        if options.authorization.is_some() {
            self.errors.push(
                format!("{at}/options/authorization"),
                not_yet("guard-based authorization to Kafka (use options.sasl)"),
            );
        }
        cluster.security = self.kafka_security(at, options);
        for (index, server) in options.servers.iter().flatten().enumerate() {
            match server.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
                _ => self.errors.push(
                    format!("{at}/options/servers/{index}"),
                    format!("server '{server}' is not host:port"),
                ),
            }
        }
        cluster.servers = options.servers.clone().unwrap_or_default();
        self.check_properties(options, at);
        cluster.properties = options.properties.clone();
        if let Some(bytes) = options.cache_max_bytes {
            if (1024 * 1024..=64 * 1024 * 1024 * 1024).contains(&bytes) {
                cluster.cache_max_bytes = bytes;
            } else {
                self.errors.push(
                    format!("{at}/options/cache-max-bytes"),
                    format!("{bytes} is outside 1 MiB..=64 GiB"),
                );
            }
        }
    }

    /// Client properties Sluice sets itself, or that have options of their own, are refused.
    fn check_properties(&mut self, options: &KafkaOptionsSpec, at: &str) {
        for key in options.properties.keys() {
            if let Some((_, instead)) = RESERVED_PROPERTIES.iter().find(|(k, _)| k == key) {
                self.errors.push(
                    format!("{at}/options/properties/{}", pointer_token(key)),
                    format!("property '{key}' is set by sluice; {instead}"),
                );
            } else if key.starts_with("sasl.")
                || key == "security.protocol"
                || key.starts_with("ssl.")
            {
                // Security settings have options of their own, whose secrets the admin API
                // redacts.
                self.errors.push(
                    format!("{at}/options/properties/{}", pointer_token(key)),
                    format!("property '{key}' is set by sluice; use options.sasl and options.tls"),
                );
            }
        }
    }

    /// `options.sasl` and `options.tls` of a kafka client, as librdkafka properties.
    fn kafka_security(&mut self, at: &str, options: &KafkaOptionsSpec) -> KafkaSecurity {
        let mut security = KafkaSecurity::default();
        if let Some(sasl) = &options.sasl {
            self.sasl(&mut security, sasl, at);
        }
        let protocol = match (options.sasl.is_some(), options.tls.is_some()) {
            (false, false) => return security,
            (true, false) => "SASL_PLAINTEXT",
            (false, true) => "SSL",
            (true, true) => "SASL_SSL",
        };
        security.set("security.protocol", protocol);
        if let Some(tls) = &options.tls {
            self.client_tls(&mut security, tls, at);
        }
        security
    }

    /// `options.sasl`: the mechanism, user name and password.
    fn sasl(&mut self, security: &mut KafkaSecurity, sasl: &SaslSpec, at: &str) {
        let mechanism = match sasl.mechanism.to_ascii_lowercase().as_str() {
            "plain" => Some("PLAIN"),
            "scram-sha-256" => Some("SCRAM-SHA-256"),
            "scram-sha-512" => Some("SCRAM-SHA-512"),
            "scram-sha-1" => {
                self.errors.push(
                    format!("{at}/options/sasl/mechanism"),
                    "scram-sha-1 is not supported by the Kafka client sluice uses; use scram-sha-256 or scram-sha-512",
                );
                None
            }
            other => {
                self.errors.push(
                    format!("{at}/options/sasl/mechanism"),
                    format!("unknown mechanism '{other}'; expected plain, scram-sha-256 or scram-sha-512"),
                );
                None
            }
        };
        for (field, value) in [("username", &sasl.username), ("password", &sasl.password)] {
            if value.is_empty() {
                self.errors.push(
                    format!("{at}/options/sasl/{field}"),
                    format!("{field} must not be empty"),
                );
            }
        }
        if let Some(mechanism) = mechanism {
            security.set("sasl.mechanism", mechanism);
            security.set("sasl.username", sasl.username.clone());
            security.set("sasl.password", sasl.password.clone());
        }
    }

    /// `options.tls`: the CA, the client certificate and key, hostname verification.
    fn client_tls(&mut self, security: &mut KafkaSecurity, tls: &KafkaTlsSpec, at: &str) {
        let pointer = |field: &str| format!("{at}/options/tls/{field}");
        for (field, key, value) in [
            ("ca", "ssl.ca.location", &tls.ca),
            ("certificate", "ssl.certificate.location", &tls.certificate),
            ("key", "ssl.key.location", &tls.key),
        ] {
            match value.as_deref() {
                Some("") => self
                    .errors
                    .push(pointer(field), "the path must not be empty"),
                Some(path) => security.file(key, pointer(field), path),
                None => {}
            }
        }
        if tls.certificate.is_some() != tls.key.is_some() {
            self.errors.push(
                format!("{at}/options/tls"),
                "a client certificate needs both 'certificate' and 'key'",
            );
        }
        if let Some(password) = &tls.key_password {
            if tls.key.is_none() {
                self.errors
                    .push(pointer("key-password"), "'key-password' needs 'key'");
            }
            security.set("ssl.key.password", password.clone());
        }
        let verify = tls.verify_hostname.unwrap_or(true);
        security.set(
            "ssl.endpoint.identification.algorithm",
            if verify { "https" } else { "none" },
        );
    }

    /// Follows kafka exits from `start` to the kafka client binding.
    pub(super) fn cluster_of(&self, start: &str) -> Result<usize, String> {
        let mut current = start;
        for _ in 0..=self.spec.bindings.len() {
            let Some(binding) = self.spec.bindings.get(current) else {
                return Err(format!(
                    "the kafka chain from '{start}' breaks at '{current}', which names no binding"
                ));
            };
            if binding.binding_type != BindingType::Kafka {
                return Err(format!(
                    "the kafka chain from '{start}' reaches '{current}', which is not a kafka binding"
                ));
            }
            if binding.kind == BindingKind::Client {
                return self
                    .cluster_index
                    .get(current)
                    .copied()
                    .ok_or_else(|| format!("kafka client '{current}' is invalid"));
            }
            match &binding.exit {
                Some(exit) => current = exit,
                None => {
                    return Err(format!(
                        "the kafka chain from '{start}' ends at '{current}' without reaching a kafka client binding"
                    ));
                }
            }
        }
        Err(format!("the kafka chain from '{start}' loops"))
    }

    pub(super) fn compile_http_kafka(&mut self) {
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type != BindingType::HttpKafka {
                continue;
            }
            let at = binding_pointer(name);
            let mut idempotency_header =
                crate::table::action::DEFAULT_IDEMPOTENCY_HEADER.to_owned();
            let mut max_wait_seconds = crate::table::action::DEFAULT_MAX_WAIT_SECONDS;
            let mut headers = CorrelationHeaders::default();
            if let Some(OptionsSpec::HttpKafka(options)) = &binding.options {
                if let Some(idempotency) = &options.idempotency {
                    idempotency_header = idempotency.header.to_ascii_lowercase();
                    if http_names::is_bad_header_name(&idempotency_header) {
                        self.errors.push(
                            format!("{at}/options/idempotency/header"),
                            format!("'{}' is not a valid HTTP header name", idempotency.header),
                        );
                    }
                }
                if let Some(correlation) = &options.correlation {
                    headers = self.correlation_headers(
                        correlation,
                        &format!("{at}/options/correlation/headers"),
                    );
                }
                if let Some(seconds) = options.max_wait_seconds {
                    if (1..=3600).contains(&seconds) {
                        max_wait_seconds = seconds;
                    } else {
                        self.errors.push(
                            format!("{at}/options/max-wait-seconds"),
                            format!("{seconds} is outside 1..=3600"),
                        );
                    }
                }
            }
            let mut routes = Vec::with_capacity(binding.routes.len());
            for (index, route) in binding.routes.iter().enumerate() {
                let route_at = format!("{at}/routes/{index}");
                if let Some(compiled) = self.http_kafka_route(route, index, &route_at, &headers) {
                    routes.push(compiled);
                }
            }
            self.http_kafka_index.insert(name, self.http_kafka.len());
            self.http_kafka.push(HttpKafkaBinding {
                binding: name.clone(),
                idempotency_header,
                max_wait_seconds,
                routes,
            });
        }
    }

    fn http_kafka_route(
        &mut self,
        route: &RouteSpec,
        index: usize,
        at: &str,
        headers: &CorrelationHeaders,
    ) -> Option<HttpKafkaRoute> {
        self.route_guards = route.guarded.keys().cloned().collect();
        let guarded = self.guarded(route);
        let mut when = Vec::with_capacity(route.when.len());
        for (position, condition) in route.when.iter().enumerate() {
            let ConditionSpec::HttpKafka(condition) = condition else {
                continue;
            };
            let method = condition.method.as_ref().map(|m| m.to_ascii_uppercase());
            if let Some(method) = &method
                && (method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()))
            {
                self.errors.push(
                    format!("{at}/when/{position}/method"),
                    format!("'{method}' is not an HTTP method"),
                );
            }
            let path = match condition.path.as_deref().map(PathTemplate::parse) {
                None => None,
                Some(Ok(path)) => Some(path),
                Some(Err(error)) => {
                    self.errors
                        .push(format!("{at}/when/{position}/path"), error.to_string());
                    None
                }
            };
            when.push(RequestCondition { method, path });
        }
        let Some(WithSpec::HttpKafka(with)) = &route.with else {
            self.errors.push(at, "missing field 'with'");
            return None;
        };
        let cluster = match &route.exit {
            Some(exit) if self.expect_kafka_exit(&format!("{at}/exit"), exit) => {
                match self.cluster_of(exit) {
                    Ok(cluster) => Some(cluster),
                    Err(message) => {
                        self.errors.push(format!("{at}/exit"), message);
                        None
                    }
                }
            }
            _ => None,
        };
        let with_at = format!("{at}/with");
        let action = if with.capability == Capability::Fetch {
            Action::Fetch(self.fetch_action(with, &when, &with_at, cluster?)?)
        } else {
            let mut action = self.produce_action(with, &when, &with_at, cluster?)?;
            action.reply = self.reply_action(with, &when, &with_at, action.cluster, headers);
            Action::Produce(Box::new(action))
        };
        Some(HttpKafkaRoute {
            index,
            when,
            guarded,
            action,
        })
    }

    fn produce_action(
        &mut self,
        with: &HttpKafkaWithSpec,
        when: &[RequestCondition],
        at: &str,
        cluster: usize,
    ) -> Option<ProduceAction> {
        for (field, present) in [
            ("filters", with.filters.is_some()),
            ("merge", with.merge.is_some()),
        ] {
            if present {
                self.errors.push(
                    format!("{at}/{field}"),
                    format!("'{field}' applies to capability fetch only"),
                );
            }
        }
        let topic_allowed = Allowed {
            params: true,
            guarded: true,
            ..Allowed::default()
        };
        let value_allowed = Allowed {
            idempotency_key: true,
            ..topic_allowed
        };
        let topic = self.template(&with.topic, topic_allowed, when, &format!("{at}/topic"));
        if let Some(literal) = topic.as_ref().and_then(Template::as_literal) {
            match check_topic_name(literal) {
                Ok(()) => {
                    let topics = &mut self.clusters[cluster].topics;
                    if !topics.iter().any(|t| t == literal) {
                        topics.push(literal.to_owned());
                    }
                }
                Err(message) => self.errors.push(format!("{at}/topic"), message),
            }
        }
        let key = with
            .key
            .as_ref()
            .map(|key| self.template(key, value_allowed, when, &format!("{at}/key")));
        let mut overrides = Vec::with_capacity(with.overrides.len());
        for (name, value) in &with.overrides {
            let header_at = format!("{at}/overrides/{}", pointer_token(name));
            if name.is_empty() {
                self.errors
                    .push(header_at.clone(), "a Kafka header name must not be empty");
            }
            if let Some(template) = self.template(value, value_allowed, when, &header_at) {
                overrides.push((name.clone(), template));
            }
        }
        Some(ProduceAction {
            cluster,
            topic: topic?,
            acks: with.acks.unwrap_or(Acks::InSyncReplicas),
            key: match key {
                Some(key) => Some(key?),
                None => None,
            },
            overrides,
            reply: None,
        })
    }

    /// Parses a template and checks that every `${params.x}` is captured by every path of
    /// the route, since a parameter some requests lack would silently become "".
    pub(super) fn template(
        &mut self,
        source: &str,
        allowed: Allowed,
        when: &[RequestCondition],
        at: &str,
    ) -> Option<Template> {
        let template = match Template::parse(source, allowed) {
            Ok(template) => template,
            Err(message) => {
                self.errors.push(at, message);
                return None;
            }
        };
        for param in template.params() {
            let captured = !when.is_empty()
                && when
                    .iter()
                    .all(|c| c.path.as_ref().is_some_and(|p| p.has_param(param)));
            if !captured {
                self.errors.push(
                    at,
                    format!(
                        "'${{params.{param}}}' is not captured by every 'when' path of this route"
                    ),
                );
            }
        }
        let mut valid = true;
        for part in template.parts() {
            let (guard, attribute) = match part {
                crate::template::Part::GuardIdentity(guard) => (guard, None),
                crate::template::Part::GuardAttribute(guard, name) => (guard, Some(name)),
                _ => continue,
            };
            let Some(spec) = self.spec.guards.get(guard) else {
                valid = false;
                self.errors
                    .push(at, format!("guard '{guard}' is not defined under /guards"));
                continue;
            };
            if !self.route_guards.contains(guard) {
                valid = false;
                self.errors.push(
                    at,
                    format!(
                        "'${{guarded['{guard}']...}}' needs this route to be guarded by '{guard}'"
                    ),
                );
            }
            if let Some(name) = attribute
                && !spec.options.attributes.contains_key(name)
            {
                valid = false;
                self.errors.push(
                    at,
                    format!("guard '{guard}' has no attribute '{name}' (options.attributes)"),
                );
            }
        }
        valid.then_some(template)
    }
}
