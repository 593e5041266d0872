//! The data plane's metrics as text, and the `prometheus` exporters of the configuration's
//! `telemetry`: each endpoint is a small HTTP/1.1 listener of its own that answers `GET` on
//! its path with the series the telemetry selects, labelled with its `attributes`.
//!
//! Endpoints follow the configuration: an apply binds the new ones (a port that cannot be
//! bound fails the apply, like a listener's) and closes the removed ones.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sluice_shared::table::telemetry::{PrometheusEndpoint, Telemetry};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};
use tracing::{debug, info};

use crate::budget::BodyBudget;
use crate::snapshot::Snapshot;

/// The shared consumers' lag: (purpose, topic, records behind), where known.
fn lags(active: &Snapshot) -> Vec<(&'static str, &str, i64)> {
    let caches = active
        .caches
        .iter()
        .map(|(_, topic, cache)| ("cache", topic, cache.lag()));
    let feeds = active
        .feeds
        .iter()
        .map(|(_, topic, feed)| ("feed", topic, feed.lag()));
    caches
        .chain(feeds)
        .filter_map(|(purpose, topic, lag)| lag.map(|lag| (purpose, topic, lag)))
        .collect()
}

/// What the live traffic view reads from the data plane now.
pub(crate) fn traffic(active: &Snapshot) -> TrafficCounters {
    let (sse_streams, fetch_waiters, connections) = active.metrics.traffic_gauges();
    TrafficCounters {
        routes: active.metrics.route_counters(),
        sse_streams,
        fetch_waiters,
        reply_waiters: active.taps.waiting(),
        connections,
        lags: lags(active)
            .into_iter()
            .map(|(purpose, topic, lag)| (purpose, topic.to_owned(), lag))
            .collect(),
        replaced: crate::kafka::health::replacements(),
    }
}

