//! Reading admin API requests: query flags, `If-Match` / entity tags, the change's author
//! and message, and configuration documents (JSON or YAML) within the size limit.

use http::{Request, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::Value;

use super::error::{ApiError, BadRequest};

pub(crate) fn wants_yaml(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("yaml"))
}

/// `?secrets=true`: the configuration with its secrets, for data planes that connect to
/// Kafka with them. Everything else the admin API returns shows secrets as `***`.
pub(crate) fn with_secrets(request: &Request<Incoming>) -> bool {
    flag(request, "secrets").unwrap_or(false)
}

/// The boolean query parameter `name`: absent or `false` is false; `true` (or the bare
/// name) is true; anything else is an error, the same on every endpoint.
fn flag(request: &Request<Incoming>, name: &str) -> Result<bool, BadRequest> {
    let mut value = false;
    for pair in request.uri().query().unwrap_or_default().split('&') {
        let (key, given) = pair.split_once('=').unwrap_or((pair, "true"));
        if key != name {
            continue;
        }
        value = match given {
            "true" => true,
            "false" => false,
            other => {
                return Err(BadRequest::Flag {
                    name: name.to_owned(),
                    value: other.to_owned(),
                });
            }
        };
    }
    Ok(value)
}

/// Checks the boolean query parameters `names` of `request`: 400 for a bad value.
pub(crate) fn check_flags(request: &Request<Incoming>, names: &[&str]) -> Result<(), BadRequest> {
    for name in names {
        flag(request, name)?;
    }
    Ok(())
}

/// `If-Match: "<n>"` (or `*`, which matches any head).
pub(crate) fn if_match(request: &Request<Incoming>) -> Result<Option<Option<u64>>, BadRequest> {
    match entity_tag(request)? {
        None | Some(EntityTag::Any) => Ok(None),
        Some(EntityTag::Tag(tag)) => tag
            .parse::<u64>()
            .map(|n| Some(Some(n)))
            .map_err(|_| BadRequest::IfMatchRevision),
    }
}

/// An `If-Match` value.
pub(crate) enum EntityTag {
    /// `*`.
    Any,
    /// One entity tag, without quotes and weakness prefix.
    Tag(String),
}

/// The request's `If-Match`: `*` or one entity tag (`"x"`, `W/"x"`; a bare revision number
/// is taken too). The same rule on every endpoint: an empty or malformed value is a 400,
/// never an unconditional write.
pub(crate) fn entity_tag(request: &Request<Incoming>) -> Result<Option<EntityTag>, BadRequest> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || BadRequest::IfMatch;
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(Some(EntityTag::Any));
    }
    let tag = text.strip_prefix("W/").unwrap_or(text);
    let inner = match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner,
        None if !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_digit()) => tag,
        None => return Err(bad()),
    };
    if inner.is_empty() || inner.contains('"') || inner.bytes().any(|b| b < 0x21 || b == 0x7f) {
        return Err(bad());
    }
    Ok(Some(EntityTag::Tag(inner.to_owned())))
}

pub(crate) fn author(request: &Request<Incoming>) -> String {
    request
        .headers()
        .get("x-sluice-author")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| "admin".to_owned(), |v| v.chars().take(200).collect())
}

pub(crate) fn message(request: &Request<Incoming>) -> String {
    request
        .headers()
        .get("x-sluice-message")
        .and_then(|v| v.to_str().ok())
        .map_or_else(String::new, |v| v.chars().take(1000).collect())
}

/// `?dry_run=true` (or `?dry_run`): validate and diff only.
pub(crate) fn dry_run(request: &Request<Incoming>) -> bool {
    flag(request, "dry_run").unwrap_or(false)
}

/// The request's body as a document: JSON, or YAML with `content-type: application/yaml`,
/// at most the configuration size limit.
pub(crate) async fn read_document(request: Request<Incoming>) -> Result<Value, ApiError> {
    let yaml = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("yaml"));
    let limit = sluice_shared::spec::MAX_DOCUMENT_BYTES;
    let body = Limited::new(request.into_body(), limit)
        .collect()
        .await
        .map_err(|_| ApiError::PayloadTooLarge(limit))?
        .to_bytes();
    Ok(parse_body(&body, yaml)?)
}

fn parse_body(body: &[u8], yaml: bool) -> Result<Value, BadRequest> {
    let text = std::str::from_utf8(body).map_err(|_| BadRequest::NotUtf8)?;
    if yaml {
        serde_yaml::from_str(text).map_err(|e| BadRequest::NotYaml(e.to_string()))
    } else {
        serde_json::from_str(text).map_err(|e| BadRequest::NotJson(e.to_string()))
    }
}
