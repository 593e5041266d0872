//! The compiled `telemetry` section: which of Sluice's series Zilla's metric names select,
//! the labels added to them, and the exporters to run.

/// Zilla's metric names and the Sluice series each one exports.
///
/// Names Sluice knows but records nothing for are listed with no series, so a Zilla
/// configuration naming them stays valid; `docs/zilla.md` gives the same table.
pub const METRICS: &[(&str, &[&str])] = &[
    (
        "http.duration",
        &[
            "sluice_http_request_duration_seconds",
            "sluice_http_requests_total",
        ],
    ),
    ("http.active.requests", &["sluice_http_requests_active"]),
    ("http.request.size", &["sluice_http_request_size_bytes"]),
    ("http.response.size", &["sluice_http_response_size_bytes"]),
    ("stream.opens.received", &["sluice_http_requests_total"]),
    ("stream.opens.sent", &["sluice_http_requests_total"]),
    (
        "stream.active.received",
        &["sluice_http_connections_open", "sluice_sse_streams_open"],
    ),
    (
        "stream.active.sent",
        &["sluice_fetch_waiters", "sluice_reply_waiters"],
    ),
    (
        "stream.closes.received",
        &["sluice_sse_streams_dropped_total"],
    ),
    ("stream.closes.sent", &[]),
    (
        "stream.errors.received",
        &["sluice_kafka_produce_errors_total"],
    ),
    (
        "stream.errors.sent",
        &["sluice_http_connections_refused_total"],
    ),
    ("stream.data.received", &["sluice_http_request_size_bytes"]),
    ("stream.data.sent", &["sluice_http_response_size_bytes"]),
];

/// Metric families of Zilla bindings that Sluice does not implement.
pub const FOREIGN_METRICS: &[(&str, &str)] =
    &[("grpc.", "grpc bindings"), ("mcp.", "mcp bindings")];

/// Zilla metric names that `pattern` (a name, or a glob with `*`) selects.
pub fn matching_metrics(pattern: &str) -> impl Iterator<Item = &'static str> + '_ {
    METRICS
        .iter()
        .map(|(name, _)| *name)
        .filter(move |name| glob_matches(pattern, name))
}

/// `*` matches any run of characters, everything else itself.
fn glob_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|at| rest.is_char_boundary(*at))
                .any(|at| glob_matches(tail, &rest[at..]))
        }
    }
}

/// What the configuration's telemetry asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Telemetry {
    /// Labels added to every series an exporter sends, names made Prometheus-safe
    /// (`service.namespace` becomes `service_namespace`).
    pub attributes: Vec<(String, String)>,
    /// The Sluice series exporters send; `None` for every series (no `metrics` listed).
    pub series: Option<Vec<&'static str>>,
    /// Prometheus endpoints to serve.
    pub prometheus: Vec<PrometheusEndpoint>,
    /// Whether events are written to standard output.
    pub stdout: bool,
    /// OTLP/HTTP exporters.
    pub otlp: Vec<OtlpExporter>,
}

impl Telemetry {
    /// Whether exporters send the series `family`.
    pub fn exports(&self, family: &str) -> bool {
        self.series
            .as_ref()
            .is_none_or(|series| series.contains(&family))
    }
}

/// One endpoint of a `prometheus` exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusEndpoint {
    /// The exporter's name.
    pub exporter: String,
    /// Address to listen on.
    pub host: String,
    /// Port to listen on.
    pub port: u16,
    /// Path of the metrics.
    pub path: String,
}

/// One `otlp` exporter.
#[derive(Clone, PartialEq, Eq)]
pub struct OtlpExporter {
    /// The exporter's name.
    pub exporter: String,
    /// Where metrics go, when the exporter sends them.
    pub metrics_url: Option<String>,
    /// Where events go as log records, when the exporter sends them.
    pub logs_url: Option<String>,
    /// Where spans go, when the exporter sends them.
    pub traces_url: Option<String>,
    /// The share of new traces recorded, in millionths (1,000,000: all).
    pub sampling_ppm: u32,
    /// Seconds between metric exports.
    pub interval_seconds: u64,
    /// The `authorization` header sent with each export (never shown by `Debug`).
    pub authorization: Option<String>,
    /// TLS to an `https://` collector.
    pub tls: Option<super::upstream::UpstreamTls>,
}

impl std::fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("exporter", &self.exporter)
            .field("metrics_url", &self.metrics_url)
            .field("logs_url", &self.logs_url)
            .field("traces_url", &self.traces_url)
            .field("sampling_ppm", &self.sampling_ppm)
            .field("interval_seconds", &self.interval_seconds)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}
