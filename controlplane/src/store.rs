//! The configuration store: every accepted configuration as a numbered, checksummed
//! revision; the head; the last revision known to compile and run ("good"); and an audit
//! log of every change attempt, accepted or not.
//!
//! [`ConfigStore`] is the small interface the control plane uses; [`SledStore`] keeps it in
//! one sled tree; [`handle::StoreHandle`] runs it off the async runtime for async code. Guarantees:
//!
//! - a commit writes its revision, the new head and its audit entry in **one batch**, and
//!   flushes it to disk before returning: a revision the caller was told about survives a
//!   crash (`kill -9`) right after;
//! - a commit can name the head it expects (`If-Match`); a different head is a
//!   [`StoreError::Conflict`], so two writers racing on one head cannot both win;
//! - a change equal to the head is a no-op: no revision, and the audit log says so;
//! - every read checks the revision's SHA-256 checksum;
//! - the newest [`KEEP_REVISIONS`] revisions are kept, and the head and the good revision
//!   always.
//!
//! Modules: `model` (what is kept and the interface), `sled` (the sled store), [`handle`]
//! (the store off the async runtime). This file only declares and re-exports.

pub mod handle;
mod model;
mod sled;

pub use model::*;
pub use sled::{SledStore, checksum, text_digest};
