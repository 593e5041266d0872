//! Traces: the W3C trace context of a request (its `traceparent` and `tracestate`), one
//! server span per request with a child span per phase (guard, route, the produce with the
//! broker's acknowledgement, the wait for a reply), the context carried into Kafka as record
//! headers, and a span per SSE delivery of a record that carries one.
//!
//! Spans are made with the opentelemetry SDK and exported by an `otlp` exporter with
//! `signals: [traces]` (see `otlp.rs`). Without one, nothing here runs but the propagation:
//! a request's own `traceparent` is copied into the records it produces, unchanged.
//!
//! While a request is served, its [`RequestTrace`] sits in the request's extensions, so a
//! phase finds its parent without another parameter on the data path.

use std::sync::atomic::Ordering;

use http::request::Parts;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{
    Link, SamplingDecision, Span as _, SpanContext, SpanKind, Status, TraceContextExt as _,
    TraceFlags, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    IdGenerator as _, RandomIdGenerator, Sampler, SdkTracer, ShouldSample as _, Span,
};
use rdkafka::message::{Header, OwnedHeaders};

use crate::kafka::feed::Record;

/// The W3C header names.
pub(crate) const TRACEPARENT: &str = "traceparent";
pub(crate) const TRACESTATE: &str = "tracestate";

/// SSE deliveries of one record recorded as spans, at most: a record fanned out to
/// thousands of streams gives this many spans, not thousands.
const DELIVERY_SPANS_PER_RECORD: u32 = 4;

/// The tracer of an applied configuration (one pointer: every SSE stream holds one).
#[derive(Clone)]
pub(crate) struct Tracing {
    tracer: std::sync::Arc<SdkTracer>,
    /// The tracer's own sampler, asked first, so that a request it drops makes no SDK span.
    sampler: std::sync::Arc<Sampler>,
}

impl Tracing {
    pub(crate) fn new(tracer: SdkTracer, sampler: Sampler) -> Self {
        Self {
            tracer: std::sync::Arc::new(tracer),
            sampler: std::sync::Arc::new(sampler),
        }
    }

    /// Starts the server span of a request: a child of the client's `traceparent`, or the
    /// root of a new trace. A request the sampler drops gets only a span context (what its
    /// records carry): no span, no attributes, no clock read.
    pub(crate) fn request(&self, parts: &Parts, port: u16) -> RequestTrace {
        let parent = TraceContextPropagator::new().extract(&HeaderExtractor(&parts.headers));
        let carried = parent.span().span_context().clone();
        let trace_id = if carried.is_valid() {
            carried.trace_id()
        } else {
            RandomIdGenerator::default().new_trace_id()
        };
        let name = method_name(&parts.method);
        let sampling =
            self.sampler
                .should_sample(Some(&parent), trace_id, &name, &SpanKind::Server, &[], &[]);
        if sampling.decision == SamplingDecision::Drop {
            let context = SpanContext::new(
                trace_id,
                RandomIdGenerator::default().new_span_id(),
                TraceFlags::default(),
                false,
                carried.trace_state().clone(),
            );
            return RequestTrace {
                tracer: std::sync::Arc::clone(&self.tracer),
                state: TraceState::Dropped(context),
            };
        }
        let mut span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_trace_id(trace_id)
            .with_sampling_result(sampling)
            .start_with_context(&*self.tracer, &parent);
        span.set_attributes([
            KeyValue::new("http.request.method", method_name(&parts.method)),
            KeyValue::new("url.path", parts.uri.path().to_owned()),
            KeyValue::new("server.port", i64::from(port)),
            KeyValue::new("network.protocol.version", protocol(parts.version)),
        ]);
        if let Some(agent) = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
        {
            span.set_attribute(KeyValue::new("user_agent.original", agent.to_owned()));
        }
        RequestTrace {
            tracer: std::sync::Arc::clone(&self.tracer),
            state: TraceState::Sampled(parent.with_span(span)),
        }
    }

