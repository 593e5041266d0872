//! Traces: a small OTLP receiver decodes the spans Sluice sends and checks the tree of a
//! one-way produce (server span, guard and route phases, the Kafka send with partition and
//! offset, the record's `traceparent` naming that send), of a sync request-response (the
//! wait for the reply linked to the trace the reply carries) and of an SSE delivery (linked
//! to the record's trace).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result};
use http::{Method, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use sluice_tests::collector::{Export, receiver};
use sluice_tests::{Answer, Responder, Sluice, broker, closed_port, config};
use tokio::sync::mpsc::UnboundedReceiver;

const PORT: u16 = 7114;
const WAIT: Duration = Duration::from_secs(20);
/// The client's trace: its id and the span that called Sluice.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

struct Topics {
    orders: String,
    requests: String,
    replies: String,
    events: String,
}

fn traced_config(collector: u16, topics: &Topics, sampling: &str) -> String {
    let routes = format!(
        r#"      - when: [ {{ method: POST, path: /orders }} ]
        exit: cache
        with: {{ capability: produce, topic: {orders}, key: order-1 }}
      - when: [ {{ method: PUT, path: "/sync/{{id}}" }} ]
        exit: cache
        with: {{ capability: produce, topic: {requests}, key: "${{params.id}}", reply-to: {replies}, reply-timeout-ms: 10000 }}"#,
        orders = topics.orders,
        requests = topics.requests,
        replies = topics.replies,
    );
    let telemetry = format!(
        r#"telemetry:
  exporters:
    collector:
      type: otlp
      options:
        signals: [ traces ]
        sampling: {sampling}
        endpoint: {{ protocol: http, location: "http://127.0.0.1:{collector}" }}
bindings:"#
    );
    config(PORT, "", &routes, "")
        .replacen("bindings:", &telemetry, 1)
        .replace(
            "        exit: echo\n    exit: mapping",
            "        exit: echo\n      - when: [ { headers: { \":path\": /stream } } ]\n        exit: sse\n    exit: mapping",
        )
        + &format!(
            r#"  sse:
    type: sse
    kind: server
    exit: sse_kafka
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ {{ path: /stream }} ]
        exit: cache
        with: {{ topic: {events} }}
"#,
            events = topics.events
        )
}

/// Every span the receiver gets until `done` holds of them, or `WAIT` passes.
async fn spans_until(
    exports: &mut UnboundedReceiver<Export>,
    spans: &mut Vec<Span>,
    what: &str,
    done: impl Fn(&[Span]) -> bool,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(spans) {
        let (path, _, body) = tokio::time::timeout_at(deadline, exports.recv())
            .await
            .with_context(|| format!("{what}: not exported within {WAIT:?}; got {spans:#?}"))?
            .context("receiver gone")?;
        assert_eq!(path, "/v1/traces");
        decode_into(body, spans)?;
    }
    Ok(())
}

