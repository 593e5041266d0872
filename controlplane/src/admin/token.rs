//! The admin token and the bearer check.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Request, header};
use hyper::body::Incoming;
use sluice_shared::sync::lock;

use super::answer::Answer;
use super::error::ApiError;

/// The admin token, compared in constant time. Clones share it, so a rotation
/// ([`Token::rotate`]) is seen by every holder at once.
#[derive(Clone)]
pub struct Token(Arc<Mutex<Keys>>);

/// The current token and, during a rotation's grace period, the previous one.
struct Keys {
    current: Arc<str>,
    previous: Option<(Arc<str>, Instant)>,
}

impl Token {
    /// A token from its text.
    pub fn new(text: &str) -> Self {
        Self(Arc::new(Mutex::new(Keys {
            current: Arc::from(text),
            previous: None,
        })))
    }

    /// The token's text: to show it once when it was just made, or to send it.
    pub fn reveal(&self) -> Arc<str> {
        lock(&self.0).current.clone()
    }

    /// Makes `text` the token. The one it replaces is still accepted for `grace`, so that
    /// clients holding it (data planes that have not read their token file again yet)
    /// keep working while they change over. Returns false when `text` is the token already.
    pub fn rotate(&self, text: &str, grace: Duration) -> bool {
        let mut keys = lock(&self.0);
        if &*keys.current == text {
            return false;
        }
        let previous = std::mem::replace(&mut keys.current, Arc::from(text));
        keys.previous = (!grace.is_zero()).then(|| (previous, Instant::now() + grace));
        true
    }

    fn matches(&self, offered: &str) -> bool {
        let keys = lock(&self.0);
        let previous = keys
            .previous
            .as_ref()
            .filter(|(_, until)| Instant::now() < *until)
            .is_some_and(|(previous, _)| same(previous, offered));
        // Both compared, in constant time each, whichever matches.
        same(&keys.current, offered) | previous
    }
}

fn same(expected: &str, offered: &str) -> bool {
    let (a, b) = (expected.as_bytes(), offered.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself.
        f.write_str("Token(..)")
    }
}

/// The token in `path`, trimmed; `None` when the file is empty.
pub fn read_token_file(path: &std::path::Path) -> std::io::Result<Option<String>> {
    let text = std::fs::read_to_string(path)?;
    Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_token_is_accepted_with_the_previous_one_for_the_grace_period() {
        let token = Token::new("old");
        let holder = token.clone();
        assert!(holder.matches("old") && !holder.matches("new"));
        assert!(token.rotate("new", Duration::from_secs(60)));
        assert!(holder.matches("new"), "every clone sees the rotation");
        assert!(
            holder.matches("old"),
            "the previous token, within its grace"
        );
        assert!(!holder.matches("other") && !holder.matches(""));
        assert_eq!(&*holder.reveal(), "new");
        assert!(!token.rotate("new", Duration::from_secs(60)), "unchanged");
        assert!(token.rotate("newer", Duration::ZERO));
        assert!(holder.matches("newer"));
        assert!(!holder.matches("new") && !holder.matches("old"), "no grace");
    }

    #[test]
    fn the_previous_token_ends_with_its_grace_period() {
        let token = Token::new("old");
        token.rotate("new", Duration::from_millis(30));
        assert!(token.matches("old"));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!token.matches("old"), "grace over");
        assert!(token.matches("new"));
    }
}
