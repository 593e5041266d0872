//! Validation and compilation of a [`ConfigSpec`] into a [`RouteTable`].
//!
//! Every check runs and records its errors, so a user sees all problems at once. Nothing here
//! panics on any input: the property tests in `tests.rs` feed it arbitrary documents.
//!
//! One file per part of the document: `guard` (guards, CORS, authorization), `http`
//! (servers), `listener` (tcp listeners and TLS), `kafka` (clusters), `http_kafka` (routes
//! and produce actions), `fetch`, `correlate` (request-response), `sse`, `files` (http-filesystem), `telemetry`, `vault`.

mod catalog;
mod correlate;
mod fetch;
mod files;
mod guard;
mod http;
mod http_kafka;
mod kafka;
mod kafka_zilla;
mod listener;
mod model_places;
mod models;
mod sse;
mod telemetry;
mod upstream;
mod vault;

use std::collections::HashMap;
use std::sync::Arc;

use sluice_schema::{Codec, ModelKind};

use crate::error::{ConfigErrors, pointer_token};
use crate::guard::Guard;
use crate::spec::{BindingKind, BindingSpec, BindingType, ConfigSpec};
use crate::table::action::{HttpKafkaBinding, SseKafkaBinding};
use crate::table::cluster::KafkaCluster;
use crate::table::files::FilesBinding;
use crate::table::models::{Catalog, ChainModels, TopicModels};
use crate::table::route_table::RouteTable;
use crate::table::server::{HttpServer, SseServer};
use crate::table::upstream::Upstream;

/// Settings that come from the command line rather than the document.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Replaces the `servers` of every `kafka` client binding (`--kafka`).
    pub kafka_servers: Option<Vec<String>>,
    /// Servers for `kafka` client bindings that name none (the embedded broker).
    pub fallback_servers: Option<Vec<String>>,
    /// The directory relative vault store paths are read from: the configuration file's.
    pub base_dir: Option<std::path::PathBuf>,
}

/// librdkafka properties Sluice sets itself; the configuration has its own field for each.
pub(super) const RESERVED_PROPERTIES: &[(&str, &str)] = &[
    ("bootstrap.servers", "use options.servers"),
    ("acks", "use 'acks' on the http-kafka route"),
    (
        "request.required.acks",
        "use 'acks' on the http-kafka route",
    ),
];

/// Upper bounds for the Sluice limits, so a typo cannot disable a protection.
pub(super) const MAX_BODY_LIMIT: u64 = 512 * 1024 * 1024;
pub(super) const MAX_HEADER_LIMIT: u64 = 1024 * 1024;

