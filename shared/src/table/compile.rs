//! Validation and compilation of a [`ConfigSpec`] into a [`RouteTable`].
//!
//! Every check runs and records its errors, so a user sees all problems at once. Nothing here
//! panics on any input: the property tests in `tests.rs` feed it arbitrary documents.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::{
    Action, Exit, HttpKafkaBinding, HttpKafkaRoute, HttpLimits, HttpRoute, HttpServer,
    KafkaCluster, Listener, ProduceAction, RequestCondition, RouteTable,
};
use crate::error::{ConfigErrors, pointer_token};
use crate::path::PathTemplate;
use crate::spec::{
    Acks, BindingKind, BindingSpec, BindingType, Capability, ConditionSpec, ConfigSpec,
    HttpKafkaWithSpec, HttpLimitsSpec, OptionsSpec, RouteSpec, WithSpec,
};
use crate::template::{Allowed, Template};

/// Settings that come from the command line rather than the document.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Replaces the `servers` of every `kafka` client binding (`--kafka`).
    pub kafka_servers: Option<Vec<String>>,
    /// Servers for `kafka` client bindings that name none (the embedded broker).
    pub fallback_servers: Option<Vec<String>>,
}

/// librdkafka properties Sluice sets itself; the configuration has its own field for each.
const RESERVED_PROPERTIES: &[(&str, &str)] = &[
    ("bootstrap.servers", "use options.servers"),
    ("acks", "use 'acks' on the http-kafka route"),
    (
        "request.required.acks",
        "use 'acks' on the http-kafka route",
    ),
];

/// Upper bounds for the Sluice limits, so a typo cannot disable a protection.
const MAX_BODY_LIMIT: u64 = 512 * 1024 * 1024;
const MAX_HEADER_LIMIT: u64 = 1024 * 1024;

impl RouteTable {
    /// Validates `spec` and compiles it; on failure returns every problem found.
    pub fn compile(spec: &ConfigSpec, options: &CompileOptions) -> Result<Self, ConfigErrors> {
        let mut compiler = Compiler {
            spec,
            options,
            errors: ConfigErrors::default(),
            clusters: Vec::new(),
            cluster_index: HashMap::new(),
            http_kafka: Vec::new(),
            http_kafka_index: HashMap::new(),
            servers: Vec::new(),
            server_index: HashMap::new(),
        };
        compiler.check_name();
        compiler.check_bindings();
        compiler.check_exit_cycles();
        compiler.check_guards();
        compiler.compile_clusters();
        compiler.compile_http_kafka();
        compiler.compile_servers();
        let listeners = compiler.compile_listeners();
        let table = RouteTable {
            name: spec.name.clone(),
            listeners,
            clusters: compiler.clusters,
            servers: compiler.servers,
            http_kafka: compiler.http_kafka,
        };
        compiler.errors.into_result(table)
    }
}

struct Compiler<'a> {
    spec: &'a ConfigSpec,
    options: &'a CompileOptions,
    errors: ConfigErrors,
    clusters: Vec<KafkaCluster>,
    cluster_index: HashMap<&'a str, usize>,
    http_kafka: Vec<HttpKafkaBinding>,
    http_kafka_index: HashMap<&'a str, usize>,
    servers: Vec<HttpServer>,
    server_index: HashMap<&'a str, usize>,
}

fn binding_pointer(name: &str) -> String {
    format!("/bindings/{}", pointer_token(name))
}

fn not_yet(what: &str) -> String {
    format!("{what} is not supported by this version of sluice yet")
}

