//! [`SledStore`]: the store in one sled tree under the data directory.

use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sha2::{Digest, Sha256};
use sluice_shared::sync::lock;

use super::model::{
    AuditEntry, Change, Committed, ConfigStore, KEEP_AUDIT, KEEP_REVISIONS, Revision, StoreError,
};

const HEAD: &[u8] = b"head";

const GOOD: &[u8] = b"good";

/// The highest revision number ever given; numbers are never reused.
const LAST: &[u8] = b"last";

const AUDIT_SEQ: &[u8] = b"audit-seq";

const REVISION_PREFIX: &[u8] = b"rev/";

const AUDIT_PREFIX: &[u8] = b"audit/";

/// SHA-256 (hex) of the `--config` file text last applied.
const CONFIG_FILE_DIGEST: &[u8] = b"config-file-digest";

/// The store in a sled database under a data directory.
pub struct SledStore {
    db: sled::Db,
    /// One writer at a time: the head check and the batch are one step.
    writer: Mutex<()>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// SHA-256 of the JSON text of `config`, hex.
pub fn checksum(config: &Value) -> String {
    text_digest(&config.to_string())
}

fn revision_key(number: u64) -> Vec<u8> {
    [REVISION_PREFIX, format!("{number:020}").as_bytes()].concat()
}

fn audit_key(seq: u64) -> Vec<u8> {
    [AUDIT_PREFIX, format!("{seq:020}").as_bytes()].concat()
}

pub(crate) fn number(bytes: &[u8]) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("a counter is not 8 bytes".to_owned()))?;
    Ok(u64::from_be_bytes(array))
}

impl SledStore {
    /// Opens (or creates) the store in `dir`.
    ///
    /// The store's file lock is held by one process at a time. When it is taken (a previous
    /// handle still closing: sled's flusher lets go a moment after the drop), opening waits
    /// up to 5 s before it fails with the lock error.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let config = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput);
        let mut attempts = 0;
        let db = loop {
            match config.open() {
                // sled reports a taken lock as an `Other` I/O error with this text.
                Err(sled::Error::Io(error))
                    if error.to_string().contains("could not acquire lock") && attempts < 50 =>
                {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => break other?,
            }
        };
        Ok(Self {
            db,
            writer: Mutex::new(()),
        })
    }

    fn counter(&self, key: &[u8]) -> Result<Option<u64>, StoreError> {
        self.db.get(key)?.map(|v| number(&v)).transpose()
    }

    fn read(&self, number: u64) -> Result<Option<Revision>, StoreError> {
        let Some(bytes) = self.db.get(revision_key(number))? else {
            return Ok(None);
        };
        let revision: Revision = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("revision {number}: {e}")))?;
        if revision.number != number || checksum(&revision.config) != revision.checksum {
            return Err(StoreError::Corrupt(format!(
                "revision {number} does not match its checksum"
            )));
        }
        Ok(Some(revision))
    }

    fn audit_entry(
        &self,
        batch: &mut sled::Batch,
        mut entry: AuditEntry,
    ) -> Result<(), StoreError> {
        let seq = self.counter(AUDIT_SEQ)?.unwrap_or(0) + 1;
        entry.seq = seq;
        let bytes = serde_json::to_vec(&entry).map_err(|e| StoreError::Io(e.to_string()))?;
        batch.insert(audit_key(seq), bytes);
        batch.insert(AUDIT_SEQ, &seq.to_be_bytes());
        if seq > KEEP_AUDIT as u64 {
            batch.remove(audit_key(seq - KEEP_AUDIT as u64));
        }
        Ok(())
    }

    fn write(&self, batch: sled::Batch) -> Result<(), StoreError> {
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }
}

