//! End-to-end test support: a Kafka broker, a running Sluice, an HTTP client and a Kafka
//! consumer to check what landed.
//!
//! The broker is the one named by `KAFKA_BOOTSTRAP_SERVERS` (the test command starts Tansu
//! and sets it), or, when that is unset, librdkafka's in-process mock cluster. Every test
//! uses its own topics, created explicitly with one partition.
//!
//! Modules: `broker` (the test broker), `sluice` (a running Sluice and its HTTP client),
//! `sse` (an SSE client), `responder` (a Kafka service for request-response), `wait`
//! (`eventually`), [`tansu`] (a Tansu process of a test's own), [`tls`] (a test CA),
//! [`jwt`] (test tokens), [`jwks`] (a JWKS server), [`load`] (HTTPS load), [`gateway`]
//! (an app with its store and admin API), [`registry`] (a schema registry), [`collector`]
//! (an OTLP receiver).

mod broker;
pub mod collector;
pub mod gateway;
pub mod jwks;
pub mod jwt;
pub mod load;
pub mod registry;
mod responder;
mod sluice;
mod sse;
pub mod tansu;
pub mod tls;
mod wait;

pub use broker::*;
pub use responder::*;
pub use sluice::*;
pub use sse::*;
pub use wait::*;
