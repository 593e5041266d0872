//! `baseline`: the physical limit the Sluice numbers are compared with. A minimal hyper
//! server on a tokio runtime with as many workers as Sluice gets, with no routing, no
//! limits, no metrics and no Kafka:
//!
//! - `GET` or `POST /echo`: `200` with the request's body (as Sluice's echo route).
//! - `GET /poll` with `If-None-Match: "<version>"`: held until `POST /wake` bumps the version
//!   (at most 60 s), then `200` with the new ETag; a stale tag is answered at once.
//! - `POST /wake`: bumps the version, waking every held `/poll`; `204`.
//! - `GET /live`: a Server-Sent-Events stream. Each connection gets its own bounded queue,
//!   and the injector writes every record into every queue, as Sluice's feed does.
//! - `POST /produce` and `POST /produce-c1` (with `--bootstrap` and `--topic`): the body as
//!   one record through an rdkafka producer with Sluice's settings (`acks=all`, idempotent;
//!   `linger.ms=1` and `0`), `204` once the broker acknowledged it: the limit of an
//!   HTTP-to-Kafka hop.
//! - `POST /inject?rate=R&seconds=S`: from now on, R records per second for S seconds,
//!   each `id:n` / `data:n:<unix µs>` (the format of `ts-produce`, so `sse-load` measures
//!   both the same way), then `data:end`; `202` at once.
//! - `POST /v1/...`: `200`, the body read and dropped: an OTLP collector for the traces
//!   benchmark that costs Sluice nothing but the export itself.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper_util::rt::TokioIo;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::sync::{mpsc, watch};

/// `baseline` options.
#[derive(Debug, clap::Args)]
pub struct BaselineArgs {
    /// Address to listen on.
    #[arg(long)]
    addr: SocketAddr,
    /// Bootstrap servers, for `POST /produce`.
    #[arg(long, requires = "topic")]
    bootstrap: Option<String>,
    /// Topic of `POST /produce`.
    #[arg(long)]
    topic: Option<String>,
}

/// What every connection shares.
struct State {
    version: watch::Sender<u64>,
    streams: Mutex<Vec<mpsc::Sender<Bytes>>>,
    /// Producers with `linger.ms=1` and `0`, and their topic.
    producers: Option<([FutureProducer; 2], String)>,
}

/// A response body: a whole one, or an SSE stream fed from a queue.
enum Reply {
    Full(Full<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl Body for Reply {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Full(full) => Pin::new(full).poll_frame(cx),
            Self::Stream(queue) => queue
                .poll_recv(cx)
                .map(|next| next.map(|b| Ok(Frame::data(b)))),
        }
    }
}

fn answer(status: StatusCode, body: Bytes) -> Response<Reply> {
    let mut response = Response::new(Reply::Full(Full::new(body)));
    *response.status_mut() = status;
    response
}

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

/// Runs the server until killed. Its runtime has `TOKIO_WORKER_THREADS` workers.
pub fn run(args: BaselineArgs) -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(args))
}

