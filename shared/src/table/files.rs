//! `http-filesystem` bindings: the routes that map requests onto files of a `filesystem`
//! server.

use super::server::{Guarded, RequestCondition};
use crate::template::Template;

/// An `http-filesystem` binding.
#[derive(Debug)]
pub struct FilesBinding {
    /// Binding name.
    pub binding: String,
    pub(crate) routes: Vec<FileRoute>,
}

/// One route: the requests it takes and the file it serves.
#[derive(Debug)]
pub struct FileRoute {
    pub(crate) when: Vec<RequestCondition>,
    pub(crate) guarded: Guarded,
    /// The file's path under the root, a template over the route's path parameters;
    /// `None` for the request's own path.
    pub path: Option<Template>,
    /// The `filesystem` binding.
    pub filesystem: String,
    /// Its `location`.
    pub root: String,
    /// Whether symbolic links inside the root are followed (else answered 404).
    pub follow_symlinks: bool,
}
