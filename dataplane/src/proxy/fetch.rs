//! Fetch routes: the latest record of an item, or a JSON list, from the topic cache.
//!
//! - Item: the newest cached record passing the filters. 200 with its value, its
//!   `content-type` and an ETag; 204 for an empty value; 404 when there is none or the latest
//!   record is a tombstone. ETag: the record's progress `{partition: offset + 1}`, plus
//!   `/<etag header>` when the record has one.
//! - List: a JSON array of the latest live values passing the filters, in (partition, offset)
//!   order. Values that are not JSON are sent as JSON strings (UTF-8, invalid bytes
//!   replaced). ETag: per partition, the next offset after the newest record (live or
//!   tombstone) that passes the filters.
//! - `If-None-Match` matching the current ETag: 304. With `prefer: wait=N` the request is
//!   held until the answer changes (or, for an item, until it appears) or N runs out.

use std::borrow::Cow;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Response, StatusCode};
use sluice_shared::path::Params;
use sluice_shared::table::{FetchAction, HttpKafkaBinding};

use super::context::{Filter, Identity, path_topic, resolve_filters};
use super::view::View;
use crate::error::DataPlaneError;
use crate::kafka::cache::TopicCache;
use crate::metrics::Gauged;
use crate::response::Body;
use crate::snapshot::Snapshot;
use sluice_shared::wire::etag::IfNoneMatchRef;
use sluice_shared::wire::prefer::Prefer;

mod read;
use read::{Outcome, current};

/// How long a request waits for a starting cache to catch up before 503.
const CATCH_UP_WAIT: Duration = Duration::from_secs(10);

/// Everything a fetch needs from the routing step.
pub(crate) struct FetchRequest<'a> {
    pub binding: &'a HttpKafkaBinding,
    pub action: &'a FetchAction,
    pub params: &'a Params,
    pub parts: &'a Parts,
    pub identity: Option<Identity<'a>>,
}

/// The cache a fetch route reads, its cluster's servers and its topic: the route's own, or
/// the topic its path names (opened on demand, at most the route's `max-topics` at once).
async fn cache_of<'a>(
    active: &'a Snapshot,
    binding: &HttpKafkaBinding,
    action: &'a FetchAction,
    params: &Params,
) -> Result<(std::sync::Arc<TopicCache>, &'a [String], Cow<'a, str>), DataPlaneError> {
    let Some(template) = &action.topic_template else {
        let cache = active
            .caches
            .get(action.cluster, &action.topic)
            .ok_or_else(|| DataPlaneError::Internal("no cache for this route".to_owned()))?;
        let servers = active
            .table
            .clusters
            .get(action.cluster)
            .map_or(&[][..], |cluster| &cluster.servers[..]);
        return Ok((cache.clone(), servers, Cow::Borrowed(action.topic.as_str())));
    };
    let (cluster, topic) = path_topic(&active.table.clusters, action.cluster, template, params)?;
    // A key that stays the same across configurations: the binding and the topic template.
    let route = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        binding.binding.hash(&mut hasher);
        action.topic.hash(&mut hasher);
        hasher.finish()
    };
    match active
        .dynamic
        .caches
        .open(
            cluster,
            &topic,
            route,
            action.max_topics,
            crate::kafka::cache::start,
        )
        .await
    {
        Ok(cache) => Ok((cache, &cluster.servers[..], Cow::Owned(topic))),
        Err(error) => Err(error.into_error(&topic)),
    }
}

