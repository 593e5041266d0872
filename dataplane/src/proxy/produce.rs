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
use crate::handler::Identity;
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
    pub identity: Option<Identity<'a>>,
}

/// Values templates are resolved with.
pub(crate) struct Values<'a> {
    pub params: &'a Params,
    pub idempotency_key: String,
    pub correlation_id: Option<String>,
    pub identity: Option<Identity<'a>>,
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

    fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }

    fn guarded(&self, guard: &str, attribute: Option<&str>) -> Option<&str> {
        let identity = self.identity.filter(|i| i.guard == guard)?;
        match attribute {
            None => identity.principal.identity.as_deref(),
            Some(name) => identity.principal.attribute(name),
        }
    }
}

/// Routes to one-way produce or to request-response, by the route's `reply-to`.
pub(crate) async fn produce(
    active: &Active,
    request: ProduceRequest<'_>,
    body: Incoming,
) -> Result<Response<Body>, DataPlaneError> {
    match &request.action.reply {
        None => oneway(active, request, body).await,
        Some(reply) => super::correlate::exchange(active, request, reply, body).await,
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
        identity,
    } = request;
    let producer = active
        .producers
        .get(action.cluster, action.acks)
        .ok_or_else(|| DataPlaneError::Internal("no producer for this route".to_owned()))?;
    let used = action
        .key
        .as_ref()
        .is_some_and(|k| k.uses_idempotency_key())
        || action
            .overrides
            .iter()
            .any(|(_, v)| v.uses_idempotency_key());
    let values = Values {
        params,
        idempotency_key: if used {
            idempotency_key(binding, parts)?
        } else {
            String::new()
        },
        correlation_id: None,
        identity,
    };
    let topic = render_topic(action, &values)?;
    let key = action.key.as_ref().map(|key| key.render(&values));
    let headers = record_headers(action, parts, &values);
    let value = if parts.method == Method::DELETE {
        None
    } else {
        Some(read_body(parts, body, limits, &active.body_budget).await?)
    };
    active.metrics.counted(
        action.topic.as_str(),
        producer
            .send(Record {
                topic: &topic,
                key: key.as_deref().map(str::as_bytes),
                value: value.as_deref(),
                headers,
            })
            .await,
    )?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// Longest idempotency key accepted.
const MAX_IDEMPOTENCY_KEY: usize = 256;

/// The request's idempotency key, or a fresh UUID when it has none.
pub(crate) fn idempotency_key(
    binding: &HttpKafkaBinding,
    parts: &Parts,
) -> Result<String, DataPlaneError> {
    let bad = || {
        DataPlaneError::BadRequest(format!(
            "header '{}' must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters",
            binding.idempotency_header
        ))
    };
    match parts.headers.get(binding.idempotency_header.as_str()) {
        Some(value) => {
            let text = value.to_str().map_err(|_| bad())?;
            if text.is_empty() || text.len() > MAX_IDEMPOTENCY_KEY {
                return Err(bad());
            }
            Ok(text.to_owned())
        }
        None => Ok(uuid::Uuid::new_v4().to_string()),
    }
}

/// The topic for this request; a topic built from path parameters must be a valid name.
pub(crate) fn render_topic<'a>(
    action: &'a ProduceAction,
    values: &Values<'_>,
) -> Result<std::borrow::Cow<'a, str>, DataPlaneError> {
    let topic = action.topic.render(values);
    if action.topic.as_literal().is_none() {
        check_topic_name(&topic).map_err(DataPlaneError::BadRequest)?;
    }
    Ok(topic)
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
