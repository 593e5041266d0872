//! `sse` servers and `sse-kafka` routes.

use super::{Compiler, binding_pointer, check_topic_name};
use crate::path::PathTemplate;
use crate::spec::{BindingType, ConditionSpec, OptionsSpec, RouteSpec, SseStart, WithSpec};
use crate::table::action::{FetchFilter, SseAction, SseKafkaBinding, SseKafkaRoute};
use crate::table::server::SseServer;
use crate::template::Allowed;

/// Default `retry:`.
const DEFAULT_RETRY_MS: u64 = 2000;
/// Default keep-alive period.
const DEFAULT_KEEPALIVE_SECONDS: u64 = 15;
/// The two event id formats Zilla knows.
const ID_ETAG: &str = "${etag}";
const ID_KEY_AND_ETAG: &str = "[\"${base64(key)}\",\"${etag}\"]";

impl Compiler<'_> {
    fn paths(&mut self, route: &RouteSpec, at: &str) -> Vec<PathTemplate> {
        let mut paths = Vec::with_capacity(route.when.len());
        for (position, condition) in route.when.iter().enumerate() {
            if let ConditionSpec::Path(condition) = condition {
                match PathTemplate::parse(&condition.path) {
                    Ok(path) => paths.push(path),
                    Err(error) => self
                        .errors
                        .push(format!("{at}/when/{position}/path"), error.to_string()),
                }
            }
        }
        paths
    }

    pub(super) fn compile_sse_kafka(&mut self) {
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type != BindingType::SseKafka {
                continue;
            }
            let at = binding_pointer(name);
            let mut routes = Vec::with_capacity(binding.routes.len());
            for (index, route) in binding.routes.iter().enumerate() {
                let route_at = format!("{at}/routes/{index}");
                self.route_guards = route.guarded.keys().cloned().collect();
                let guarded = self.guarded(route);
                let when = self.paths(route, &route_at);
                let Some(WithSpec::SseKafka(with)) = &route.with else {
                    self.errors.push(route_at, "missing field 'with'");
                    continue;
                };
                let cluster = match &route.exit {
                    Some(exit) if self.expect_kafka_exit(&format!("{route_at}/exit"), exit) => {
                        match self.cluster_of(exit) {
                            Ok(cluster) => cluster,
                            Err(message) => {
                                self.errors.push(format!("{route_at}/exit"), message);
                                continue;
                            }
                        }
                    }
                    _ => continue,
                };
                let with_at = format!("{route_at}/with");
                if with.topic.contains("${") {
                    self.errors.push(
                        format!("{with_at}/topic"),
                        "an sse topic must name one topic: sluice keeps one shared consumer per topic",
                    );
                    continue;
                }
                if let Err(message) = check_topic_name(&with.topic) {
                    self.errors.push(format!("{with_at}/topic"), message);
                    continue;
                }
                let key_in_id = match with.event.as_ref().map(|e| e.id.as_str()) {
                    None | Some(ID_ETAG) => false,
                    Some(ID_KEY_AND_ETAG) => true,
                    Some(other) => {
                        self.errors.push(
                            format!("{with_at}/event/id"),
                            format!("'{other}' is not an event id format; use {ID_ETAG} or {ID_KEY_AND_ETAG}"),
                        );
                        continue;
                    }
                };
                let allowed = Allowed {
                    params: true,
                    guarded: true,
                    ..Allowed::default()
                };
                let when_conditions: Vec<crate::table::server::RequestCondition> = when
                    .iter()
                    .map(|path| crate::table::server::RequestCondition {
                        method: None,
                        path: Some(path.clone()),
                    })
                    .collect();
                let mut filters = Vec::new();
                let mut valid = true;
                for (position, filter) in with.filters.iter().flatten().enumerate() {
                    let filter_at = format!("{with_at}/filters/{position}");
                    let key = filter.key.as_ref().and_then(|key| {
                        self.template(key, allowed, &when_conditions, &format!("{filter_at}/key"))
                    });
                    valid &= key.is_some() == filter.key.is_some();
                    let mut headers = Vec::new();
                    for (name, value) in &filter.headers {
                        let header_at =
                            format!("{filter_at}/headers/{}", crate::error::pointer_token(name));
                        match self.template(value, allowed, &when_conditions, &header_at) {
                            Some(template) => headers.push((name.clone(), template)),
                            None => valid = false,
                        }
                    }
                    if filter.key.is_none() && filter.headers.is_empty() {
                        self.errors
                            .push(filter_at, "a filter needs a key or headers");
                        valid = false;
                    }
                    filters.push(FetchFilter { key, headers });
                }
                if !valid {
                    continue;
                }
                let topics = &mut self.clusters[cluster].topics;
                if !topics.contains(&with.topic) {
                    topics.push(with.topic.clone());
                }
                let fingerprint = self.stream_fingerprint(name, index, route, cluster);
                routes.push(SseKafkaRoute {
                    index,
                    fingerprint,
                    when,
                    guarded,
                    action: SseAction {
                        cluster,
                        topic: with.topic.clone(),
                        filters,
                        key_in_id,
                        start: with.start.unwrap_or(SseStart::Historical),
                    },
                });
            }
            self.sse_kafka_index.insert(name, self.sse_kafka.len());
            self.sse_kafka.push(SseKafkaBinding {
                binding: name.clone(),
                routes,
            });
        }
    }

    /// What a stream of this route depends on, and nothing else: the route itself (its
    /// place, paths, topic, filters, event id, start, the guards it names) and the settings
    /// of its cluster's consumers. Another route, a producer-only Kafka property, a listener
    /// or a limit does not change it, so such a change ends no stream. A change to a guard
    /// ends exactly the streams whose credentials no longer pass (see the data plane's
    /// session revalidation), not every stream of the route.
    fn stream_fingerprint(
        &self,
        binding: &str,
        index: usize,
        route: &RouteSpec,
        cluster: usize,
    ) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        binding.hash(&mut hasher);
        index.hash(&mut hasher);
        serde_json::to_string(route)
            .unwrap_or_default()
            .hash(&mut hasher);
        let cluster = &self.clusters[cluster];
        cluster.binding.hash(&mut hasher);
        cluster.servers.hash(&mut hasher);
        for property in cluster.consumer_properties() {
            property.hash(&mut hasher);
        }
        hasher.finish()
    }

    pub(super) fn compile_sse_servers(&mut self) {
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type != BindingType::Sse {
                continue;
            }
            let at = binding_pointer(name);
            let mut server = SseServer {
                binding: name.clone(),
                retry_ms: DEFAULT_RETRY_MS,
                keepalive_seconds: DEFAULT_KEEPALIVE_SECONDS,
                routes: Vec::new(),
                exit: None,
            };
            if let Some(OptionsSpec::Sse(options)) = &binding.options {
                if let Some(retry) = options.retry {
                    if (1..=3_600_000).contains(&retry) {
                        server.retry_ms = retry;
                    } else {
                        self.errors.push(
                            format!("{at}/options/retry"),
                            format!("{retry} is outside 1..=3600000"),
                        );
                    }
                }
                if let Some(seconds) = options.keepalive_seconds {
                    if seconds <= 3600 {
                        server.keepalive_seconds = seconds;
                    } else {
                        self.errors.push(
                            format!("{at}/options/keepalive-seconds"),
                            format!("{seconds} is outside 0..=3600"),
                        );
                    }
                }
            }
            for (index, route) in binding.routes.iter().enumerate() {
                let route_at = format!("{at}/routes/{index}");
                let when = self.paths(route, &route_at);
                if let Some(exit) = route
                    .exit
                    .as_deref()
                    .and_then(|e| self.sse_exit(&format!("{route_at}/exit"), e))
                {
                    server.routes.push((when, exit));
                }
            }
            if let Some(exit) = &binding.exit {
                server.exit = self.sse_exit(&format!("{at}/exit"), exit);
            }
            self.sse_server_index.insert(name, self.sse_servers.len());
            self.sse_servers.push(server);
        }
    }

    fn sse_exit(&mut self, pointer: &str, exit: &str) -> Option<usize> {
        let target = self.spec.bindings.get(exit)?;
        if target.binding_type != BindingType::SseKafka {
            self.errors.push(
                pointer,
                format!(
                    "exit '{exit}' is a {} binding; an sse server exits to sse-kafka",
                    target.binding_type.as_str()
                ),
            );
            return None;
        }
        self.sse_kafka_index.get(exit).copied()
    }
}
