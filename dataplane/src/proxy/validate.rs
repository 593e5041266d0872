//! Models on the request path: an http server's `options.requests` checked before routing
//! acts (content type, headers, path and query parameters now; the body once read), and a
//! topic's key and value models applied to what is written to Kafka.
//!
//! A header or query parameter with a model is checked when present; a missing one is not
//! an error (give the route a guard or a condition to require it). A request whose path and
//! method have models but whose content type is not listed is refused with 415 when it has
//! a body or names a content type.

use std::borrow::Cow;

use http::header;
use http::request::Parts;
use percent_encoding::percent_decode_str;
use sluice_shared::table::models::{ChainModels, ModelBinding, RequestModels};
use sluice_shared::table::{HttpServer, ProduceAction};

use crate::error::DataPlaneError;
use crate::models::Place;
use crate::snapshot::Snapshot;

/// The models of `server` for this request, with its content type, headers and parameters
/// checked; the body is checked by [`check_content`] once read.
pub(crate) async fn check_request<'t>(
    active: &Snapshot,
    server: Option<&'t HttpServer>,
    parts: &Parts,
) -> Result<Option<&'t RequestModels>, DataPlaneError> {
    let Some(models) = server.and_then(|s| {
        s.requests
            .iter()
            .find(|r| r.applies(&parts.method, parts.uri.path()))
    }) else {
        return Ok(None);
    };
    check_content_type(models, parts)?;
    for (name, model) in &models.headers {
        for value in parts.headers.get_all(name) {
            check(
                active,
                model,
                value.as_bytes(),
                Place::Header(name.as_str()),
            )
            .await?;
        }
    }
    if !models.path_params.is_empty()
        && let Some(Ok(params)) = models.path.matches(parts.uri.path())
    {
        for (name, model) in &models.path_params {
            if let Some((_, value)) = params.iter().find(|(n, _)| n == name) {
                check(active, model, value.as_bytes(), Place::Path(name)).await?;
            }
        }
    }
    if !models.query_params.is_empty() {
        for (name, value) in query_pairs(parts.uri.query().unwrap_or_default()) {
            if let Some((_, model)) = models.query_params.iter().find(|(n, _)| *n == name) {
                check(active, model, value.as_bytes(), Place::Query(&name)).await?;
            }
        }
    }
    Ok(Some(models))
}

/// Checks a request body against its content model (no conversion: the body goes on as
/// the client sent it). An empty body of a request without one is not checked.
pub(crate) async fn check_content(
    active: &Snapshot,
    models: Option<&RequestModels>,
    body: &[u8],
) -> Result<(), DataPlaneError> {
    match models.and_then(|m| m.content.as_ref()) {
        Some(model) if !body.is_empty() => check(active, model, body, Place::Body).await,
        _ => Ok(()),
    }
}

async fn check(
    active: &Snapshot,
    model: &ModelBinding,
    value: &[u8],
    place: Place<'_>,
) -> Result<(), DataPlaneError> {
    active
        .models
        .admit(model, value, place)
        .await
        .map(drop)
        .map_err(DataPlaneError::from)
}

fn check_content_type(models: &RequestModels, parts: &Parts) -> Result<(), DataPlaneError> {
    if models.content_types.is_empty() {
        return Ok(());
    }
    let declared = media_type(&parts.headers);
    let has_body = parts.headers.contains_key(header::TRANSFER_ENCODING)
        || parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    let found = declared.clone().unwrap_or_default();
    if (declared.is_some() || has_body) && !models.content_types.contains(&found) {
        return Err(DataPlaneError::UnsupportedMediaType {
            found: if found.is_empty() {
                "none".to_owned()
            } else {
                found
            },
            accepted: models.content_types.clone(),
        });
    }
    Ok(())
}

/// The media type of `content-type` (lowercase, without parameters), as models compare it.
pub(crate) fn media_type(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// `name=value` pairs of a query string, percent-decoded (`+` is a space).
fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        (decode(name), decode(value))
    })
}

/// The key and value of a record a request writes to `topic`: the body checked against the
/// request's content model, then both admitted by the topic's models.
pub(crate) async fn record<'p>(
    active: &Snapshot,
    request: Option<&RequestModels>,
    action: &ProduceAction,
    topic: &str,
    key: Option<&'p [u8]>,
    value: Option<&'p [u8]>,
) -> Result<(Option<Cow<'p, [u8]>>, Option<Cow<'p, [u8]>>), DataPlaneError> {
    if let Some(value) = value {
        check_content(active, request, value).await?;
    }
    to_kafka(active, &action.models, topic, key, value).await
}

/// The key and value written to `topic`, admitted by the topic's models: checked, and
/// converted where a model has `view: json`.
pub(crate) async fn to_kafka<'p>(
    active: &Snapshot,
    models: &ChainModels,
    topic: &str,
    key: Option<&'p [u8]>,
    value: Option<&'p [u8]>,
) -> Result<(Option<Cow<'p, [u8]>>, Option<Cow<'p, [u8]>>), DataPlaneError> {
    let Some(topic_models) = (!models.is_empty()).then(|| models.get(topic)).flatten() else {
        return Ok((key.map(Cow::Borrowed), value.map(Cow::Borrowed)));
    };
    let key = match (key, &topic_models.key) {
        (Some(key), Some(model)) => Some(active.models.admit(model, key, Place::Key).await?),
        (key, _) => key.map(Cow::Borrowed),
    };
    // A tombstone (no value) is not checked: it deletes.
    let value = match (value, &topic_models.value) {
        (Some(value), Some(model)) => Some(active.models.admit(model, value, Place::Body).await?),
        (value, _) => value.map(Cow::Borrowed),
    };
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::query_pairs;

    #[test]
    fn query_pairs_are_decoded() {
        let pairs: Vec<_> = query_pairs("a=1&b=x%20y&c&d=p+q").collect();
        assert_eq!(
            pairs,
            [
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), String::new()),
                ("d".into(), "p q".into())
            ]
        );
    }
}
