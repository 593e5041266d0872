//! One poll of the control plane: `GET /v1/config`, long-polling for the next revision and
//! reporting the data plane's state in request headers.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use serde_json::Value;

use super::client::PollClient;
use super::state::{FollowConfig, FollowState};

/// Seconds a poll asks the control plane to wait for a new revision.
const POLL_WAIT_SECONDS: u64 = 60;

/// Extra time given to a poll's answer beyond its wait.
const POLL_SLACK: Duration = Duration::from_secs(15);

/// A revision as the control plane sends it.
pub(crate) struct Received {
    pub(super) number: u64,
    pub(super) config: Value,
}

/// Why a poll brought nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PollError {
    /// The control plane URL does not make a request URL.
    #[error("bad control plane URL: {0}")]
    Url(String),
    /// The request could not be built (a header value).
    #[error("cannot build the poll: {0}")]
    Build(String),
    /// No answer in time.
    #[error("no answer within {0} s")]
    Timeout(u64),
    /// The connection failed.
    #[error("{0}")]
    Transport(String),
    /// 401.
    #[error(
        "the control plane refused the admin token (give the current one in --admin-token-file, read again before every poll, or SLUICE_ADMIN_TOKEN)"
    )]
    Unauthorized,
    /// 404.
    #[error("the control plane has no configuration")]
    NoConfiguration,
    /// Any other status.
    #[error("the control plane answered {0}")]
    Status(StatusCode),
    /// 200 without a revision number.
    #[error("the control plane's answer has no revision ETag")]
    NoRevision,
    /// The body could not be read.
    #[error("reading the configuration: {0}")]
    Body(String),
    /// The body is not JSON.
    #[error("the control plane's configuration is not JSON: {0}")]
    NotJson(String),
}

/// Asks the control plane for its head. With `wait`, the request names the last revision
/// seen and waits for a newer one; `Ok(None)` means nothing new.
pub(crate) async fn poll(
    client: &PollClient,
    config: &FollowConfig,
    state: &FollowState,
    wait: bool,
) -> Result<Option<Received>, PollError> {
    let request = request(config, state, wait)?;
    let timeout = Duration::from_secs(if wait { POLL_WAIT_SECONDS } else { 0 }) + POLL_SLACK;
    let response = tokio::time::timeout(timeout, client.request(request))
        .await
        .map_err(|_| PollError::Timeout(timeout.as_secs()))?
        .map_err(|e| PollError::Transport(chain(&e)))?;
    match response.status() {
        StatusCode::NOT_MODIFIED => return Ok(None),
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED => return Err(PollError::Unauthorized),
        StatusCode::NOT_FOUND => return Err(PollError::NoConfiguration),
        other => return Err(PollError::Status(other)),
    }
    let number = response
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.trim_start_matches("W/")
                .trim_matches('"')
                .parse::<u64>()
                .ok()
        })
        .ok_or(PollError::NoRevision)?;
    let body = Limited::new(
        response.into_body(),
        sluice_shared::spec::MAX_DOCUMENT_BYTES,
    )
    .collect()
    .await
    .map_err(|e| PollError::Body(e.to_string()))?
    .to_bytes();
    let config: Value =
        serde_json::from_slice(&body).map_err(|e| PollError::NotJson(e.to_string()))?;
    Ok(Some(Received { number, config }))
}

/// The poll: the data plane's id, applied revision and last error in headers; the token
/// (and with it the secrets) when it has one; the wait for a newer revision.
fn request(
    config: &FollowConfig,
    state: &FollowState,
    wait: bool,
) -> Result<Request<Empty<Bytes>>, PollError> {
    let base = config.control_plane.to_string();
    // Secrets come only with the admin token.
    let query = if config.token.is_some() {
        "?secrets=true"
    } else {
        ""
    };
    let uri: Uri = format!("{}/v1/config{query}", base.trim_end_matches('/'))
        .parse()
        .map_err(|e: http::uri::InvalidUri| PollError::Url(e.to_string()))?;
    let mut request = Request::get(uri)
        .header(header::ACCEPT, "application/json")
        .header("sluice-data-plane", &config.id);
    if let Some(token) = &config.token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {}", token.reveal()));
    }
    if let Some(applied) = state.applied_revision {
        request = request.header("sluice-applied-revision", applied.to_string());
    }
    if let Some(error) = &state.last_error {
        request = request.header("sluice-apply-error", header_text(error));
    }
    if wait && let Some(seen) = state.seen {
        request = request
            .header(header::IF_NONE_MATCH, format!("\"{seen}\""))
            .header("prefer", format!("wait={POLL_WAIT_SECONDS}"));
    }
    request
        .body(Empty::new())
        .map_err(|e| PollError::Build(e.to_string()))
}

/// An error with its causes, so that a TLS failure says why ("invalid peer certificate:
/// UnknownIssuer") rather than only "client error (Connect)".
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A header value: visible ASCII only, at most 500 characters.
pub(crate) fn header_text(text: &str) -> String {
    text.chars()
        .take(500)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_is_visible_ascii_and_bounded() {
        assert_eq!(header_text("port\n8080 in use: é"), "port?8080 in use: ?");
        assert_eq!(header_text(&"x".repeat(900)).len(), 500);
    }
}
