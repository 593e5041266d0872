//! The `telemetry` section and each binding's `telemetry`.

use super::{Compiler, binding_pointer};
use crate::error::pointer_token;
use crate::spec::{ExporterType, OtlpOptionsSpec, OtlpSignal, PrometheusOptionsSpec};
use crate::table::telemetry::{
    FOREIGN_METRICS, METRICS, OtlpExporter, PrometheusEndpoint, Telemetry, matching_metrics,
};

impl Compiler<'_> {
    pub(super) fn compile_telemetry(&mut self) -> Telemetry {
        let mut telemetry = Telemetry::default();
        let mut selected: Vec<&'static str> = Vec::new();
        let mut listed = false;
        if let Some(spec) = &self.spec.telemetry {
            for (name, value) in &spec.attributes {
                telemetry.attributes.push((label_name(name), value.clone()));
            }
            listed |= !spec.metrics.is_empty();
            for (index, pattern) in spec.metrics.iter().enumerate() {
                self.select(
                    pattern,
                    &format!("/telemetry/metrics/{index}"),
                    &mut selected,
                );
            }
            for (name, exporter) in &spec.exporters {
                let at = format!("/telemetry/exporters/{}", pointer_token(name));
                self.exporter(name, exporter, &at, &mut telemetry);
            }
        }
        for (name, binding) in &self.spec.bindings {
            let Some(own) = &binding.telemetry else {
                continue;
            };
            listed |= !own.metrics.is_empty();
            let at = format!("{}/telemetry/metrics", binding_pointer(name));
            for (index, pattern) in own.metrics.iter().enumerate() {
                self.select(pattern, &format!("{at}/{index}"), &mut selected);
            }
        }
        if listed {
            let mut series: Vec<&'static str> = METRICS
                .iter()
                .filter(|(name, _)| selected.contains(name))
                .flat_map(|(_, series)| series.iter().copied())
                .collect();
            series.sort_unstable();
            series.dedup();
            telemetry.series = Some(series);
        }
        telemetry
    }

    fn select(&mut self, pattern: &str, at: &str, selected: &mut Vec<&'static str>) {
        let before = selected.len();
        for name in matching_metrics(pattern) {
            if !selected.contains(&name) {
                selected.push(name);
            }
        }
        if selected.len() > before || matching_metrics(pattern).next().is_some() {
            return;
        }
        let message = match FOREIGN_METRICS
            .iter()
            .find(|(prefix, _)| pattern.starts_with(prefix))
        {
            Some((_, bindings)) => {
                format!("metric '{pattern}' belongs to {bindings}, which sluice does not implement")
            }
            None => format!(
                "unknown metric '{pattern}'; sluice records http.* and stream.* (see docs/zilla.md)"
            ),
        };
        self.errors.push(at, message);
    }

    fn exporter(
        &mut self,
        name: &str,
        exporter: &crate::spec::ExporterSpec,
        at: &str,
        telemetry: &mut Telemetry,
    ) {
        match exporter.exporter_type {
            ExporterType::Stdout => {
                if exporter.options.is_some() {
                    self.errors.push(
                        format!("{at}/options"),
                        "a stdout exporter takes no options",
                    );
                }
                telemetry.stdout = true;
            }
            ExporterType::Prometheus => {
                let options = exporter.options.clone().unwrap_or_default();
                let Some(options) = crate::spec::typed_value::<PrometheusOptionsSpec>(
                    options,
                    &format!("{at}/options"),
                    &mut self.errors,
                ) else {
                    return;
                };
                for (index, endpoint) in options.endpoints.iter().enumerate() {
                    let here = format!("{at}/options/endpoints/{index}");
                    if endpoint.scheme != "http" {
                        self.errors.push(
                            format!("{here}/scheme"),
                            format!("scheme '{}' is not supported; use http", endpoint.scheme),
                        );
                    }
                    let path = endpoint
                        .path
                        .clone()
                        .unwrap_or_else(|| "/metrics".to_owned());
                    if !path.starts_with('/') {
                        self.errors
                            .push(format!("{here}/path"), "the path must start with '/'");
                    }
                    telemetry.prometheus.push(PrometheusEndpoint {
                        exporter: name.to_owned(),
                        host: endpoint
                            .host
                            .clone()
                            .unwrap_or_else(|| "127.0.0.1".to_owned()),
                        port: endpoint.port,
                        path,
                    });
                }
            }
            ExporterType::Otlp => {
                if let Some(otlp) = self.otlp(name, exporter, at) {
                    telemetry.otlp.push(otlp);
                }
            }
        }
    }

    /// Prometheus endpoints must not take a port a listener or another endpoint has.
    pub(super) fn check_telemetry_ports(
        &mut self,
        telemetry: &Telemetry,
        listeners: &[crate::table::Listener],
    ) {
        for (index, endpoint) in telemetry.prometheus.iter().enumerate() {
            let taken_by_listener = listeners.iter().any(|l| l.port == endpoint.port);
            let taken_before = telemetry.prometheus[..index]
                .iter()
                .any(|e| e.port == endpoint.port);
            if endpoint.port != 0 && (taken_by_listener || taken_before) {
                self.errors.push(
                    format!(
                        "/telemetry/exporters/{}/options/endpoints",
                        pointer_token(&endpoint.exporter)
                    ),
                    format!(
                        "port {} is already used by a listener or endpoint",
                        endpoint.port
                    ),
                );
            }
        }
    }
}