/// The data plane's traffic counters at one moment (see `metrics/traffic.rs`).
#[derive(Debug, Clone, Default)]
pub struct TrafficCounters {
    /// Every route's counters, cumulative.
    pub routes: Vec<crate::metrics::traffic::RouteCounters>,
    /// SSE streams open.
    pub sse_streams: i64,
    /// Fetch long-polls waiting for a change.
    pub fetch_waiters: i64,
    /// Request-response calls waiting for their reply.
    pub reply_waiters: usize,
    /// Client connections open.
    pub connections: i64,
    /// Shared consumers' lag: (purpose `cache` or `feed`, topic, records behind).
    pub lags: Vec<(&'static str, String, i64)>,
    /// Kafka clients replaced so far: (cluster, client, reason, count).
    pub replaced: Vec<(String, &'static str, &'static str, u64)>,
}

/// Appends every series of the data plane, Prometheus text format, to `out`.
pub(crate) fn render(active: &Snapshot, budget: &BodyBudget, out: &mut String) {
    active
        .metrics
        .render(out, &lags(active), active.taps.waiting());
    crate::kafka::health::render(out);
    crate::spans::SPANS.render(out);
    out.push_str("# HELP sluice_body_budget_used_bytes Bytes held by request bodies being received.\n# TYPE sluice_body_budget_used_bytes gauge\n");
    let _ = writeln!(out, "sluice_body_budget_used_bytes {}", budget.used());
    out.push_str("# HELP sluice_body_budget_limit_bytes The memory budget for request bodies being received.\n# TYPE sluice_body_budget_limit_bytes gauge\n");
    let _ = writeln!(out, "sluice_body_budget_limit_bytes {}", budget.limit());
    out.push_str("# HELP sluice_topics_opened_on_demand Feeds and caches of topics named by the request (topic from the path) open now.\n# TYPE sluice_topics_opened_on_demand gauge\n");
    let _ = writeln!(
        out,
        "sluice_topics_opened_on_demand {}",
        active.dynamic.len()
    );
    out.push_str("# HELP sluice_events_dropped_total Events not written on standard output because it did not keep up.\n# TYPE sluice_events_dropped_total counter\n");
    let _ = writeln!(
        out,
        "sluice_events_dropped_total {}",
        crate::events::DROPPED.load(std::sync::atomic::Ordering::Relaxed)
    );
    let expiries = active.tls.expiries();
    if !expiries.is_empty() {
        out.push_str("# HELP sluice_tls_certificate_expiry_timestamp_seconds When the certificate a tls binding serves expires.\n");
        out.push_str("# TYPE sluice_tls_certificate_expiry_timestamp_seconds gauge\n");
        for (binding, not_after) in expiries {
            out.push_str("sluice_tls_certificate_expiry_timestamp_seconds{binding=\"");
            crate::metrics::escape_into(out, binding);
            let _ = writeln!(out, "\"}} {not_after}");
        }
    }
}

/// The series of `text` that `telemetry` exports, with its attributes as labels.
pub(crate) fn select(text: &str, telemetry: &Telemetry) -> String {
    let mut extra = String::new();
    for (name, value) in &telemetry.attributes {
        if !extra.is_empty() {
            extra.push(',');
        }
        let _ = write!(extra, "{name}=\"");
        crate::metrics::escape_into(&mut extra, value);
        extra.push('"');
    }
    let mut out = String::with_capacity(text.len());
    // The family of the last `# HELP` / `# TYPE`: a histogram's samples carry suffixes.
    let mut current = "";
    for line in text.lines() {
        let family = match line.strip_prefix("# ") {
            Some(comment) => {
                current = comment.split(' ').nth(1).unwrap_or("");
                current
            }
            None => {
                let sample = line.split(['{', ' ']).next().unwrap_or("");
                if !current.is_empty() && sample.starts_with(current) {
                    current
                } else {
                    sample
                }
            }
        };
        if !telemetry.exports(family) {
            continue;
        }
        if line.starts_with('#') || extra.is_empty() {
            out.push_str(line);
        } else if let Some((name, rest)) = line.split_once('{') {
            let _ = write!(out, "{name}{{{extra},{rest}");
        } else if let Some((name, rest)) = line.split_once(' ') {
            let _ = write!(out, "{name}{{{extra}}} {rest}");
        }
        out.push('\n');
    }
    out
}

/// An endpoint that cannot listen.
#[derive(Debug)]
pub(crate) struct BindError {
    pub host: String,
    pub port: u16,
    pub reason: String,
}

struct Running {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
}

/// The running `prometheus` endpoints, by configured host and port.
#[derive(Default)]
pub(crate) struct Exporters {
    running: Mutex<HashMap<(String, u16), Running>>,
}

/// What an endpoint reads its answer from.
#[derive(Clone)]
pub(crate) struct Source {
    pub active: Arc<ArcSwap<Snapshot>>,
    pub budget: Arc<BodyBudget>,
}

impl Exporters {
    /// Binds the endpoints `telemetry` names that are not running, and stops the others.
    pub(crate) async fn reconcile(
        &self,
        telemetry: &Telemetry,
        source: &Source,
        bind_host: Option<std::net::IpAddr>,
    ) -> Result<(), BindError> {
        let mut running = self.running.lock().await;
        let wanted: Vec<(String, u16)> = telemetry
            .prometheus
            .iter()
            .map(|e| (e.host.clone(), e.port))
            .collect();
        for endpoint in &telemetry.prometheus {
            let key = (endpoint.host.clone(), endpoint.port);
            if running.contains_key(&key) {
                continue;
            }
            let bound = match bind_host {
                Some(ip) => TcpListener::bind((ip, endpoint.port)).await,
                None => TcpListener::bind((endpoint.host.as_str(), endpoint.port)).await,
            };
            let failed = |error: std::io::Error| BindError {
                host: endpoint.host.clone(),
                port: endpoint.port,
                reason: error.to_string(),
            };
            let listener = bound.map_err(failed)?;
            let local_addr = listener.local_addr().map_err(failed)?;
            let (stop, stopped) = watch::channel(false);
            info!(exporter = %endpoint.exporter, local = %local_addr, path = %endpoint.path, "prometheus endpoint listening");
            tokio::spawn(serve(listener, endpoint.clone(), source.clone(), stopped));
            running.insert(key, Running { local_addr, stop });
        }
        running.retain(|key, endpoint| {
            let keep = wanted.contains(key);
            if !keep {
                info!(host = %key.0, port = key.1, "prometheus endpoint removed by configuration");
                let _ = endpoint.stop.send(true);
            }
            keep
        });
        Ok(())
    }

