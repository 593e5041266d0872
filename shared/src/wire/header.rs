//! Why a request header Sluice reads (`Prefer`, `If-None-Match`) is refused; each is a 400.

/// A malformed `Prefer` or `If-None-Match` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// `Prefer` holds bytes that are not visible ASCII.
    #[error("the prefer header must be visible ASCII")]
    PreferNotAscii,
    /// `Prefer: wait=` is not a whole number of seconds.
    #[error("prefer '{0}': wait must be a whole number of seconds")]
    BadWait(String),
    /// `Prefer: wait=` over what the route allows.
    #[error("prefer wait must be at most {0} seconds")]
    WaitTooLong(u64),
    /// `If-None-Match` holds bytes that are not visible ASCII.
    #[error("if-none-match must be visible ASCII")]
    IfNoneMatchNotAscii,
    /// `If-None-Match` is not a list of entity tags (its first 80 characters).
    #[error("if-none-match '{0}' is not a list of entity tags")]
    NotEntityTags(String),
}
