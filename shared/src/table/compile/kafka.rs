//! Kafka clusters and `http-kafka` routes.

use indexmap::IndexMap;

use super::kafka_zilla::{Credentials, ZillaSecurity};
use super::{Compiler, RESERVED_PROPERTIES, binding_pointer, check_topic_name};
use crate::error::pointer_token;
use crate::spec::{
    BindingKind, BindingSpec, BindingType, KafkaOptionsSpec, KafkaTlsSpec, OptionsSpec, SaslSpec,
};
use crate::table::cluster::{KafkaCluster, KafkaSecurity};

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
                    if let Some(topics) = &options.topics {
                        self.cache_topics(name, topics, &at);
                    }
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
                self.client_options(&mut cluster, binding, options, &at);
            }
            if let Some(servers) = &self.options.kafka_servers {
                cluster.servers = servers.clone();
            } else if cluster.servers.is_empty() {
                cluster.servers = self.options.fallback_servers.clone().unwrap_or_default();
            }
            if let Some(exit) = &binding.exit
                && self.spec.bindings.get(exit).map(|b| b.binding_type) != Some(BindingType::Tls)
                && self.expect_exit(
                    &format!("{at}/exit"),
                    exit,
                    BindingType::Tcp,
                    &[BindingKind::Client],
                )
            {
                self.unused_tcp_options(exit);
            }
            self.cluster_index.insert(name, self.clusters.len());
            self.clusters.push(cluster);
        }
    }

    /// The tcp client of a kafka chain takes no options: librdkafka connects to `servers`.
    pub(super) fn unused_tcp_options(&mut self, tcp: &str) {
        if self
            .spec
            .bindings
            .get(tcp)
            .is_some_and(|b| b.options.is_some())
        {
            self.errors.push(
                format!("{}/options", binding_pointer(tcp)),
                "tcp client options are not used; set servers on the kafka client binding",
            );
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
        for (index, topic) in options.bootstrap.iter().flatten().enumerate() {
            if let Err(message) = check_topic_name(topic) {
                self.errors
                    .push(format!("{at}/options/bootstrap/{index}"), message);
            }
        }
    }

    /// The options of a kafka `client`: servers, properties, security, cache size.
    fn client_options(
        &mut self,
        cluster: &mut KafkaCluster,
        binding: &BindingSpec,
        options: &KafkaOptionsSpec,
        at: &str,
    ) {
        if options.bootstrap.is_some() || options.topics.is_some() {
            self.errors.push(
                format!("{at}/options"),
                "'bootstrap' and 'topics' belong on the kafka cache_server binding",
            );
        }
        let zilla = ZillaSecurity {
            credentials: self.kafka_authorization(options, at),
            tls: self.tls_client(binding, at),
        };
        cluster.security = self.kafka_security(at, options, zilla);
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

    /// The security of a kafka client, as librdkafka properties: `options.sasl` or an
    /// inline guard's credentials, `options.tls` or a `tls` client binding.
    fn kafka_security(
        &mut self,
        at: &str,
        options: &KafkaOptionsSpec,
        zilla: ZillaSecurity,
    ) -> KafkaSecurity {
        let mut security = KafkaSecurity::default();
        if options.sasl.is_some() && zilla.credentials.is_some() {
            self.errors.push(
                format!("{at}/options"),
                "give either options.sasl or options.authorization, not both",
            );
        }
        if options.tls.is_some() && zilla.tls.is_some() {
            self.errors.push(
                format!("{at}/options/tls"),
                "the kafka client exits to a tls binding already; give either options.tls or the tls binding",
            );
        }
        let sasl_on = options.sasl.is_some() || zilla.credentials.is_some();
        if let Some(sasl) = &options.sasl {
            self.sasl(&mut security, sasl, &format!("{at}/options/sasl"));
        }
        match zilla.credentials {
            Some(Credentials::Sasl(sasl, pointer)) => self.sasl(&mut security, &sasl, &pointer),
            Some(Credentials::OAuthBearer(token)) => {
                security.set("sasl.mechanism", "OAUTHBEARER");
                security.set("sasl.oauthbearer.config", token);
            }
            None => {}
        }
        let tls_on = options.tls.is_some() || zilla.tls.is_some();
        let protocol = match (sasl_on, tls_on) {
            (false, false) => return security,
            (true, false) => "SASL_PLAINTEXT",
            (false, true) => "SSL",
            (true, true) => "SASL_SSL",
        };
        security.set("security.protocol", protocol);
        if let Some(tls) = &options.tls {
            self.client_tls(&mut security, tls, at);
        }
        if let Some(client) = zilla.tls {
            client.apply(&mut security);
        }
        security
    }

    /// SASL at `at`: the mechanism, user name and password.
    fn sasl(&mut self, security: &mut KafkaSecurity, sasl: &SaslSpec, at: &str) {
        let mechanism = match sasl.mechanism.to_ascii_lowercase().as_str() {
            "plain" => Some("PLAIN"),
            "scram-sha-256" => Some("SCRAM-SHA-256"),
            "scram-sha-512" => Some("SCRAM-SHA-512"),
            "scram-sha-1" => {
                self.errors.push(
                    format!("{at}/mechanism"),
                    "scram-sha-1 is not supported by the Kafka client sluice uses; use scram-sha-256 or scram-sha-512",
                );
                None
            }
            other => {
                self.errors.push(
                    format!("{at}/mechanism"),
                    format!("unknown mechanism '{other}'; expected plain, scram-sha-256 or scram-sha-512"),
                );
                None
            }
        };
        for (field, value) in [("username", &sasl.username), ("password", &sasl.password)] {
            if value.is_empty() {
                self.errors.push(
                    format!("{at}/{field}"),
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
    pub(super) fn cluster_of(&self, start: &str) -> Result<usize, KafkaChainError> {
        let broken = |at: &str, how| KafkaChainError {
            start: start.to_owned(),
            at: at.to_owned(),
            how,
        };
        let mut current = start;
        for _ in 0..=self.spec.bindings.len() {
            let Some(binding) = self.spec.bindings.get(current) else {
                return Err(broken(current, ChainBreak::NoBinding));
            };
            if binding.binding_type != BindingType::Kafka {
                return Err(broken(current, ChainBreak::NotKafka));
            }
            if binding.kind == BindingKind::Client {
                return self
                    .cluster_index
                    .get(current)
                    .copied()
                    .ok_or_else(|| broken(current, ChainBreak::InvalidClient));
            }
            match &binding.exit {
                Some(exit) => current = exit,
                None => return Err(broken(current, ChainBreak::NoClient)),
            }
        }
        Err(broken(start, ChainBreak::Loop))
    }
}

/// Where a chain of kafka exits from a route does not reach a kafka client binding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", match .how {
    ChainBreak::NoBinding => format!("the kafka chain from '{}' breaks at '{}', which names no binding", .start, .at),
    ChainBreak::NotKafka => format!("the kafka chain from '{}' reaches '{}', which is not a kafka binding", .start, .at),
    ChainBreak::InvalidClient => format!("kafka client '{}' is invalid", .at),
    ChainBreak::NoClient => format!("the kafka chain from '{}' ends at '{}' without reaching a kafka client binding", .start, .at),
    ChainBreak::Loop => format!("the kafka chain from '{}' loops", .start),
})]
pub(super) struct KafkaChainError {
    start: String,
    at: String,
    how: ChainBreak,
}

/// How a kafka chain breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChainBreak {
    NoBinding,
    NotKafka,
    InvalidClient,
    NoClient,
    Loop,
}
