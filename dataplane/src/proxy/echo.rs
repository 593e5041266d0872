//! The `echo` binding: answers with the request's own body, no Kafka.

use http::request::Parts;
use http::{Response, StatusCode, header};
use hyper::body::Incoming;
use sluice_shared::table::HttpLimits;

use super::body::read_body;
use crate::budget::BodyBudget;
use crate::error::DataPlaneError;
use crate::response::Body;

/// `echo` binding: answers 200 with the request's own body and content type, no Kafka.
pub(crate) async fn echo(
    parts: &Parts,
    body: Incoming,
    limits: &HttpLimits,
    budget: &BodyBudget,
) -> Result<Response<Body>, DataPlaneError> {
    let bytes = read_body(parts, body, limits, budget).await?;
    let mut response = Response::new(Body::new(bytes));
    *response.status_mut() = StatusCode::OK;
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    Ok(response)
}
