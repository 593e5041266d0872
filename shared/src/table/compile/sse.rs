//! `sse` servers and `sse-kafka` routes.

use super::{Compiler, binding_pointer};
use crate::path::PathTemplate;
use crate::spec::{
    BindingKind, BindingType, ConditionSpec, OptionsSpec, RouteSpec, SseKafkaWithSpec, SseStart,
    WithSpec,
};
use crate::table::action::{SseAction, SseKafkaBinding, SseKafkaRoute};
use crate::table::server::{RequestCondition, SseExit, SseServer, SseServerRoute};

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
                if let Some(route) =
                    self.sse_route(name, index, route, &format!("{at}/routes/{index}"))
                {
                    routes.push(route);
                }
            }
            self.sse_kafka_index.insert(name, self.sse_kafka.len());
            self.sse_kafka.push(SseKafkaBinding {
                binding: name.clone(),
                routes,
            });
        }
    }

    /// One route of an `sse-kafka` binding: paths, guards, the cluster, topic, event ids and
    /// filters.
    fn sse_route(
        &mut self,
        name: &str,
        index: usize,
        route: &RouteSpec,
        route_at: &str,
    ) -> Option<SseKafkaRoute> {
        self.route_guards = route.guarded.keys().cloned().collect();
        let guarded = self.guarded(route);
        let when = self.paths(route, route_at);
        let Some(WithSpec::SseKafka(with)) = &route.with else {
            self.errors.push(route_at, "missing field 'with'");
            return None;
        };
        let cluster = self.route_cluster(route, route_at)?;
        let with_at = format!("{route_at}/with");
        let key_in_id = self.event_id_format(with, &with_at);
        let when_conditions: Vec<RequestCondition> = when
            .iter()
            .map(|path| RequestCondition {
                method: None,
                path: Some(path.clone()),
            })
            .collect();
        let topic = self.route_topic(
            &with.topic,
            with.max_topics,
            &when_conditions,
            &with_at,
            "an sse topic",
        );
        let ((topic_template, max_topics), key_in_id) = (topic?, key_in_id?);
        let filters = self.filters(
            with.filters.as_deref().unwrap_or_default(),
            &when_conditions,
            &with_at,
        )?;
        let topics = &mut self.clusters[cluster].topics;
        if topic_template.is_none() && !topics.contains(&with.topic) {
            topics.push(with.topic.clone());
        }
        let fingerprint = self.stream_fingerprint(name, index, route, cluster);
        Some(SseKafkaRoute {
            index,
            fingerprint,
            when,
            guarded,
            action: SseAction {
                cluster,
                topic: with.topic.clone(),
                topic_template,
                max_topics,
                filters,
                key_in_id,
                start: with.start.unwrap_or(SseStart::Historical),
                models: route
                    .exit
                    .as_deref()
                    .map(|exit| self.chain_models(exit))
                    .unwrap_or_default(),
            },
        })
    }

    /// The topic of an `sse-kafka` route: one named topic, or a template over the path's
    /// parameters (with the route's `max-topics`).
    /// The cluster a route's kafka exit leads to; `None`, with an error, when it leads to
    /// none.
    fn route_cluster(&mut self, route: &RouteSpec, route_at: &str) -> Option<usize> {
        let exit = route.exit.as_ref()?;
        if !self.expect_kafka_exit(&format!("{route_at}/exit"), exit) {
            return None;
        }
        match self.cluster_of(exit) {
            Ok(cluster) => Some(cluster),
            Err(message) => {
                self.errors.push(format!("{route_at}/exit"), message);
                None
            }
        }
    }

    /// `event.id`: whether event ids carry the record's key.
    fn event_id_format(&mut self, with: &SseKafkaWithSpec, with_at: &str) -> Option<bool> {
        match with.event.as_ref().map(|e| e.id.as_str()) {
            None | Some(ID_ETAG) => Some(false),
            Some(ID_KEY_AND_ETAG) => Some(true),
            Some(other) => {
                self.errors.push(
                    format!("{with_at}/event/id"),
                    format!(
                        "'{other}' is not an event id format; use {ID_ETAG} or {ID_KEY_AND_ETAG}"
                    ),
                );
                None
            }
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
            if binding.binding_type != BindingType::Sse || binding.kind != BindingKind::Server {
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
                let guarded = self.guarded(route);
                if let Some(exit) = route
                    .exit
                    .as_deref()
                    .and_then(|e| self.sse_exit(&format!("{route_at}/exit"), e))
                {
                    server.routes.push(SseServerRoute {
                        when,
                        guarded,
                        exit,
                    });
                }
            }
            if let Some(exit) = &binding.exit {
                server.exit = self.sse_exit(&format!("{at}/exit"), exit);
            }
            self.sse_server_index.insert(name, self.sse_servers.len());
            self.sse_servers.push(server);
        }
    }

    fn sse_exit(&mut self, pointer: &str, exit: &str) -> Option<SseExit> {
        let target = self.spec.bindings.get(exit)?;
        match (target.binding_type, target.kind) {
            (BindingType::SseKafka, _) => {
                self.sse_kafka_index.get(exit).copied().map(SseExit::Kafka)
            }
            (BindingType::Sse, BindingKind::Client) => {
                let at = binding_pointer(exit);
                let Some(http) = target.exit.as_deref() else {
                    self.errors
                        .push(at, "missing field 'exit' (an http client)");
                    return None;
                };
                if !self.expect_exit(
                    &format!("{at}/exit"),
                    http,
                    BindingType::Http,
                    &[BindingKind::Client],
                ) {
                    return None;
                }
                self.upstream_index
                    .get(http)
                    .copied()
                    .map(SseExit::Upstream)
            }
            (other, _) => {
                self.errors.push(
                    pointer,
                    format!(
                        "exit '{exit}' is a {} binding; an sse server exits to sse-kafka or an sse client",
                        other.as_str()
                    ),
                );
                None
            }
        }
    }
}
