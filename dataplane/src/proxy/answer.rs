//! Responses of request-response routes: a reply record as HTTP, and 202 Accepted.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Response, StatusCode};
use sluice_shared::table::ReplyAction;

use super::context::Values;
use crate::error::DataPlaneError;
use crate::kafka::reply::Reply;
use crate::response::Body;

/// Reply headers never copied to the HTTP response: hyper sets framing itself.
const NOT_RETURNED: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

/// 202 with the route's `async` headers.
pub(super) fn accepted(
    reply: &ReplyAction,
    values: &Values<'_>,
    applied: Option<&str>,
) -> Result<Response<Body>, DataPlaneError> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::ACCEPTED;
    let headers = response.headers_mut();
    for (name, template) in &reply.async_headers {
        let value = template.render(values);
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| DataPlaneError::Internal(e.to_string()))?;
        let value = HeaderValue::from_str(&value).map_err(|_| {
            DataPlaneError::BadRequest(format!("the {name} header would not be a valid value"))
        })?;
        headers.append(name, value);
    }
    if let Some(applied) = applied
        && let Ok(value) = HeaderValue::from_str(applied)
    {
        headers.insert(HeaderName::from_static("preference-applied"), value);
    }
    Ok(response)
}

/// The HTTP response a reply record describes.
pub(super) fn reply_response(reply: &Reply) -> Result<Response<Body>, DataPlaneError> {
    let status = match reply.status {
        None => StatusCode::OK,
        Some(code) => StatusCode::from_u16(code)
            .ok()
            .filter(|s| (200..600).contains(&s.as_u16()))
            .ok_or_else(|| {
                DataPlaneError::BadReply(format!("':status' {code} is not a final HTTP status"))
            })?,
    };
    let body = if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        Bytes::new()
    } else {
        reply.body.clone()
    };
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in &reply.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_maybe_shared(value.clone()),
        ) else {
            tracing::debug!(header = %name, "reply header is not valid HTTP; skipped");
            continue;
        };
        if !NOT_RETURNED.contains(&name.as_str()) {
            headers.append(name, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_status_and_headers_become_the_response() {
        let reply = Reply {
            status: Some(201),
            headers: vec![
                ("location".to_owned(), Bytes::from_static(b"/items/1")),
                ("content-length".to_owned(), Bytes::from_static(b"999")),
                ("bad header".to_owned(), Bytes::from_static(b"x")),
            ],
            body: Bytes::from_static(b"created"),
        };
        let response = reply_response(&reply).expect("valid");
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["location"], "/items/1");
        assert!(response.headers().get("content-length").is_none());
        let bad = Reply {
            status: Some(0),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        assert!(reply_response(&bad).is_err());
    }
}
