//! Files of a `filesystem` binding, served to `GET` and `HEAD` through `http-filesystem`
//! routes.
//!
//! The file is the route's `with.path` (`${params.path}`) under the binding's `location`,
//! or the request's own path. A path with an empty, `.` or `..` segment, a backslash or a
//! NUL is answered 404 without touching the disk. Every segment is checked: a symbolic
//! link is answered 404 unless `symlinks: follow`, and then only when its target resolves
//! inside `location`. Files are read on every request, so a changed file is served at
//! once, with an ETag from its size and modification time (`If-None-Match` → 304).
//! Small files are answered whole; larger ones are streamed in chunks.

use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use sluice_shared::path::Params;
use sluice_shared::table::FileRoute;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use super::context::render_with_params;
use crate::error::DataPlaneError;
use crate::response::Body;

/// Files up to this size are answered in one piece; larger ones are streamed.
const WHOLE: u64 = 64 * 1024;
/// Bytes per streamed chunk.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered ahead of a slow client.
const AHEAD: usize = 4;

/// Answers `parts` with the file `route` maps it to.
pub(crate) async fn serve(
    route: &FileRoute,
    params: &Params,
    parts: &Parts,
) -> Result<Response<Body>, DataPlaneError> {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return Err(DataPlaneError::ReadOnly {
            method: parts.method.to_string(),
        });
    }
    let relative = match &route.path {
        Some(template) => render_with_params(template, params),
        None => percent_encoding::percent_decode_str(parts.uri.path())
            .decode_utf8_lossy()
            .into_owned(),
    };
    let not_found = || DataPlaneError::NoFile(format!("/{}", relative.trim_start_matches('/')));
    let path = locate(Path::new(&route.root), &relative, route.follow_symlinks)
        .await
        .ok_or_else(not_found)?;
    let metadata = tokio::fs::metadata(&path).await.map_err(|_| not_found())?;
    if !metadata.is_file() {
        return Err(not_found());
    }
    let modified = metadata.modified().ok();
    let nanos = modified
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{:x}-{nanos:x}\"", metadata.len());
    let mut response = Response::new(Body::Empty);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if let Some(value) =
        modified.and_then(|m| HeaderValue::from_str(&httpdate::fmt_http_date(m)).ok())
    {
        headers.insert(header::LAST_MODIFIED, value);
    }
    if matches_etag(parts, &etag) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(response);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(metadata.len()));
    if parts.method == Method::HEAD {
        return Ok(response);
    }
    *response.body_mut() = body(&path, metadata.len()).await.map_err(|_| not_found())?;
    Ok(response)
}

/// The file `relative` names under `root`, or `None` when it must not be served.
async fn locate(root: &Path, relative: &str, follow_symlinks: bool) -> Option<PathBuf> {
    let relative = relative.trim_start_matches('/');
    if relative.is_empty() || relative.contains(['\\', '\0']) {
        return None;
    }
    let mut path = root.to_path_buf();
    for segment in relative.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return None;
        }
        path.push(segment);
        let is_link = tokio::fs::symlink_metadata(&path)
            .await
            .ok()?
            .file_type()
            .is_symlink();
        if is_link && !follow_symlinks {
            return None;
        }
    }
    // Whatever the links, the file must resolve inside the root.
    let root = tokio::fs::canonicalize(root).await.ok()?;
    let resolved = tokio::fs::canonicalize(&path).await.ok()?;
    let inside = resolved.starts_with(&root)
        && resolved
            .strip_prefix(&root)
            .is_ok_and(|rest| rest.components().all(|c| matches!(c, Component::Normal(_))));
    inside.then_some(resolved)
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn matches_etag(parts: &Parts, etag: &str) -> bool {
    parts
        .headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// The file's bytes: whole when small, else streamed from a task of their own.
async fn body(path: &Path, length: u64) -> std::io::Result<Body> {
    if length <= WHOLE {
        let bytes = tokio::fs::read(path).await?;
        return Ok(Body::Full(Some(Bytes::from(bytes))));
    }
    let mut file = tokio::fs::File::open(path).await?;
    let (sender, receiver) = mpsc::channel(AHEAD);
    tokio::spawn(async move {
        loop {
            let mut chunk = vec![0u8; CHUNK];
            match file.read(&mut chunk).await {
                Ok(0) => break,
                Ok(read) => {
                    chunk.truncate(read);
                    if sender.send(Ok(Bytes::from(chunk))).await.is_err() {
                        break;
                    }
                }
                Err(_) => {
                    let _ = sender
                        .send(Err(crate::response::Aborted("file read failed")))
                        .await;
                    break;
                }
            }
        }
    });
    Ok(Body::Stream(receiver))
}

/// The media type of a file, by its extension.
fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("xml") => "application/xml",
        Some("yaml" | "yml") => "application/yaml",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("pdf") => "application/pdf",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("ttf") => "font/ttf",
        _ => "application/octet-stream",
    }
}
