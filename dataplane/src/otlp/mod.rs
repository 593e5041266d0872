//! The `otlp` exporters of the configuration's telemetry: Sluice's series (those the
//! telemetry selects) sent every `interval` as OTLP/HTTP (protobuf) metrics, and the events
//! of the `stdout` exporter sent as OTLP log records, with the opentelemetry crates.
//!
//! The series are observed from the same counters `/metrics` renders: each family becomes an
//! observable instrument (a counter for counters and histogram parts, a gauge otherwise)
//! whose callback reads the current values. Exports run on the SDK's own threads and reach
//! the collector through a hyper client spawned on Sluice's runtime (over TLS for an
//! `https://` collector, with the exporter's vault or the system's authorities), so a slow or
//! absent collector never touches the request path; what cannot be sent is dropped and
//! counted (`crate::spans`).

use std::collections::HashMap;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SpanProcessor,
};
use sluice_shared::sync::lock;
use sluice_shared::table::telemetry::{OtlpExporter, Telemetry};
use tracing::warn;

use crate::exporter::Source;
use samples::{families, samples};

mod samples;
use crate::spans::{self, SPAN_QUEUE, SPANS};
use crate::tls::{TlsError, client_config, plain_client_config};

/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The running exporters of one configuration; dropped (and shut down) with it.
#[derive(Default)]
pub(crate) struct OtlpRunning {
    meters: Vec<SdkMeterProvider>,
    loggers: Vec<SdkLoggerProvider>,
    /// One provider for every exporter with `traces`.
    tracer: Option<SdkTracerProvider>,
    /// The tracer's sampler (a copy: requests ask it before making a span).
    sampler: Option<Sampler>,
}

impl Drop for OtlpRunning {
    fn drop(&mut self) {
        if self.meters.is_empty() && self.loggers.is_empty() && self.tracer.is_none() {
            return;
        }
        // Shutting down flushes and waits: never on a runtime thread.
        let (meters, loggers, tracer) = (
            std::mem::take(&mut self.meters),
            std::mem::take(&mut self.loggers),
            self.tracer.take(),
        );
        std::thread::spawn(move || {
            if let Some(tracer) = tracer {
                let _ = tracer.shutdown_with_timeout(Duration::from_secs(2));
            }
            for meter in meters {
                let _ = meter.shutdown_with_timeout(Duration::from_secs(2));
            }
            for logger in loggers {
                let _ = logger.shutdown_with_timeout(Duration::from_secs(2));
            }
        });
    }
}

impl OtlpRunning {
    /// The loggers events go to.
    pub(crate) fn loggers(&self) -> Vec<opentelemetry_sdk::logs::SdkLogger> {
        use opentelemetry::logs::LoggerProvider as _;
        self.loggers
            .iter()
            .map(|provider| provider.logger("sluice"))
            .collect()
    }

    /// The tracer requests are traced with, when an exporter sends traces.
    pub(crate) fn tracing(&self) -> Option<crate::trace::Tracing> {
        use opentelemetry::trace::TracerProvider as _;
        let provider = self.tracer.as_ref()?;
        let sampler = self.sampler.clone()?;
        Some(crate::trace::Tracing::new(
            provider.tracer("sluice"),
            sampler,
        ))
    }
}

/// Starts the exporters `telemetry` names. Failing ones are logged and left out.
pub(crate) fn start(telemetry: &Telemetry, namespace: &str, source: &Source) -> OtlpRunning {
    let mut running = OtlpRunning::default();
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return running;
    };
    let resource = resource(telemetry, namespace);
    let mut spans = SdkTracerProvider::builder().with_resource(resource.clone());
    let mut sampling_ppm = None;
    for exporter in &telemetry.otlp {
        let connector = match connector(exporter) {
            Ok(connector) => connector,
            Err(error) => {
                warn!(exporter = %exporter.exporter, error = %error.reason(), "otlp exporter not started: its TLS settings cannot be used");
                continue;
            }
        };
        let client = RuntimeClient {
            handle: handle.clone(),
            client: Client::builder(TokioExecutor::new()).build(connector),
        };
        if let Some(url) = &exporter.metrics_url {
            match meter_provider(exporter, url, client.clone(), resource.clone()) {
                Ok(provider) => {
                    observe(&provider, telemetry, source);
                    running.meters.push(provider);
                }
                Err(error) => {
                    warn!(exporter = %exporter.exporter, error = %error, "otlp metrics exporter not started")
                }
            }
        }
        if let Some(url) = &exporter.traces_url {
            match span_processor(exporter, url, client.clone()) {
                Ok(processor) => {
                    spans = spans.with_span_processor(processor);
                    sampling_ppm = sampling_ppm.max(Some(exporter.sampling_ppm));
                }
                Err(error) => {
                    warn!(exporter = %exporter.exporter, error = %error, "otlp traces exporter not started")
                }
            }
        }
        if let Some(url) = &exporter.logs_url {
            match logger_provider(exporter, url, client, resource.clone()) {
                Ok(provider) => running.loggers.push(provider),
                Err(error) => {
                    warn!(exporter = %exporter.exporter, error = %error, "otlp logs exporter not started")
                }
            }
        }
    }
    running.sampler = sampling_ppm.map(|ppm| {
        let ratio = f64::from(ppm) / 1_000_000.0;
        Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
    });
    running.tracer = running
        .sampler
        .clone()
        .map(|sampler| spans.with_sampler(sampler).build());
    running
}

