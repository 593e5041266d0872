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
use sluice_shared::path::Params;
use sluice_shared::table::{HttpKafkaBinding, HttpLimits, ProduceAction, check_topic_name};
use sluice_shared::template::Resolve;

use super::read_body;
use crate::error::DataPlaneError;
use crate::kafka::Record;
use crate::response::{self, Body};
use crate::server::Active;

/// Everything a produce needs from the routing step.
pub(crate) struct ProduceRequest<'a> {
    pub binding: &'a HttpKafkaBinding,
    pub action: &'a ProduceAction,
    pub params: &'a Params,
    pub parts: &'a Parts,
    pub limits: &'a HttpLimits,
}

struct Values<'a> {
    params: &'a Params,
    idempotency_key: String,
}

impl Resolve for Values<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }
}

/// Produces the record for `request` and answers 204.
pub(crate) async fn oneway(
    active: &Active,
    request: ProduceRequest<'_>,
    body: Incoming,
) -> Result<Response<Body>, DataPlaneError> {
    let ProduceRequest {
        binding,
        action,
        params,
        parts,
        limits,
    } = request;
    let producer = active
        .producers
        .get(action.cluster, action.acks)
        .ok_or_else(|| DataPlaneError::Internal("no producer for this route".to_owned()))?;
    let values = Values {
        params,
        idempotency_key: idempotency_key(binding, action, parts)?,
    };
    let topic = action.topic.render(&values);
    if action.topic.as_literal().is_none() {
        check_topic_name(&topic).map_err(DataPlaneError::BadRequest)?;
    }
    let key = action.key.as_ref().map(|key| key.render(&values));
    let headers = record_headers(action, parts, &values);
    let value = if parts.method == Method::DELETE {
        None
    } else {
        Some(read_body(parts, body, limits.max_body_bytes).await?)
    };
    producer
        .send(Record {
            topic: &topic,
            key: key.as_deref().map(str::as_bytes),
            value: value.as_deref(),
            headers,
        })
        .await?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// The request's idempotency key, a fresh UUID when absent, or nothing when unused.
fn idempotency_key(
    binding: &HttpKafkaBinding,
    action: &ProduceAction,
    parts: &Parts,
) -> Result<String, DataPlaneError> {
    let used = action
        .key
        .as_ref()
        .is_some_and(|k| k.uses_idempotency_key())
        || action
            .overrides
            .iter()
            .any(|(_, v)| v.uses_idempotency_key());
    if !used {
        return Ok(String::new());
    }
    match parts.headers.get(binding.idempotency_header.as_str()) {
        Some(value) => value.to_str().map(str::to_owned).map_err(|_| {
            DataPlaneError::BadRequest(format!(
                "header '{}' must be visible ASCII",
                binding.idempotency_header
            ))
        }),
        None => Ok(uuid::Uuid::new_v4().to_string()),
    }
}

fn record_headers(action: &ProduceAction, parts: &Parts, values: &Values<'_>) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new_with_capacity(1 + action.overrides.len());
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
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
