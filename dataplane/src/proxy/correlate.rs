//! Request-response over a request topic and a reply topic (`reply-to`).
//!
//! 1. The correlation id is `<idempotency key or UUID>-<32 hex>`. The hex is the first 16
//!    bytes of a SHA-256 over, each length-prefixed and in this order: method, request
//!    target (path and query), record key, `content-type`, each override (name and value),
//!    reply topic, body. Volatile headers (`user-agent`, `authorization`, dates) are not
//!    part of it, so a client retry with the same idempotency key and body gets the same id.
//! 2. The request waits on the reply tap **before** the record is produced, so a fast reply
//!    is never missed. If a reply for that id is already known, the request is answered
//!    from it and nothing is produced (idempotent replay).
//! 3. Sync: the reply, or after the route's timeout 504 (202 + `async` headers when the
//!    route has `async`). Async (`prefer: respond-async`): 202 once the broker acknowledged.
//! 4. A GET whose path is one of the route's `async` locations polls for the reply,
//!    answering at once or, with `prefer: wait=N`, as soon as it arrives within N seconds;
//!    otherwise 202 again.

use std::time::Duration;

use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, Response};
use hyper::body::Incoming;
use rdkafka::message::{Header, OwnedHeaders};
use sha2::{Digest, Sha256};
use sluice_shared::table::{ProduceAction, ReplyAction};

use super::answer::{accepted, reply_response};
use super::body::read_body;
use super::context::{ProduceRequest, Values, idempotency_key, render_topic};
use super::validate::record;
use crate::error::DataPlaneError;
use crate::kafka::Record;
use crate::kafka::reply::{ReplyTap, Waiter};
use crate::response::Body;
use crate::snapshot::Snapshot;
use crate::trace;
use sluice_shared::wire::prefer::Prefer;

/// Request headers never copied to the request record: credentials, hop-by-hop headers,
/// and headers Sluice handles itself.
const NOT_FORWARDED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "content-length",
    "prefer",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
];

/// Longest correlation id accepted in a polling path.
const MAX_CORRELATION_ID: usize = 512;

/// Handles a request on a `reply-to` route: poll, or produce and wait.
pub(crate) async fn exchange(
    active: &Snapshot,
    request: ProduceRequest<'_>,
    reply: &ReplyAction,
    body: Incoming,
) -> Result<Response<Body>, DataPlaneError> {
    let tap = active
        .taps
        .get(
            request.action.cluster,
            &reply.topic,
            &reply.reply_correlation_header,
        )
        .ok_or_else(|| DataPlaneError::Internal("no reply tap for this route".to_owned()))?;
    let parts = request.parts;
    let prefer =
        Prefer::parse(&parts.headers).map_err(|e| DataPlaneError::BadRequest(e.to_string()))?;
    if parts.method == Method::GET
        && let Some(correlation_id) = reply.correlation_id_in(parts.uri.path())
    {
        prefer
            .check_wait(request.binding.max_wait_seconds)
            .map_err(|e| DataPlaneError::BadRequest(e.to_string()))?;
        check_correlation_id(&correlation_id)?;
        let values = Values {
            params: request.params,
            idempotency_key: String::new(),
            correlation_id: Some(correlation_id),
            identity: request.identity,
        };
        return poll(tap, reply, &values, prefer.wait).await;
    }
    send_and_wait(active, tap, &prefer, request, reply, body).await
}

