//! The `otlp` exporter of Zilla's `telemetry` section: a small OTLP/HTTP receiver in the
//! test decodes what Sluice sends (protobuf, as the OpenTelemetry collector takes it): the
//! selected metrics with their data points and the configured attributes on the resource,
//! events as log records, and the configured `authorization` header on every export.

use std::time::Duration;

use anyhow::{Context, Result};
use http::{Method, StatusCode};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use prost::Message;
use sluice_tests::Sluice;
use sluice_tests::collector::receiver;

const PORT: u16 = 7114;

fn config(collector: u16) -> String {
    format!(
        r#"name: observed
{VAULT}telemetry:
  attributes:
    service.namespace: observed
  metrics: [ http.duration ]
  exporters:
    collector:
      type: otlp
      options:
        interval: 1
        signals: [ metrics, logs ]
        endpoint:
          protocol: http
          location: http://127.0.0.1:{collector}
          overrides: {{ metrics: /v1/metrics, logs: /v1/logs }}
        credentials:
          headers:
            authorization: Bearer collector-secret
bindings:
  north_tcp_server:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: {PORT} }}
    exit: north_http_server
  north_http_server:
    type: http
    kind: server
    exit: north_echo_server
  north_echo_server:
    type: echo
    kind: server
"#
    )
}

const VAULT: &str = "";

/// The value of `sluice_http_requests_total` summed over its points, in an export.
fn requests_counted(request: &ExportMetricsServiceRequest) -> Option<f64> {
    let metric = request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .find(|m| m.name == "sluice_http_requests_total")?;
    let Some(Data::Sum(sum)) = &metric.data else {
        return None;
    };
    Some(
        sum.data_points
            .iter()
            .filter_map(|p| match p.value {
                Some(number_data_point::Value::AsDouble(v)) => Some(v),
                Some(number_data_point::Value::AsInt(v)) => Some(v as f64),
                None => None,
            })
            .sum(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_events_reach_an_otlp_collector() -> Result<()> {
    let (collector, mut exports) = receiver(false).await?;
    let sluice = Sluice::with_config(&config(collector)).await?;
    for _ in 0..3 {
        let reply = sluice
            .send(PORT, Method::POST, "/orders", &[], "hi")
            .await?;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let (mut metrics, mut logs) = (None, None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while metrics.is_none() || logs.is_none() {
        let (path, authorization, body) = tokio::time::timeout_at(deadline, exports.recv())
            .await
            .context("no metrics and logs export within 20 s")?
            .context("receiver gone")?;
        assert_eq!(authorization.as_deref(), Some("Bearer collector-secret"));
        match path.as_str() {
            "/v1/metrics" => {
                let request = ExportMetricsServiceRequest::decode(body)?;
                if requests_counted(&request).is_some_and(|n| n >= 3.0) {
                    metrics = Some(request);
                }
            }
            "/v1/logs" => logs = Some(ExportLogsServiceRequest::decode(body)?),
            other => anyhow::bail!("export to unexpected path {other}"),
        }
    }
    let metrics = metrics.context("metrics")?;
    let names: Vec<&str> = metrics
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.as_str())
        .collect();
    assert!(
        names.contains(&"sluice_http_request_duration_seconds_count")
            && !names.contains(&"sluice_sse_streams_open"),
        "only the series http.duration selects: {names:?}"
    );
    let resource = metrics.resource_metrics[0]
        .resource
        .as_ref()
        .context("a resource")?;
    let namespace = resource
        .attributes
        .iter()
        .find(|a| a.key == "service.namespace")
        .and_then(|a| a.value.as_ref())
        .and_then(|v| v.value.as_ref());
    assert_eq!(namespace, Some(&Value::StringValue("observed".to_owned())));

    let logs = logs.context("logs")?;
    let record = logs
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .find(|r| r.event_name == "HTTP_REQUEST_ACCEPTED")
        .context("a request event")?;
    let body = record
        .body
        .as_ref()
        .and_then(|b| b.value.as_ref())
        .context("a body")?;
    assert!(
        matches!(body, Value::StringValue(text) if text.starts_with("POST http://") && text.ends_with("/orders 200")),
        "{body:?}"
    );
    Ok(())
}

/// An `https://` collector verified with the exporter's vault (Zilla's otlp `tls.trust`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_collector_is_verified_with_the_exporters_vault() -> Result<()> {
    let (collector, mut exports) = receiver(true).await?;
    let dir = format!("{}/../testdata/vault", env!("CARGO_MANIFEST_DIR"));
    let text = config(collector)
        .replace(
            "telemetry:\n",
            &format!("vaults:\n  client:\n    type: filesystem\n    options:\n      trust: {{ store: {dir}/trust.p12, password: generated }}\ntelemetry:\n"),
        )
        .replace("      type: otlp\n", "      type: otlp\n      vault: client\n")
        .replace(
            &format!("location: http://127.0.0.1:{collector}"),
            &format!("location: https://localhost:{collector}"),
        )
        .replace("        credentials:", "        tls: { trust: [ ca ] }\n        credentials:");
    let sluice = Sluice::with_config(&text).await?;
    let reply = sluice
        .send(PORT, Method::POST, "/orders", &[], "hi")
        .await?;
    assert_eq!(reply.status, StatusCode::OK);
    let (path, _, body) = tokio::time::timeout(Duration::from_secs(20), exports.recv())
        .await
        .context("no export over https within 20 s")?
        .context("receiver gone")?;
    assert!(path == "/v1/metrics" || path == "/v1/logs", "{path}");
    assert!(!body.is_empty());
    Ok(())
}
