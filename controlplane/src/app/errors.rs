//! Why the app could not start or reload, and why a change was refused.

use sluice_dataplane::ApplyError;
use sluice_dataplane::kafka::embedded::EmbeddedError;
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
    Embedded(#[from] EmbeddedError),
    /// The data plane refused the configuration (listener or Kafka client).
    #[error(transparent)]
    DataPlane(#[from] ApplyError),
    /// The configuration store failed.
    #[error("configuration store: {0}")]
    Store(#[from] StoreError),
    /// The store holds no revision that compiles, and no `--config` was given.
    #[error("the store has no revision that compiles; start with --config FILE")]
    NoGoodRevision,
    /// A change (the `--config` file on SIGHUP) was refused.
    #[error(transparent)]
    Change(#[from] ChangeError),
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
    #[error(transparent)]
    NotApplied(#[from] ApplyError),
    /// Valid, but the embedded broker could not create its topics; not kept as the head.
    #[error("embedded broker: {0}")]
    Embedded(#[from] EmbeddedError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// There is no store (the app runs without `--data-dir`).
    #[error("this gateway runs without a configuration store")]
    NoStore,
}