impl<'a> Compiler<'a> {
    fn check_name(&mut self) {
        let name = &self.spec.name;
        let mut chars = name.chars();
        let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            self.errors.push(
                "/name",
                format!("name '{name}' must start with a letter and hold only letters, digits, '.', '_' or '-'"),
            );
        }
    }

    /// Binding type and kind combinations, and per-binding fields that do not depend on others.
    fn check_bindings(&mut self) {
        use BindingKind::*;
        use BindingType::*;
        for (name, binding) in &self.spec.bindings {
            let at = binding_pointer(name);
            let allowed: &[BindingKind] = match binding.binding_type {
                Tcp => &[Server, Client],
                Http | Echo => &[Server],
                HttpKafka => &[Proxy],
                Kafka => &[CacheClient, CacheServer, Client],
                Tls => {
                    self.errors
                        .push(format!("{at}/type"), not_yet("TLS (type tls)"));
                    continue;
                }
                Sse | SseKafka => {
                    self.errors.push(
                        format!("{at}/type"),
                        not_yet(&format!(
                            "Server-Sent Events (type {})",
                            binding.binding_type.as_str()
                        )),
                    );
                    continue;
                }
            };
            if !allowed.contains(&binding.kind) {
                let expected: Vec<&str> = allowed.iter().map(|k| k.as_str()).collect();
                self.errors.push(
                    format!("{at}/kind"),
                    format!(
                        "a {} binding cannot be of kind {}; expected {}",
                        binding.binding_type.as_str(),
                        binding.kind.as_str(),
                        expected.join(" or ")
                    ),
                );
            }
            for (index, route) in binding.routes.iter().enumerate() {
                if let Some(exit) = &route.exit {
                    self.check_exit_exists(&format!("{at}/routes/{index}/exit"), exit);
                } else if binding.binding_type != Kafka {
                    self.errors
                        .push(format!("{at}/routes/{index}"), "missing field 'exit'");
                }
            }
            if let Some(exit) = &binding.exit {
                self.check_exit_exists(&format!("{at}/exit"), exit);
            }
            match binding.binding_type {
                HttpKafka if binding.exit.is_some() => self.errors.push(
                    format!("{at}/exit"),
                    "an http-kafka binding has no binding-level exit; give each route its own",
                ),
                Kafka if !binding.routes.is_empty() => self.errors.push(
                    format!("{at}/routes"),
                    "kafka bindings take a single binding-level 'exit', not routes",
                ),
                Echo if binding.options.is_some()
                    || !binding.routes.is_empty()
                    || binding.exit.is_some() =>
                {
                    self.errors.push(
                        at.clone(),
                        "an echo binding takes no options, routes or exit",
                    )
                }
                Tcp if binding.kind == Client && binding.options.is_some() => self.errors.push(
                    format!("{at}/options"),
                    "tcp client options are not used; set servers on the kafka client binding",
                ),
                _ => {}
            }
        }
    }

    fn check_exit_exists(&mut self, pointer: &str, exit: &str) {
        if !self.spec.bindings.contains_key(exit) {
            self.errors
                .push(pointer, format!("exit '{exit}' names no binding"));
        }
    }

    fn exits_of(binding: &'a BindingSpec) -> impl Iterator<Item = &'a str> {
        binding
            .routes
            .iter()
            .filter_map(|route| route.exit.as_deref())
            .chain(binding.exit.as_deref())
    }

    fn check_exit_cycles(&mut self) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let names: Vec<&str> = self.spec.bindings.keys().map(String::as_str).collect();
        let mut marks: HashMap<&str, Mark> = names.iter().map(|n| (*n, Mark::New)).collect();
        for start in names {
            if marks[start] != Mark::New {
                continue;
            }
            // Iterative depth-first search; the stack holds the current path.
            let mut stack: Vec<(&str, Vec<&str>)> = Vec::new();
            marks.insert(start, Mark::Active);
            stack.push((start, Self::exits_of(&self.spec.bindings[start]).collect()));
            while let Some((node, pending)) = stack.last_mut() {
                let node = *node;
                let Some(next) = pending.pop() else {
                    marks.insert(node, Mark::Done);
                    stack.pop();
                    continue;
                };
                match marks.get(next).copied() {
                    None | Some(Mark::Done) => {}
                    Some(Mark::Active) => {
                        let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack[from..].iter().map(|(n, _)| *n).collect();
                        cycle.push(next);
                        self.errors.push(
                            binding_pointer(node),
                            format!("exits form a cycle: {}", cycle.join(" -> ")),
                        );
                    }
                    Some(Mark::New) => {
                        marks.insert(next, Mark::Active);
                        stack.push((next, Self::exits_of(&self.spec.bindings[next]).collect()));
                    }
                }
            }
        }
    }

    fn check_guards(&mut self) {
        for name in self.spec.guards.keys() {
            self.errors.push(
                format!("/guards/{}", pointer_token(name)),
                not_yet("enforcing jwt guards"),
            );
        }
        for (name, binding) in &self.spec.bindings {
            for (index, route) in binding.routes.iter().enumerate() {
                for guard in route.guarded.keys() {
                    let at = format!(
                        "{}/routes/{index}/guarded/{}",
                        binding_pointer(name),
                        pointer_token(guard)
                    );
                    if !self.spec.guards.contains_key(guard) {
                        self.errors
                            .push(at, format!("guard '{guard}' is not defined under /guards"));
                    }
                }
            }
        }
    }

    fn compile_clusters(&mut self) {
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
                    let misplaced = [
                        ("servers", options.servers.is_some()),
                        ("properties", !options.properties.is_empty()),
                        ("sasl", options.sasl.is_some()),
                        ("authorization", options.authorization.is_some()),
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
            };
            if let Some(options) = options {
                if options.bootstrap.is_some() || options.topics.is_some() {
                    self.errors.push(
                        format!("{at}/options"),
                        "'bootstrap' and 'topics' belong on the kafka cache_server binding",
                    );
                }
                if options.sasl.is_some() || options.authorization.is_some() {
                    self.errors
                        .push(format!("{at}/options"), not_yet("SASL to Kafka"));
                }
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
                        self.errors.push(
                            format!("{at}/options/properties/{}", pointer_token(key)),
                            not_yet("TLS and SASL to Kafka"),
                        );
                    }
                }
                cluster.properties = options.properties.clone();
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

    fn expect_exit(
        &mut self,
        pointer: &str,
        exit: &str,
        binding_type: BindingType,
        kinds: &[BindingKind],
    ) -> bool {
        let Some(target) = self.spec.bindings.get(exit) else {
            return false; // already reported by check_bindings
        };
        if target.binding_type == binding_type && kinds.contains(&target.kind) {
            return true;
        }
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        self.errors.push(
            pointer,
            format!(
                "exit '{exit}' is a {} {} binding; expected a {} {} binding",
                target.binding_type.as_str(),
                target.kind.as_str(),
                binding_type.as_str(),
                kinds.join(" or ")
            ),
        );
        false
    }

    fn expect_kafka_exit(&mut self, pointer: &str, exit: &str) -> bool {
        use BindingKind::*;
        self.expect_exit(
            pointer,
            exit,
            BindingType::Kafka,
            &[CacheClient, CacheServer, Client],
        )
    }

    /// Follows kafka exits from `start` to the kafka client binding.
    fn cluster_of(&self, start: &str) -> Result<usize, String> {
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

    fn compile_http_kafka(&mut self) {
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type != BindingType::HttpKafka {
                continue;
            }
            let at = binding_pointer(name);
            let mut idempotency_header = super::DEFAULT_IDEMPOTENCY_HEADER.to_owned();
            if let Some(OptionsSpec::HttpKafka(options)) = &binding.options {
                if let Some(idempotency) = &options.idempotency {
                    idempotency_header = idempotency.header.to_ascii_lowercase();
                    if http::is_bad_header_name(&idempotency_header) {
                        self.errors.push(
                            format!("{at}/options/idempotency/header"),
                            format!("'{}' is not a valid HTTP header name", idempotency.header),
                        );
                    }
                }
                if options.correlation.is_some() {
                    self.errors.push(
                        format!("{at}/options/correlation"),
                        not_yet("request-response (correlation)"),
                    );
                }
            }
            let mut routes = Vec::with_capacity(binding.routes.len());
            for (index, route) in binding.routes.iter().enumerate() {
                let route_at = format!("{at}/routes/{index}");
                if let Some(compiled) = self.http_kafka_route(route, index, &route_at) {
                    routes.push(compiled);
                }
            }
            self.http_kafka_index.insert(name, self.http_kafka.len());
            self.http_kafka.push(HttpKafkaBinding {
                binding: name.clone(),
                idempotency_header,
                routes,
            });
        }
    }

    fn http_kafka_route(
        &mut self,
        route: &RouteSpec,
        index: usize,
        at: &str,
    ) -> Option<HttpKafkaRoute> {
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
        let action = self.produce_action(with, &when, &format!("{at}/with"), cluster?)?;
        Some(HttpKafkaRoute {
            index,
            when,
            action: Action::Produce(action),
        })
    }

    fn produce_action(
        &mut self,
        with: &HttpKafkaWithSpec,
        when: &[RequestCondition],
        at: &str,
        cluster: usize,
    ) -> Option<ProduceAction> {
        if with.capability == Capability::Fetch {
            self.errors
                .push(format!("{at}/capability"), not_yet("capability fetch"));
        }
        let correlated = [
            ("reply-to", with.reply_to.is_some()),
            ("correlation-id", with.correlation_id.is_some()),
            ("async", !with.async_headers.is_empty()),
        ];
        for (field, present) in correlated {
            if present {
                self.errors.push(
                    format!("{at}/{field}"),
                    not_yet("request-response (reply-to)"),
                );
            }
        }
        if with.capability == Capability::Produce {
            if with.filters.is_some() {
                self.errors.push(
                    format!("{at}/filters"),
                    "filters apply to capability fetch only",
                );
            }
            if with.merge.is_some() {
                self.errors.push(
                    format!("{at}/merge"),
                    "merge applies to capability fetch only",
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
        })
    }

    /// Parses a template and checks that every `${params.x}` is captured by every path of
    /// the route, since a parameter some requests lack would silently become "".
    fn template(
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
            if let crate::template::Part::GuardIdentity(guard)
            | crate::template::Part::GuardAttribute(guard, _) = part
            {
                valid = false;
                self.errors.push(
                    at,
                    format!("guard placeholders ('{guard}') need jwt guards, which this version of sluice does not enforce yet"),
                );
            }
        }
        valid.then_some(template)
    }

    fn compile_servers(&mut self) {
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
                routes: Vec::new(),
                exit: None,
            };
            if let Some(OptionsSpec::Http(options)) = &binding.options {
                let unsupported = [
                    (
                        "access-control",
                        options.access_control.is_some(),
                        "CORS (access-control)",
                    ),
                    (
                        "authorization",
                        options.authorization.is_some(),
                        "authorization with guards",
                    ),
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
                    server.routes.push(HttpRoute { when, exit });
                }
            }
            if let Some(exit) = &binding.exit {
                server.exit = self.http_exit(&format!("{at}/exit"), exit);
            }
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
        }
    }

    fn http_exit(&mut self, pointer: &str, exit: &str) -> Option<Exit> {
        let target = self.spec.bindings.get(exit)?;
        match target.binding_type {
            BindingType::HttpKafka => self.http_kafka_index.get(exit).map(|i| Exit::HttpKafka(*i)),
            BindingType::Echo => Some(Exit::Echo),
            BindingType::Sse => None, // reported as unsupported by check_bindings
            other => {
                self.errors.push(
                    pointer,
                    format!(
                        "exit '{exit}' is a {} binding; an http server exits to http-kafka or echo",
                        other.as_str()
                    ),
                );
                None
            }
        }
    }

    fn compile_listeners(&mut self) -> Vec<Listener> {
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

/// Kafka's topic name rule: 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn check_topic_name(topic: &str) -> Result<(), String> {
    let valid_chars = topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if topic.is_empty() || topic.len() > 249 || !valid_chars || topic == "." || topic == ".." {
        return Err(format!(
            "topic '{topic}' is not a valid Kafka topic name (1 to 249 of letters, digits, '.', '_', '-')"
        ));
    }
    Ok(())
}

mod http {
    /// Header names are RFC 9110 tokens.
    pub fn is_bad_header_name(name: &str) -> bool {
        name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    }
}