/// The spans of one OTLP export, added to `spans`.
fn decode_into(body: bytes::Bytes, spans: &mut Vec<Span>) -> Result<()> {
    let request = ExportTraceServiceRequest::decode(body)?;
    spans.extend(
        request
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans),
    );
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attributes(span: &Span) -> HashMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                Some(Value::IntValue(i)) => i.to_string(),
                Some(Value::BoolValue(b)) => b.to_string(),
                Some(Value::DoubleValue(d)) => d.to_string(),
                _ => String::new(),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_followed_from_http_through_kafka_to_the_reply_and_to_sse() -> Result<()> {
    let topics = Topics {
        orders: broker().topic("traced-orders").await?,
        requests: broker().topic("traced-requests").await?,
        replies: broker().topic("traced-replies").await?,
        events: broker().topic("traced-events").await?,
    };
    // The service behind the request topic continues the trace: its reply names a span of
    // its own in the same trace.
    let _responder = Responder::start(&topics.requests, &topics.replies, |record| {
        let parent = record.header("traceparent").unwrap_or_default();
        let trace = parent.split('-').nth(1).unwrap_or_default().to_owned();
        Answer {
            status: Some("200".to_owned()),
            headers: vec![(
                "traceparent".to_owned(),
                format!("00-{trace}-aaaaaaaaaaaaaaaa-01"),
            )],
            body: b"done".to_vec(),
            ..Answer::default()
        }
    })?;
    let (collector, mut exports) = receiver(false).await?;
    let sluice = Sluice::with_config(&traced_config(collector, &topics, "1")).await?;
    let traceparent = format!("00-{TRACE_ID}-{CLIENT_SPAN}-01");

    // --- One-way produce, in the client's trace.
    let posted = sluice
        .send(
            PORT,
            Method::POST,
            "/orders",
            &[("traceparent", &traceparent), ("tracestate", "vendor=1")],
            "order",
        )
        .await?;
    assert_eq!(posted.status, StatusCode::NO_CONTENT);
    let mut spans = Vec::new();
    spans_until(&mut exports, &mut spans, "the produce's spans", |s| {
        s.iter().any(|s| s.name == "POST") && s.iter().any(|s| s.name.starts_with("send "))
    })
    .await?;
    let server = named(&spans, "POST")[0];
    assert_eq!(
        hex(&server.trace_id),
        TRACE_ID,
        "the client's trace goes on"
    );
    assert_eq!(hex(&server.parent_span_id), CLIENT_SPAN);
    assert_eq!(server.kind, SpanKind::Server as i32);
    let server_attributes = attributes(server);
    assert_eq!(server_attributes["http.request.method"], "POST");
    assert_eq!(server_attributes["url.path"], "/orders");
    assert_eq!(server_attributes["http.response.status_code"], "204");
    for phase in ["guard", "route"] {
        let span = named(&spans, phase)
            .into_iter()
            .find(|s| s.parent_span_id == server.span_id)
            .with_context(|| format!("a {phase} span under the request: {spans:#?}"))?;
        assert_eq!(span.trace_id, server.trace_id);
    }
    let send = named(&spans, &format!("send {}", topics.orders))[0];
    assert_eq!(send.kind, SpanKind::Producer as i32);
    assert_eq!(send.parent_span_id, server.span_id);
    let send_attributes = attributes(send);
    assert_eq!(send_attributes["messaging.system"], "kafka");
    assert_eq!(send_attributes["messaging.destination.name"], topics.orders);
    assert_eq!(send_attributes["messaging.kafka.message.key"], "order-1");
    assert_eq!(send_attributes["messaging.destination.partition.id"], "0");
    assert_eq!(send_attributes["messaging.kafka.offset"], "0");
    let record = &broker().read(&topics.orders, 1, WAIT).await?[0];
    assert_eq!(
        record.header("traceparent"),
        Some(format!("00-{TRACE_ID}-{}-01", hex(&send.span_id))),
        "the record carries the send span's context"
    );
    assert_eq!(record.header("tracestate").as_deref(), Some("vendor=1"));

    // --- Sync request-response: request and reply linked.
    let answered = sluice
        .send(
            PORT,
            Method::PUT,
            "/sync/9",
            &[("traceparent", &traceparent)],
            "x",
        )
        .await?;
    assert_eq!(answered.status, StatusCode::OK, "{answered:?}");
    spans_until(&mut exports, &mut spans, "the exchange's spans", |s| {
        s.iter().any(|s| s.name == "wait for reply") && s.iter().any(|s| s.name == "PUT")
    })
    .await?;
    let server = named(&spans, "PUT")[0];
    assert_eq!(hex(&server.trace_id), TRACE_ID);
    let send = named(&spans, &format!("send {}", topics.requests))[0];
    assert_eq!(send.parent_span_id, server.span_id);
    let request = &broker().read(&topics.requests, 1, WAIT).await?[0];
    assert_eq!(
        Some(attributes(send)["messaging.message.conversation_id"].clone()),
        request.header("zilla:correlation-id"),
        "the correlation id"
    );
    let wait = named(&spans, "wait for reply")[0];
    assert_eq!(wait.parent_span_id, server.span_id);
    let link = wait.links.first().context("the wait links to the reply")?;
    assert_eq!(hex(&link.trace_id), TRACE_ID);
    assert_eq!(hex(&link.span_id), "aaaaaaaaaaaaaaaa");
    assert_eq!(
        request.header("traceparent"),
        Some(format!("00-{TRACE_ID}-{}-01", hex(&send.span_id))),
        "the request record names the send span, not the client's"
    );

    // --- An SSE delivery of a record written by a traced producer elsewhere.
    let (status, _, mut stream) = sluice.stream(PORT, "/stream", &[]).await?;
    assert_eq!(status, StatusCode::OK);
    let producer_trace = "0af7651916cd43dd8448eb211c80319c";
    let producer_span = "b7ad6b7169203331";
    broker()
        .produce(
            &topics.events,
            "e",
            Some(b"event"),
            &[(
                "traceparent",
                &format!("00-{producer_trace}-{producer_span}-01"),
            )],
        )
        .await?;
    assert_eq!(stream.next(WAIT).await?.data, "event");
    let name = format!("deliver {}", topics.events);
    spans_until(&mut exports, &mut spans, "the delivery's span", |s| {
        s.iter().any(|s| s.name == name)
    })
    .await?;
    let delivery = named(&spans, &name)[0];
    assert_eq!(delivery.kind, SpanKind::Consumer as i32);
    let link = delivery.links.first().context("linked to the record")?;
    assert_eq!(hex(&link.trace_id), producer_trace);
    assert_eq!(hex(&link.span_id), producer_span);
    // What the collector took is counted.
    let exported = spans.len() as f64;
    sluice
        .gauge_at_least("sluice_trace_spans_exported_total", exported)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_costs_requests_nothing_and_its_spans_are_counted_as_dropped()
-> Result<()> {
    let topics = Topics {
        orders: broker().topic("untraced-orders").await?,
        requests: broker().topic("untraced-requests").await?,
        replies: broker().topic("untraced-replies").await?,
        events: broker().topic("untraced-events").await?,
    };
    let nobody = closed_port()?;
    let sluice = Sluice::with_config(&traced_config(nobody, &topics, "1")).await?;
    for n in 0..20 {
        let posted = tokio::time::timeout(
            WAIT,
            sluice.send(PORT, Method::POST, "/orders", &[], n.to_string()),
        )
        .await
        .context("a request waited for the collector")??;
        assert_eq!(posted.status, StatusCode::NO_CONTENT);
    }
    sluice
        .gauge_at_least(
            "sluice_trace_spans_dropped_total{reason=\"export_failed\"}",
            1.0,
        )
        .await?;
    assert_eq!(broker().read(&topics.orders, 20, WAIT).await?.len(), 20);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_keeps_a_share_of_new_traces_and_every_sampled_client_trace() -> Result<()> {
    let topics = Topics {
        orders: broker().topic("sampled-orders").await?,
        requests: broker().topic("sampled-requests").await?,
        replies: broker().topic("sampled-replies").await?,
        events: broker().topic("sampled-events").await?,
    };
    let (collector, mut exports) = receiver(false).await?;
    let sluice = Sluice::with_config(&traced_config(collector, &topics, "0")).await?;
    // Sampling 0: no new trace is recorded, but the context still reaches Kafka.
    for _ in 0..20 {
        let posted = sluice
            .send(PORT, Method::POST, "/orders", &[], "order")
            .await?;
        assert_eq!(posted.status, StatusCode::NO_CONTENT);
    }
    // A client that sampled its trace is recorded whatever the ratio.
    let traceparent = format!("00-{TRACE_ID}-{CLIENT_SPAN}-01");
    let posted = sluice
        .send(
            PORT,
            Method::POST,
            "/orders",
            &[("traceparent", &traceparent)],
            "o",
        )
        .await?;
    assert_eq!(posted.status, StatusCode::NO_CONTENT);
    let mut spans = Vec::new();
    spans_until(&mut exports, &mut spans, "the sampled request", |s| {
        s.iter().any(|s| s.name == "POST")
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    while let Ok((_, _, body)) = exports.try_recv() {
        decode_into(body, &mut spans)?;
    }
    let servers = named(&spans, "POST");
    assert_eq!(
        servers.len(),
        1,
        "only the client's sampled trace: {spans:#?}"
    );
    assert_eq!(hex(&servers[0].trace_id), TRACE_ID);
    // A client's unsampled trace goes on in Kafka: same trace, a span of Sluice, not sampled.
    let unsampled = "0af7651916cd43dd8448eb211c80319c";
    let posted = sluice
        .send(
            PORT,
            Method::POST,
            "/orders",
            &[("traceparent", &format!("00-{unsampled}-{CLIENT_SPAN}-00"))],
            "u",
        )
        .await?;
    assert_eq!(posted.status, StatusCode::NO_CONTENT);
    let records = broker().read(&topics.orders, 22, WAIT).await?;
    for record in &records[..20] {
        let header = record
            .header("traceparent")
            .context("every record has one")?;
        assert!(header.ends_with("-00"), "not sampled: {header}");
    }
    let carried = records[21]
        .header("traceparent")
        .context("the unsampled client's record has one")?;
    assert!(
        carried.starts_with(&format!("00-{unsampled}-")) && carried.ends_with("-00"),
        "{carried}"
    );
    assert!(
        !carried.contains(CLIENT_SPAN),
        "a span of Sluice: {carried}"
    );
    Ok(())
}

#[tokio::test]
async fn without_an_exporter_the_clients_context_reaches_kafka_unless_turned_off() -> Result<()> {
    let topic = broker().topic("propagated").await?;
    let routes = format!(
        "      - when: [ {{ method: POST, path: /orders }} ]\n        exit: cache\n        with: {{ capability: produce, topic: {topic} }}"
    );
    let traceparent = format!("00-{TRACE_ID}-{CLIENT_SPAN}-01");
    let headers = [("traceparent", traceparent.as_str()), ("tracestate", "a=b")];
    let on = Sluice::with_config(&config(PORT, "", &routes, "")).await?;
    let posted = on
        .send(PORT, Method::POST, "/orders", &headers, "1")
        .await?;
    assert_eq!(posted.status, StatusCode::NO_CONTENT);
    on.app.shutdown(Duration::from_secs(1)).await;
    drop(on);
    let off_config = config(PORT, "", &routes, "").replace(
        "    type: http-kafka\n    kind: proxy",
        "    type: http-kafka\n    kind: proxy\n    options: { trace-context: false }",
    );
    let off = Sluice::with_config(&off_config).await?;
    let posted = off
        .send(PORT, Method::POST, "/orders", &headers, "2")
        .await?;
    assert_eq!(posted.status, StatusCode::NO_CONTENT);
    let records = broker().read(&topic, 2, WAIT).await?;
    assert_eq!(records[0].header("traceparent"), Some(traceparent.clone()));
    assert_eq!(records[0].header("tracestate").as_deref(), Some("a=b"));
    assert_eq!(
        records[1].header("traceparent"),
        None,
        "trace-context: false"
    );
    Ok(())
}
