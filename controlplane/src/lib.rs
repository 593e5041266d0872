//! The `sluice` binary's library: process lifecycle, configuration loading and hot swap.
//!
//! Modules:
//! - [`cli`]: the command line (`sluice serve`, `sluice validate`).
//! - [`app`]: builds the running gateway (embedded broker, data plane), reloads its
//!   configuration, shuts it down. Tests build the same [`App`].
//! - [`config`]: reading and compiling a configuration file (validate -> compile).
//! - [`store`]: revisions, the head, the last good revision and the audit log, in sled.
//!
//! The admin API arrives with the control-plane work; until then the configuration comes
//! from `--config` or the built-in quick-start, and the store is not used by `serve` yet.

pub mod app;
pub mod cli;
pub mod config;
pub mod store;

pub use app::{App, AppConfig, AppError, ConfigSource, KafkaSource};
