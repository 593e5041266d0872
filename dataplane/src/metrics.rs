//! The data plane's metrics, rendered in the Prometheus text format (version 0.0.4).
//!
//! Counting costs a few relaxed atomic additions per request and nothing per SSE event:
//! every route of the active configuration has its [`RouteStats`], found through the route's
//! address in the (immutable) route table, so a request never takes a lock or allocates to
//! be counted. A route keeps its counters across configurations as long as its binding,
//! position and kind stay the same; a removed route's series disappear with it.
//!
//! Series (every name starts with `sluice_`):
//! - `http_requests_total{binding,route,kind,status}`: answered requests per route;
//!   requests that matched no route count under their `http` binding with `route=""`.
//! - `http_request_duration_seconds{binding,route,kind}`: histogram, request start to
//!   response head (for SSE, to the stream's first byte; for long-polls, the wait included).
//! - `http_request_size_bytes`, `http_response_size_bytes` (same labels): histograms of body
//!   sizes, where declared (`content-length`) or complete.
//! - `sse_streams_open`, `fetch_waiters`, `reply_waiters`: gauges.
//! - `http_requests_active`: requests being answered (to the response head).
//! - `http_connections_open`, `http_connections_refused_total`: connections.
//! - `kafka_produce_errors_total{topic,code}`: records Kafka did not take.
//! - `kafka_consumer_lag{purpose,topic}`: records between the shared consumer of a topic
//!   cache or SSE feed and the partition ends it last heard of.
//! - `sse_streams_dropped_total`: streams ended because their client stopped reading.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_shared::RouteTable;
use sluice_shared::sync::lock;
use sluice_shared::table::Action;

mod size;
mod text;
pub(crate) mod traffic;
use size::SizeHistogram;
pub(crate) use text::escape_into;
use text::render_lags;

/// Statuses counted under their own label; any other is counted as `status="other"`.
const STATUSES: [u16; 30] = [
    200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405, 406, 408, 409, 410, 412, 413,
    414, 415, 422, 428, 429, 431, 500, 501, 502, 503, 504,
];

/// Upper bounds of the latency histogram, milliseconds (exported in seconds).
const BUCKETS_MS: [u64; 16] = [
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000,
];

/// Which route a [`traffic::RouteCounters`] is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteName {
    binding: Box<str>,
    route: Option<usize>,
    kind: &'static str,
}

impl RouteName {
    pub(crate) fn new(binding: &str, route: Option<usize>, kind: &'static str) -> Self {
        Self {
            binding: binding.into(),
            route,
            kind,
        }
    }
}

/// Counters of one route (or of one server's unrouted requests).
pub(crate) struct RouteStats {
    /// `binding="…",route="…",kind="…"`, escaped.
    labels: Box<str>,
    /// The same, for the traffic view.
    name: RouteName,
    statuses: [AtomicU64; STATUSES.len() + 1],
    buckets: [AtomicU64; BUCKETS_MS.len()],
    sum_micros: AtomicU64,
    count: AtomicU64,
    request_size: SizeHistogram,
    response_size: SizeHistogram,
}

impl RouteStats {
    /// Counts the body sizes of one exchange, when they are known (a declared or complete
    /// body; a stream's is not).
    pub(crate) fn observe_sizes(&self, request: Option<u64>, response: Option<u64>) {
        if let Some(bytes) = request {
            self.request_size.observe(bytes);
        }
        if let Some(bytes) = response {
            self.response_size.observe(bytes);
        }
    }

    fn new(labels: String, name: RouteName) -> Self {
        Self {
            labels: labels.into_boxed_str(),
            name,
            statuses: std::array::from_fn(|_| AtomicU64::new(0)),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
            request_size: SizeHistogram::default(),
            response_size: SizeHistogram::default(),
        }
    }