    /// Where the endpoint configured on `port` is bound.
    pub(crate) async fn local_addr(&self, port: u16) -> Option<SocketAddr> {
        let running = self.running.lock().await;
        running
            .iter()
            .find(|((_, p), _)| *p == port)
            .map(|(_, r)| r.local_addr)
    }

    /// Stops every endpoint.
    pub(crate) async fn stop(&self) {
        for (_, endpoint) in self.running.lock().await.drain() {
            let _ = endpoint.stop.send(true);
        }
    }
}

async fn serve(
    listener: TcpListener,
    endpoint: PrometheusEndpoint,
    source: Source,
    mut stopped: watch::Receiver<bool>,
) {
    let endpoint = Arc::new(endpoint);
    loop {
        let accepted = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, peer)) = accepted else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (endpoint, source) = (endpoint.clone(), source.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let answer = answer(&request, &endpoint, &source);
                async move { Ok::<_, Infallible>(answer) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                debug!(%peer, error = %error, "prometheus endpoint connection ended");
            }
        });
    }
}

fn answer(
    request: &Request<Incoming>,
    endpoint: &PrometheusEndpoint,
    source: &Source,
) -> Response<Full<Bytes>> {
    let plain = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response
    };
    if request.uri().path() != endpoint.path {
        return plain(
            StatusCode::NOT_FOUND,
            format!("metrics are at {}\n", endpoint.path),
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET\n".to_owned());
    }
    let active = source.active.load();
    let mut text = String::with_capacity(16 * 1024);
    render(&active, &source.budget, &mut text);
    let mut response = plain(StatusCode::OK, select(&text, &active.table.telemetry));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP sluice_http_requests_total Requests.\n# TYPE sluice_http_requests_total counter\nsluice_http_requests_total{binding=\"b\",status=\"200\"} 3\n# HELP sluice_http_request_duration_seconds D.\n# TYPE sluice_http_request_duration_seconds histogram\nsluice_http_request_duration_seconds_bucket{le=\"0.001\"} 1\nsluice_http_request_duration_seconds_sum 0.5\nsluice_http_request_duration_seconds_count 3\n# HELP sluice_sse_streams_open S.\n# TYPE sluice_sse_streams_open gauge\nsluice_sse_streams_open 2\n";

    #[test]
    fn only_selected_series_are_exported_with_the_attributes() {
        let telemetry = Telemetry {
            attributes: vec![("service_namespace".to_owned(), "example".to_owned())],
            series: Some(vec![
                "sluice_http_request_duration_seconds",
                "sluice_http_requests_total",
            ]),
            ..Telemetry::default()
        };
        let out = select(TEXT, &telemetry);
        assert!(!out.contains("sse_streams_open"), "{out}");
        assert!(out.contains(
            "sluice_http_requests_total{service_namespace=\"example\",binding=\"b\",status=\"200\"} 3"
        ));
        assert!(out.contains(
            "sluice_http_request_duration_seconds_count{service_namespace=\"example\"} 3"
        ));
        assert!(out.contains("# TYPE sluice_http_request_duration_seconds histogram"));
    }

    #[test]
    fn without_a_metrics_list_every_series_is_exported() {
        let out = select(TEXT, &Telemetry::default());
        assert_eq!(out, TEXT);
    }
}
