//! Idle connections: a connection with no request or stream in progress for the listener's
//! `idle-timeout-ms` is closed, so that clients that connect and stop sending (an HTTP/2
//! preface and nothing else, a keep-alive connection left open) cannot hold connection
//! slots forever.
//!
//! [`Activity`] counts the requests in progress on one connection: a request counts from
//! the moment hyper hands it to the service until its response body is dropped, so an open
//! SSE stream or a long-poll keeps its connection busy. [`IdleIo`] wraps the connection's
//! socket and ends its read side once the connection has been idle long enough; hyper then
//! closes the connection as if the client had.
//!
//! The timer is lazy: a request does not re-arm it. It stays armed at the deadline of an
//! earlier idle start, and when it runs out the reader looks again: past the connection's
//! real deadline it closes, otherwise it re-arms for that deadline. A keep-alive connection
//! serving many requests therefore touches the timer about once per timeout, not per
//! request, and ending a request wakes nothing.

use sluice_shared::sync::lock;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// What is in progress on one connection.
#[derive(Debug)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    /// Since when nothing is in progress.
    idle: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            idle: Mutex::new(Instant::now()),
        }
    }
}

impl Activity {
    /// Counts a request in progress until the returned guard is dropped.
    pub(crate) fn busy(self: &std::sync::Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }

    fn idle_since(&self) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(*lock(&self.idle))
    }
}

/// A request in progress; dropping it may make the connection idle.
#[derive(Debug)]
pub(crate) struct Busy(std::sync::Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut idle = lock(&self.0.idle);
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The reader's timer, armed for an earlier deadline, finds this when it runs out.
            *idle = Instant::now();
        }
    }
}

/// A connection's socket that reports end of input once the connection has been idle for
/// `timeout`.
pub(crate) struct IdleIo<I> {
    inner: I,
    activity: std::sync::Arc<Activity>,
    timeout: Duration,
    timer: Pin<Box<Sleep>>,
}

impl<I> IdleIo<I> {
    pub(crate) fn new(inner: I, activity: std::sync::Arc<Activity>, timeout: Duration) -> Self {
        Self {
            inner,
            activity,
            timeout,
            timer: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    /// Whether the connection is idle past its timeout; otherwise keeps the timer armed, so
    /// that the reader looks again when it runs out.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            let Some(since) = self.activity.idle_since() else {
                // Busy: look again a timeout from now, when the request may have ended.
                if self.timer.as_mut().poll(cx).is_pending() {
                    return false;
                }
                let next = Instant::now() + self.timeout;
                self.timer.as_mut().reset(next);
                continue;
            };
            let deadline = since + self.timeout;
            if Instant::now() >= deadline {
                return true;
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            // The timer was armed for an earlier idle start.
            self.timer.as_mut().reset(deadline);
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for IdleIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Pending if self.expired(cx) => {
                tracing::debug!("idle connection closed");
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for IdleIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that keeps its request counted as in progress until it is dropped.
pub(crate) struct Tracked<B> {
    body: B,
    _busy: Busy,
}

impl<B> Tracked<B> {
    pub(crate) fn new(body: B, busy: Busy) -> Self {
        Self { body, _busy: busy }
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
