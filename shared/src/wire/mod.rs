//! Wire formats shared by the data plane and the fuzz targets: ETags and SSE event ids
//! (Zilla's progress encoding), `If-None-Match` and `Prefer`, and why such a header is refused
//! (`header`).

pub mod etag;
pub mod event_id;
pub mod header;
pub mod prefer;
