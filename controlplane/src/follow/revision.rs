//! A revision from the control plane made ready to serve: checked for redacted secrets and
//! compiled; the first one at start, from the local copy or the control plane.

use std::time::Duration;

use serde_json::Value;
use sluice_dataplane::ApplyError;
use sluice_shared::{CompileOptions, ConfigErrors, RouteTable};
use tracing::{error, info, warn};

use super::client::PollClient;
use super::local::read_last_good;
use super::poll::{Received, poll};
use super::state::{FollowConfig, FollowState};

/// First and longest pause between failed polls.
pub(super) const BACKOFF: (Duration, Duration) =
    (Duration::from_millis(500), Duration::from_secs(5));

/// Why a revision from the control plane is not served here.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    /// It holds secrets redacted (this data plane has no admin token).
    #[error(
        "the control plane sent {0} redacted; give this data plane the admin token (--admin-token-file or SLUICE_ADMIN_TOKEN) so that it receives the secrets"
    )]
    Redacted(String),
    /// It does not compile here.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// A kafka client names no servers, and this data plane was given none.
    #[error("kafka binding '{0}' names no servers; give this data plane --kafka")]
    NoServers(String),
    /// The data plane refused it.
    #[error(transparent)]
    NotApplied(#[from] ApplyError),
}

pub(super) fn compile(
    received: &Received,
    options: &CompileOptions,
) -> Result<RouteTable, RevisionError> {
    // Without the admin token the control plane sends secrets as '***'.
    let redacted: Vec<String> = sluice_shared::secrets::secret_pointers(&received.config)
        .into_iter()
        .filter(|p| {
            received.config.pointer(p).and_then(Value::as_str)
                == Some(sluice_shared::secrets::REDACTED)
        })
        .collect();
    if !redacted.is_empty() {
        return Err(RevisionError::Redacted(redacted.join(", ")));
    }
    let text = received.config.to_string();
    let (_, table) = sluice_shared::load_config(&text, options).map_err(RevisionError::Invalid)?;
    if let Some(cluster) = table.clusters.iter().find(|c| c.servers.is_empty()) {
        return Err(RevisionError::NoServers(cluster.binding.clone()));
    }
    Ok(table)
}

/// The last good revision kept locally, compiled, if there is one that compiles here.
pub(super) fn local_start(
    config: &FollowConfig,
    options: &CompileOptions,
) -> Option<(u64, RouteTable)> {
    let local = read_last_good(&config.data_dir)?;
    match compile(&local, options) {
        Ok(table) => {
            info!(
                revision = local.number,
                "serving the last good revision kept locally"
            );
            Some((local.number, table))
        }
        Err(reason) => {
            error!(
                revision = local.number,
                reason = %reason,
                "the locally kept revision does not compile here; waiting for the control plane"
            );
            None
        }
    }
}

/// The control plane's head, once it answers with one that compiles here: asked again
/// with backoff while it is unreachable, however long that takes.
pub(super) async fn first_revision(
    client: &PollClient,
    config: &FollowConfig,
    state: &mut FollowState,
    options: &CompileOptions,
) -> (Received, RouteTable) {
    let mut pause = BACKOFF.0;
    loop {
        config.refresh_token();
        match poll(client, config, state, false).await {
            Ok(Some(received)) => match compile(&received, options) {
                Ok(table) => return (received, table),
                Err(reason) => {
                    error!(
                        revision = received.number,
                        reason = %reason,
                        "the control plane's revision does not compile here; waiting for the next one"
                    );
                    state.seen = Some(received.number);
                    state.last_error = Some(reason.to_string());
                }
            },
            Ok(None) => {}
            Err(reason) => {
                warn!(control_plane = %config.control_plane, reason = %reason, "no configuration yet: the control plane is unreachable and none is kept locally; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(BACKOFF.1);
            }
        }
    }
}
