//! The swapped state: everything a request is served from, built aside for each applied
//! configuration and stored once (`DataPlane::apply`), then read with one load per request.
//!
//! Process-wide state that outlives configurations (metrics, stream sessions, route liveness,
//! the body budget, the shutdown signal) is referenced from each snapshot, not owned by it.

use sluice_shared::sync::lock;
use std::sync::Arc;

use sluice_shared::RouteTable;
use tokio::sync::watch;

use crate::budget::BodyBudget;
use crate::events::Events;
use crate::guard::GuardKeySets;
use crate::guard::session::SessionRegistry;
use crate::kafka::Producers;
use crate::kafka::cache::TopicCaches;
use crate::kafka::dynamic::Dynamic;
use crate::kafka::feed::TopicFeeds;
use crate::kafka::reply::ReplyTaps;
use crate::metrics::{Metrics, TableStats};
use crate::models::ModelRuntime;
use crate::proxy::upstream::UpstreamClients;
use crate::tls::Acceptors;

/// What requests are served from: one configuration and its Kafka clients.
pub(crate) struct Snapshot {
    pub table: Arc<RouteTable>,
    pub producers: Producers,
    pub taps: ReplyTaps,
    pub caches: TopicCaches,
    pub feeds: TopicFeeds,
    /// The keys of the table's guards.
    pub guard_keys: GuardKeySets,
    /// Sessions of guarded streams, across configurations and connections.
    pub sessions: Arc<SessionRegistry>,
    /// Which SSE routes exist, across configurations.
    pub routes: Arc<RouteLiveness>,
    /// Turns true when the data plane shuts down; long-lived streams end on it.
    pub shutdown: watch::Receiver<bool>,
    /// The data plane's counters, across configurations.
    pub metrics: Arc<Metrics>,
    /// The counters of this table's routes.
    pub stats: TableStats,
    /// TLS termination of this table's `tls` listeners, by port.
    pub tls: Acceptors,
    /// The process's memory budget for request bodies, across configurations.
    pub body_budget: Arc<BodyBudget>,
    /// Events on standard output, when the table's telemetry has a `stdout` exporter.
    pub events: Events,
    /// Traces, when an `otlp` exporter sends them.
    pub tracing: Option<crate::trace::Tracing>,
    /// Feeds of topics named by the request, across configurations.
    pub dynamic: Arc<Dynamic>,
    /// Clients of this table's upstream HTTP servers.
    pub upstreams: UpstreamClients,
    /// The table's models and the registry clients they use.
    pub models: Arc<ModelRuntime>,
}

impl Snapshot {
    /// The state before the first configuration: nothing routes.
    pub(crate) fn empty(shutdown: watch::Receiver<bool>, dynamic: Arc<Dynamic>) -> Self {
        Self {
            table: Arc::new(RouteTable::empty()),
            producers: Producers::default(),
            taps: ReplyTaps::default(),
            caches: TopicCaches::default(),
            feeds: TopicFeeds::default(),
            guard_keys: GuardKeySets::default(),
            sessions: Arc::default(),
            routes: Arc::default(),
            shutdown,
            metrics: Arc::default(),
            stats: TableStats::default(),
            tls: Acceptors::default(),
            body_budget: Arc::default(),
            events: Events::default(),
            tracing: None,
            dynamic,
            upstreams: UpstreamClients::default(),
            models: Arc::default(),
        }
    }

    /// Passes `sent`, the outcome of producing to `topic` (as configured) on cluster
    /// `cluster`, through, counting and reporting a record Kafka did not take.
    pub(crate) fn produced<T>(
        &self,
        cluster: usize,
        topic: &str,
        sent: Result<T, crate::error::DataPlaneError>,
    ) -> Result<T, crate::error::DataPlaneError> {
        if let Err(failure) = &sent
            && self.events.enabled()
        {
            let binding = self
                .table
                .clusters
                .get(cluster)
                .map_or("", |c| c.binding.as_str());
            self.events.emit(
                binding,
                "KAFKA_PRODUCE_FAILED",
                format_args!("Produce to topic ({topic}) failed: {failure}"),
            );
        }
        self.metrics.counted(topic, sent)
    }
}

/// Which SSE routes exist, by fingerprint: a configuration change ends the streams of the
/// routes it removed or changed, and only those.
#[derive(Default)]
pub(crate) struct RouteLiveness {
    routes: std::sync::Mutex<std::collections::HashMap<u64, watch::Sender<bool>>>,
}

impl RouteLiveness {
    /// Turns true when the route is removed or changed.
    pub(crate) fn watch(&self, fingerprint: u64) -> watch::Receiver<bool> {
        lock(&self.routes)
            .entry(fingerprint)
            .or_insert_with(|| watch::Sender::new(false))
            .subscribe()
    }

    /// Retires every route not in `live`; returns how many.
    pub(crate) fn retain(&self, live: impl Iterator<Item = u64>) -> usize {
        let live: std::collections::HashSet<u64> = live.collect();
        let mut routes = lock(&self.routes);
        let before = routes.len();
        routes.retain(|fingerprint, retired| {
            let keep = live.contains(fingerprint);
            if !keep {
                retired.send_replace(true);
            }
            keep
        });
        before - routes.len()
    }
}