/// Produces the request record and waits for its reply (or answers 202 at once when the
/// client prefers `respond-async`).
async fn send_and_wait(
    active: &Snapshot,
    tap: &ReplyTap,
    prefer: &Prefer,
    request: ProduceRequest<'_>,
    reply: &ReplyAction,
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
    let mut values = Values {
        params,
        idempotency_key: idempotency_key(binding, parts)?,
        correlation_id: None,
        identity,
    };
    let mut outgoing = Outgoing::render(action, &values)?;
    // A body-less request (DELETE) writes an empty value, not a tombstone, as in Zilla.
    let value = read_body(parts, body, limits, &active.body_budget).await?;
    outgoing.correlate(reply, parts, &mut values, &value);
    let key = outgoing.key.as_deref().map(str::as_bytes);
    let (key, value) = record(active, models, action, &outgoing.topic, key, Some(&value)).await?;
    let correlation_id = outgoing.correlation_id.as_str();
    let waiter = tap.wait(correlation_id);
    let respond_async = prefer.respond_async && !reply.async_headers.is_empty();
    if let Some(known) = tap.cached(correlation_id) {
        // Idempotent replay: the request was produced and answered before.
        return if respond_async {
            accepted(reply, &values, Some("respond-async"))
        } else {
            reply_response(&known)
        };
    }
    let span = trace::produce(parts, &outgoing.topic, key.as_deref());
    let mut headers = request_headers(parts, reply, &outgoing.overrides, correlation_id);
    if binding.trace_context {
        headers = trace::inject(headers, parts, span.as_ref());
    }
    let sent = producer
        .send(Record {
            topic: &outgoing.topic,
            key: key.as_deref(),
            value: value.as_deref(),
            headers,
        })
        .await;
    trace::produced(span, &sent, Some(correlation_id));
    active.produced(action.cluster, action.topic.as_str(), sent)?;
    if respond_async {
        return accepted(reply, &values, Some("respond-async"));
    }
    wait_for_reply(parts, waiter, reply, &values).await
}

/// The reply to a request produced, within the route's timeout; then `202` for a route
/// that can be polled, else `504`.
async fn wait_for_reply(
    parts: &Parts,
    mut waiter: Waiter,
    reply: &ReplyAction,
    values: &Values<'_>,
) -> Result<Response<Body>, DataPlaneError> {
    let mut waiting = trace::phase(parts, "wait for reply");
    match tokio::time::timeout(Duration::from_millis(reply.timeout_ms), waiter.reply()).await {
        Ok(Some(answer)) => {
            trace::link_reply(waiting.as_mut(), &answer.headers);
            reply_response(&answer)
        }
        _ if !reply.async_headers.is_empty() => accepted(reply, values, None),
        _ => Err(DataPlaneError::ReplyTimeout {
            topic: reply.topic.clone(),
            timeout_ms: reply.timeout_ms,
        }),
    }
}

/// The request record's topic, key and header overrides, rendered, and its correlation id.
struct Outgoing<'a> {
    topic: std::borrow::Cow<'a, str>,
    key: Option<String>,
    overrides: Vec<(&'a str, String)>,
    correlation_id: String,
}

impl<'a> Outgoing<'a> {
    /// Renders the route's templates for this request.
    fn render(action: &'a ProduceAction, values: &Values<'_>) -> Result<Self, DataPlaneError> {
        Ok(Self {
            topic: render_topic(action, values)?,
            key: action
                .key
                .as_ref()
                .map(|key| key.render(values).into_owned()),
            overrides: action
                .overrides
                .iter()
                .map(|(name, template)| (name.as_str(), template.render(values).into_owned()))
                .collect(),
            correlation_id: String::new(),
        })
    }

    /// The correlation id of the request with body `value`; it goes into `values` too, for
    /// the answer's `async` headers.
    fn correlate(
        &mut self,
        reply: &ReplyAction,
        parts: &Parts,
        values: &mut Values<'_>,
        value: &[u8],
    ) {
        self.correlation_id = correlation_id(
            &values.idempotency_key,
            parts,
            self.key.as_deref(),
            &self.overrides,
            &reply.topic,
            value,
        );
        values.correlation_id = Some(self.correlation_id.clone());
    }
}