    /// Counts one answered request.
    pub(crate) fn observe(&self, status: u16, elapsed: Duration) {
        let slot = STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(STATUSES.len());
        self.statuses[slot].fetch_add(1, Ordering::Relaxed);
        let millis = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        // Buckets are stored non-cumulative and summed when rendered.
        if let Some(bucket) = BUCKETS_MS.iter().position(|bound| millis < *bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts a gauge up while alive.
pub(crate) struct Gauged(Arc<Metrics>, fn(&Metrics) -> &AtomicI64);

impl Gauged {
    /// The metrics this gauge belongs to.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.0
    }

    pub(crate) fn new(metrics: &Arc<Metrics>, gauge: fn(&Metrics) -> &AtomicI64) -> Self {
        gauge(metrics).fetch_add(1, Ordering::Relaxed);
        Self(metrics.clone(), gauge)
    }
}

impl Drop for Gauged {
    fn drop(&mut self) {
        (self.1)(&self.0).fetch_sub(1, Ordering::Relaxed);
    }
}

/// The data plane's metrics, across configurations.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<HashMap<Box<str>, Arc<RouteStats>>>,
    pub(crate) sse_streams: AtomicI64,
    pub(crate) fetch_waiters: AtomicI64,
    pub(crate) connections_open: AtomicI64,
    /// Requests being answered (an open SSE stream counts until its head is sent).
    pub(crate) requests_active: AtomicI64,
    pub(crate) connections_refused: AtomicU64,
    /// SSE streams ended because their client stopped reading.
    pub(crate) sse_dropped: AtomicU64,
    produce_errors: Mutex<HashMap<(Box<str>, &'static str), u64>>,
    /// Payloads and records that did not fit their models.
    pub(crate) model_failures: Arc<crate::models::failures::ModelFailures>,
}

/// The stats of one applied route table, by route address.
#[derive(Default)]
pub(crate) struct TableStats {
    routes: HashMap<usize, Arc<RouteStats>>,
    servers: HashMap<usize, Arc<RouteStats>>,
}

impl TableStats {
    /// The stats of `route`, an `HttpKafkaRoute` or `SseKafkaRoute` of this table.
    pub(crate) fn route<T>(&self, route: &T) -> Option<&RouteStats> {
        self.routes
            .get(&(std::ptr::from_ref(route) as usize))
            .map(Arc::as_ref)
    }

    /// The stats of requests to `server` that matched no route.
    pub(crate) fn server<T>(&self, server: &T) -> Option<&RouteStats> {
        self.servers
            .get(&(std::ptr::from_ref(server) as usize))
            .map(Arc::as_ref)
    }
}

fn labels(binding: &str, route: Option<usize>, kind: &str) -> String {
    let mut out = String::with_capacity(binding.len() + 32);
    out.push_str("binding=\"");
    escape_into(&mut out, binding);
    out.push_str("\",route=\"");
    if let Some(route) = route {
        let _ = write!(out, "{route}");
    }
    let _ = write!(out, "\",kind=\"{kind}\"");
    out
}

impl Metrics {
    /// The stats of every route of `table`, reusing the counters of routes that stay and
    /// forgetting the routes that are gone.
    pub(crate) fn attach(&self, table: &RouteTable) -> TableStats {
        let mut registry = lock(&self.routes);
        let mut previous = std::mem::take(&mut *registry);
        let mut stats = TableStats::default();
        let mut take = |binding: &str, route: Option<usize>, kind: &'static str| {
            let key = labels(binding, route, kind);
            let stats = match previous.remove(key.as_str()) {
                Some(existing) => existing,
                None => Arc::new(RouteStats::new(key, RouteName::new(binding, route, kind))),
            };
            registry.insert(stats.labels.clone(), stats.clone());
            stats
        };
        for (binding, route) in table.http_kafka_routes() {
            let kind = match &route.action {
                Action::Fetch(_) => "fetch",
                Action::Produce(p) if p.reply.is_some() => "request-response",
                Action::Produce(_) => "produce",
            };
            let counted = take(&binding.binding, Some(route.index), kind);
            stats
                .routes
                .insert(std::ptr::from_ref(route) as usize, counted);
        }
        for (binding, route) in table.sse_kafka_routes() {
            let counted = take(&binding.binding, Some(route.index), "sse");
            stats
                .routes
                .insert(std::ptr::from_ref(route) as usize, counted);
        }
        for server in table.servers() {
            let counted = take(&server.binding, None, "unrouted");
            stats
                .servers
                .insert(std::ptr::from_ref(server) as usize, counted);
        }
        stats
    }

    /// Passes `sent` through, counting it when Kafka did not take the record; `topic` as for
    /// [`Metrics::produce_error`].
    pub(crate) fn counted<T>(
        &self,
        topic: &str,
        sent: Result<T, crate::error::DataPlaneError>,
    ) -> Result<T, crate::error::DataPlaneError> {
        if let Err(failure) = &sent {
            self.produce_error(topic, failure.code().as_str());
        }
        sent
    }

    /// Counts a record Kafka did not take; `topic` is the route's topic as configured (a
    /// template stays a template, so the series stay bounded).
    pub(crate) fn produce_error(&self, topic: &str, code: &'static str) {
        let mut errors = lock(&self.produce_errors);
        match errors.get_mut(&(Box::from(topic), code)) {
            Some(count) => *count += 1,
            None => {
                errors.insert((Box::from(topic), code), 1);
            }
        }
    }

    /// Appends the data plane's series to `out`. `lags` are (purpose, topic, lag) of the
    /// shared consumers; `reply_waiters` the requests waiting for a reply.
    pub(crate) fn render(
        &self,
        out: &mut String,
        lags: &[(&str, &str, i64)],
        reply_waiters: usize,
    ) {
        let routes: Vec<Arc<RouteStats>> = {
            let registry = lock(&self.routes);
            let mut routes: Vec<_> = registry.values().cloned().collect();
            routes.sort_by(|a, b| a.labels.cmp(&b.labels));
            routes
        };
        render_statuses(out, &routes);
        render_durations(out, &routes);
        size::render(
            out,
            "sluice_http_request_size_bytes",
            "Request body sizes, where declared or complete.",
            routes.iter().map(|r| (&*r.labels, &r.request_size)),
        );
        size::render(
            out,
            "sluice_http_response_size_bytes",
            "Response body sizes, where complete (streams are not counted).",
            routes.iter().map(|r| (&*r.labels, &r.response_size)),
        );
        self.render_gauges(out, reply_waiters);
        self.render_produce_errors(out);
        self.model_failures.render(out);
        render_lags(out, lags);
    }

    fn render_gauges(&self, out: &mut String, reply_waiters: usize) {
        let gauges: [(&str, &str, &str, i64); 7] = [
            (
                "sluice_http_requests_active",
                "gauge",
                "Requests being answered.",
                self.requests_active.load(Ordering::Relaxed),
            ),
            (
                "sluice_sse_streams_open",
                "gauge",
                "SSE streams open.",
                self.sse_streams.load(Ordering::Relaxed),
            ),
            (
                "sluice_fetch_waiters",
                "gauge",
                "Fetch requests long-polling for a change.",
                self.fetch_waiters.load(Ordering::Relaxed),
            ),
            (
                "sluice_reply_waiters",
                "gauge",
                "Requests waiting for their reply.",
                i64::try_from(reply_waiters).unwrap_or(i64::MAX),
            ),
            (
                "sluice_http_connections_open",
                "gauge",
                "Client connections open.",
                self.connections_open.load(Ordering::Relaxed),
            ),
            (
                "sluice_http_connections_refused_total",
                "counter",
                "Connections refused at a listener's max-connections.",
                i64::try_from(self.connections_refused.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
            ),
            (
                "sluice_sse_streams_dropped_total",
                "counter",
                "SSE streams ended because their client stopped reading.",
                i64::try_from(self.sse_dropped.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
    }

    fn render_produce_errors(&self, out: &mut String) {
        out.push_str("# HELP sluice_kafka_produce_errors_total Records Kafka did not take, by topic and error code.\n# TYPE sluice_kafka_produce_errors_total counter\n");
        {
            let errors = lock(&self.produce_errors);
            let mut sorted: Vec<_> = errors.iter().collect();
            sorted.sort();
            for ((topic, code), count) in sorted {
                let mut topic_label = String::new();
                escape_into(&mut topic_label, topic);
                let _ = writeln!(
                    out,
                    "sluice_kafka_produce_errors_total{{topic=\"{topic_label}\",code=\"{code}\"}} {count}"
                );
            }
        }
    }
}

fn render_statuses(out: &mut String, routes: &[Arc<RouteStats>]) {
    out.push_str("# HELP sluice_http_requests_total Requests answered, by route and status.\n# TYPE sluice_http_requests_total counter\n");
    for route in routes {
        for (slot, count) in route.statuses.iter().enumerate() {
            let count = count.load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            let _ = match STATUSES.get(slot) {
                Some(status) => writeln!(
                    out,
                    "sluice_http_requests_total{{{},status=\"{status}\"}} {count}",
                    route.labels
                ),
                None => writeln!(
                    out,
                    "sluice_http_requests_total{{{},status=\"other\"}} {count}",
                    route.labels
                ),
            };
        }
    }
}

fn render_durations(out: &mut String, routes: &[Arc<RouteStats>]) {
    out.push_str("# HELP sluice_http_request_duration_seconds Time from request to response head.\n# TYPE sluice_http_request_duration_seconds histogram\n");
    for route in routes {
        let count = route.count.load(Ordering::Relaxed);
        if count == 0 {
            continue;
        }
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS_MS.iter().zip(&route.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "sluice_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {cumulative}",
                route.labels,
                *bound as f64 / 1000.0
            );
        }
        let sum = route.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "sluice_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {count}\nsluice_http_request_duration_seconds_sum{{{}}} {sum}\nsluice_http_request_duration_seconds_count{{{}}} {count}",
            route.labels, route.labels, route.labels
        );
    }
}

#[cfg(test)]
mod tests;
