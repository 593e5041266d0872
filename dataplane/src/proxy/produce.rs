//! One-way produce: one HTTP request becomes one Kafka record, answered 204 once the broker
//! acknowledged it at the route's `acks` level.
//!
//! - key: `with.key` rendered (`${params.x}`, `${idempotencyKey}`), or a null key;
//! - headers: the request's `content-type`, then `with.overrides` in configuration order;
//!   nothing else of the request is copied (never `authorization` or `cookie`);
//! - value: the body; `DELETE` writes a tombstone (null value) and ignores any body.

use http::request::Parts;
use http::{Method, Response, StatusCode, header};
use hyper::body::Incoming;
use rdkafka::message::{Header, OwnedHeaders};
use sluice_shared::table::ProduceAction;

use super::body::read_body;
use super::context::{ProduceRequest, Values, idempotency_key, render_topic};
use super::validate::record;
use crate::error::DataPlaneError;
use crate::kafka::Record;
use crate::response::{self, Body};
use crate::snapshot::Snapshot;
use crate::trace;

/// Produces the record for `request` and answers 204.
pub(crate) async fn oneway(
    active: &Snapshot,
    request: ProduceRequest<'_>,
    body: Incoming,
) -> Result<Response<Body>, DataPlaneError> {
    let ProduceRequest {
        binding,
        action,
        params,
        parts,
        limits,
        identity,
        models,
    } = request;
    let producer = active
        .producers
        .get(action.cluster, action.acks)
        .ok_or_else(|| DataPlaneError::Internal("no producer for this route".to_owned()))?;
    let values = Values {
        params,
        idempotency_key: if uses_idempotency_key(action) {
            idempotency_key(binding, parts)?
        } else {
            String::new()
        },
        correlation_id: None,
        identity,
    };
    let topic = render_topic(action, &values)?;
    let key = action.key.as_ref().map(|key| key.render(&values));
    let value = if parts.method == Method::DELETE {
        None
    } else {
        Some(read_body(parts, body, limits, &active.body_budget).await?)
    };
    let key = key.as_deref().map(str::as_bytes);
    let (key, value) = record(active, models, action, &topic, key, value.as_deref()).await?;
    // A value converted from JSON is no longer what the request's content type says.
    let converted = matches!(value, Some(std::borrow::Cow::Owned(_)));
    let span = trace::produce(parts, &topic, key.as_deref());
    let mut headers = record_headers(action, parts, &values, converted);
    if binding.trace_context {
        headers = trace::inject(headers, parts, span.as_ref());
    }
    let sent = producer
        .send(Record {
            topic: &topic,
            key: key.as_deref(),
            value: value.as_deref(),
            headers,
        })
        .await;
    trace::produced(span, &sent, None);
    active.produced(action.cluster, action.topic.as_str(), sent)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// Whether the route's key or headers name `${idempotencyKey}`.
fn uses_idempotency_key(action: &ProduceAction) -> bool {
    action
        .key
        .as_ref()
        .is_some_and(|k| k.uses_idempotency_key())
        || action
            .overrides
            .iter()
            .any(|(_, v)| v.uses_idempotency_key())
}

fn record_headers(
    action: &ProduceAction,
    parts: &Parts,
    values: &Values<'_>,
    converted: bool,
) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new_with_capacity(1 + action.overrides.len());
    if let Some(content_type) = parts
        .headers
        .get(header::CONTENT_TYPE)
        .filter(|_| !converted)
    {
        headers = headers.insert(Header {
            key: "content-type",
            value: Some(content_type.as_bytes()),
        });
    }
    for (name, template) in &action.overrides {
        let value = template.render(values);
        headers = headers.insert(Header {
            key: name.as_str(),
            value: Some(value.as_bytes()),
        });
    }
    headers
}
