//! The admin token and the bearer check.

use std::sync::Arc;

use http::{Request, header};
use hyper::body::Incoming;

use super::answer::Answer;
use super::error::ApiError;

/// The admin token, compared in constant time.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl Token {
    /// A token from its text.
    pub fn new(text: &str) -> Self {
        Self(Arc::from(text))
    }

    /// The token's text, to show it once when it was just made.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    fn matches(&self, offered: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), offered.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself.
        f.write_str("Token(..)")
    }
}

/// Whether `request` carries `authorization: Bearer <token>`.
pub(crate) fn authorized(token: Option<&Token>, request: &Request<Incoming>) -> bool {
    let offered = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    matches!((token, offered), (Some(token), Some(offered)) if token.matches(offered.trim()))
}

/// 401 with the admin realm.
pub(crate) fn unauthorized() -> Answer {
    ApiError::Unauthorized.into_answer()
}