/// Answers a fetch route.
pub(crate) async fn fetch(
    active: &Snapshot,
    request: FetchRequest<'_>,
) -> Result<Response<Body>, DataPlaneError> {
    let FetchRequest {
        binding,
        action,
        params,
        parts,
        identity,
    } = request;
    let (cache, servers, topic) = cache_of(active, binding, action, params).await?;
    let cache = &*cache;
    let prefer =
        Prefer::parse(&parts.headers).map_err(|e| DataPlaneError::BadRequest(e.to_string()))?;
    prefer
        .check_wait(binding.max_wait_seconds)
        .map_err(|e| DataPlaneError::BadRequest(e.to_string()))?;
    let condition = IfNoneMatchRef::parse(&parts.headers)
        .map_err(|e| DataPlaneError::BadRequest(e.to_string()))?;
    if !cache.ready(CATCH_UP_WAIT).await {
        return Err(DataPlaneError::CacheLoading {
            topic: topic.into_owned(),
        });
    }
    if !caught_up(active, cache, servers, &topic).await {
        return Err(DataPlaneError::CacheBehind {
            topic: topic.into_owned(),
        });
    }
    let filters = resolve_filters(&action.filters, params, identity);
    let view = View::of(&active.models, &action.models, &topic);
    let wait = prefer
        .wait
        .filter(|seconds| *seconds > 0)
        .map(Duration::from_secs);
    let deadline = wait.map(|wait| tokio::time::Instant::now() + wait);
    // Subscribe before the first read, so no change between the read and the wait is lost.
    let mut changes = deadline.map(|_| cache.changes());
    loop {
        // Mark every change so far as seen *before* reading, so a change that lands between
        // this read and the wait below still wakes the wait.
        if let Some(changes) = changes.as_mut() {
            changes.borrow_and_update();
        }
        let outcome = settle(cache, action, &filters, view.as_ref()).await;
        let not_modified = unchanged(&outcome, condition.as_ref());
        // Hold the request while nothing new can be said: unchanged, or an item not there yet.
        let hold = not_modified || (matches!(outcome, Outcome::Missing) && !action.merge);
        if hold && let (Some(deadline), Some(changes)) = (deadline, changes.as_mut()) {
            let _waiting = Gauged::new(&active.metrics, |m| &m.fetch_waiters);
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_ok_and(|r| r.is_ok())
            {
                continue;
            }
            let outcome = settle(cache, action, &filters, view.as_ref()).await;
            let not_modified = unchanged(&outcome, condition.as_ref());
            return respond(outcome, not_modified, action.merge, prefer.wait);
        }
        return respond(outcome, not_modified, action.merge, prefer.wait);
    }
}

/// Read-your-writes: whether every write this instance acknowledged on the topic is in the
/// cache, waiting (bounded) when it is not yet; the marks are copied only to wait.
async fn caught_up(active: &Snapshot, cache: &TopicCache, servers: &[String], topic: &str) -> bool {
    let marks = active.producers.marks();
    // Read before the marks: a write marked after it moves the version again.
    let version = marks.version();
    cache.passed_at(version, |positions| marks.passed(servers, topic, positions))
        || cache
            .reached(&marks.of(servers, topic), CATCH_UP_WAIT)
            .await
}

/// What the cache says, with the records shown through the topic's value model; schemas
/// not cached yet are looked up first.
async fn settle(
    cache: &TopicCache,
    action: &FetchAction,
    filters: &[Filter],
    view: Option<&View>,
) -> Outcome {
    loop {
        match current(cache, action, filters, view) {
            Ok(outcome) => return outcome,
            // A failed lookup marks the schema unavailable, so this ends.
            Err(needed) => match view {
                Some(view) => view.load(needed).await,
                None => return Outcome::Missing,
            },
        }
    }
}

/// An ETag without its quotes.
fn unquoted(etag: &str) -> &str {
    etag.strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(etag)
}

/// Whether the request's `If-None-Match` names what the cache holds now.
fn unchanged(outcome: &Outcome, condition: Option<&IfNoneMatchRef<'_>>) -> bool {
    match (outcome, condition) {
        (Outcome::Found { etag, .. }, Some(condition)) => condition.matches(unquoted(etag)),
        _ => false,
    }
}

fn respond(
    outcome: Outcome,
    not_modified: bool,
    merge: bool,
    wait: Option<u64>,
) -> Result<Response<Body>, DataPlaneError> {
    let (etag, status, body, content_type) = match outcome {
        Outcome::Evicted => return Err(DataPlaneError::CacheEvicted),
        Outcome::Missing => {
            return Err(DataPlaneError::NoRecord);
        }
        Outcome::Found {
            etag,
            status,
            body,
            content_type,
        } => (etag, status, body, content_type),
    };
    let mut response = if not_modified {
        let mut response = Response::new(Body::default());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(Body::new(body));
        *response.status_mut() = status;
        response
    };
    let headers = response.headers_mut();
    // Taken over without a copy.
    let quoted = HeaderValue::try_from(etag)
        .map_err(|_| DataPlaneError::Internal("etag is not a valid header value".to_owned()))?;
    headers.insert(header::ETAG, quoted);
    if let Some(content_type) = content_type.and_then(|c| HeaderValue::from_maybe_shared(c).ok())
        && (merge || !not_modified)
    {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    if let Some(seconds) = wait.filter(|s| *s > 0)
        && let Ok(value) = HeaderValue::from_str(&format!("wait={seconds}"))
    {
        headers.insert(header::HeaderName::from_static("preference-applied"), value);
    }
    Ok(response)
}
