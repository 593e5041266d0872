//! Path templates such as `/items/{id}` or `/items/{id};cid={correlationId}`.
//!
//! - `{name}` matches one or more characters within one path segment (never `/`); the value
//!   is percent-decoded after matching, so `%2F` inside a segment is allowed and becomes `/`.
//! - `*` matches any characters, `/` included (Zilla's wildcard).
//! - Everything else matches literally, case-sensitively.
//! - The query string is never part of the match: callers pass the path alone.
//!
//! Matching is a memoised search over (token, position), so it is linear in the path length
//! times the number of tokens whatever the template.

use std::fmt;

/// One piece of a compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Param(String),
    Wildcard,
}

/// A compiled path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    source: String,
    tokens: Vec<Token>,
    params: Vec<String>,
}

/// Why a path template is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathTemplateError {
    /// The template does not start with `/`.
    #[error("path template must start with '/'")]
    NoLeadingSlash,
    /// A `{` has no matching `}` or a `}` has no `{`.
    #[error("unbalanced '{{' or '}}' at byte {0}")]
    Unbalanced(usize),
    /// A parameter name is empty or has characters other than letters, digits and `_`.
    #[error("parameter name '{0}' must be letters, digits or '_' and start with a letter or '_'")]
    BadName(String),
    /// The same parameter appears twice.
    #[error("parameter '{0}' appears twice")]
    Duplicate(String),
    /// Two parameters or wildcards follow each other with nothing between them.
    #[error(
        "'{0}' follows another parameter or '*' directly, so the split between them is ambiguous"
    )]
    Adjacent(String),
    /// The template holds a query string.
    #[error("path template must not contain '?': the query string is never matched")]
    Query,
}

/// Values captured by a match, in template order.
pub type Params = Vec<(String, String)>;

/// Why a path that matched the template still cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path parameter '{0}' {1}")]
pub struct BadParam(pub String, pub &'static str);

/// Percent-decodes one parameter strictly: every `%` starts two hex digits, the result is
/// UTF-8, and it holds no control character (NUL, CR, LF...), since parameters become Kafka
/// keys, headers and topic names.
fn decode_param(raw: &str) -> Result<String, &'static str> {
    let bytes = raw.as_bytes();
    for (at, byte) in bytes.iter().enumerate() {
        if *byte == b'%'
            && !(bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err("has a '%' that is not followed by two hex digits");
        }
    }
    let value = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| "is not valid percent-encoded UTF-8")?;
    if value.chars().any(char::is_control) {
        return Err("holds a control character");
    }
    Ok(value.into_owned())
}

impl PathTemplate {
    /// Compiles `source`.
    pub fn parse(source: &str) -> Result<Self, PathTemplateError> {
        if !source.starts_with('/') {
            return Err(PathTemplateError::NoLeadingSlash);
        }
        if source.contains('?') {
            return Err(PathTemplateError::Query);
        }
        let mut tokens = Vec::new();
        let mut params: Vec<String> = Vec::new();
        let mut literal = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        if c == '{' || c == '/' {
                            return Err(PathTemplateError::Unbalanced(at));
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(PathTemplateError::Unbalanced(at));
                    }
                    if !valid_name(&name) {
                        return Err(PathTemplateError::BadName(name));
                    }
                    if params.contains(&name) {
                        return Err(PathTemplateError::Duplicate(name));
                    }
                    push_capture(&mut tokens, &mut literal, Token::Param(name.clone()))?;
                    params.push(name);
                }
                '}' => return Err(PathTemplateError::Unbalanced(at)),
                '*' => push_capture(&mut tokens, &mut literal, Token::Wildcard)?,
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(Self {
            source: source.to_owned(),
            tokens,
            params,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Parameter names, in template order.
    pub fn params(&self) -> &[String] {
        &self.params
    }

    /// Whether the template declares parameter `name`.
    pub fn has_param(&self, name: &str) -> bool {
        self.params.iter().any(|p| p == name)
    }

    /// Matches `path` (no query string). On a match, returns the raw (still percent-encoded)
    /// captures as byte ranges into `path`.
    fn match_ranges(&self, path: &str) -> Option<Vec<(usize, usize)>> {
        // The memo of failed (token, position) pairs lives on the stack for usual sizes.
        const ON_STACK: usize = 512;
        let bytes = path.as_bytes();
        let cells = (self.tokens.len() + 1) * (bytes.len() + 1);
        let mut stack = [false; ON_STACK];
        let mut heap = Vec::new();
        let failed = if cells <= ON_STACK {
            &mut stack[..cells]
        } else {
            heap.resize(cells, false);
            &mut heap[..]
        };
        let mut captures = Vec::with_capacity(self.params.len());
        self.search(bytes, 0, 0, failed, &mut captures)
            .then_some(captures)
    }

    fn search(
        &self,
        path: &[u8],
        token: usize,
        at: usize,
        failed: &mut [bool],
        captures: &mut Vec<(usize, usize)>,
    ) -> bool {
        let memo = token * (path.len() + 1) + at;
        if failed[memo] {
            return false;
        }
        let found = match self.tokens.get(token) {
            None => at == path.len(),
            Some(Token::Literal(literal)) => {
                path[at..].starts_with(literal.as_bytes())
                    && self.search(path, token + 1, at + literal.len(), failed, captures)
            }
            Some(Token::Param(_)) => {
                let segment_end = path[at..]
                    .iter()
                    .position(|&b| b == b'/')
                    .map_or(path.len(), |offset| at + offset);
                if token + 1 == self.tokens.len() {
                    // The last token: it takes the rest, which must be one non-empty segment.
                    let whole = segment_end == path.len() && segment_end > at;
                    if whole {
                        captures.push((at, segment_end));
                    }
                    return whole;
                }
                (at + 1..=segment_end).any(|end| {
                    captures.push((at, end));
                    let found = self.search(path, token + 1, end, failed, captures);
                    if !found {
                        captures.pop();
                    }
                    found
                })
            }
            Some(Token::Wildcard) => {
                (at..=path.len()).any(|end| self.search(path, token + 1, end, failed, captures))
            }
        };
        if !found {
            failed[memo] = true;
        }
        found
    }

    /// Matches `path` (no query string) and returns the percent-decoded parameters, `None`
    /// when the path does not match, or an error when a parameter does not decode strictly
    /// (a stray `%`, not UTF-8, a control character).
    pub fn matches(&self, path: &str) -> Option<Result<Params, BadParam>> {
        let ranges = self.match_ranges(path)?;
        let mut params = Vec::with_capacity(ranges.len());
        for (name, (start, end)) in self.params.iter().zip(ranges) {
            match decode_param(&path[start..end]) {
                Ok(value) => params.push((name.clone(), value)),
                Err(reason) => return Some(Err(BadParam(name.clone(), reason))),
            }
        }
        Some(Ok(params))
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn push_capture(
    tokens: &mut Vec<Token>,
    literal: &mut String,
    capture: Token,
) -> Result<(), PathTemplateError> {
    if literal.is_empty() {
        if let Some(Token::Param(_) | Token::Wildcard) = tokens.last() {
            let shown = match &capture {
                Token::Param(name) => format!("{{{name}}}"),
                _ => "*".to_owned(),
            };
            return Err(PathTemplateError::Adjacent(shown));
        }
    } else {
        tokens.push(Token::Literal(std::mem::take(literal)));
    }
    tokens.push(capture);
    Ok(())
}

/// Parameter and template names: a letter or `_`, then letters, digits or `_`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Matches `value` against a pattern in which `*` stands for any run of characters.
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests;