async fn serve(args: BaselineArgs) -> Result<()> {
    // The same accept queue as Sluice's (see dataplane/src/http/bind.rs).
    let listener = sluice_dataplane::listen(args.addr).await?;
    let producer = |bootstrap: &str, linger_ms: &str| {
        rdkafka::ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", linger_ms)
            .set("message.timeout.ms", "5000")
            .set("socket.nagle.disable", "true")
            .create::<FutureProducer>()
    };
    let producers = match (&args.bootstrap, args.topic) {
        (Some(bootstrap), Some(topic)) => Some((
            [producer(bootstrap, "1")?, producer(bootstrap, "0")?],
            topic,
        )),
        _ => None,
    };
    let state = Arc::new(State {
        version: watch::Sender::new(0),
        streams: Mutex::new(Vec::new()),
        producers,
    });
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&state, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(state: &Arc<State>, request: Request<Incoming>) -> Response<Reply> {
    let (parts, body) = request.into_parts();
    match (&parts.method, parts.uri.path()) {
        (_, "/echo") => match body.collect().await {
            Ok(body) => answer(StatusCode::OK, body.to_bytes()),
            Err(_) => answer(StatusCode::BAD_REQUEST, Bytes::new()),
        },
        (&Method::GET, "/poll") => {
            let mut version = state.version.subscribe();
            let current = format!("\"{}\"", *version.borrow_and_update());
            let held = parts
                .headers
                .get(http::header::IF_NONE_MATCH)
                .is_some_and(|tag| tag.as_bytes() == current.as_bytes());
            if held {
                let _ = tokio::time::timeout(Duration::from_secs(60), version.changed()).await;
            }
            let tag = format!("\"{}\"", *version.borrow());
            let mut response = answer(StatusCode::OK, Bytes::from_static(b"changed"));
            if let Ok(tag) = http::HeaderValue::from_str(&tag) {
                response.headers_mut().insert(http::header::ETAG, tag);
            }
            response
        }
        (&Method::POST, path @ ("/produce" | "/produce-c1")) => {
            let (Some((producers, topic)), Ok(body)) = (&state.producers, body.collect().await)
            else {
                return answer(StatusCode::BAD_REQUEST, Bytes::new());
            };
            let producer = &producers[usize::from(path == "/produce-c1")];
            let value = body.to_bytes();
            let record = FutureRecord::<(), _>::to(topic).payload(&value[..]);
            let delivered = match producer.send_result(record) {
                Ok(delivery) => matches!(delivery.await, Ok(Ok(_))),
                Err(_) => false,
            };
            if delivered {
                answer(StatusCode::NO_CONTENT, Bytes::new())
            } else {
                answer(StatusCode::BAD_GATEWAY, Bytes::new())
            }
        }
        // An OTLP collector that takes every export and keeps nothing (the traces bench).
        (&Method::POST, path) if path.starts_with("/v1/") => match body.collect().await {
            Ok(_) => answer(StatusCode::OK, Bytes::new()),
            Err(_) => answer(StatusCode::BAD_REQUEST, Bytes::new()),
        },
        (&Method::POST, "/wake") => {
            state.version.send_modify(|version| *version += 1);
            answer(StatusCode::NO_CONTENT, Bytes::new())
        }
        (&Method::GET, "/live") => {
            let (sender, queue) = mpsc::channel(256);
            state
                .streams
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(sender);
            let mut response = Response::new(Reply::Stream(queue));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/event-stream"),
            );
            response
        }
        (&Method::POST, "/inject") => {
            let query = parts.uri.query().unwrap_or_default();
            let number = |name: &str| {
                query
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, v)| v.parse::<u64>().ok())
            };
            match (number("rate"), number("seconds")) {
                (Some(rate), Some(seconds)) if rate > 0 => {
                    tokio::spawn(inject(state.clone(), rate, seconds));
                    answer(StatusCode::ACCEPTED, Bytes::new())
                }
                _ => answer(
                    StatusCode::BAD_REQUEST,
                    Bytes::from_static(b"rate, seconds"),
                ),
            }
        }
        _ => answer(StatusCode::NOT_FOUND, Bytes::new()),
    }
}

/// Writes `rate` records per second for `seconds` into every stream's queue, then `end`.
async fn inject(state: Arc<State>, rate: u64, seconds: u64) {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for n in 0..rate * seconds {
        tick.tick().await;
        broadcast(
            &state,
            Bytes::from(format!("id:{n}\ndata:{n}:{}\n\n", now_us())),
        );
    }
    broadcast(&state, Bytes::from_static(b"id:end\ndata:end\n\n"));
}

fn broadcast(state: &State, record: Bytes) {
    let mut streams = state
        .streams
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // A full queue loses the record for that stream (sse-load counts it as a gap); a closed
    // one leaves the list.
    streams.retain(|stream| {
        !matches!(
            stream.try_send(record.clone()),
            Err(mpsc::error::TrySendError::Closed(_))
        )
    });
}
