//! The running gateway: configuration source, Kafka source, data plane, store.
//!
//! Modules:
//! - `gateway`: [`App`]: start, accessors, shutdown.
//! - `change`: the write path of a change (validate, persist, swap, settle) and reload.
//! - `startup`: the revision to start from; the embedded broker's topics.
//! - `board`: what runs and what was refused ([`Status`]), for `/v1/status` and metrics.
//! - `document`: the stored form of a configuration and the differences of a change.
//! - `source`: where the configuration and Kafka come from ([`AppConfig`]).
//! - `errors`: [`AppError`] and [`ChangeError`].
//!
//! This file only declares and re-exports.

mod board;
mod change;
mod document;
mod errors;
mod gateway;
mod source;
mod startup;

pub(crate) use board::render_config_metrics;
pub use board::{DataPlaneReport, Rejected, Status};
pub use change::{ChangeOutcome, ConfigChange};
pub use document::{canonical, diff, spec_of};
pub use errors::{AppError, ChangeError};
pub use gateway::App;
pub use source::{AppConfig, ConfigSource, KafkaFlagError, KafkaSource};