/// A GET on an `async` location: the reply if known or arriving within `wait`, else 202.
async fn poll(
    tap: &ReplyTap,
    reply: &ReplyAction,
    values: &Values<'_>,
    wait: Option<u64>,
) -> Result<Response<Body>, DataPlaneError> {
    let correlation_id = values.correlation_id.as_deref().unwrap_or_default();
    let mut waiter = tap.wait(correlation_id);
    if let Some(known) = tap.cached(correlation_id) {
        return reply_response(&known);
    }
    let Some(seconds) = wait.filter(|seconds| *seconds > 0) else {
        return accepted(reply, values, None);
    };
    match tokio::time::timeout(Duration::from_secs(seconds), waiter.reply()).await {
        Ok(Some(answer)) => reply_response(&answer),
        _ => accepted(reply, values, Some(&format!("wait={seconds}"))),
    }
}

fn check_correlation_id(correlation_id: &str) -> Result<(), DataPlaneError> {
    let well_formed = correlation_id.len() <= MAX_CORRELATION_ID
        && correlation_id
            .rsplit_once('-')
            .is_some_and(|(base, digest)| {
                !base.is_empty()
                    && digest.len() == 32
                    && digest
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
    if well_formed {
        Ok(())
    } else {
        Err(DataPlaneError::BadRequest(format!(
            "'{}' is not a correlation id issued by sluice",
            correlation_id.chars().take(64).collect::<String>()
        )))
    }
}

fn correlation_id(
    base: &str,
    parts: &Parts,
    key: Option<&str>,
    overrides: &[(&str, String)],
    reply_topic: &str,
    body: &[u8],
) -> String {
    let mut digest = Sha256::new();
    let mut field = |bytes: &[u8]| {
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    };
    field(parts.method.as_str().as_bytes());
    field(target(parts).as_bytes());
    field(key.unwrap_or_default().as_bytes());
    field(
        parts
            .headers
            .get(header::CONTENT_TYPE)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default(),
    );
    for (name, value) in overrides {
        field(name.as_bytes());
        field(value.as_bytes());
    }
    field(reply_topic.as_bytes());
    field(body);
    let hash = digest.finalize();
    let mut id = String::with_capacity(base.len() + 33);
    id.push_str(base);
    id.push('-');
    for byte in &hash[..16] {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

fn target(parts: &Parts) -> &str {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |target| target.as_str())
}

/// The request record's headers: pseudo-headers, forwarded request headers, reply-to,
/// overrides, then the correlation id.
fn request_headers(
    parts: &Parts,
    reply: &ReplyAction,
    overrides: &[(&str, String)],
    correlation_id: &str,
) -> OwnedHeaders {
    let authority = parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .unwrap_or_default();
    // Zilla's order, as its examples' records show: scheme, method, path, authority.
    let pseudo = [
        (":scheme", parts.uri.scheme_str().unwrap_or("http")),
        (":method", parts.method.as_str()),
        (":path", target(parts)),
        (":authority", authority),
    ];
    let mut headers = OwnedHeaders::new_with_capacity(parts.headers.len() + overrides.len() + 6);
    for (key, value) in pseudo {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    for (name, value) in &parts.headers {
        let name = name.as_str();
        // The trace context is the route's to set (`trace::inject`), after the others.
        if NOT_FORWARDED.contains(&name) || name == trace::TRACEPARENT || name == trace::TRACESTATE
        {
            continue;
        }
        let value = if name == "if-match" {
            // Zilla's rule: "<progress>/<etag>" forwards "<etag>"; a bare value is dropped.
            match value.as_bytes().iter().position(|&b| b == b'/') {
                Some(slash) => &value.as_bytes()[slash + 1..],
                None => continue,
            }
        } else {
            value.as_bytes()
        };
        headers = headers.insert(Header {
            key: name,
            value: Some(value),
        });
    }
    headers = headers.insert(Header {
        key: reply.reply_to_header.as_str(),
        value: Some(reply.topic.as_bytes()),
    });
    for (name, value) in overrides {
        headers = headers.insert(Header {
            key: name,
            value: Some(value.as_bytes()),
        });
    }
    headers.insert(Header {
        key: reply.request_correlation_header.as_str(),
        value: Some(correlation_id.as_bytes()),
    })
}

#[cfg(test)]
mod tests;
