//! CORS, answered before routing and guards (Zilla's algorithm with its section 8 fixes):
//!
//! - a preflight (`OPTIONS` with `origin` and `access-control-request-method` or
//!   `-headers`) gets 204 when the origin, the method and **every** requested header are
//!   allowed, with `access-control-allow-credentials` when configured; otherwise 403;
//! - a request with an `origin` of another scheme, host or port (default ports count as
//!   equal) is refused with 403 unless the policy is `cross-origin` and allows the origin;
//! - an allowed cross-origin response carries `access-control-allow-origin`,
//!   `-allow-credentials`, one comma-separated `-expose-headers`, and `vary: origin`
//!   whenever the allowed origin is not `*`.
//!
//! An origin that is not `scheme://host[:port]` (such as `null`) is never allowed.

use http::header::{self, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use sluice_shared::table::{Cors, normalize_origin};

use crate::error::DataPlaneError;
use crate::response::{self, Body};

/// Headers browsers let scripts read without `access-control-expose-headers`.
const SAFELISTED: &[&str] = &[
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
];

/// What CORS says about a request that is not a preflight.
pub(crate) enum Verdict {
    /// Not a cross-origin request: nothing to add.
    Plain,
    /// An allowed cross-origin request: decorate the response for this origin.
    CrossOrigin(HeaderValue),
}

/// Whether the request is a CORS preflight.
pub(crate) fn is_preflight(parts: &Parts) -> bool {
    parts.method == Method::OPTIONS
        && parts.headers.contains_key(header::ORIGIN)
        && (parts
            .headers
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
            || parts
                .headers
                .contains_key(header::ACCESS_CONTROL_REQUEST_HEADERS))
}

fn same_origin(origin: &str, scheme: &str, authority: &str) -> bool {
    match (
        normalize_origin(origin),
        normalize_origin(&format!("{scheme}://{authority}")),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn origin_allowed(cors: &Cors, origin: &str) -> bool {
    let Some(normalized) = normalize_origin(origin) else {
        return false;
    };
    cors.cross_origin
        && cors
            .origins
            .as_ref()
            .is_none_or(|origins| origins.contains(&normalized))
}

/// Checks a request that carries `origin` and is not a preflight.
pub(crate) fn check(
    cors: Option<&Cors>,
    parts: &Parts,
    scheme: &str,
    authority: &str,
) -> Result<Verdict, DataPlaneError> {
    let Some(origin) = parts.headers.get(header::ORIGIN) else {
        return Ok(Verdict::Plain);
    };
    let text = origin.to_str().unwrap_or_default();
    if same_origin(text, scheme, authority) {
        return Ok(Verdict::Plain);
    }
    match cors {
        Some(cors) if origin_allowed(cors, text) => Ok(Verdict::CrossOrigin(origin.clone())),
        _ => Err(DataPlaneError::CorsRefused(format!(
            "cross-origin requests from '{text}' are not allowed"
        ))),
    }
}

/// The headers of an accepted preflight: origin, methods, headers, credentials, max age.
fn allow_preflight(
    cors: &Cors,
    headers: &mut http::HeaderMap,
    origin: Option<&HeaderValue>,
    method: Option<&str>,
    requested: &[String],
) {
    let explicit = cors.credentials;
    let echo_origin = cors.origins.is_some() || explicit;
    allow_origin(headers, origin, echo_origin);
    if let Some(method) = method {
        let value = if cors.methods.is_some() || explicit {
            HeaderValue::from_str(method).ok()
        } else {
            Some(HeaderValue::from_static("*"))
        };
        if let Some(value) = value {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, value);
        }
    }
    if !requested.is_empty() {
        let value = if cors.headers.is_some() || explicit {
            HeaderValue::from_str(&requested.join(", ")).ok()
        } else {
            Some(HeaderValue::from_static("*"))
        };
        if let Some(value) = value {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
    }
    if cors.credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if let Some(age) = cors.max_age {
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
    }
}

/// Answers a preflight.
pub(crate) fn preflight(
    cors: Option<&Cors>,
    parts: &Parts,
    scheme: &str,
    authority: &str,
) -> Response<Body> {
    let origin = parts.headers.get(header::ORIGIN).cloned();
    let text = origin
        .as_ref()
        .and_then(|o| o.to_str().ok())
        .unwrap_or_default();
    let method = parts
        .headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok());
    let requested: Vec<String> = parts
        .headers
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let refuse = |why: String| response::error(&DataPlaneError::CorsRefused(why));
    let Some(cors) = cors.filter(|c| origin_allowed(c, text)) else {
        if same_origin(text, scheme, authority) {
            return response::empty(StatusCode::NO_CONTENT);
        }
        return refuse(format!(
            "cross-origin requests from '{text}' are not allowed"
        ));
    };
    if let (Some(method), Some(allowed)) = (method, &cors.methods)
        && !allowed.iter().any(|m| m.eq_ignore_ascii_case(method))
    {
        return refuse(format!("method {method} is not allowed cross-origin"));
    }
    if let Some(allowed) = &cors.headers
        && let Some(refused) = requested.iter().find(|h| !allowed.contains(h))
    {
        return refuse(format!("header '{refused}' is not allowed cross-origin"));
    }
    let mut response = response::empty(StatusCode::NO_CONTENT);
    allow_preflight(
        cors,
        response.headers_mut(),
        origin.as_ref(),
        method,
        &requested,
    );
    response
}

fn allow_origin(headers: &mut http::HeaderMap, origin: Option<&HeaderValue>, echo: bool) {
    match origin {
        Some(origin) if echo => {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.append(header::VARY, HeaderValue::from_static("origin"));
        }
        _ => {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
    }
}

/// Adds the CORS headers of an allowed cross-origin request to its response.
pub(crate) fn decorate<B>(cors: Option<&Cors>, origin: &HeaderValue, response: &mut Response<B>) {
    let Some(cors) = cors else { return };
    let headers = response.headers_mut();
    if headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        return;
    }
    let exposable: Vec<String> = match &cors.expose {
        Some(expose) => expose.clone(),
        None => headers
            .keys()
            .map(HeaderName::as_str)
            .filter(|name| !SAFELISTED.contains(name))
            .map(str::to_owned)
            .collect(),
    };
    allow_origin(
        headers,
        Some(origin),
        cors.origins.is_some() || cors.credentials,
    );
    if cors.credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if exposable.is_empty() {
        return;
    }
    // `*` does not work with credentials: name the headers then.
    let value = if cors.expose.is_none() && !cors.credentials {
        Some(HeaderValue::from_static("*"))
    } else {
        HeaderValue::from_str(&exposable.join(", ")).ok()
    };
    if let Some(value) = value {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, value);
    }
}
