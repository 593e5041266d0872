//! The Sluice data plane: HTTP listeners and the request path to Kafka.
//!
//! It reads configuration only through one route-table handle ([`DataPlane::apply`] swaps
//! it whole); it never depends on the control plane.
//!
//! Modules:
//! - [`budget`]: the process-wide memory budget for request bodies.
//! - [`server`]: listeners, HTTP/1.1 and h2c connections, graceful shutdown.
//! - `tls`: TLS termination for `tls` bindings: PEM files, checks, reload.
//! - `idle`: closing connections with nothing in progress.
//! - `handler`: one request top to bottom: resolve route, act, answer; the one place where
//!   errors become responses.
//! - `cors`: CORS preflights and response headers, before routing.
//! - `guard`: JWT guards at request time: keys (inline or JWKS), verification, sessions of
//!   guarded streams (continuous authorization).
//! - `proxy`: the actions: produce (`proxy/produce.rs`), request-response
//!   (`proxy/correlate.rs`), fetch (`proxy/fetch.rs`) and echo.
//! - [`kafka`]: the shared Kafka clients (producers, reply taps, topic caches) and the
//!   embedded development broker.
//! - [`error`]: the data-plane error type and its mapping to HTTP.
//! - `metrics`: request, stream and Kafka counters, rendered for Prometheus.

pub mod budget;
mod cors;
pub mod error;
mod guard;
mod handler;
mod idle;
pub mod kafka;
mod metrics;
mod proxy;
mod response;
pub mod server;
mod tls;

pub use error::DataPlaneError;
pub use kafka::embedded::EmbeddedBroker;
pub use server::{DataPlane, DataPlaneOptions};
