//! What SIGHUP reads again besides the configuration and the data plane's certificates:
//! the admin listener's TLS files, and the admin token of `sluice serve`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sluice_dataplane::{FileAcceptor, TlsFileError};
use tracing::{error, info, warn};

use crate::admin::{Token, read_token_file};
use crate::cli::AdminTlsArgs;

/// The admin listener's TLS files, read and checked; `None` without TLS.
pub fn admin_tls(args: &AdminTlsArgs) -> Result<Option<Arc<FileAcceptor>>, TlsFileError> {
    args.files()
        .map(|files| FileAcceptor::load(files).map(Arc::new))
        .transpose()
}

/// Reads the admin listener's TLS files again (SIGHUP); open connections keep theirs.
pub fn admin_tls_reloaded(tls: Option<&FileAcceptor>) {
    match tls.map(FileAcceptor::reload) {
        None => {}
        Some(Ok(())) => info!(
            expires = tls.map_or(0, FileAcceptor::not_after),
            "admin listener certificate reloaded on SIGHUP"
        ),
        Some(Err(err)) => {
            error!(error = %err, "admin listener certificate not reloaded; it keeps the one it has")
        }
    }
}

/// Reads the data directory's `admin-token` file again (SIGHUP): a new token there replaces
/// the current one, which is still accepted for `grace`.
pub fn rotate_admin_token(data_dir: &Path, token: &Token, grace: Duration) {
    if std::env::var("SLUICE_ADMIN_TOKEN").is_ok_and(|t| !t.trim().is_empty()) {
        // The environment fixed the token for the process's life.
        return;
    }
    let path = data_dir.join("admin-token");
    match read_token_file(&path) {
        Ok(Some(text)) => {
            if token.rotate(&text, grace) {
                info!(
                    grace_seconds = grace.as_secs(),
                    "admin token rotated on SIGHUP; the previous one is accepted for the grace period"
                );
            }
        }
        Ok(None) => warn!(file = %path.display(), "the admin token file is empty; the token stays"),
        Err(err) => {
            error!(file = %path.display(), error = %err, "the admin token file cannot be read; the token stays")
        }
    }
}