impl RouteTable {
    /// Validates `spec` and compiles it; on failure returns every problem found.
    pub fn compile(spec: &ConfigSpec, options: &CompileOptions) -> Result<Self, ConfigErrors> {
        let mut compiler = Compiler::new(spec, options);
        compiler.check_name();
        compiler.check_bindings();
        compiler.check_exit_cycles();
        compiler.check_vaults();
        compiler.check_guards();
        compiler.compile_guards();
        compiler.guard_refresh();
        compiler.prepare_guards();
        compiler.compile_catalogs();
        compiler.compile_clusters();
        compiler.compile_upstreams();
        compiler.compile_http_kafka();
        compiler.compile_sse_kafka();
        compiler.compile_sse_servers();
        compiler.compile_files();
        compiler.compile_servers();
        let listeners = compiler.compile_listeners();
        let telemetry = compiler.compile_telemetry();
        compiler.check_telemetry_ports(&telemetry, &listeners);
        let table = RouteTable {
            name: spec.name.clone(),
            listeners,
            clusters: compiler.clusters,
            guards: compiler.guards,
            servers: compiler.servers,
            http_kafka: compiler.http_kafka,
            sse_servers: compiler.sse_servers,
            sse_kafka: compiler.sse_kafka,
            files: compiler.files,
            upstreams: compiler.upstreams,
            telemetry,
            catalogs: compiler.catalogs,
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
    sse_kafka: Vec<SseKafkaBinding>,
    sse_kafka_index: HashMap<&'a str, usize>,
    sse_servers: Vec<SseServer>,
    sse_server_index: HashMap<&'a str, usize>,
    files: Vec<FilesBinding>,
    files_index: HashMap<&'a str, usize>,
    upstreams: Vec<Upstream>,
    upstream_index: HashMap<&'a str, usize>,
    guards: Vec<Guard>,
    guard_index: HashMap<&'a str, usize>,
    /// Guards of the route being compiled, for checking `${guarded[...]}` placeholders.
    route_guards: Vec<String>,
    /// `tls` bindings already checked (several ports may lead to one).
    tls_checked: std::collections::HashSet<&'a str>,
    catalogs: Vec<Catalog>,
    catalog_index: HashMap<&'a str, usize>,
    /// Local schemas compiled once per revision: (catalog, subject, model, record).
    codecs: HashMap<(usize, String, ModelKind, Option<String>), Arc<Codec>>,
    /// `options.topics` of kafka cache bindings, by binding.
    cache_topics: HashMap<&'a str, HashMap<String, TopicModels>>,
    /// Topic models by the first binding of a kafka chain.
    chain_models: HashMap<String, ChainModels>,
}

fn binding_pointer(name: &str) -> String {
    format!("/bindings/{}", pointer_token(name))
}

fn not_yet(what: &str) -> String {
    format!("{what} is not supported by this version of sluice yet")
}

impl<'a> Compiler<'a> {
    fn new(spec: &'a ConfigSpec, options: &'a CompileOptions) -> Self {
        Self {
            spec,
            options,
            errors: ConfigErrors::default(),
            clusters: Vec::new(),
            cluster_index: HashMap::new(),
            http_kafka: Vec::new(),
            http_kafka_index: HashMap::new(),
            servers: Vec::new(),
            server_index: HashMap::new(),
            sse_kafka: Vec::new(),
            sse_kafka_index: HashMap::new(),
            sse_servers: Vec::new(),
            sse_server_index: HashMap::new(),
            files: Vec::new(),
            files_index: HashMap::new(),
            upstreams: Vec::new(),
            upstream_index: HashMap::new(),
            guards: Vec::new(),
            guard_index: HashMap::new(),
            route_guards: Vec::new(),
            tls_checked: std::collections::HashSet::new(),
            catalogs: Vec::new(),
            catalog_index: HashMap::new(),
            codecs: HashMap::new(),
            cache_topics: HashMap::new(),
            chain_models: HashMap::new(),
        }
    }

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
        use BindingType::*;
        for (name, binding) in &self.spec.bindings {
            let at = binding_pointer(name);
            self.check_kind(binding, &at);
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
                HttpKafka | SseKafka if binding.exit.is_some() => self.errors.push(
                    format!("{at}/exit"),
                    format!(
                        "an {} binding has no binding-level exit; give each route its own",
                        binding.binding_type.as_str()
                    ),
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
                _ => {}
            }
        }
    }

    /// The binding's kind must be one its type has.
    fn check_kind(&mut self, binding: &BindingSpec, at: &str) {
        use BindingKind::*;
        use BindingType::*;
        let allowed: &[BindingKind] = match binding.binding_type {
            Tcp => &[Server, Client],
            Http => &[Server, Client],
            Echo => &[Server],
            HttpKafka => &[Proxy],
            Kafka => &[CacheClient, CacheServer, Client],
            Tls => &[Server, Client],
            Sse => &[Server, Client],
            SseKafka => &[Proxy],
            HttpFilesystem => &[Proxy],
            Filesystem => &[Server],
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
    }

    fn check_exit_exists(&mut self, pointer: &str, exit: &str) {
        if !self.spec.bindings.contains_key(exit) && !self.spec.unparsed.iter().any(|u| u == exit) {
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
        for (name, binding) in &self.spec.bindings {
            let guardable = matches!(
                binding.binding_type,
                BindingType::Http
                    | BindingType::Sse
                    | BindingType::HttpKafka
                    | BindingType::SseKafka
                    | BindingType::HttpFilesystem
            );
            for (index, route) in binding.routes.iter().enumerate() {
                if !guardable && !route.guarded.is_empty() {
                    self.errors.push(
                        format!("{}/routes/{index}/guarded", binding_pointer(name)),
                        format!(
                            "guarded applies to routes of http, sse, http-kafka, sse-kafka and http-filesystem bindings, not {}",
                            binding.binding_type.as_str()
                        ),
                    );
                    continue;
                }
                for guard in route.guarded.keys() {
                    let at = format!(
                        "{}/routes/{index}/guarded/{}",
                        binding_pointer(name),
                        pointer_token(guard)
                    );
                    if self
                        .spec
                        .guards
                        .get(guard)
                        .is_some_and(|g| g.jwt().is_none())
                    {
                        self.errors.push(
                            at,
                            format!("guard '{guard}' is an inline guard: it holds Kafka credentials and cannot guard routes; use a jwt guard"),
                        );
                    } else if !self.spec.guards.contains_key(guard)
                        && !self.spec.unparsed.contains(guard)
                    {
                        self.errors
                            .push(at, format!("guard '{guard}' is not defined under /guards"));
                    }
                }
            }
        }
    }

    pub(super) fn expect_exit(
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

    pub(super) fn expect_kafka_exit(&mut self, pointer: &str, exit: &str) -> bool {
        use BindingKind::*;
        self.expect_exit(
            pointer,
            exit,
            BindingType::Kafka,
            &[CacheClient, CacheServer, Client],
        )
    }
}

/// Kafka's topic name rule: 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn check_topic_name(topic: &str) -> Result<(), BadTopicName> {
    let valid_chars = topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if topic.is_empty() || topic.len() > 249 || !valid_chars || topic == "." || topic == ".." {
        return Err(BadTopicName(topic.to_owned()));
    }
    Ok(())
}

/// A name Kafka does not accept as a topic name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("topic '{0}' is not a valid Kafka topic name (1 to 249 of letters, digits, '.', '_', '-')")]
pub struct BadTopicName(pub String);

pub(super) mod http_names {
    /// Header names are RFC 9110 tokens.
    pub fn is_bad_header_name(name: &str) -> bool {
        name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    }
}
