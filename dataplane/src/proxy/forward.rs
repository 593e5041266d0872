//! Requests proxied to an upstream (`forward`), with models on the exchange: the request body checked against the http server's content
//! model before it is sent, and the upstream's response against the http client's
//! `responses` models before it is passed on.
//!
//! A response with a model is read whole (at most [`MAX_CHECKED_RESPONSE_BYTES`]) so that
//! it can be checked; one that does not fit is answered `502 upstream_invalid` with a
//! problem naming what failed, instead of the truncated transfer Zilla gives.

use bytes::Bytes;
use http::Response;
use http::request::Parts;
use http::response::Parts as ResponseParts;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use sluice_shared::table::HttpLimits;
use sluice_shared::table::models::{ModelBinding, RequestModels, ResponseModels};

use super::body::read_body;
use super::upstream::{copy_end_to_end, send, stream};
use super::validate::media_type;
use crate::error::DataPlaneError;
use crate::models::{Place, Refusal};
use crate::response::Body;
use crate::snapshot::Snapshot;

/// Largest upstream response read to check it against its model.
pub(crate) const MAX_CHECKED_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// The models of the upstream's response to this request, if the http client has some.
pub(crate) fn response_models<'t>(
    active: &'t Snapshot,
    index: usize,
    parts: &Parts,
    status: u16,
) -> Option<&'t ResponseModels> {
    active
        .table
        .upstreams
        .get(index)?
        .requests
        .iter()
        .find(|r| r.applies(&parts.method, parts.uri.path()))?
        .responses
        .iter()
        .find(|m| m.status.is_empty() || m.status.contains(&status))
}

/// Reads the response whole and checks it; its bytes when it fits.
pub(crate) async fn checked_body(
    active: &Snapshot,
    head: &ResponseParts,
    incoming: Incoming,
    models: &ResponseModels,
) -> Result<Bytes, DataPlaneError> {
    if !models.content_types.is_empty() {
        let found = media_type(&head.headers).unwrap_or_default();
        if !models.content_types.contains(&found) {
            return Err(DataPlaneError::Upstream(format!(
                "the upstream answered content type '{found}', not one of {}",
                models.content_types.join(", ")
            )));
        }
    }
    for (name, model) in &models.headers {
        for value in head.headers.get_all(name) {
            check(
                active,
                model,
                value.as_bytes(),
                Place::Header(name.as_str()),
            )
            .await?;
        }
    }
    let body = Limited::new(incoming, MAX_CHECKED_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| {
            DataPlaneError::Upstream(format!(
                "the response could not be read whole to check it: {e}"
            ))
        })?
        .to_bytes();
    if let Some(model) = &models.content {
        check(active, model, &body, Place::Body).await?;
    }
    Ok(body)
}

async fn check(
    active: &Snapshot,
    model: &ModelBinding,
    value: &[u8],
    place: Place<'_>,
) -> Result<(), DataPlaneError> {
    match active.models.admit(model, value, place).await {
        Ok(_) => Ok(()),
        Err(Refusal::Invalid(problem)) => Err(DataPlaneError::UpstreamInvalid(problem)),
        Err(Refusal::Unavailable(error)) => {
            Err(DataPlaneError::SchemaUnavailable(error.to_string()))
        }
    }
}

/// A checked body as a response body.
pub(crate) fn full(bytes: Bytes) -> Body {
    Body::new(bytes)
}

/// A request body read whole as an upstream request body.
pub(crate) fn request_body(bytes: Bytes) -> super::upstream::UpstreamBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// Proxies the request to upstream `index` of the table.
///
/// With a `content` model the body is read whole and checked before it is sent; with
/// models of the response (the http client's `requests`) the response is read whole and
/// checked before it is passed on.
pub(crate) async fn forward(
    active: &Snapshot,
    index: usize,
    parts: &Parts,
    body: Incoming,
    limits: &HttpLimits,
    models: Option<&RequestModels>,
) -> Result<Response<Body>, DataPlaneError> {
    let body = match models.and_then(|m| m.content.as_deref()) {
        Some(model) => {
            let bytes = read_body(parts, body, limits, &active.body_budget).await?;
            if !bytes.is_empty() {
                active
                    .models
                    .admit(model, &bytes, Place::Body)
                    .await
                    .map_err(DataPlaneError::from)?;
            }
            request_body(bytes)
        }
        None => {
            let limit = usize::try_from(limits.max_body_bytes).unwrap_or(usize::MAX);
            Limited::new(body, limit).boxed()
        }
    };
    let response = send(&active.upstreams, index, parts, body).await?;
    let (head, incoming) = response.into_parts();
    let checked = response_models(active, index, parts, head.status.as_u16());
    let body = match checked {
        Some(models) => full(checked_body(active, &head, incoming, models).await?),
        None => stream(incoming),
    };
    let mut answer = Response::new(body);
    *answer.status_mut() = head.status;
    copy_end_to_end(&head.headers, answer.headers_mut());
    Ok(answer)
}
