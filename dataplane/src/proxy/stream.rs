//! A running event stream: records from the feed after its cursor, filtered and encoded as
//! events, keepalives, challenges and the end of its authorization, written to a [`Sink`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use bytes::Bytes;
use sluice_shared::wire::etag::encode_progress;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::context::Filter;
use super::sink::{Gone, Sink};
use super::view::View;
use crate::guard::session::{CHALLENGE_RESPONSE, SESSION_HEADER, Session};
use crate::kafka::feed::Shown;
use crate::kafka::feed::{Record, TopicFeed};
use crate::metrics::Gauged;

/// Largest chunk: several events are coalesced into one write up to this size.
const MAX_CHUNK_BYTES: usize = 64 * 1024;

/// Records taken from the feed per step.
const BATCH: usize = 256;

/// An open stream, waiting to run on a sink.
pub(crate) struct Stream {
    /// Counts the stream in `sluice_sse_streams_open` while it lives.
    pub(super) open: Gauged,
    pub(super) feed: Arc<TopicFeed>,
    pub(super) filters: Vec<Filter>,
    pub(super) key_in_id: bool,
    pub(super) cursor: u64,
    /// Next offset per partition read so far: the id of the next event.
    pub(super) progress: BTreeMap<i32, i64>,
    /// Resuming: records before these offsets were delivered already.
    pub(super) skip_before: BTreeMap<i32, i64>,
    /// `retry:` and notices, sent first.
    pub(super) greeting: Option<Bytes>,
    pub(super) keepalive: Duration,
    pub(super) topic: String,
    pub(super) shutdown: watch::Receiver<bool>,
    /// Turns true when a configuration change removes or changes the stream's route.
    pub(super) retired: watch::Receiver<bool>,
    pub(super) authorization: Option<Authorization>,
    /// The topic's value model, when it has one.
    pub(super) view: Option<View>,
    /// Records deliveries of records that carry a trace context.
    pub(super) tracing: Option<crate::trace::Tracing>,
}

/// The authorization a guarded stream lives on.
pub(crate) struct Authorization {
    pub(super) session: Arc<Session>,
    /// The session's expiry (`exp`), seconds since the epoch, and its renewals.
    pub(super) expiry: watch::Receiver<u64>,
    /// The guard's leeway: the stream ends at `exp` + leeway, when the token stops being
    /// accepted.
    pub(super) leeway: u64,
    pub(super) challenge: Option<Duration>,
    /// The expiry the last challenge was sent for.
    pub(super) challenged_for: u64,
}

/// What a stream does next.
enum Step {
    Go,
    /// End cleanly (shutdown, route changed).
    Finish,
    /// End abruptly, so that the client knows the stream did not complete.
    Abort(&'static str),
    /// The client is gone.
    Over,
}

/// What an authorization asks of its stream now.
pub(super) enum Due {
    Nothing,
    Challenge,
    End,
}

impl Authorization {
    /// The authorization of a stream living on `session`, ended `leeway` seconds after its
    /// expiry and challenged `challenge` seconds before.
    pub(crate) fn new(session: Arc<Session>, leeway: u64, challenge: Option<u64>) -> Self {
        Self {
            expiry: session.expiry(),
            session,
            leeway,
            challenge: challenge.map(Duration::from_secs),
            challenged_for: 0,
        }
    }

