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
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use sluice_shared::path::Params;

use crate::metrics::Gauged;
use sluice_shared::spec::SseStart;
use sluice_shared::table::{SseKafkaRoute, SseServer};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, warn};

use super::context::{Filter, Identity, resolve_filters};
use super::sink::{Gone, Sink};
use crate::error::DataPlaneError;
use crate::guard::session::{CHALLENGE_RESPONSE, SESSION_HEADER, Session};
use crate::kafka::feed::{Record, TopicFeed};
use crate::response::Body;
use crate::snapshot::Snapshot;
use sluice_shared::wire::etag::encode_progress;
use sluice_shared::wire::event_id::parse_last_event_id;

/// Longest `Last-Event-ID` accepted, as in Zilla.
const MAX_LAST_EVENT_ID: usize = 254;
/// Chunks buffered per stream before a client that does not read is dropped.
const STREAM_BUFFER: usize = 16;
/// Largest chunk: several events are coalesced into one write up to this size.
const MAX_CHUNK_BYTES: usize = 64 * 1024;
/// Records taken from the feed per step.
const BATCH: usize = 256;
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
    let feed = active
        .feeds
        .get(action.cluster, &action.topic)
        .ok_or_else(|| DataPlaneError::Internal("no feed for this route".to_owned()))?
        .clone();
    if !feed.ready(CATCH_UP_WAIT).await {
        return Err(DataPlaneError::CacheLoading {
            topic: action.topic.clone(),
        });
    }
    let resume = last_event_id.as_deref().map(parse_last_event_id);
    let mut greeting = format!("retry:{}\n\n", server.retry_ms);
    let (cursor, progress, skip_before) = {
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
                    greeting.push_str(": last-event-id not understood; starting from the route's start position\n\n");
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
    };
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
        topic: action.topic.clone(),
        shutdown: active.shutdown.clone(),
        retired: active.routes.watch(route.fingerprint),
        authorization: session.map(|session| Authorization {
            expiry: session.expiry(),
            session,
            leeway,
            challenge: challenge.map(Duration::from_secs),
            challenged_for: 0,
        }),
    })
}

