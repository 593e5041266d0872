//! Shared Kafka clients.
//!
//! - [`Producer`] (`producer`): one per (cluster, acks level) per process, created when a
//!   configuration that needs it is applied, shared by every request, kept by a later
//!   configuration with the same cluster settings, and replaced by itself when it breaks.
//! - `pool`: the producers of a configuration ([`Producers`]) and the pool that shares them
//!   across configurations ([`ProducerPool`]).
//! - `client`: what every client of a cluster shares: identity, properties, files, and the
//!   mapping of librdkafka errors to HTTP answers ([`map_error`]).
//! - `marks`: the writes this process had acknowledged, per topic and partition, which a
//!   fetch waits for the cache to read (read-your-writes).
//! - `health`: the count of clients replaced because they broke.
//! - [`reply`]: one reply tap per reply topic, dispatching replies by correlation id.
//! - [`cache`]: one topic cache per fetched topic, the latest record per key.
//! - [`feed`]: one feed per streamed topic, a bounded window of records for SSE streams.
//! - `consumer`: the setup those share, supervised (replaced when broken); `topics`: one
//!   client per set of topics, shared across configurations.
//! - `context`: the librdkafka context of every client (errors, statistics, brokers down).
//! - `watchdog`: a producer's current client and the task that replaces it when it breaks.
//! - [`embedded`]: the in-process development broker.
//!
//! This file only declares and re-exports: the modules below use each other, never it.

pub mod cache;
mod client;
mod consumer;
mod context;
pub(crate) mod dynamic;
pub mod embedded;
pub mod feed;
pub(crate) mod health;
pub mod marks;
mod oauth;
mod pool;
mod producer;
pub mod reply;
mod topics;
mod watchdog;

pub(crate) use client::check_files;
pub use client::{ClientError, map_error};
pub use pool::{ProducerPool, Producers};
pub use producer::{Producer, Record};