    /// When the stream ends, and when it is challenged (if it still has to be).
    pub(super) fn deadlines(&self) -> (Instant, Option<Instant>) {
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

    pub(super) fn due(&self) -> Due {
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

    pub(super) fn challenge_event(&mut self) -> Bytes {
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
            match self.next_step(&mut sink) {
                Step::Go => {}
                Step::Finish => return sink.finish(),
                Step::Abort(reason) => return sink.abort(reason),
                Step::Over => return,
            }
            changes.borrow_and_update();
            let Some(batch) = self.next_batch(&mut sink) else {
                return;
            };
            if batch.is_empty() {
                if !self.idle(&mut sink, &mut changes, ticker.as_mut()).await {
                    return;
                }
                continue;
            }
            self.load_schemas(&batch).await;
            if !self.deliver(&mut sink, &batch) {
                return;
            }
        }
    }

    /// Looks up the schemas the batch's records name that are not cached yet, so that
    /// delivering them does not wait.
    async fn load_schemas(&self, batch: &[Arc<Record>]) {
        let Some(view) = &self.view else { return };
        for record in batch {
            if let Some(value) = &record.value
                && let Err(needed) = view.show_record(record, value)
            {
                view.load(needed).await;
            }
        }
    }

    /// Whether the stream goes on: not when the data plane shuts down, its route changed or
    /// its authorization expired; a challenge is sent when one is due.
    fn next_step(&mut self, sink: &mut Sink) -> Step {
        if *self.shutdown.borrow() {
            return Step::Finish;
        }
        if *self.retired.borrow() {
            debug!(topic = %self.topic, "sse route changed by a configuration change; stream ended");
            let _ = sink.send(Bytes::from_static(
                b": this route changed; reconnect with the last event id\n\n",
            ));
            return Step::Finish;
        }
        let Some(authorization) = self.authorization.as_mut() else {
            return Step::Go;
        };
        match authorization.due() {
            Due::Nothing => Step::Go,
            Due::Challenge => {
                let event = authorization.challenge_event();
                if self.send(sink, event) {
                    Step::Go
                } else {
                    Step::Over
                }
            }
            Due::End => {
                debug!(topic = %self.topic, "sse stream authorization expired");
                Step::Abort("authorization expired")
            }
        }
    }

    /// The next records of the feed after the cursor; `None` when the stream is over. Records
    /// the feed no longer holds are skipped, with a comment that says how many.
    fn next_batch(&mut self, sink: &mut Sink) -> Option<Vec<Arc<Record>>> {
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
            if !self.send(sink, Bytes::from(notice)) {
                return None;
            }
        }
        Some(batch)
    }

    /// Waits while there is nothing to send: for a new record, a keepalive tick, the client
    /// going, shutdown, a route change, the authorization's next deadline or a renewal.
    /// False when the stream is over.
    async fn idle(
        &mut self,
        sink: &mut Sink,
        changes: &mut watch::Receiver<u64>,
        ticker: Option<&mut tokio::time::Interval>,
    ) -> bool {
        let tick = async {
            match ticker {
                Some(ticker) => ticker.tick().await,
                None => std::future::pending().await,
            }
        };
        let wake = self.authorization.as_ref().map(|a| {
            let (end, challenge) = a.deadlines();
            challenge.unwrap_or(end)
        });
        let renewed = async {
            match self.authorization.as_mut() {
                Some(a) => a.expiry.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        let keepalive = tokio::select! {
            changed = changes.changed() => if changed.is_err() { return false } else { false },
            _ = tick => true,
            gone = sink.gone() => {
                self.log_gone(gone);
                return false;
            }
            _ = self.shutdown.changed() => false,
            _ = self.retired.changed() => false,
            () = sleep_until(wake) => false,
            alive = renewed => if !alive { return false } else { false },
        };
        !keepalive || self.send(sink, Bytes::from_static(b":\n\n"))
    }

    /// Sends the records of `batch` that pass the filters, in one chunk. False when the
    /// stream is over.
    fn deliver(&mut self, sink: &mut Sink, batch: &[Arc<Record>]) -> bool {
        let mut chunk = Vec::with_capacity(1024);
        for record in batch {
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
                if let Some(tracing) = &self.tracing {
                    tracing.delivered(record, &self.topic);
                }
            }
        }
        chunk.is_empty() || self.send(sink, Bytes::from(chunk))
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
        let shown = match (&self.view, &record.value) {
            (Some(view), Some(value)) => view.show_record(record, value).unwrap_or(Shown::Hidden),
            _ => Shown::Same,
        };
        if matches!(shown, Shown::Hidden) {
            // Not sent; the next event's id covers it, so a resumed stream skips it too.
            return;
        }
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
                let value = match &shown {
                    Shown::Converted(converted) => converted,
                    Shown::Same | Shown::Hidden => value,
                };
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
