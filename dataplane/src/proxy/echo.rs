//! The `echo` binding: answers with the request's own body, no Kafka. A body that the http
//! server's request models cover is checked first, as on every route.

use http::request::Parts;
use http::{Response, StatusCode, header};
use hyper::body::Incoming;
use sluice_shared::table::HttpLimits;

use sluice_shared::table::models::RequestModels;

use super::body::read_body;
use super::validate::check_content;
use crate::error::DataPlaneError;
use crate::response::Body;
use crate::snapshot::Snapshot;

/// `echo` binding: answers 200 with the request's own body and content type, no Kafka.
pub(crate) async fn echo(
    active: &Snapshot,
    parts: &Parts,
    body: Incoming,
    limits: &HttpLimits,
    models: Option<&RequestModels>,
) -> Result<Response<Body>, DataPlaneError> {
    let bytes = read_body(parts, body, limits, &active.body_budget).await?;
    check_content(active, models, &bytes).await?;
    let mut response = Response::new(Body::new(bytes));
    *response.status_mut() = StatusCode::OK;
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    Ok(response)
}