    /// Records the delivery of `record` (from `topic`) to an SSE stream, linked to the trace
    /// the record carries; the first few streams of each record only.
    pub(crate) fn delivered(&self, record: &Record, topic: &str) {
        let Some(traceparent) = record.header(TRACEPARENT) else {
            return;
        };
        if record.traced.fetch_add(1, Ordering::Relaxed) >= DELIVERY_SPANS_PER_RECORD {
            return;
        }
        let Some(context) = parse(traceparent, None) else {
            return;
        };
        let mut span = self
            .tracer
            .span_builder(format!("deliver {topic}"))
            .with_kind(SpanKind::Consumer)
            .with_links(vec![Link::with_context(context)])
            .with_attributes(vec![
                KeyValue::new("messaging.system", "kafka"),
                KeyValue::new("messaging.operation.type", "process"),
                KeyValue::new("messaging.destination.name", topic.to_owned()),
                KeyValue::new(
                    "messaging.destination.partition.id",
                    record.partition.to_string(),
                ),
                KeyValue::new("messaging.kafka.offset", record.offset),
            ])
            .start_with_context(&*self.tracer, &Context::new());
        span.end();
    }
}

/// A request's method as a span name, without a copy for the standard ones.
fn method_name(method: &http::Method) -> std::borrow::Cow<'static, str> {
    use http::Method;
    let name = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => return std::borrow::Cow::Owned(method.as_str().to_owned()),
    };
    std::borrow::Cow::Borrowed(name)
}

/// `HTTP/1.1` and so on, as the semantic conventions write it.
fn protocol(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// The trace of one request while it is served.
#[derive(Clone)]
pub(crate) struct RequestTrace {
    tracer: std::sync::Arc<SdkTracer>,
    state: TraceState,
}

#[derive(Clone)]
enum TraceState {
    /// Recorded: the context holds the request's span.
    Sampled(Context),
    /// Not recorded: the trace goes on (records carry this context), without spans.
    Dropped(SpanContext),
}

impl RequestTrace {
    /// Ends the request's span with the answer's status.
    pub(crate) fn finish(&self, status: u16) {
        let TraceState::Sampled(cx) = &self.state else {
            return;
        };
        let span = cx.span();
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ));
        if status >= 500 {
            span.set_status(Status::error(status.to_string()));
        }
        span.end();
    }

    /// A child span of the request for one of its phases, when the request is sampled; it
    /// ends when dropped.
    fn child(
        &self,
        name: impl FnOnce() -> std::borrow::Cow<'static, str>,
        kind: SpanKind,
        attributes: impl FnOnce() -> Vec<KeyValue>,
    ) -> Option<Span> {
        let TraceState::Sampled(cx) = &self.state else {
            return None;
        };
        Some(
            self.tracer
                .span_builder(name())
                .with_kind(kind)
                .with_attributes(attributes())
                .start_with_context(&*self.tracer, cx),
        )
    }
}

/// Notes on the request's span the route that serves it: its binding and position.
pub(crate) fn routed(parts: &Parts, binding: &str, index: usize) {
    if let Some(RequestTrace {
        state: TraceState::Sampled(cx),
        ..
    }) = parts.extensions.get::<RequestTrace>()
    {
        let span = cx.span();
        span.set_attribute(KeyValue::new("sluice.binding", binding.to_owned()));
        span.set_attribute(KeyValue::new("sluice.route", index as i64));
    }
}

/// A phase of a request (`guard`, `route`, `wait for reply`), when the request is traced;
/// the span ends when the phase is dropped.
pub(crate) fn phase(parts: &Parts, name: &'static str) -> Option<Span> {
    let trace = parts.extensions.get::<RequestTrace>()?;
    trace.child(|| name.into(), SpanKind::Internal, Vec::new)
}

/// The span of producing one record to `topic`, when the request is traced.
pub(crate) fn produce(parts: &Parts, topic: &str, key: Option<&[u8]>) -> Option<Span> {
    let trace = parts.extensions.get::<RequestTrace>()?;
    let attributes = || {
        let mut attributes = vec![
            KeyValue::new("messaging.system", "kafka"),
            KeyValue::new("messaging.operation.type", "send"),
            KeyValue::new("messaging.operation.name", "send"),
            KeyValue::new("messaging.destination.name", topic.to_owned()),
        ];
        if let Some(key) = key.and_then(|k| std::str::from_utf8(k).ok()) {
            attributes.push(KeyValue::new("messaging.kafka.message.key", key.to_owned()));
        }
        attributes
    };
    trace.child(
        || format!("send {topic}").into(),
        SpanKind::Producer,
        attributes,
    )
}

