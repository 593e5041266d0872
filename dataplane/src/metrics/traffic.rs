//! The counters the live traffic view reads: per route, requests by class and the latency
//! histogram, cumulative since the route first existed (the control plane keeps the recent
//! differences), and the gauges beside them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use sluice_shared::sync::lock;

use super::{BUCKETS_MS, Metrics, RouteStats, STATUSES};

/// Upper bounds of the latency buckets, milliseconds; the last bucket is everything above.
pub const LATENCY_BOUNDS_MS: [u64; 16] = BUCKETS_MS;

/// One route's counters, cumulative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteCounters {
    /// The `http-kafka` or `sse-kafka` binding (or the `http` server for unrouted requests).
    pub binding: String,
    /// The route's position in its binding; `None` for a server's unrouted requests.
    pub route: Option<usize>,
    /// `produce`, `request-response`, `fetch`, `sse` or `unrouted`.
    pub kind: &'static str,
    /// Answered requests.
    pub requests: u64,
    /// Answered `4xx`.
    pub client_errors: u64,
    /// Answered `502`, `503` or `504`: Kafka (or an upstream) refused, was unreachable or
    /// did not answer in time, or Sluice was overloaded.
    pub kafka_errors: u64,
    /// Answered `500`, `501` or another `5xx`: Sluice's own fault.
    pub gateway_errors: u64,
    /// Requests per latency bucket ([`LATENCY_BOUNDS_MS`], then everything above).
    pub latency: [u64; 17],
}

impl RouteStats {
    fn counters(&self) -> RouteCounters {
        let count = |status: u16| {
            STATUSES
                .iter()
                .position(|s| *s == status)
                .map_or(0, |slot| self.statuses[slot].load(Ordering::Relaxed))
        };
        let in_range = |range: std::ops::RangeInclusive<u16>| -> u64 {
            STATUSES
                .iter()
                .filter(|s| range.contains(s))
                .map(|s| count(*s))
                .sum()
        };
        let requests = self.count.load(Ordering::Relaxed);
        let mut latency = [0; 17];
        for (slot, bucket) in latency.iter_mut().zip(&self.buckets) {
            *slot = bucket.load(Ordering::Relaxed);
        }
        // The histogram keeps no bucket past its last bound: the rest is above it.
        latency[16] = requests.saturating_sub(latency[..16].iter().sum());
        RouteCounters {
            binding: self.name.binding.to_string(),
            route: self.name.route,
            kind: self.name.kind,
            requests,
            client_errors: in_range(400..=499),
            kafka_errors: in_range(502..=504),
            gateway_errors: in_range(500..=501),
            latency,
        }
    }
}

impl Metrics {
    /// Every route's counters, in label order.
    pub(crate) fn route_counters(&self) -> Vec<RouteCounters> {
        let routes: Vec<Arc<RouteStats>> = {
            let registry = lock(&self.routes);
            let mut routes: Vec<_> = registry.values().cloned().collect();
            routes.sort_by(|a, b| a.labels.cmp(&b.labels));
            routes
        };
        routes.iter().map(|route| route.counters()).collect()
    }

    /// SSE streams open, fetch long-polls waiting, connections open.
    pub(crate) fn traffic_gauges(&self) -> (i64, i64, i64) {
        (
            self.sse_streams.load(Ordering::Relaxed),
            self.fetch_waiters.load(Ordering::Relaxed),
            self.connections_open.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::RouteName;
    use std::time::Duration;

    #[test]
    fn requests_are_counted_by_class_and_latency() {
        let stats = RouteStats::new(
            "binding=\"b\",route=\"0\",kind=\"produce\"".to_owned(),
            RouteName::new("b", Some(0), "produce"),
        );
        for (status, millis) in [(204, 1), (204, 3), (404, 0), (503, 30), (500, 400_000)] {
            stats.observe(status, Duration::from_millis(millis));
        }
        let counters = stats.counters();
        assert_eq!(counters.requests, 5);
        assert_eq!(
            (
                counters.client_errors,
                counters.kafka_errors,
                counters.gateway_errors
            ),
            (1, 1, 1)
        );
        assert_eq!(counters.latency[0], 1, "0 ms is under 1 ms");
        assert_eq!(counters.latency[1], 1, "1 ms is under 2 ms");
        assert_eq!(counters.latency[2], 1, "3 ms is under 5 ms");
        assert_eq!(counters.latency[5], 1, "30 ms is under 50 ms");
        assert_eq!(counters.latency[16], 1, "400 s is above every bound");
        assert_eq!((counters.binding.as_str(), counters.route), ("b", Some(0)));
    }
}
