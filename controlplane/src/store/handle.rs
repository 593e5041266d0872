//! [`StoreHandle`]: the store as async code uses it. Every call runs on tokio's blocking
//! pool, so that sled's reads, its writes and their fsync never stall a runtime thread (the
//! admin API, the follow long-polls and the data plane share those threads).

use std::path::PathBuf;
use std::sync::Arc;

use super::{AuditEntry, Change, Committed, ConfigStore, Revision, SledStore, StoreError};

/// The configuration store for async code; cheap to clone.
#[derive(Clone)]
pub struct StoreHandle {
    inner: Arc<SledStore>,
}

impl StoreHandle {
    /// Opens (or creates) the store under `dir`, off the runtime: opening may wait for
    /// another process to release the database.
    pub async fn open(dir: PathBuf) -> Result<Self, StoreError> {
        let inner = tokio::task::spawn_blocking(move || SledStore::open(&dir))
            .await
            .map_err(|error| StoreError::Io(format!("the store task failed: {error}")))??;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Runs `work` on the store on the blocking pool: for a sequence of calls that belong
    /// together (the start-up choice of a revision).
    pub async fn run<T, E>(
        &self,
        work: impl FnOnce(&SledStore) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|error| StoreError::Io(format!("the store task failed: {error}")))?
    }

    /// See [`ConfigStore::head`].
    pub async fn head(&self) -> Result<Option<Revision>, StoreError> {
        self.run(|store| store.head()).await
    }

    /// See [`ConfigStore::get`].
    pub async fn get(&self, number: u64) -> Result<Option<Revision>, StoreError> {
        self.run(move |store| store.get(number)).await
    }

    /// See [`ConfigStore::list`].
    pub async fn list(&self, limit: usize) -> Result<Vec<Revision>, StoreError> {
        self.run(move |store| store.list(limit)).await
    }

    /// See [`ConfigStore::commit`].
    pub async fn commit(
        &self,
        change: Change,
        expected: Option<Option<u64>>,
        action: &str,
    ) -> Result<Committed, StoreError> {
        let action = action.to_owned();
        self.run(move |store| store.commit(change, expected, &action))
            .await
    }

    /// See [`ConfigStore::reset_head`].
    pub async fn reset_head(
        &self,
        to: Option<u64>,
        author: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let (author, reason) = (author.to_owned(), reason.to_owned());
        self.run(move |store| store.reset_head(to, &author, &reason))
            .await
    }

    /// See [`ConfigStore::mark_good`].
    pub async fn mark_good(&self, number: u64) -> Result<(), StoreError> {
        self.run(move |store| store.mark_good(number)).await
    }

    /// See [`ConfigStore::record`].
    pub async fn record(
        &self,
        author: &str,
        action: &str,
        outcome: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let owned = [author, action, outcome, detail].map(str::to_owned);
        self.run(move |store| {
            let [author, action, outcome, detail] = &owned;
            store.record(author, action, outcome, detail)
        })
        .await
    }

    /// See [`ConfigStore::audit`].
    pub async fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.run(move |store| store.audit(limit)).await
    }

    /// See [`SledStore::config_file_digest`].
    pub async fn config_file_digest(&self) -> Result<Option<String>, StoreError> {
        self.run(|store| store.config_file_digest()).await
    }

    /// See [`SledStore::set_config_file_digest`].
    pub async fn set_config_file_digest(&self, digest: &str) -> Result<(), StoreError> {
        let digest = digest.to_owned();
        self.run(move |store| store.set_config_file_digest(&digest))
            .await
    }
}
