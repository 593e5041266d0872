//! The `telemetry` section, in Zilla's shape: `attributes` added to every exported series,
//! the `metrics` to record (Zilla's names and globs), and `exporters`; and a binding's own
//! `telemetry` (`metrics`, `attributes`).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The top-level `telemetry` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySpec {
    /// Labels added to every series an exporter sends (`service.namespace: example`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub attributes: IndexMap<String, String>,
    /// Metric names or globs (`http.*`, `stream.opens.sent`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// Exporters by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub exporters: IndexMap<String, ExporterSpec>,
}

/// One exporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExporterSpec {
    /// `prometheus`, `stdout` or `otlp`.
    #[serde(rename = "type")]
    pub exporter_type: ExporterType,
    /// The vault holding TLS material for the exporter (otlp over https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    /// Type-specific options, checked by the table compiler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<serde_json::Value>,
}

/// Exporter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExporterType {
    /// Serves the metrics in the Prometheus text format on its own port.
    Prometheus,
    /// Writes events (requests accepted, authorization failures, Kafka and TLS errors) as
    /// lines on standard output.
    Stdout,
    /// Sends metrics and logs over OTLP/HTTP.
    Otlp,
}

impl ExporterType {
    /// The name as written in configurations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prometheus => "prometheus",
            Self::Stdout => "stdout",
            Self::Otlp => "otlp",
        }
    }
}

/// `options` of a `prometheus` exporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusOptionsSpec {
    /// Where the metrics are served.
    pub endpoints: Vec<PrometheusEndpointSpec>,
}

/// One endpoint of a `prometheus` exporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusEndpointSpec {
    /// Only `http`.
    pub scheme: String,
    /// The port to listen on.
    pub port: u16,
    /// The path of the metrics (default `/metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Sluice: the address to listen on (default `127.0.0.1`; Zilla listens on every
    /// interface).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A binding's `telemetry`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingTelemetrySpec {
    /// Metric names or globs this binding records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// Attributes of the binding's series (Zilla expressions such as
    /// `${http.request.method}`); see `docs/zilla.md` for what Sluice does with them.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub attributes: IndexMap<String, String>,
}

/// `options` of an `otlp` exporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpOptionsSpec {
    /// Seconds between exports (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    /// `metrics`, `logs` (events), `traces` (Sluice); metrics and logs by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<Vec<OtlpSignal>>,
    /// Sluice: the share of traces started here that are recorded, 0 to 1 (default 1); a
    /// request whose `traceparent` says sampled is always recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<f64>,
    /// Where to send.
    pub endpoint: OtlpEndpointSpec,
    /// TLS to an `https://` collector: aliases in the exporter's vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<super::client::ClientTlsSpec>,
    /// Headers sent with every export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<super::client::ClientCredentialsSpec>,
}

/// OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OtlpSignal {
    /// The metrics the telemetry selects.
    Metrics,
    /// The events the `stdout` exporter writes, as log records.
    Logs,
    /// Sluice: spans of requests, of the records they produce and of SSE deliveries.
    Traces,
}

/// `endpoint` of an `otlp` exporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpEndpointSpec {
    /// Only `http` (OTLP/HTTP with protobuf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The collector, `http://host:port`.
    pub location: String,
    /// Paths per signal (default `/v1/metrics` and `/v1/logs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<OtlpOverridesSpec>,
}

/// Per-signal paths of an `otlp` endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpOverridesSpec {
    /// Path of metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
    /// Path of logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
    /// Path of traces (Sluice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces: Option<String>,
}
