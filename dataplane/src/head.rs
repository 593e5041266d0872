//! Routing's view of a request: [`RequestHead`] over `http` request parts.

use http::request::Parts;
use sluice_shared::table::RequestHead;

/// Routing's view of a request.
pub(crate) struct Head<'a>(pub(crate) &'a Parts);

impl RequestHead for Head<'_> {
    fn method(&self) -> &str {
        self.0.method.as_str()
    }

    fn path(&self) -> &str {
        self.0.uri.path()
    }

    fn query(&self) -> Option<&str> {
        self.0.uri.query()
    }

    fn scheme(&self) -> &str {
        self.0.uri.scheme_str().unwrap_or("http")
    }

    fn authority(&self) -> &str {
        self.0
            .uri
            .authority()
            .map(|a| a.as_str())
            .or_else(|| self.header("host"))
            .unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.0.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