fn span_processor(
    exporter: &OtlpExporter,
    url: &str,
    client: RuntimeClient,
) -> Result<impl SpanProcessor + use<>, opentelemetry_otlp::ExporterBuildError> {
    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT)
        .with_headers(headers(exporter))
        .build()?;
    let (counted, bounded) = spans::bounded(spans, SPAN_QUEUE, &SPANS);
    // The batch processor's own queue has room for one more batch than Sluice lets wait,
    // so that it never drops a span uncounted.
    Ok(bounded(
        BatchSpanProcessor::builder(counted)
            .with_batch_config(
                BatchConfigBuilder::default()
                    .with_max_queue_size(SPAN_QUEUE + 512)
                    .with_scheduled_delay(Duration::from_secs(1))
                    .build(),
            )
            .build(),
    ))
}

/// What every export says of its source: Sluice, the configuration's name, and the
/// telemetry's attributes.
fn resource(telemetry: &Telemetry, namespace: &str) -> Resource {
    let mut attributes = vec![
        KeyValue::new("service.name", "sluice"),
        KeyValue::new("service.namespace", namespace.to_owned()),
    ];
    for (name, value) in &telemetry.attributes {
        attributes.push(KeyValue::new(name.replace('_', "."), value.clone()));
    }
    Resource::builder().with_attributes(attributes).build()
}

/// A connector for `http://` and, with the exporter's TLS settings (or no trusted authority
/// at all when it has none), `https://` collectors.
fn connector(exporter: &OtlpExporter) -> Result<HttpsConnector<HttpConnector>, TlsError> {
    let config = match &exporter.tls {
        Some(tls) => client_config(tls)?,
        None => plain_client_config(&exporter.exporter)?,
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(EXPORT_TIMEOUT));
    Ok(HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

fn headers(exporter: &OtlpExporter) -> HashMap<String, String> {
    exporter
        .authorization
        .iter()
        .map(|value| ("authorization".to_owned(), value.clone()))
        .collect()
}

fn meter_provider(
    exporter: &OtlpExporter,
    url: &str,
    client: RuntimeClient,
    resource: Resource,
) -> Result<SdkMeterProvider, opentelemetry_otlp::ExporterBuildError> {
    let metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT)
        .with_headers(headers(exporter))
        .build()?;
    let reader = PeriodicReader::builder(metrics)
        .with_interval(Duration::from_secs(exporter.interval_seconds))
        .build();
    Ok(SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(resource)
        .build())
}

fn logger_provider(
    exporter: &OtlpExporter,
    url: &str,
    client: RuntimeClient,
    resource: Resource,
) -> Result<SdkLoggerProvider, opentelemetry_otlp::ExporterBuildError> {
    let logs = opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT)
        .with_headers(headers(exporter))
        .build()?;
    Ok(SdkLoggerProvider::builder()
        .with_batch_exporter(logs)
        .with_resource(resource)
        .build())
}

/// One observable instrument per exported family, reading the current text each time.
fn observe(provider: &SdkMeterProvider, telemetry: &Telemetry, source: &Source) {
    let meter = provider.meter("sluice");
    let current = Arc::new(Current {
        source: source.clone(),
        rendered: Mutex::new(None),
    });
    for (family, kind) in families(&current.text()) {
        if !telemetry.exports(&family) {
            continue;
        }
        let names: Vec<String> = if kind == "histogram" {
            ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{family}{suffix}"))
                .collect()
        } else {
            vec![family.clone()]
        };
        for name in names {
            let current = current.clone();
            let sample = name.clone();
            let read = move || samples(&current.text(), &sample);
            if kind == "gauge" {
                meter
                    .f64_observable_gauge(name)
                    .with_callback(move |observer| {
                        for (value, labels) in read() {
                            observer.observe(value, &labels);
                        }
                    })
                    .build();
            } else {
                meter
                    .f64_observable_counter(name)
                    .with_callback(move |observer| {
                        for (value, labels) in read() {
                            observer.observe(value, &labels);
                        }
                    })
                    .build();
            }
        }
    }
}

/// The metrics text, rendered once per collection: every instrument's callback of one
/// export reads the same rendering instead of rendering again.
struct Current {
    source: Source,
    rendered: Mutex<Option<(Instant, Arc<String>)>>,
}

/// How long one rendering serves the callbacks of a collection.
const FRESH: Duration = Duration::from_millis(500);

impl Current {
    fn text(&self) -> Arc<String> {
        let mut rendered = lock(&self.rendered);
        if let Some((at, text)) = rendered.as_ref()
            && at.elapsed() < FRESH
        {
            return text.clone();
        }
        let mut text = String::new();
        crate::exporter::render(&self.source.active.load(), &self.source.budget, &mut text);
        let text = Arc::new(text);
        *rendered = Some((Instant::now(), text.clone()));
        text
    }
}

/// An HTTP client for the exporters: each request runs on Sluice's runtime, whichever
/// thread the SDK exports from.
#[derive(Clone)]
struct RuntimeClient {
    handle: tokio::runtime::Handle,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for RuntimeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RuntimeClient")
    }
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let sent = self.handle.spawn(async move {
            let (parts, body) = request.into_parts();
            let request = Request::from_parts(parts, Full::new(body));
            let response = tokio::time::timeout(EXPORT_TIMEOUT, client.request(request))
                .await
                .map_err(|_| "the collector did not answer in time".to_owned())?
                .map_err(|e| e.to_string())?;
            let (parts, body) = response.into_parts();
            let body = tokio::time::timeout(EXPORT_TIMEOUT, body.collect())
                .await
                .map_err(|_| "the collector's answer did not arrive in time".to_owned())?
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>(Response::from_parts(parts, body))
        });
        let response = sent.await.map_err(|e| Box::new(e) as HttpError)?;
        response.map_err(|e| e.into())
    }
}
