//! The `sluice` binary's library: process lifecycle, configuration loading and hot swap.
//!
//! Modules:
//! - [`cli`]: the command line (`sluice serve`, `sluice dataplane`, `sluice validate`).
//! - [`app`]: the running gateway (embedded broker, data plane, store): start, the write
//!   path of a change (validate, persist, swap, settle), reload, status, shutdown. Tests
//!   build the same [`App`].
//! - [`config`]: reading and compiling a configuration file (validate -> compile).
//! - [`store`]: revisions, the head, the last good revision and the audit log, in sled;
//!   [`store::handle`] runs it off the async runtime.
//! - [`admin`]: the admin API on the admin listener: server, token, router, handlers for the
//!   configuration, bindings and guards, revisions and rollback, status, health, and the
//!   web UI's embedded assets at `/ui/`.
//! - [`openapi`]: the admin API's OpenAPI document (utoipa).
//! - [`follow`]: `sluice dataplane`, a data plane alone that follows a control plane.
//! - [`reload`]: what SIGHUP reads again: the admin listener's TLS files, the admin token.
//!
//! `scripts/module-cycles` checks that no two files of the crate import each other.

// Product code keeps functions under 60 lines (clippy.toml); test scenarios and benches
// read top to bottom and are not held to it.
#![warn(clippy::too_many_lines)]

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod follow;
pub mod limits;
pub mod openapi;
pub mod reload;
pub mod store;

pub use app::{App, AppConfig, AppError, ConfigSource, KafkaSource};

/// The admin token: `SLUICE_ADMIN_TOKEN`, else the file `admin-token` in the data
/// directory, else a new random token written there (mode 0600). The second value is true
/// when the token was just made (print it once).
pub fn admin_token(data_dir: &std::path::Path) -> std::io::Result<(admin::Token, bool)> {
    if let Ok(token) = std::env::var("SLUICE_ADMIN_TOKEN")
        && !token.trim().is_empty()
    {
        return Ok((admin::Token::new(token.trim()), false));
    }
    let path = data_dir.join("admin-token");
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok((admin::Token::new(text.trim()), false)),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    std::fs::create_dir_all(data_dir)?;
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    Ok((admin::Token::new(&token), true))
}

/// This data plane's id: the file `id` in the data directory, else a new
/// `data-plane-<8 hex digits>` written there.
pub fn data_plane_id(data_dir: &std::path::Path) -> std::io::Result<String> {
    let path = data_dir.join("id");
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    std::fs::create_dir_all(data_dir)?;
    let id = format!(
        "data-plane-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    std::fs::write(&path, &id)?;
    Ok(id)
}
