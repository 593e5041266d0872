//! Where a guard finds credentials in a request: a header, query parameter or cookie pattern
//! with `{credentials}` in it.

use std::borrow::Cow;

use crate::request::RequestHead;

/// A credential pattern: text around `{credentials}`, e.g. `Bearer {credentials}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPattern {
    prefix: String,
    suffix: String,
}

impl CredentialPattern {
    /// Compiles a pattern that holds `{credentials}` exactly once.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let Some((prefix, suffix)) = pattern.split_once("{credentials}") else {
            if pattern.contains('{') {
                return Err(PatternError::OtherPlaceholder(pattern.to_owned()));
            }
            return Err(PatternError::NoCredentials(pattern.to_owned()));
        };
        if suffix.contains("{credentials}") {
            return Err(PatternError::Repeated(pattern.to_owned()));
        }
        if prefix.contains('{') || suffix.contains('{') {
            return Err(PatternError::OtherPlaceholder(pattern.to_owned()));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
        })
    }

    /// The credentials in `value`, if it fits the pattern: the prefix (scheme names compare
    /// case-insensitively), then non-empty text without whitespace, then the suffix.
    pub fn extract<'v>(&self, value: &'v str) -> Option<&'v str> {
        let head = value.get(..self.prefix.len())?;
        if !head.eq_ignore_ascii_case(&self.prefix) {
            return None;
        }
        let rest = value[self.prefix.len()..].strip_suffix(self.suffix.as_str())?;
        (!rest.is_empty() && !rest.bytes().any(|b| b.is_ascii_whitespace())).then_some(rest)
    }
}

/// Why a credentials pattern is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// No `{credentials}` in it.
    #[error("pattern '{0}' has no '{{credentials}}'")]
    NoCredentials(String),
    /// `{credentials}` twice.
    #[error("pattern '{0}' holds '{{credentials}}' more than once")]
    Repeated(String),
    /// Another placeholder, such as `{username}`.
    #[error("pattern '{0}': only '{{credentials}}' is supported (not '{{username}}:{{password}}')")]
    OtherPlaceholder(String),
}

/// Where an `http` binding finds a guard's credentials.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// Index of the guard in the route table.
    pub guard: usize,
    /// Cookie name and pattern.
    pub cookies: Vec<(String, CredentialPattern)>,
    /// Header name (lowercase) and pattern.
    pub headers: Vec<(String, CredentialPattern)>,
    /// Query parameter name and pattern.
    pub query: Vec<(String, CredentialPattern)>,
}

impl Authorization {
    /// The request's credentials: cookies first, then headers, then the query, as in Zilla.
    pub fn credentials<'r>(&self, request: &'r dyn RequestHead) -> Option<Cow<'r, str>> {
        if !self.cookies.is_empty()
            && let Some(cookie) = request.header("cookie")
        {
            for pair in cookie.split(';') {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let name = name.trim();
                if let Some((_, pattern)) = self.cookies.iter().find(|(n, _)| n == name)
                    && let Some(found) = pattern.extract(value.trim())
                {
                    return Some(Cow::Borrowed(found));
                }
            }
        }
        for (name, pattern) in &self.headers {
            if let Some(found) = request.header(name).and_then(|v| pattern.extract(v.trim())) {
                return Some(Cow::Borrowed(found));
            }
        }
        if !self.query.is_empty()
            && let Some(query) = request.query()
        {
            for pair in query.split('&') {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                if let Some((_, pattern)) = self.query.iter().find(|(n, _)| n == name) {
                    let decoded = percent_encoding::percent_decode_str(value)
                        .decode_utf8()
                        .ok()?;
                    if let Some(found) = pattern.extract(&decoded) {
                        return Some(Cow::Owned(found.to_owned()));
                    }
                }
            }
        }
        None
    }
}

/// A claim path: `realm_access.roles` -> `["realm_access", "roles"]`.
pub fn claim_path(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}
