//! What a follower is told at start (`FollowConfig`) and what it knows now (`FollowState`).

use std::path::PathBuf;

use http::Uri;
use sluice_dataplane::DataPlaneOptions;

use crate::admin::Token;

/// How a data plane follows its control plane.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// The control plane's admin API, `http://host:port`.
    pub control_plane: Uri,
    /// The admin token, sent as a bearer token.
    pub token: Option<Token>,
    /// This data plane's name in the control plane's status.
    pub id: String,
    /// Where the last good revision is kept.
    pub data_dir: PathBuf,
    /// Kafka bootstrap servers overriding the configuration's.
    pub kafka: Option<Vec<String>>,
    /// Listener settings.
    pub data_plane: DataPlaneOptions,
}

/// What the data plane reports about itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct FollowState {
    pub(super) applied_revision: Option<u64>,
    pub(super) applied_ms: Option<u64>,
    /// The last revision received, applied or not: the next poll waits for a newer one.
    pub(super) seen: Option<u64>,
    pub(super) last_error: Option<String>,
    pub(super) reachable: bool,
    pub(super) last_contact_ms: Option<u64>,
}
