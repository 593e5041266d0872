//! Building admin API answers: JSON bodies, problems (`{code, message}`), revisions with
//! their ETags, and the outcome of a change.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::store::Revision;

/// `/metrics` as Prometheus expects it.
/// Appends the expiry of the admin listener's certificate, when it serves TLS.
pub(crate) fn admin_tls_metrics(out: &mut String, tls: Option<&sluice_dataplane::FileAcceptor>) {
    if let Some(tls) = tls {
        out.push_str(&format!(
            "# HELP sluice_admin_tls_certificate_expiry_timestamp_seconds When the certificate the admin listener serves expires.\n# TYPE sluice_admin_tls_certificate_expiry_timestamp_seconds gauge\nsluice_admin_tls_certificate_expiry_timestamp_seconds {}\n",
            tls.not_after()
        ));
    }
}

pub(crate) fn metrics_answer(text: String) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(text)));
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    answer
}

pub(crate) type Answer = Response<Full<Bytes>>;

pub(crate) fn json_answer(status: StatusCode, body: &Value) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn problem(status: StatusCode, code: &str, message: &str) -> Answer {
    json_answer(status, &json!({ "code": code, "message": message }))
}

pub(crate) fn etag(number: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{number}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// A revision's configuration; secrets shown as `***` unless `secrets` (data planes).
pub(crate) fn revision_answer(revision: &Revision, yaml: bool, secrets: bool) -> Answer {
    let shown = if secrets {
        revision.config.clone()
    } else {
        sluice_shared::secrets::redacted(&revision.config)
    };
    let mut answer = if yaml {
        let text = serde_yaml::to_string(&shown).unwrap_or_default();
        let mut response = Response::new(Full::new(Bytes::from(text)));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        );
        response
    } else {
        json_answer(StatusCode::OK, &shown)
    };
    answer
        .headers_mut()
        .insert(header::ETAG, etag(revision.number));
    answer
}

/// The ETag of one binding or guard: a hash of its JSON.
pub(crate) fn resource_etag(value: &Value) -> String {
    format!("\"{}\"", &crate::store::checksum(value)[..16])
}
