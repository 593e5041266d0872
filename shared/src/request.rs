//! The request as routing and guards see it: [`RequestHead`].

/// The parts of a request that routing looks at.
pub trait RequestHead {
    /// `GET`, `POST`, ...
    fn method(&self) -> &str;
    /// The path, without query string, still percent-encoded.
    fn path(&self) -> &str;
    /// The query string without `?`, if any.
    fn query(&self) -> Option<&str>;
    /// `http` or `https`.
    fn scheme(&self) -> &str;
    /// Host and port the request was sent to.
    fn authority(&self) -> &str;
    /// A request header by lowercase name (first value).
    fn header(&self, name: &str) -> Option<&str>;
}