impl SledStore {
    /// The digest of the `--config` file text last applied, if one was.
    pub fn config_file_digest(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .get(CONFIG_FILE_DIGEST)?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Records `digest` as the `--config` file text last applied (flushed).
    pub fn set_config_file_digest(&self, digest: &str) -> Result<(), StoreError> {
        self.db.insert(CONFIG_FILE_DIGEST, digest.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }
}

/// SHA-256 (hex) of a configuration file's text.
pub fn text_digest(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl ConfigStore for SledStore {
    fn head(&self) -> Result<Option<Revision>, StoreError> {
        match self.counter(HEAD)? {
            Some(number) => self.read(number),
            None => Ok(None),
        }
    }

    fn get(&self, number: u64) -> Result<Option<Revision>, StoreError> {
        self.read(number)
    }

    fn list(&self, limit: usize) -> Result<Vec<Revision>, StoreError> {
        let mut revisions = Vec::new();
        for item in self.db.scan_prefix(REVISION_PREFIX).rev().take(limit) {
            let (_, bytes) = item?;
            let revision: Revision = serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("revision list: {e}")))?;
            revisions.push(revision);
        }
        Ok(revisions)
    }

    fn commit(
        &self,
        change: Change,
        expected: Option<Option<u64>>,
        action: &str,
    ) -> Result<Committed, StoreError> {
        let _writer = lock(&self.writer);
        let head = self.head()?;
        let head_number = head.as_ref().map(|r| r.number);
        let mut batch = sled::Batch::default();
        let mut entry = AuditEntry {
            seq: 0,
            time_ms: now_ms(),
            author: change.author.clone(),
            action: action.to_owned(),
            outcome: String::new(),
            revision: None,
            detail: None,
        };
        if let Some(expected) = expected
            && expected != head_number
        {
            entry.outcome = "conflict".to_owned();
            entry.detail = Some(format!("expected {expected:?}, head {head_number:?}"));
            self.audit_entry(&mut batch, entry)?;
            self.write(batch)?;
            return Err(StoreError::Conflict { head: head_number });
        }
        let sum = checksum(&change.config);
        if let Some(head) = head
            && head.checksum == sum
            && head.config == change.config
        {
            entry.outcome = "unchanged".to_owned();
            entry.revision = Some(head.number);
            self.audit_entry(&mut batch, entry)?;
            self.write(batch)?;
            return Ok(Committed::Unchanged(head));
        }
        let number = self.counter(LAST)?.max(head_number).unwrap_or(0) + 1;
        let revision = Revision {
            number,
            parent: head_number,
            config: change.config,
            checksum: sum,
            author: change.author,
            message: change.message,
            created_ms: entry.time_ms,
        };
        let bytes = serde_json::to_vec(&revision).map_err(|e| StoreError::Io(e.to_string()))?;
        batch.insert(revision_key(number), bytes);
        batch.insert(HEAD, &number.to_be_bytes());
        batch.insert(LAST, &number.to_be_bytes());
        let good = self.counter(GOOD)?;
        if number > KEEP_REVISIONS as u64 {
            let old = number - KEEP_REVISIONS as u64;
            if Some(old) != good {
                batch.remove(revision_key(old));
            }
        }
        entry.outcome = "accepted".to_owned();
        entry.revision = Some(number);
        self.audit_entry(&mut batch, entry)?;
        self.write(batch)?;
        Ok(Committed::New(revision))
    }

    fn reset_head(&self, to: Option<u64>, author: &str, reason: &str) -> Result<(), StoreError> {
        let _writer = lock(&self.writer);
        let mut batch = sled::Batch::default();
        let failed = self.counter(HEAD)?;
        match to {
            Some(number) => batch.insert(HEAD, &number.to_be_bytes()),
            None => batch.remove(HEAD),
        }
        let entry = AuditEntry {
            seq: 0,
            time_ms: now_ms(),
            author: author.to_owned(),
            action: "apply".to_owned(),
            outcome: "not-applied".to_owned(),
            revision: failed,
            detail: Some(reason.to_owned()),
        };
        self.audit_entry(&mut batch, entry)?;
        self.write(batch)
    }

    fn mark_good(&self, number: u64) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        batch.insert(GOOD, &number.to_be_bytes());
        self.write(batch)
    }

    fn good(&self) -> Result<Option<Revision>, StoreError> {
        match self.counter(GOOD)? {
            Some(number) => self.read(number),
            None => Ok(None),
        }
    }

    fn record(
        &self,
        author: &str,
        action: &str,
        outcome: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let _writer = lock(&self.writer);
        let mut batch = sled::Batch::default();
        let entry = AuditEntry {
            seq: 0,
            time_ms: now_ms(),
            author: author.to_owned(),
            action: action.to_owned(),
            outcome: outcome.to_owned(),
            revision: None,
            detail: Some(detail.to_owned()),
        };
        self.audit_entry(&mut batch, entry)?;
        self.write(batch)
    }

    fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut entries = Vec::new();
        for item in self.db.scan_prefix(AUDIT_PREFIX).rev().take(limit) {
            let (_, bytes) = item?;
            entries.push(
                serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("audit log: {e}")))?,
            );
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests;
