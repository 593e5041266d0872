//! An SSE client: events, comments and the end of a stream.

use std::time::Duration;

use anyhow::{Context, Result};
use http_body_util::BodyExt;

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// `id:`.
    pub id: Option<String>,
    /// `event:`.
    pub event: Option<String>,
    /// `data:` lines joined with `\n`.
    pub data: String,
}

/// An open SSE response being read.
pub struct EventStream {
    body: hyper::body::Incoming,
    buffer: String,
    /// Comment lines seen so far.
    pub comments: Vec<String>,
    /// `retry:` value, once seen.
    pub retry: Option<String>,
}

impl EventStream {
    /// Wraps a response body.
    pub fn new(body: hyper::body::Incoming) -> Self {
        Self {
            body,
            buffer: String::new(),
            comments: Vec::new(),
            retry: None,
        }
    }

    /// The next event (comments and `retry:` are recorded, not returned).
    pub async fn next(&mut self, timeout: Duration) -> Result<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Event::default();
                let mut data: Vec<&str> = Vec::new();
                for line in block.lines() {
                    if let Some(comment) = line.strip_prefix(':') {
                        self.comments.push(comment.to_owned());
                    } else if let Some(id) = line.strip_prefix("id:") {
                        event.id = Some(id.to_owned());
                    } else if let Some(kind) = line.strip_prefix("event:") {
                        event.event = Some(kind.to_owned());
                    } else if let Some(line) = line.strip_prefix("data:") {
                        data.push(line);
                    } else if let Some(retry) = line.strip_prefix("retry:") {
                        self.retry = Some(retry.to_owned());
                    }
                }
                if !data.is_empty() || event.event.is_some() {
                    event.data = data.join("\n");
                    return Ok(event);
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .context("no event in time")?
                .context("the stream ended")??;
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}
