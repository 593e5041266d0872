//! Accounting of the spans sent to a collector: exported, or dropped because the queue was
//! full (the collector did not keep up) or because the collector refused the batch or did not
//! answer. The SDK's batch processor drops silently past its queue, so Sluice bounds the queue
//! itself, in front of it: a span that would exceed [`SPAN_QUEUE`] spans waiting is dropped
//! and counted, and the batch processor's own queue (larger) never fills.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

/// Spans waiting for export, at most: past it new spans are dropped and counted, never
/// waited for.
pub(crate) const SPAN_QUEUE: usize = 8192;

/// What became of the spans ended, process-wide (across configurations).
#[derive(Debug, Default)]
pub(crate) struct SpanCounts {
    exported: AtomicU64,
    queue_full: AtomicU64,
    export_failed: AtomicU64,
}

/// Sluice's span counts.
pub(crate) static SPANS: SpanCounts = SpanCounts {
    exported: AtomicU64::new(0),
    queue_full: AtomicU64::new(0),
    export_failed: AtomicU64::new(0),
};

impl SpanCounts {
    /// Renders the counts in the Prometheus text format.
    pub(crate) fn render(&self, out: &mut String) {
        out.push_str("# HELP sluice_trace_spans_exported_total Spans the collector took.\n# TYPE sluice_trace_spans_exported_total counter\n");
        let _ = writeln!(
            out,
            "sluice_trace_spans_exported_total {}",
            self.exported.load(Ordering::Relaxed)
        );
        out.push_str("# HELP sluice_trace_spans_dropped_total Spans not exported: the queue was full (the collector did not keep up), or the collector refused the batch or did not answer.\n# TYPE sluice_trace_spans_dropped_total counter\n");
        for (reason, count) in [
            ("queue_full", &self.queue_full),
            ("export_failed", &self.export_failed),
        ] {
            let _ = writeln!(
                out,
                "sluice_trace_spans_dropped_total{{reason=\"{reason}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
    }
}

/// A span processor that lets at most `limit` spans wait for export, in front of `inner`.
#[derive(Debug)]
pub(crate) struct Bounded<P> {
    inner: P,
    waiting: Arc<AtomicUsize>,
    limit: usize,
    counts: &'static SpanCounts,
}

/// An exporter that counts what became of each batch, and frees its places in the queue.
#[derive(Debug)]
pub(crate) struct Counted<E> {
    inner: E,
    waiting: Arc<AtomicUsize>,
    counts: &'static SpanCounts,
}

/// The exporter to give the batch processor and the processor to put in front of it; they
/// share the count of spans waiting.
pub(crate) fn bounded<E, P>(
    exporter: E,
    limit: usize,
    counts: &'static SpanCounts,
) -> (Counted<E>, impl FnOnce(P) -> Bounded<P>) {
    let waiting = Arc::new(AtomicUsize::new(0));
    let counted = Counted {
        inner: exporter,
        waiting: waiting.clone(),
        counts,
    };
    let wrap = move |inner| Bounded {
        inner,
        waiting,
        limit,
        counts,
    };
    (counted, wrap)
}

impl<P: SpanProcessor> SpanProcessor for Bounded<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.limit {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            self.counts.queue_full.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        self.waiting.fetch_sub(spans, Ordering::Relaxed);
        let counter = match result {
            Ok(()) => &self.counts.exported,
            Err(_) => &self.counts.export_failed,
        };
        counter.fetch_add(spans as u64, Ordering::Relaxed);
        result
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::error::OTelSdkError;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
    use std::sync::atomic::AtomicBool;

    /// An exporter that takes or refuses every batch.
    #[derive(Debug)]
    struct Collector {
        up: Arc<AtomicBool>,
    }

    impl SpanExporter for Collector {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            if self.up.load(Ordering::Relaxed) {
                Ok(())
            } else {
                Err(OTelSdkError::InternalFailure("collector down".into()))
            }
        }
    }

    /// A processor that keeps every span and exports none: the queue only fills.
    #[derive(Debug, Default)]
    struct Stuck;

    impl SpanProcessor for Stuck {
        fn on_start(&self, _span: &mut Span, _cx: &Context) {}
        fn on_end(&self, _span: SpanData) {}
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    fn end_spans(provider: &SdkTracerProvider, how_many: usize) {
        let tracer = provider.tracer("test");
        for _ in 0..how_many {
            tracer.start("span").end();
        }
    }

    #[test]
    fn spans_past_the_queue_are_dropped_and_counted() {
        let counts: &'static SpanCounts = Box::leak(Box::default());
        let (_, wrap) = bounded(
            Collector {
                up: Arc::new(AtomicBool::new(true)),
            },
            3,
            counts,
        );
        let provider = SdkTracerProvider::builder()
            .with_span_processor(wrap(Stuck))
            .build();
        end_spans(&provider, 10);
        assert_eq!(counts.queue_full.load(Ordering::Relaxed), 7);
        let mut text = String::new();
        counts.render(&mut text);
        assert!(
            text.contains("sluice_trace_spans_dropped_total{reason=\"queue_full\"} 7\n"),
            "{text}"
        );
    }

    #[test]
    fn exported_and_failed_batches_are_counted_and_free_the_queue() {
        let counts: &'static SpanCounts = Box::leak(Box::default());
        let up = Arc::new(AtomicBool::new(true));
        let (counted, wrap) = bounded(Collector { up: up.clone() }, 2, counts);
        let provider = SdkTracerProvider::builder()
            .with_span_processor(wrap(SimpleSpanProcessor::new(counted)))
            .build();
        end_spans(&provider, 5);
        up.store(false, Ordering::Relaxed);
        end_spans(&provider, 4);
        assert_eq!(counts.exported.load(Ordering::Relaxed), 5);
        assert_eq!(counts.export_failed.load(Ordering::Relaxed), 4);
        assert_eq!(
            counts.queue_full.load(Ordering::Relaxed),
            0,
            "each export frees its spans' places"
        );
    }
}
