//! The `Prefer` request header (RFC 7240): `respond-async` and `wait=N`.
//!
//! Preferences may be separated by `,` or `;` and may span several `Prefer` headers; names
//! are case-insensitive. Unknown preferences are ignored, as the RFC asks. A `wait` that is
//! not a whole number of seconds is an error rather than silently ignored, because a client
//! that sent it expects to wait.

use super::header::HeaderError;
use http::HeaderMap;

/// What the client prefers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Prefer {
    /// `respond-async` was asked for.
    pub respond_async: bool,
    /// `wait=N`, seconds.
    pub wait: Option<u64>,
}

impl Prefer {
    /// Reads every `Prefer` header of `headers`.
    pub fn parse(headers: &HeaderMap) -> Result<Self, HeaderError> {
        let mut prefer = Self::default();
        for value in headers.get_all(http::header::HeaderName::from_static("prefer")) {
            let text = value.to_str().map_err(|_| HeaderError::PreferNotAscii)?;
            for token in text.split([',', ';']) {
                let token = token.trim();
                let (name, argument) = match token.split_once('=') {
                    Some((name, argument)) => {
                        (name.trim(), Some(argument.trim().trim_matches('"')))
                    }
                    None => (token, None),
                };
                if name.eq_ignore_ascii_case("respond-async") {
                    prefer.respond_async = true;
                } else if name.eq_ignore_ascii_case("wait") {
                    let seconds = argument
                        .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|a| a.parse::<u64>().ok())
                        .ok_or_else(|| HeaderError::BadWait(token.to_owned()))?;
                    prefer.wait = Some(seconds);
                }
            }
        }
        Ok(prefer)
    }
}

impl Prefer {
    /// Refuses a `wait` over `max_seconds`: a client asking for longer must know it gets less.
    pub fn check_wait(&self, max_seconds: u64) -> Result<(), HeaderError> {
        match self.wait {
            Some(wait) if wait > max_seconds => Err(HeaderError::WaitTooLong(max_seconds)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<Prefer, HeaderError> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("prefer", value.parse().expect("header value"));
        }
        Prefer::parse(&headers)
    }

    #[test]
    fn comma_semicolon_and_case_forms() {
        let expected = Prefer {
            respond_async: true,
            wait: Some(5),
        };
        assert_eq!(parse(&["respond-async, wait=5"]), Ok(expected));
        assert_eq!(parse(&["respond-async;wait=5"]), Ok(expected));
        assert_eq!(parse(&["Respond-Async", "WAIT=5"]), Ok(expected));
        assert_eq!(parse(&["wait=\"5\", respond-async"]), Ok(expected));
        assert_eq!(parse(&[]), Ok(Prefer::default()));
        assert_eq!(parse(&["return=minimal"]), Ok(Prefer::default()));
    }

    #[test]
    fn malformed_wait_is_an_error() {
        assert!(parse(&["wait=soon"]).is_err());
        assert!(parse(&["wait=-1"]).is_err());
        assert!(parse(&["wait="]).is_err());
        assert!(parse(&["wait=99999999999999999999999"]).is_err());
    }
}
