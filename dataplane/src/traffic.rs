//! The live traffic view's memory: every [`SAMPLE_EVERY`] the recorder reads the data
//! plane's counters and keeps what changed since the reading before (requests and errors
//! per route, p50 and p99 latency from the histogram's buckets), the gauges (streams,
//! waiters, connections, consumer lag) and the Kafka clients replaced meanwhile, for the
//! last [`HISTORY`] readings. Revisions applied are marked with their time. Memory is fixed:
//! at most [`HISTORY`] points of at most [`MAX_ROUTES`] routes and [`MAX_TOPICS`] topics.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sluice_shared::sync::lock;

use crate::exporter::TrafficCounters;
use crate::metrics::traffic::{LATENCY_BOUNDS_MS, RouteCounters};

/// Time between two readings.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(2);
/// Readings kept: five minutes.
pub const HISTORY: usize = 150;
/// Routes kept per reading, the busiest first.
pub const MAX_ROUTES: usize = 100;
/// Topics (consumer lag) kept per reading.
pub const MAX_TOPICS: usize = 100;
/// Revision marks kept.
const MAX_MARKS: usize = 100;

/// What happened on one route between two readings.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutePoint {
    /// The route's binding.
    pub binding: String,
    /// Its position in the binding; `None` for a server's unrouted requests.
    pub route: Option<usize>,
    /// `produce`, `request-response`, `fetch`, `sse` or `unrouted`.
    pub kind: &'static str,
    /// Requests answered.
    pub requests: u64,
    /// Of which `4xx`.
    pub client_errors: u64,
    /// Of which `502` to `504` (Kafka or an upstream).
    pub kafka_errors: u64,
    /// Of which `500` or `501` (Sluice).
    pub gateway_errors: u64,
    /// Median latency, milliseconds (from the histogram's buckets).
    pub p50_ms: Option<f64>,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: Option<f64>,
}

/// One reading.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficPoint {
    /// When, milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// Seconds since the reading before.
    pub seconds: f64,
    /// Routes that answered requests meanwhile.
    pub routes: Vec<RoutePoint>,
    /// SSE streams open.
    pub sse_streams: i64,
    /// Fetch long-polls waiting.
    pub fetch_waiters: i64,
    /// Request-response calls waiting for their reply.
    pub reply_waiters: usize,
    /// Client connections open.
    pub connections: i64,
    /// Shared consumers' lag: (purpose, topic, records behind).
    pub lags: Vec<(&'static str, String, i64)>,
    /// Kafka clients replaced meanwhile: (cluster, client, reason, how many).
    pub replaced: Vec<(String, &'static str, &'static str, u64)>,
}

/// The recorded history.
#[derive(Default)]
pub struct Recorder {
    state: std::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    previous: Option<(Instant, TrafficCounters)>,
    points: VecDeque<TrafficPoint>,
    /// (milliseconds since the epoch, revision).
    marks: VecDeque<(u64, u64)>,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Recorder {
    /// Takes a reading of `now`; the first only sets the start.
    pub(crate) fn sample(&self, now: TrafficCounters) {
        let mut state = lock(&self.state);
        let at = Instant::now();
        if let Some((then, before)) = state.previous.take() {
            let point = difference(&before, &now, at.duration_since(then), unix_ms());
            if state.points.len() == HISTORY {
                state.points.pop_front();
            }
            state.points.push_back(point);
        }
        state.previous = Some((at, now));
    }

    /// Marks `revision` as applied now.
    pub fn mark(&self, revision: u64) {
        let mut state = lock(&self.state);
        if state.marks.len() == MAX_MARKS {
            state.marks.pop_front();
        }
        state.marks.push_back((unix_ms(), revision));
    }

    /// The readings kept, oldest first, and the revision marks (time, revision).
    pub fn history(&self) -> (Vec<TrafficPoint>, Vec<(u64, u64)>) {
        let state = lock(&self.state);
        (
            state.points.iter().cloned().collect(),
            state.marks.iter().copied().collect(),
        )
    }
}

/// Reads the counters of the served snapshot every [`SAMPLE_EVERY`] into `recorder`, until
/// `shutdown` turns true.
pub(crate) fn start(
    recorder: &std::sync::Arc<Recorder>,
    active: &std::sync::Arc<arc_swap::ArcSwap<crate::snapshot::Snapshot>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let (recorder, active) = (recorder.clone(), active.clone());
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SAMPLE_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => recorder.sample(crate::exporter::traffic(&active.load())),
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
        }
    });
}

/// What changed between readings `before` and `now`, `elapsed` apart.
fn difference(
    before: &TrafficCounters,
    now: &TrafficCounters,
    elapsed: Duration,
    at_unix_ms: u64,
) -> TrafficPoint {
    let earlier: HashMap<(&str, Option<usize>, &str), &RouteCounters> = before
        .routes
        .iter()
        .map(|r| ((r.binding.as_str(), r.route, r.kind), r))
        .collect();
    let mut routes: Vec<RoutePoint> = now
        .routes
        .iter()
        .filter_map(|route| {
            let then = earlier.get(&(route.binding.as_str(), route.route, route.kind));
            route_point(then.copied(), route)
        })
        .collect();
    routes.sort_by_key(|route| std::cmp::Reverse(route.requests));
    routes.truncate(MAX_ROUTES);
    let replaced = now
        .replaced
        .iter()
        .filter_map(|(cluster, client, reason, count)| {
            let then = before
                .replaced
                .iter()
                .find(|(c, k, r, _)| c == cluster && k == client && r == reason)
                .map_or(0, |entry| entry.3);
            (*count > then).then(|| (cluster.clone(), *client, *reason, count - then))
        })
        .collect();
    let mut lags = now.lags.clone();
    lags.truncate(MAX_TOPICS);
    TrafficPoint {
        at_unix_ms,
        seconds: elapsed.as_secs_f64(),
        routes,
        sse_streams: now.sse_streams,
        fetch_waiters: now.fetch_waiters,
        reply_waiters: now.reply_waiters,
        connections: now.connections,
        lags,
        replaced,
    }
}