fn accepts_event_stream(parts: &Parts) -> bool {
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

/// An open stream, waiting to run on a sink.
pub(crate) struct Stream {
    /// Counts the stream in `sluice_sse_streams_open` while it lives.
    open: Gauged,
    feed: Arc<TopicFeed>,
    filters: Vec<Filter>,
    key_in_id: bool,
    cursor: u64,
    /// Next offset per partition read so far: the id of the next event.
    progress: BTreeMap<i32, i64>,
    /// Resuming: records before these offsets were delivered already.
    skip_before: BTreeMap<i32, i64>,
    /// `retry:` and notices, sent first.
    greeting: Option<Bytes>,
    keepalive: Duration,
    topic: String,
    shutdown: watch::Receiver<bool>,
    /// Turns true when a configuration change removes or changes the stream's route.
    retired: watch::Receiver<bool>,
    authorization: Option<Authorization>,
}

/// The authorization a guarded stream lives on.
struct Authorization {
    session: Arc<Session>,
    /// The session's expiry (`exp`), seconds since the epoch, and its renewals.
    expiry: watch::Receiver<u64>,
    /// The guard's leeway: the stream ends at `exp` + leeway, when the token stops being
    /// accepted.
    leeway: u64,
    challenge: Option<Duration>,
    /// The expiry the last challenge was sent for.
    challenged_for: u64,
}

/// What an authorization asks of its stream now.
enum Due {
    Nothing,
    Challenge,
    End,
}

impl Authorization {
    /// When the stream ends, and when it is challenged (if it still has to be).
    fn deadlines(&self) -> (Instant, Option<Instant>) {
        let end = *self.expiry.borrow() + self.leeway;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let until_end = Duration::from_secs(end).saturating_sub(now);
        let at_end = Instant::now() + until_end;
        let challenge = self
            .challenge
            .filter(|_| self.challenged_for != *self.expiry.borrow())
            .map(|before| at_end.checked_sub(before).unwrap_or_else(Instant::now));
        (at_end, challenge)
    }

    fn due(&self) -> Due {
        let (end, challenge) = self.deadlines();
        let now = Instant::now();
        if end <= now {
            Due::End
        } else if challenge.is_some_and(|at| at <= now) {
            Due::Challenge
        } else {
            Due::Nothing
        }
    }

    fn challenge_event(&mut self) -> Bytes {
        self.challenged_for = *self.expiry.borrow();
        let data = serde_json::json!({
            "method": "POST",
            "headers": {
                "content-type": CHALLENGE_RESPONSE,
                SESSION_HEADER: self.session.token,
            }
        });
        Bytes::from(format!("event:challenge\ndata:{data}\n\n"))
    }
}

impl Stream {
    /// Sends events to `sink` until the client goes, the stream's authorization expires or
    /// the data plane shuts down.
    pub(crate) async fn run(mut self, mut sink: Sink) {
        if let Some(greeting) = self.greeting.take()
            && !self.send(&mut sink, greeting)
        {
            return;
        }
        let mut changes = self.feed.changes();
        let keepalive = self.keepalive;
        let mut ticker = (!keepalive.is_zero())
            .then(|| tokio::time::interval_at(Instant::now() + keepalive, keepalive));
        loop {
            if *self.shutdown.borrow() {
                sink.finish();
                return;
            }
            if *self.retired.borrow() {
                debug!(topic = %self.topic, "sse route changed by a configuration change; stream ended");
                let _ = sink.send(Bytes::from_static(
                    b": this route changed; reconnect with the last event id\n\n",
                ));
                sink.finish();
                return;
            }
            if let Some(authorization) = self.authorization.as_mut() {
                match authorization.due() {
                    Due::Nothing => {}
                    Due::Challenge => {
                        let event = authorization.challenge_event();
                        if !self.send(&mut sink, event) {
                            return;
                        }
                    }
                    Due::End => {
                        debug!(topic = %self.topic, "sse stream authorization expired");
                        sink.abort("authorization expired");
                        return;
                    }
                }
            }
            changes.borrow_and_update();
            let (batch, lost) = {
                let state = self.feed.read();
                let lost = state.first_seq().saturating_sub(self.cursor);
                self.cursor = self.cursor.max(state.first_seq());
                (state.from(self.cursor, BATCH, MAX_CHUNK_BYTES), lost)
            };
            if lost > 0 {
                warn!(topic = %self.topic, lost, "sse stream fell behind the feed window; records skipped");
                let notice =
                    format!(": {lost} records were no longer held in memory and were skipped\n\n");
                if !self.send(&mut sink, Bytes::from(notice)) {
                    return;
                }
            }
            if batch.is_empty() {
                let tick = async {
                    match ticker.as_mut() {
                        Some(ticker) => ticker.tick().await,
                        None => std::future::pending().await,
                    }
                };
                let (end, challenge) = match &self.authorization {
                    Some(a) => {
                        let (end, challenge) = a.deadlines();
                        (Some(end), challenge)
                    }
                    None => (None, None),
                };
                let wake = challenge.or(end);
                let renewed = async {
                    match self.authorization.as_mut() {
                        Some(a) => a.expiry.changed().await.is_ok(),
                        None => std::future::pending().await,
                    }
                };
                let keepalive = tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return } else { false },
                    _ = tick => true,
                    gone = sink.gone() => {
                        self.log_gone(gone);
                        return;
                    }
                    _ = self.shutdown.changed() => false,
                    _ = self.retired.changed() => false,
                    () = sleep_until(wake) => false,
                    alive = renewed => if !alive { return } else { false },
                };
                if keepalive && !self.send(&mut sink, Bytes::from_static(b":\n\n")) {
                    return;
                }
                continue;
            }
            let mut chunk = Vec::with_capacity(1024);
            for record in &batch {
                self.cursor = record.seq + 1;
                if self
                    .skip_before
                    .get(&record.partition)
                    .is_some_and(|next| record.offset < *next)
                {
                    continue;
                }
                self.progress.insert(record.partition, record.offset + 1);
                if self.filters.is_empty()
                    || self
                        .filters
                        .iter()
                        .any(|f| f.matches(record.key.as_deref(), &record.headers))
                {
                    self.encode(record, &mut chunk);
                }
            }
            if !chunk.is_empty() && !self.send(&mut sink, Bytes::from(chunk)) {
                return;
            }
        }
    }

    /// Queues `chunk`; false when the stream is over (client gone, or dropped as too slow).
    fn send(&self, sink: &mut Sink, chunk: Bytes) -> bool {
        match sink.send(chunk) {
            Ok(()) => true,
            Err(gone) => {
                self.log_gone(gone);
                false
            }
        }
    }

    fn log_gone(&self, gone: Gone) {
        match gone {
            Gone::Closed => debug!(topic = %self.topic, "sse client went away"),
            Gone::Slow => {
                let dropped = self
                    .open
                    .metrics()
                    .sse_dropped
                    .fetch_add(1, Ordering::Relaxed)
                    + 1;
                warn!(topic = %self.topic, dropped_total = dropped, "sse client is not reading; stream dropped");
            }
        }
    }

    fn encode(&self, record: &Record, out: &mut Vec<u8>) {
        let progress: Vec<(i32, i64)> = self.progress.iter().map(|(p, o)| (*p, *o)).collect();
        let mut etag = encode_progress(&progress);
        if let Some(suffix) = record.header("etag") {
            etag.push('/');
            etag.push_str(&String::from_utf8_lossy(suffix));
        }
        out.extend_from_slice(b"id:");
        if self.key_in_id {
            let key = record.key.as_ref().map(|k| URL_SAFE.encode(k));
            let id = serde_json::json!([key, etag]);
            out.extend_from_slice(id.to_string().as_bytes());
        } else {
            out.extend_from_slice(etag.as_bytes());
        }
        out.push(b'\n');
        match &record.value {
            None => {
                out.extend_from_slice(b"event:delete\ndata:");
                out.extend_from_slice(
                    URL_SAFE
                        .encode(record.key.as_deref().unwrap_or_default())
                        .as_bytes(),
                );
                out.push(b'\n');
            }
            Some(value) => {
                let text = String::from_utf8_lossy(value);
                for line in text.split('\n') {
                    out.extend_from_slice(b"data:");
                    out.extend_from_slice(line.strip_suffix('\r').unwrap_or(line).as_bytes());
                    out.push(b'\n');
                }
            }
        }
        out.push(b'\n');
    }
}

/// Sleeps until `at`, or forever.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
