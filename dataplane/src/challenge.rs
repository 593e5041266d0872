//! Challenge answers: a client renews the sessions of its guarded streams with new
//! credentials (`content-type: application/x-challenge-response`).

use http::header;
use http::request::Parts;
use http::{Method, Response, StatusCode};
use sluice_shared::guard::Principal;
use tracing::debug;

use crate::admit::Connection;
use crate::error::DataPlaneError;
use crate::guard::session::{CHALLENGE_RESPONSE, Renewal, SESSION_HEADER};
use crate::response::{self, Body};
use crate::snapshot::Snapshot;

pub(crate) fn is_challenge_answer(parts: &Parts) -> bool {
    parts.method == Method::POST
        && parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case(CHALLENGE_RESPONSE))
            })
}

/// A challenge answer: renews the caller's stream sessions, 204; 401 for bad credentials.
pub(crate) fn answer_challenge(
    active: &Snapshot,
    connection: &Connection,
    parts: &Parts,
    authenticated: Option<(&Principal, &str)>,
    rejected: bool,
) -> Result<Response<Body>, DataPlaneError> {
    let Some((principal, credentials)) = authenticated else {
        return Err(DataPlaneError::Unauthorized {
            reason: if rejected {
                "the challenge answer's credentials are not valid".to_owned()
            } else {
                "a challenge answer needs new credentials".to_owned()
            },
            invalid: rejected,
        });
    };
    let token = parts
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok());
    match connection
        .sessions
        .renew(&active.sessions, principal, credentials, token)
    {
        Renewal::Renewed(sessions) => {
            debug!(sessions, "stream sessions renewed by a challenge answer");
            Ok(response::empty(StatusCode::NO_CONTENT))
        }
        Renewal::UnknownSession => Err(DataPlaneError::NoSession(
            "the session named by sluice-session has ended".to_owned(),
        )),
        Renewal::NoSession => Err(DataPlaneError::NoSession(format!(
            "no stream of this identity to renew on this connection; send the {SESSION_HEADER} header from the challenge"
        ))),
        Renewal::NotAllowed => Err(DataPlaneError::RenewalRefused),
    }
}
