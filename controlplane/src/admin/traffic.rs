//! `GET /v1/traffic`: the live traffic view's recent history as JSON, in columns that share
//! one time axis (`times`), so that a plot takes a column as it is.
//!
//! Per route (the busiest [`MAX_ROUTES`](sluice_dataplane::traffic::MAX_ROUTES) of each
//! reading): requests per second, errors per second by class, p50 and p99 latency (ms);
//! `null` where the route answered nothing in that interval. Beside them the gauges
//! (streams, waiters, connections), each shared consumer's lag, the Kafka clients replaced,
//! and the revisions applied, with their times.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sluice_dataplane::traffic::{Recorder, SAMPLE_EVERY, TrafficPoint};

/// The answer of `GET /v1/traffic`.
pub(crate) fn view(recorder: &Recorder) -> Value {
    let (points, marks) = recorder.history();
    let times: Vec<u64> = points.iter().map(|p| p.at_unix_ms).collect();
    json!({
        "interval_seconds": SAMPLE_EVERY.as_secs(),
        "times": times,
        "routes": routes(&points),
        "sse_streams": points.iter().map(|p| p.sse_streams).collect::<Vec<_>>(),
        "fetch_waiters": points.iter().map(|p| p.fetch_waiters).collect::<Vec<_>>(),
        "reply_waiters": points.iter().map(|p| p.reply_waiters).collect::<Vec<_>>(),
        "connections": points.iter().map(|p| p.connections).collect::<Vec<_>>(),
        "topics": topics(&points),
        "kafka_clients_replaced": replaced(&points),
        "revisions": marks
            .iter()
            .map(|(at, revision)| json!({ "at": at, "revision": revision }))
            .collect::<Vec<_>>(),
    })
}

/// Per rate column: a value per reading, `per_second` of what the reading counted.
fn rate(count: u64, point: &TrafficPoint) -> f64 {
    let rate = count as f64 / point.seconds.max(0.001);
    (rate * 100.0).round() / 100.0
}

/// A route: binding, position, kind.
type RouteKey<'a> = (String, Option<usize>, &'a str);
/// A route's six columns: requests, the three error classes, p50, p99.
type RouteColumns = [Vec<Value>; 6];

fn routes(points: &[TrafficPoint]) -> Vec<Value> {
    let mut columns: BTreeMap<RouteKey<'_>, RouteColumns> = BTreeMap::new();
    for (index, point) in points.iter().enumerate() {
        for route in &point.routes {
            let key = (route.binding.clone(), route.route, route.kind);
            let column = columns
                .entry(key)
                .or_insert_with(|| std::array::from_fn(|_| vec![Value::Null; points.len()]));
            column[0][index] = json!(rate(route.requests, point));
            column[1][index] = json!(rate(route.client_errors, point));
            column[2][index] = json!(rate(route.kafka_errors, point));
            column[3][index] = json!(rate(route.gateway_errors, point));
            column[4][index] = json!(route.p50_ms.map(|v| (v * 100.0).round() / 100.0));
            column[5][index] = json!(route.p99_ms.map(|v| (v * 100.0).round() / 100.0));
        }
    }
    columns
        .into_iter()
        .map(
            |((binding, route, kind), [rps, client, kafka, gateway, p50, p99])| {
                json!({
                    "binding": binding,
                    "route": route,
                    "kind": kind,
                    "requests_per_second": rps,
                    "client_errors_per_second": client,
                    "kafka_errors_per_second": kafka,
                    "gateway_errors_per_second": gateway,
                    "p50_ms": p50,
                    "p99_ms": p99,
                })
            },
        )
        .collect()
}

fn topics(points: &[TrafficPoint]) -> Vec<Value> {
    let mut columns: BTreeMap<(&str, &str), Vec<Value>> = BTreeMap::new();
    for (index, point) in points.iter().enumerate() {
        for (purpose, topic, lag) in &point.lags {
            columns
                .entry((purpose, topic.as_str()))
                .or_insert_with(|| vec![Value::Null; points.len()])[index] = json!(lag);
        }
    }
    columns
        .into_iter()
        .map(|((purpose, topic), lag)| json!({ "purpose": purpose, "topic": topic, "lag": lag }))
        .collect()
}

fn replaced(points: &[TrafficPoint]) -> Vec<Value> {
    let mut columns: BTreeMap<(&str, &str, &str), Vec<u64>> = BTreeMap::new();
    for (index, point) in points.iter().enumerate() {
        for (cluster, client, reason, count) in &point.replaced {
            columns
                .entry((cluster.as_str(), client, reason))
                .or_insert_with(|| vec![0; points.len()])[index] = *count;
        }
    }
    columns
        .into_iter()
        .map(|((cluster, client, reason), counts)| {
            json!({ "cluster": cluster, "client": client, "reason": reason, "count": counts })
        })
        .collect()
}
