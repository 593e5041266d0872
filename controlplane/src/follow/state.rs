//! What a follower is told at start (`FollowConfig`) and what it knows now (`FollowState`).

use std::path::PathBuf;

use http::Uri;
use sluice_dataplane::{ClientFiles, DataPlaneOptions};
use tracing::{info, warn};

use crate::admin::{Token, read_token_file};

/// How a data plane follows its control plane.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// The control plane's admin API, `http(s)://host:port`.
    pub control_plane: Uri,
    /// The admin token, sent as a bearer token.
    pub token: Option<Token>,
    /// The file the token was read from, read again before every poll.
    pub token_file: Option<PathBuf>,
    /// TLS files for an `https://` control plane.
    pub tls: ClientFiles,
    /// This data plane's name in the control plane's status.
    pub id: String,
    /// Where the last good revision is kept.
    pub data_dir: PathBuf,
    /// Kafka bootstrap servers overriding the configuration's.
    pub kafka: Option<Vec<String>>,
    /// Listener settings.
    pub data_plane: DataPlaneOptions,
}

impl FollowConfig {
    /// Reads the token file again: a new token there is sent from now on (its rotation on
    /// the control plane accepts the old one meanwhile). An empty or unreadable file keeps
    /// the token.
    pub(crate) fn refresh_token(&self) {
        let (Some(file), Some(token)) = (&self.token_file, &self.token) else {
            return;
        };
        match read_token_file(file) {
            Ok(Some(text)) => {
                if token.rotate(&text, std::time::Duration::ZERO) {
                    info!(file = %file.display(), "admin token changed in --admin-token-file; sending the new one");
                }
            }
            Ok(None) => {
                warn!(file = %file.display(), "--admin-token-file is empty; keeping the token read before");
            }
            Err(error) => {
                warn!(file = %file.display(), error = %error, "--admin-token-file cannot be read; keeping the token read before");
            }
        }
    }
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
