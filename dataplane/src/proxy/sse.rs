//! Server-Sent Events from a topic feed.
//!
//! A stream starts with `retry:`, then carries one event per record that passes the route's
//! filters:
//!
//! ```text
//! id:<progress>[/<etag header>]      or  id:["<base64url key>","<progress>"]
//! data:<value line 1>
//! data:<value line 2>
//!
//! ```
//!
//! A tombstone is `event:delete` with `data:<base64url key>`. The id's progress holds, for
//! every partition the stream has read, the next offset after the last record read, so
//! `Last-Event-ID` (header, or `lastEventId` query parameter) resumes exactly after it on
//! any instance. Comments (`:`) keep idle connections alive. A client that does not read
//! fast enough is dropped once its bounded buffer is full; it can resume with its last id.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use sluice_shared::path::Params;
use sluice_shared::spec::SseStart;
use sluice_shared::table::{SseAction, SseKafkaRoute, SseServer};
use sluice_shared::wire::event_id::parse_last_event_id;
use tokio::sync::mpsc;
use tracing::warn;

use super::context::{Identity, path_topic, resolve_filters};
use super::sink::Sink;
use super::stream::{Authorization, Stream};
use super::view::View;
use crate::error::DataPlaneError;
use crate::guard::session::Session;
use crate::kafka::feed::TopicFeed;
use crate::metrics::Gauged;
use crate::response::Body;
use crate::snapshot::Snapshot;

/// Longest `Last-Event-ID` accepted, as in Zilla.
const MAX_LAST_EVENT_ID: usize = 254;

/// Chunks buffered per stream before a client that does not read is dropped.
const STREAM_BUFFER: usize = 16;

/// How long a stream waits for a starting feed to catch up before 503.
const CATCH_UP_WAIT: Duration = Duration::from_secs(10);

/// Everything a stream needs from the routing step.
pub(crate) struct SseRequest<'a> {
    pub server: &'a SseServer,
    pub route: &'a SseKafkaRoute,
    pub params: &'a Params,
    pub parts: &'a Parts,
    /// The caller, when the server has a guard and the token is valid.
    pub identity: Option<Identity<'a>>,
    /// The session a guarded stream belongs to; the stream ends when it expires.
    pub session: Option<Arc<Session>>,
    /// Seconds before expiry at which the stream sends `event: challenge`.
    pub challenge: Option<u64>,
}

/// Opens a stream answered through hyper: its events go through a bounded channel.
pub(crate) async fn stream(
    active: &Snapshot,
    request: SseRequest<'_>,
) -> Result<Response<Body>, DataPlaneError> {
    let stream = open(active, request).await?;
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(stream.run(Sink::Channel(sender)));
    let mut response = Response::new(Body::Stream(receiver));
    *response.status_mut() = StatusCode::OK;
    insert_headers(response.headers_mut());
    Ok(response)
}