/// Notes where Kafka put the record, or why it did not, on the produce span.
pub(crate) fn produced<T>(
    span: Option<Span>,
    sent: &Result<(i32, i64), T>,
    correlation_id: Option<&str>,
) where
    T: std::fmt::Display,
{
    let Some(mut span) = span else { return };
    if let Some(id) = correlation_id {
        span.set_attribute(KeyValue::new(
            "messaging.message.conversation_id",
            id.to_owned(),
        ));
    }
    match sent {
        Ok((partition, offset)) => {
            span.set_attribute(KeyValue::new(
                "messaging.destination.partition.id",
                partition.to_string(),
            ));
            span.set_attribute(KeyValue::new("messaging.kafka.offset", *offset));
        }
        Err(error) => span.set_status(Status::error(error.to_string())),
    }
    span.end();
}

/// Adds a link from `span` to the trace a reply record carries.
pub(crate) fn link_reply(span: Option<&mut Span>, headers: &[(String, bytes::Bytes)]) {
    let Some(span) = span else { return };
    let carried = headers
        .iter()
        .find(|(name, _)| name == TRACEPARENT)
        .and_then(|(_, value)| parse(value, None));
    if let Some(context) = carried {
        span.add_link(context, vec![KeyValue::new("sluice.link", "reply")]);
    }
}

/// Adds the trace context to a record's headers: the produce span's when the request is
/// sampled, the request's own context when the sampler dropped it, else (no exporter) the
/// request's own `traceparent` and `tracestate`, unchanged.
pub(crate) fn inject(headers: OwnedHeaders, parts: &Parts, span: Option<&Span>) -> OwnedHeaders {
    if let Some(span) = span {
        return carry(headers, span.span_context());
    }
    if let Some(RequestTrace {
        state: TraceState::Dropped(context),
        ..
    }) = parts.extensions.get::<RequestTrace>()
    {
        return carry(headers, context);
    }
    let mut headers = headers;
    for name in [TRACEPARENT, TRACESTATE] {
        if let Some(value) = parts.headers.get(name) {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
    }
    headers
}

/// `context` as `traceparent` and `tracestate` headers.
fn carry(mut headers: OwnedHeaders, context: &SpanContext) -> OwnedHeaders {
    // `00-<32 hex>-<16 hex>-<2 hex>`: 55 bytes, written on the stack.
    let mut traceparent = [0u8; 55];
    let mut cursor = std::io::Cursor::new(&mut traceparent[..]);
    let written = std::io::Write::write_fmt(
        &mut cursor,
        format_args!(
            "00-{}-{}-{:02x}",
            context.trace_id(),
            context.span_id(),
            context.trace_flags().to_u8()
        ),
    );
    let length = usize::try_from(cursor.position()).unwrap_or(0);
    if written.is_ok() {
        headers = headers.insert(Header {
            key: TRACEPARENT,
            value: Some(&traceparent[..length]),
        });
    }
    let state = context.trace_state().header();
    if !state.is_empty() {
        headers = headers.insert(Header {
            key: TRACESTATE,
            value: Some(state.as_bytes()),
        });
    }
    headers
}

/// The span context a `traceparent` value names, when it is well formed.
fn parse(traceparent: &[u8], tracestate: Option<&str>) -> Option<SpanContext> {
    let text = std::str::from_utf8(traceparent).ok()?;
    let mut carrier = std::collections::HashMap::new();
    carrier.insert(TRACEPARENT.to_owned(), text.to_owned());
    if let Some(state) = tracestate {
        carrier.insert(TRACESTATE.to_owned(), state.to_owned());
    }
    let context = TraceContextPropagator::new().extract(&carrier);
    let span = context.span().span_context().clone();
    span.is_valid().then_some(span)
}
