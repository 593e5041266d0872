//! [`RouteTable`]: a compiled configuration, and what the data plane asks of it (listeners,
//! topics, producers it needs).

use super::action::{
    Action, HttpKafkaBinding, HttpKafkaRoute, ProduceAction, SseKafkaBinding, SseKafkaRoute,
};
use std::sync::Arc;

use super::cluster::KafkaCluster;
use super::files::FilesBinding;
use super::models::{ChainModels, ModelBinding};
use super::server::{HttpServer, Listener, SseServer};
use super::telemetry::Telemetry;
use super::upstream::Upstream;
use crate::guard::Guard;

/// The compiled configuration.
#[derive(Debug)]
pub struct RouteTable {
    /// The configuration's namespace name.
    pub name: String,
    /// TCP listeners to bind.
    pub listeners: Vec<Listener>,
    /// Kafka clusters the routes produce to.
    pub clusters: Vec<KafkaCluster>,
    /// Guards, in document order; routes refer to them by index.
    pub guards: Vec<Guard>,
    pub(crate) servers: Vec<HttpServer>,
    pub(crate) http_kafka: Vec<HttpKafkaBinding>,
    pub(crate) sse_servers: Vec<SseServer>,
    pub(crate) sse_kafka: Vec<SseKafkaBinding>,
    pub(crate) files: Vec<FilesBinding>,
    /// Upstream HTTP servers of `http` client bindings, by index.
    pub upstreams: Vec<Upstream>,
    /// Metrics selection, labels and exporters.
    pub telemetry: Telemetry,
    /// Catalogs of schemas, by index.
    pub catalogs: Vec<super::models::Catalog>,
}

impl RouteTable {
    /// A table with no listener and no route.
    pub fn empty() -> Self {
        Self {
            name: String::new(),
            listeners: Vec::new(),
            clusters: Vec::new(),
            guards: Vec::new(),
            servers: Vec::new(),
            http_kafka: Vec::new(),
            sse_servers: Vec::new(),
            sse_kafka: Vec::new(),
            files: Vec::new(),
            upstreams: Vec::new(),
            telemetry: Telemetry::default(),
            catalogs: Vec::new(),
        }
    }

    /// Every `http-kafka` route with its binding.
    pub fn http_kafka_routes(&self) -> impl Iterator<Item = (&HttpKafkaBinding, &HttpKafkaRoute)> {
        self.http_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter().map(move |route| (binding, route)))
    }

    /// Every `sse-kafka` route with its binding.
    pub fn sse_kafka_routes(&self) -> impl Iterator<Item = (&SseKafkaBinding, &SseKafkaRoute)> {
        self.sse_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter().map(move |route| (binding, route)))
    }

    /// Every `http` server binding.
    pub fn servers(&self) -> &[HttpServer] {
        &self.servers
    }

    /// The fingerprints of every SSE route.
    pub fn stream_fingerprints(&self) -> impl Iterator<Item = u64> + '_ {
        self.sse_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter())
            .map(|route| route.fingerprint)
    }

    /// Every (cluster, topic) that SSE routes stream, without repeats.
    pub fn stream_topics(&self) -> Vec<(usize, &str)> {
        let mut topics: Vec<(usize, &str)> = Vec::new();
        for route in self
            .sse_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter())
        {
            if route.action.topic_template.is_some() {
                continue; // opened on demand
            }
            let entry = (route.action.cluster, route.action.topic.as_str());
            if !topics.contains(&entry) {
                topics.push(entry);
            }
        }
        topics
    }

    /// The `http` server serving `port`, if any.
    pub fn server_for_port(&self, port: u16) -> Option<&HttpServer> {
        self.listeners
            .iter()
            .find(|listener| listener.port == port)
            .and_then(|listener| listener.server)
            .and_then(|server| self.servers.get(server))
    }

    /// Whether the listener configured on `port` echoes its connections' bytes.
    pub fn raw_echo(&self, port: u16) -> bool {
        self.listeners
            .iter()
            .any(|listener| listener.port == port && listener.server.is_none())
    }

    /// Every produce action, for preparing the producers a table needs.
    pub fn produce_actions(&self) -> impl Iterator<Item = &ProduceAction> {
        self.http_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter())
            .filter_map(|route| match &route.action {
                Action::Produce(action) => Some(action.as_ref()),
                Action::Fetch(_) => None,
            })
    }

    /// Every (cluster, topic) that fetch routes read, without repeats.
    pub fn fetch_topics(&self) -> Vec<(usize, &str)> {
        let mut topics: Vec<(usize, &str)> = Vec::new();
        for route in self
            .http_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter())
        {
            if let Action::Fetch(fetch) = &route.action
                && fetch.topic_template.is_none()
            {
                let entry = (fetch.cluster, fetch.topic.as_str());
                if !topics.contains(&entry) {
                    topics.push(entry);
                }
            }
        }
        topics
    }

    /// Every (cluster, reply topic, reply correlation header) that request-response routes
    /// wait on, without repeats.
    pub fn reply_topics(&self) -> Vec<(usize, &str, &str)> {
        let mut topics: Vec<(usize, &str, &str)> = Vec::new();
        for action in self.produce_actions() {
            if let Some(reply) = &action.reply {
                let entry = (
                    action.cluster,
                    reply.topic.as_str(),
                    reply.reply_correlation_header.as_str(),
                );
                if !topics.contains(&entry) {
                    topics.push(entry);
                }
            }
        }
        topics
    }
}

impl RouteTable {
    /// Every model of the table (a model used by several routes may appear several times).
    pub fn model_bindings(&self) -> Vec<&Arc<ModelBinding>> {
        let mut found: Vec<&Arc<ModelBinding>> = Vec::new();
        let mut chains: Vec<&ChainModels> = Vec::new();
        for (_, route) in self.http_kafka_routes() {
            match &route.action {
                Action::Produce(produce) => chains.push(&produce.models),
                Action::Fetch(fetch) => chains.push(&fetch.models),
            }
        }
        for (_, route) in self.sse_kafka_routes() {
            chains.push(&route.action.models);
        }
        chains.sort_by_key(|c| Arc::as_ptr(c));
        chains.dedup_by_key(|c| Arc::as_ptr(c));
        for chain in chains {
            for models in chain.values() {
                found.extend(models.key.iter().chain(models.value.iter()));
            }
        }
        for server in self.servers() {
            for request in &server.requests {
                found.extend(request.bindings());
            }
        }
        for upstream in &self.upstreams {
            for request in &upstream.requests {
                found.extend(request.bindings());
            }
        }
        found
    }
}