/// Adds the headers of every stream's response.
pub(crate) fn insert_headers(headers: &mut http::HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    headers.insert(
        header::HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
}

/// Checks the request and prepares its stream, which then runs on a [`Sink`].
pub(crate) async fn open(
    active: &Snapshot,
    request: SseRequest<'_>,
) -> Result<Stream, DataPlaneError> {
    let SseRequest {
        server,
        route,
        params,
        parts,
        identity,
        session,
        challenge,
    } = request;
    if parts.method != Method::GET {
        return Err(DataPlaneError::MethodNotAllowed {
            method: parts.method.to_string(),
        });
    }
    if !accepts_event_stream(parts) {
        return Err(DataPlaneError::NotAcceptable);
    }
    let action = &route.action;
    let last_event_id = last_event_id(parts)?;
    let (feed, topic) = feed_of(active, route, params).await?;
    if !feed.ready(CATCH_UP_WAIT).await {
        return Err(DataPlaneError::CacheLoading {
            topic: topic.clone(),
        });
    }
    let resume = last_event_id.as_deref().map(parse_last_event_id);
    let mut greeting = format!("retry:{}\n\n", server.retry_ms);
    let (cursor, progress, skip_before) = start_at(&feed, action, resume, &mut greeting);
    let leeway = identity
        .and_then(|i| active.table.guards.get(i.principal.guard))
        .map_or(0, |g| g.leeway_seconds);
    Ok(Stream {
        open: Gauged::new(&active.metrics, |m| &m.sse_streams),
        feed,
        filters: resolve_filters(&action.filters, params, identity),
        key_in_id: action.key_in_id,
        cursor,
        progress,
        skip_before,
        greeting: Some(Bytes::from(greeting)),
        keepalive: Duration::from_secs(server.keepalive_seconds),
        view: View::of(&active.models, &action.models, &topic),
        tracing: active.tracing.clone(),
        topic,
        shutdown: active.shutdown.clone(),
        retired: active.routes.watch(route.fingerprint),
        authorization: session.map(|session| Authorization::new(session, leeway, challenge)),
    })
}

/// The feed a stream of `route` reads, and its topic: the route's own, or the topic its
/// path names (opened on demand).
async fn feed_of(
    active: &Snapshot,
    route: &SseKafkaRoute,
    params: &Params,
) -> Result<(Arc<TopicFeed>, String), DataPlaneError> {
    let action = &route.action;
    let Some(template) = &action.topic_template else {
        let feed = active
            .feeds
            .get(action.cluster, &action.topic)
            .ok_or_else(|| DataPlaneError::Internal("no feed for this route".to_owned()))?;
        return Ok((feed.clone(), action.topic.clone()));
    };
    let (cluster, topic) = path_topic(&active.table.clusters, action.cluster, template, params)?;
    match active
        .dynamic
        .feeds
        .open(
            cluster,
            &topic,
            route.fingerprint,
            action.max_topics,
            crate::kafka::feed::start,
        )
        .await
    {
        Ok(feed) => Ok((feed, topic)),
        Err(error) => Err(error.into_error(&topic)),
    }
}

/// Where a stream starts in the feed: after the client's last event id when it gave one
/// (with a comment in `greeting` when records since are gone, or the id is not understood),
/// else at the route's start position. The cursor, the progress so far, and the offsets
/// before which records were delivered already.
fn start_at(
    feed: &TopicFeed,
    action: &SseAction,
    resume: Option<Option<Vec<(i32, i64)>>>,
    greeting: &mut String,
) -> (u64, BTreeMap<i32, i64>, BTreeMap<i32, i64>) {
    let state = feed.read();
    match resume {
        Some(Some(progress)) => {
            let progress: BTreeMap<i32, i64> = progress.into_iter().collect();
            let missing = state.missing_before(&progress);
            if missing > 0 {
                warn!(topic = %action.topic, missing, "sse resume point is older than the feed window");
                greeting.push_str(&format!(
                    ": {missing} records after last-event-id are no longer held in memory and are skipped\n\n"
                ));
            }
            (state.first_seq(), progress.clone(), progress)
        }
        unparsed => {
            if unparsed.is_some() {
                greeting.push_str(
                    ": last-event-id not understood; starting from the route's start position\n\n",
                );
            }
            match action.start {
                SseStart::Historical => (state.first_seq(), BTreeMap::new(), BTreeMap::new()),
                SseStart::Live => (
                    state.next_seq(),
                    state.next_offsets.clone(),
                    BTreeMap::new(),
                ),
            }
        }
    }
}

pub(super) fn accepts_event_stream(parts: &Parts) -> bool {
    let mut accept = parts.headers.get_all(header::ACCEPT).iter().peekable();
    if accept.peek().is_none() {
        return true;
    }
    accept
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let range = range.split(';').next().unwrap_or_default().trim();
            range.eq_ignore_ascii_case("text/event-stream")
                || range == "*/*"
                || range.eq_ignore_ascii_case("text/*")
        })
}

fn last_event_id(parts: &Parts) -> Result<Option<String>, DataPlaneError> {
    let id = match parts.headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| {
                    DataPlaneError::BadRequest("last-event-id must be visible ASCII".to_owned())
                })?
                .to_owned(),
        ),
        None => parts.uri.query().and_then(|query| {
            query.split('&').find_map(|pair| {
                let value = pair.strip_prefix("lastEventId=")?;
                Some(
                    percent_encoding::percent_decode_str(value)
                        .decode_utf8_lossy()
                        .into_owned(),
                )
            })
        }),
    };
    if let Some(id) = &id
        && id.len() > MAX_LAST_EVENT_ID
    {
        return Err(DataPlaneError::BadRequest(format!(
            "last-event-id is longer than {MAX_LAST_EVENT_ID} bytes"
        )));
    }
    Ok(id)
}
