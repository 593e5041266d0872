//! What an action knows of its request besides the body: the caller's identity, the values
//! templates resolve with, the request's idempotency key, and resolved filters. The actions
//! (`produce`, `correlate`, `fetch`, `sse`) share these and never import each other.

use bytes::Bytes;
use http::request::Parts;
use sluice_shared::guard::Principal;
use sluice_shared::path::Params;
use sluice_shared::table::models::RequestModels;
use sluice_shared::table::{
    FetchFilter, HttpKafkaBinding, HttpLimits, KafkaCluster, ProduceAction, check_topic_name,
};
use sluice_shared::template::{Resolve, Template};

use crate::error::DataPlaneError;

/// The caller as the route's guard established it, with the guard's name for templates.
#[derive(Clone, Copy)]
pub(crate) struct Identity<'a> {
    pub guard: &'a str,
    pub principal: &'a Principal,
    /// The credentials it was established from.
    pub token: &'a str,
}

/// Everything a produce needs from the routing step.
pub(crate) struct ProduceRequest<'a> {
    pub binding: &'a HttpKafkaBinding,
    pub action: &'a ProduceAction,
    pub params: &'a Params,
    pub parts: &'a Parts,
    pub limits: &'a HttpLimits,
    pub identity: Option<Identity<'a>>,
    /// The http server's models for this request (`options.requests`).
    pub models: Option<&'a RequestModels>,
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
        check_topic_name(&topic).map_err(|e| DataPlaneError::BadRequest(e.to_string()))?;
    }
    Ok(topic)
}

/// `template` rendered with the route's path parameters only (no guard, no keys).
pub(crate) fn render_with_params(template: &Template, params: &Params) -> String {
    let values = Values {
        params,
        idempotency_key: String::new(),
        correlation_id: None,
        identity: None,
    };
    template.render(&values).into_owned()
}

/// The topic a request's path names (`topic: ${params.topic}`) and the cluster it is read
/// from; `404` when the name cannot be a topic.
pub(crate) fn path_topic<'a>(
    clusters: &'a [KafkaCluster],
    cluster: usize,
    template: &Template,
    params: &Params,
) -> Result<(&'a KafkaCluster, String), DataPlaneError> {
    let topic = render_with_params(template, params);
    if check_topic_name(&topic).is_err() {
        return Err(DataPlaneError::NoTopic(topic));
    }
    let cluster = clusters
        .get(cluster)
        .ok_or_else(|| DataPlaneError::Internal("no cluster for this route".to_owned()))?;
    Ok((cluster, topic))
}

/// A filter with its templates resolved for one request.
pub(crate) struct Filter {
    pub key: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl Filter {
    /// Whether a record with `key` and `headers` passes.
    pub(crate) fn matches(&self, key: Option<&[u8]>, headers: &[(String, Bytes)]) -> bool {
        self.key.as_ref().is_none_or(|k| Some(k.as_bytes()) == key)
            && self.headers.iter().all(|(name, value)| {
                headers
                    .iter()
                    .any(|(n, v)| n == name && v.as_ref() == value.as_bytes())
            })
    }
}

/// Resolves `filters` for a request with `params`.
pub(crate) fn resolve_filters(
    filters: &[FetchFilter],
    params: &Params,
    identity: Option<Identity<'_>>,
) -> Vec<Filter> {
    let values = Values {
        params,
        idempotency_key: String::new(),
        correlation_id: None,
        identity,
    };
    filters
        .iter()
        .map(|filter| Filter {
            key: filter.key.as_ref().map(|k| k.render(&values).into_owned()),
            headers: filter
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.render(&values).into_owned()))
                .collect(),
        })
        .collect()
}