impl Compiler<'_> {
    /// An `otlp` exporter: OTLP/HTTP (protobuf) to an `http://` collector.
    fn otlp(
        &mut self,
        name: &str,
        exporter: &crate::spec::ExporterSpec,
        at: &str,
    ) -> Option<OtlpExporter> {
        let options = crate::spec::typed_value::<OtlpOptionsSpec>(
            exporter.options.clone().unwrap_or_default(),
            &format!("{at}/options"),
            &mut self.errors,
        )?;
        let endpoint = &options.endpoint;
        let here = format!("{at}/options/endpoint");
        let mut valid = true;
        if endpoint.protocol.as_deref().is_some_and(|p| p != "http") {
            self.errors
                .push(format!("{here}/protocol"), "only http is supported");
            valid = false;
        }
        let location = endpoint.location.trim_end_matches('/');
        let https = location.starts_with("https://");
        if !(https || location.starts_with("http://"))
            || location
                .split_once("://")
                .is_none_or(|(_, host)| host.is_empty())
        {
            self.errors.push(
                format!("{here}/location"),
                format!("'{location}' is not an http:// or https:// URL"),
            );
            valid = false;
        }
        let vault = exporter.vault.as_deref();
        let tls = self.https_tls(name, "exporter", vault, options.tls.as_ref(), https, at);
        valid &= tls.is_ok();
        let (interval, sampling) = self.otlp_numbers(&options, at);
        valid &= interval.is_some() && sampling.is_some();
        let (interval, sampling) = (interval.unwrap_or(30), sampling.unwrap_or(1.0));
        let signals = options
            .signals
            .clone()
            .unwrap_or_else(|| vec![OtlpSignal::Metrics, OtlpSignal::Logs]);
        let overrides = endpoint.overrides.as_ref();
        let path = |given: Option<&String>, default: &str| {
            let path = given.map_or(default, String::as_str);
            format!("{location}{path}")
        };
        valid.then(|| OtlpExporter {
            exporter: name.to_owned(),
            metrics_url: signals
                .contains(&OtlpSignal::Metrics)
                .then(|| path(overrides.and_then(|o| o.metrics.as_ref()), "/v1/metrics")),
            logs_url: signals
                .contains(&OtlpSignal::Logs)
                .then(|| path(overrides.and_then(|o| o.logs.as_ref()), "/v1/logs")),
            traces_url: signals
                .contains(&OtlpSignal::Traces)
                .then(|| path(overrides.and_then(|o| o.traces.as_ref()), "/v1/traces")),
            // In 0..=1, so the product fits.
            sampling_ppm: (sampling * 1_000_000.0).round() as u32,
            interval_seconds: interval,
            authorization: options.credentials.and_then(|c| c.headers.authorization),
            tls: tls.ok().flatten(),
        })
    }
}

impl Compiler<'_> {
    /// An `otlp` exporter's export interval (seconds, default 30) and trace sampling ratio
    /// (default 1); `None` for one out of range, with the error.
    fn otlp_numbers(&mut self, options: &OtlpOptionsSpec, at: &str) -> (Option<u64>, Option<f64>) {
        let interval = options.interval.unwrap_or(30);
        let interval = if (1..=3600).contains(&interval) {
            Some(interval)
        } else {
            self.errors.push(
                format!("{at}/options/interval"),
                format!("{interval} is outside 1..=3600 seconds"),
            );
            None
        };
        let sampling = options.sampling.unwrap_or(1.0);
        let sampling = if (0.0..=1.0).contains(&sampling) {
            Some(sampling)
        } else {
            self.errors.push(
                format!("{at}/options/sampling"),
                format!("{sampling} is outside 0..=1"),
            );
            None
        };
        (interval, sampling)
    }
}

/// A Prometheus label name for attribute `name`.
fn label_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