/// A route's activity between two readings; `None` when it answered nothing.
fn route_point(then: Option<&RouteCounters>, now: &RouteCounters) -> Option<RoutePoint> {
    // A route removed and added again starts from zero: what it has now is new.
    let fresh = then.is_none_or(|then| now.requests < then.requests);
    let delta = |now: u64, then: u64| if fresh { now } else { now - then.min(now) };
    let zero = RouteCounters {
        latency: [0; 17],
        ..now.clone()
    };
    let then = if fresh { &zero } else { then.unwrap_or(&zero) };
    let requests = delta(now.requests, then.requests);
    if requests == 0 {
        return None;
    }
    let mut latency = [0u64; 17];
    for (slot, (now, then)) in latency
        .iter_mut()
        .zip(now.latency.iter().zip(&then.latency))
    {
        *slot = delta(*now, *then);
    }
    Some(RoutePoint {
        binding: now.binding.clone(),
        route: now.route,
        kind: now.kind,
        requests,
        client_errors: delta(now.client_errors, then.client_errors),
        kafka_errors: delta(now.kafka_errors, then.kafka_errors),
        gateway_errors: delta(now.gateway_errors, then.gateway_errors),
        p50_ms: percentile(&latency, 0.5),
        p99_ms: percentile(&latency, 0.99),
    })
}

/// The `q` quantile of a latency histogram, milliseconds, interpolated within its bucket;
/// past the last bound, the last bound.
fn percentile(buckets: &[u64; 17], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0);
    let mut below = 0u64;
    for (index, count) in buckets.iter().enumerate() {
        if *count == 0 {
            continue;
        }
        if (below + count) as f64 >= rank {
            let Some(upper) = LATENCY_BOUNDS_MS.get(index) else {
                return LATENCY_BOUNDS_MS.last().map(|b| *b as f64);
            };
            let lower = if index == 0 {
                0.0
            } else {
                LATENCY_BOUNDS_MS[index - 1] as f64
            };
            let within = (rank - below as f64) / *count as f64;
            return Some(lower + (*upper as f64 - lower) * within);
        }
        below += count;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(requests: u64, errors: u64, latency: [u64; 17]) -> TrafficCounters {
        TrafficCounters {
            routes: vec![RouteCounters {
                binding: "mapping".to_owned(),
                route: Some(0),
                kind: "produce",
                requests,
                client_errors: 0,
                kafka_errors: errors,
                gateway_errors: 0,
                latency,
            }],
            replaced: vec![("client".to_owned(), "producer", "fatal", errors)],
            ..TrafficCounters::default()
        }
    }

    #[test]
    fn a_point_holds_what_happened_since_the_reading_before() {
        let mut early = [0; 17];
        early[2] = 10;
        let mut late = early;
        late[2] += 90; // 90 more between 2 and 5 ms
        late[6] += 10; // 10 between 50 and 100 ms
        let point = difference(
            &counters(10, 1, early),
            &counters(110, 4, late),
            Duration::from_secs(2),
            0,
        );
        let route = &point.routes[0];
        assert_eq!((route.requests, route.kafka_errors), (100, 3));
        let p50 = route.p50_ms.unwrap_or_default();
        assert!((2.0..=5.0).contains(&p50), "{p50}");
        let p99 = route.p99_ms.unwrap_or_default();
        assert!((50.0..=100.0).contains(&p99), "{p99}");
        assert_eq!(
            point.replaced,
            vec![("client".to_owned(), "producer", "fatal", 3)]
        );
        let idle = difference(
            &counters(110, 4, late),
            &counters(110, 4, late),
            Duration::from_secs(2),
            0,
        );
        assert!(idle.routes.is_empty() && idle.replaced.is_empty());
    }

    #[test]
    fn the_history_is_bounded() {
        let recorder = Recorder::default();
        for n in 0..(HISTORY as u64 + 20) {
            recorder.sample(counters(n, 0, [0; 17]));
        }
        for revision in 0..(MAX_MARKS as u64 + 5) {
            recorder.mark(revision);
        }
        let (points, marks) = recorder.history();
        assert_eq!(points.len(), HISTORY);
        assert_eq!(marks.len(), MAX_MARKS);
        assert_eq!(marks.last().map(|m| m.1), Some(MAX_MARKS as u64 + 4));
    }

    #[test]
    fn percentiles_come_from_the_buckets() {
        let mut buckets = [0; 17];
        assert_eq!(percentile(&buckets, 0.5), None);
        buckets[16] = 1;
        assert_eq!(percentile(&buckets, 0.99), Some(300_000.0));
        buckets = [0; 17];
        buckets[0] = 100;
        assert_eq!(percentile(&buckets, 0.5), Some(0.5));
    }
}
