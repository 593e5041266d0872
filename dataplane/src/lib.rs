//! The Sluice data plane: HTTP listeners and the request path to Kafka.
//!
//! It reads configuration only through one route-table handle ([`DataPlane::apply`] swaps
//! it whole); it never depends on the control plane.
//!
//! Modules, from the top of a request's path down (a module imports only modules below it;
//! `scripts/module-cycles` checks that no two files import each other):
//! - [`plane`]: the data plane's life: start, apply (build a [`snapshot`] aside, swap it
//!   once), reload, shut down.
//! - [`readiness`]: whether the Kafka clusters in use take writes and answer.
//! - `http`: listeners, connection limits and timeouts, TLS handshakes, the first request
//!   head, CORS, idle connections, and the SSE fast path.
//! - `handler`: one request top to bottom: CORS, admit, resolve the route, act; the
//!   one place where errors become responses.
//! - `admit`: what a connection keeps, the caller's identity, opening an event stream; shared
//!   by the handler and the SSE fast path. `challenge`: renewing guarded streams.
//! - `proxy`: the actions (produce, correlate, fetch, sse, echo), leaves that share only
//!   `proxy/context.rs` and never import the handler, `http` or each other.
//! - `snapshot`: the swapped state a request is served from.
//! - `guard`: JWT guards at request time: keys (inline or JWKS), verification, sessions of
//!   guarded streams (continuous authorization).
//! - `spans`: the bounded queue of spans waiting for export, and what became of them.
//! - `tls`: TLS termination for `tls` bindings: PEM files, checks, reload.
//! - [`kafka`]: the shared Kafka clients (producers, reply taps, topic caches, feeds) and the
//!   embedded development broker.
//! - `metrics`: every counter of the data plane, rendered for Prometheus.
//! - [`budget`]: the process-wide memory budget for request bodies.
//! - `head`: routing's view of a request's head.
//! - `rescue`: the one place where a failure becomes a response (log, status, CORS).
//! - `response`: response bodies and error answers.
//! - [`error`]: the data-plane error type and its mapping to HTTP.

// Product code keeps functions under 60 lines (clippy.toml); test scenarios and benches
// read top to bottom and are not held to it.
#![warn(clippy::too_many_lines)]

mod admit;
pub mod budget;
mod challenge;
pub mod error;
mod events;
mod exporter;
mod guard;
mod handler;
mod head;
mod http;
pub mod kafka;
mod metrics;
mod models;
mod otlp;
pub mod plane;
mod problem;
mod proxy;
pub mod readiness;
mod rescue;
mod response;
mod snapshot;
mod spans;
mod tls;
mod trace;
pub mod traffic;

pub use error::DataPlaneError;
pub use exporter::TrafficCounters;
pub use http::bind::listen;
pub use kafka::ClientError;
pub use kafka::embedded::EmbeddedBroker;
pub use metrics::traffic::{LATENCY_BOUNDS_MS, RouteCounters};
pub use plane::{ApplyError, DataPlane, DataPlaneOptions};
pub use readiness::NotReady;
pub use tls::{
    ClientFiles, FileAcceptor, ServerFiles, TlsError, TlsErrors, TlsFileError, file_client_config,
};
