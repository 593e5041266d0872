//! The compiled, immutable route table the data plane serves from.
//!
//! A [`RouteTable`] is built once per configuration revision by [`RouteTable::compile`]
//! (validation included) and then only read: the data plane holds it behind one `ArcSwap`
//! and swaps it whole.
//!
//! Resolution of a request follows the binding chain of the configuration:
//! tcp listener port -> `http` server (header conditions) -> `http-kafka` or `echo`
//! (method and path) -> action.
//!
//! Modules: `route_table` ([`RouteTable`] and what the data plane asks of it), `resolve`
//! (routing one request), `server` (listeners, `http` and `sse` servers), `action` (the
//! `http-kafka` and `sse-kafka` bindings and their routes), `cluster` (Kafka clusters),
//! `limits` (HTTP limits and their defaults), `telemetry` (metrics and exporters), `compile` (validation and compilation). This
//! file only declares and re-exports.

pub(crate) mod action;
pub(crate) mod client_tls;
pub(crate) mod cluster;
mod compile;
pub(crate) mod files;
pub(crate) mod limits;
pub mod models;
pub(crate) mod resolve;
pub(crate) mod route_table;
pub(crate) mod server;
pub(crate) mod store;
pub mod telemetry;
pub(crate) mod upstream;

pub use crate::request::RequestHead;
pub use action::*;
pub use cluster::*;
pub use compile::{BadTopicName, CompileOptions, check_topic_name};
pub use files::{FileRoute, FilesBinding};
pub use limits::*;
pub use resolve::{Caller, Denial, Resolved};
pub use route_table::RouteTable;
pub use server::{
    ClientTrust, Cors, HttpServer, Listener, SseServer, StoreFile, StoreFormat, TlsIdentity,
    TlsListener, normalize_origin,
};
pub use upstream::{Upstream, UpstreamTls};

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
