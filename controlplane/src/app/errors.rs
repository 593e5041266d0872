//! Why the app could not start or reload, and why a change was refused.

use sluice_shared::ConfigErrors;

use crate::config::ConfigLoadError;
use crate::store::StoreError;

/// Why the app could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The configuration is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigLoadError),
    /// The embedded broker could not start or create a topic.
    #[error("embedded broker: {0}")]
    Embedded(String),
    /// The data plane refused the configuration (listener or Kafka client).
    #[error("{0}")]
    DataPlane(String),
    /// The configuration store failed.
    #[error("configuration store: {0}")]
    Store(#[from] StoreError),
}

/// Why a change was refused; the live configuration is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The configuration is invalid; every problem with its pointer.
    #[error("the configuration is invalid")]
    Invalid(ConfigErrors),
    /// The head is not the expected one.
    #[error("the configuration changed meanwhile (head is revision {head:?})")]
    Conflict {
        /// The head.
        head: Option<u64>,
    },
    /// Valid, but the data plane could not apply it (listener, Kafka client); not kept as
    /// the head.
    #[error("{0}")]
    NotApplied(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// There is no store (the app runs without `--data-dir`).
    #[error("this gateway runs without a configuration store")]
    NoStore,
}
