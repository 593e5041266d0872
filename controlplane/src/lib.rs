//! The `sluice` binary's library: process lifecycle, configuration loading and hot swap.
//!
//! Modules:
//! - [`cli`]: the command line (`sluice serve`, `sluice validate`).
//! - [`app`]: builds the running gateway (embedded broker, data plane), reloads its
//!   configuration, shuts it down. Tests build the same [`App`].
//! - [`config`]: reading and compiling a configuration file (validate -> compile).
//!
//! The sled store, revisions and the admin API arrive with the control-plane work; until
//! then the configuration comes from `--config` or the built-in quick-start.

pub mod app;
pub mod cli;
pub mod config;

pub use app::{App, AppConfig, AppError, ConfigSource, KafkaSource};
