//! `sluice dataplane`: a data plane alone, following a control plane's revisions.
//!
//! - At start it serves the last good revision kept in its data directory
//!   (`last-good.json`), so it starts and serves while the control plane is down. Without a
//!   local copy it waits for the control plane.
//! - It then long-polls `GET <control plane>/v1/config` with `If-None-Match: "<revision>"`
//!   and `prefer: wait=60`. A new revision is compiled and applied (the same swap as
//!   `sluice serve`), then written to `last-good.json` (written to a temporary file, synced,
//!   renamed). A revision that does not compile or apply here is reported and skipped: the
//!   data plane keeps serving what it has and waits for the next one.
//! - Each poll tells the control plane the data plane's id, its applied revision and its
//!   last apply error; `GET /v1/status` of the control plane lists them.
//! - While the control plane is unreachable it retries with a backoff of 0.5 s doubling to
//!   5 s, and says so once in the log.
//! - Its own admin listener answers `/healthz`, `/readyz`, `/metrics` and `/v1/status`.
//!
//! - Over `https://` it verifies the control plane's certificate (`--control-plane-ca` or
//!   the system's authorities) and can present a client certificate (mutual TLS); it reads
//!   `--admin-token-file` again before every poll, so the token can be rotated without a
//!   restart.
//!
//! Modules: `args` (the command line made a [`FollowConfig`]), `client` (the HTTP(S) client
//! to the control plane), `follower` (start, follow, the admin listener), `revision` (a
//! revision checked and compiled; the first one at start), `poll` (asking the control
//! plane), `local` (the last good revision on disk), `state` (what a follower is told and
//! knows). This file only declares and re-exports.

mod args;
mod client;
mod follower;
mod local;
mod poll;
mod revision;
mod state;

pub use args::follow_config;
pub use client::ClientError;
pub use follower::{FollowError, Follower};
pub use revision::RevisionError;
pub use state::FollowConfig;
