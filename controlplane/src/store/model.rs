//! What the store keeps and promises: revisions, changes, audit entries, errors, and the
//! [`ConfigStore`] interface.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Revisions kept (at least; the head and the good revision are never removed).
pub const KEEP_REVISIONS: usize = 200;

/// Audit entries kept.
pub const KEEP_AUDIT: usize = 10_000;

/// One stored configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// 1, 2, 3... in commit order.
    pub number: u64,
    /// The revision it replaced.
    pub parent: Option<u64>,
    /// The whole configuration, as JSON.
    pub config: Value,
    /// SHA-256 of `config`'s JSON text, hex.
    pub checksum: String,
    /// Who made the change.
    pub author: String,
    /// Why.
    pub message: String,
    /// When, milliseconds since the epoch.
    pub created_ms: u64,
}

/// A change to commit.
#[derive(Debug, Clone)]
pub struct Change {
    /// The whole new configuration, as JSON.
    pub config: Value,
    /// Who.
    pub author: String,
    /// Why.
    pub message: String,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq)]
pub enum Committed {
    /// A new head.
    New(Revision),
    /// The change equals the head; nothing was written but the audit entry.
    Unchanged(Revision),
}

/// One change attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3...
    pub seq: u64,
    /// When, milliseconds since the epoch.
    pub time_ms: u64,
    /// Who.
    pub author: String,
    /// What was attempted, e.g. `PUT /v1/config`.
    pub action: String,
    /// `accepted`, `unchanged`, `rejected` or `conflict`.
    pub outcome: String,
    /// The revision made, if any.
    pub revision: Option<u64>,
    /// Why it was rejected, if it was.
    pub detail: Option<String>,
}

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The head is not the one the change expected.
    #[error("the configuration changed meanwhile: head is {head:?}")]
    Conflict {
        /// The current head.
        head: Option<u64>,
    },
    /// A stored record does not read back as written.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The storage failed.
    #[error("storage error: {0}")]
    Io(String),
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        Self::Io(error.to_string())
    }
}

/// Where revisions live.
pub trait ConfigStore: Send + Sync {
    /// The current revision.
    fn head(&self) -> Result<Option<Revision>, StoreError>;
    /// Revision `number`, if still kept.
    fn get(&self, number: u64) -> Result<Option<Revision>, StoreError>;
    /// Up to `limit` revisions, newest first.
    fn list(&self, limit: usize) -> Result<Vec<Revision>, StoreError>;
    /// Makes `change` the head if the head is `expected` (when given); see the module doc.
    fn commit(
        &self,
        change: Change,
        expected: Option<Option<u64>>,
        action: &str,
    ) -> Result<Committed, StoreError>;
    /// Moves the head back to `to` after revision the head named could not be applied; the
    /// revision stays in the history and the audit log says why.
    fn reset_head(&self, to: Option<u64>, author: &str, reason: &str) -> Result<(), StoreError>;
    /// Records that revision `number` compiled and runs.
    fn mark_good(&self, number: u64) -> Result<(), StoreError>;
    /// The last revision marked good.
    fn good(&self) -> Result<Option<Revision>, StoreError>;
    /// Records a change attempt that made no revision (rejected, conflict).
    fn record(
        &self,
        author: &str,
        action: &str,
        outcome: &str,
        detail: &str,
    ) -> Result<(), StoreError>;
    /// Up to `limit` audit entries, newest first.
    fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}
