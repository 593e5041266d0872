//! The write path of every configuration change, in four named steps:
//!
//! 1. **validate**: restore secrets sent back masked, parse, compile into a route table
//!    (nothing that does not compile is stored);
//! 2. **persist**: commit a new revision to the store (conditional on the expected head);
//! 3. **swap**: the data plane applies the table, built aside, in one swap;
//! 4. **settle**: the revision is marked good and announced to followers; a swap that
//!    failed moves the head back to what runs instead.
//!
//! A change at any step that fails leaves the live configuration and the head as they were.

use serde_json::Value;
use sluice_dataplane::DataPlane;
use sluice_shared::{ConfigSpec, RouteTable};
use tracing::info;

use super::document::{canonical, diff};
use super::errors::{AppError, ChangeError};
use super::gateway::App;
use super::source::ConfigSource;
use super::startup::create_embedded_topics;
use crate::config::{self, ConfigLoadError};
use crate::store::handle::StoreHandle;
use crate::store::{Change, Committed, Revision, StoreError};

/// A change of the whole configuration, as the admin API receives it.
#[derive(Debug, Clone)]
pub struct ConfigChange {
    /// The new configuration, as JSON.
    pub config: Value,
    /// Who.
    pub author: String,
    /// Why.
    pub message: String,
    /// The head revision the change is based on (`If-Match`), when given.
    pub expected: Option<Option<u64>>,
    /// Validate and compare only.
    pub dry_run: bool,
    /// What was done, for the audit log (`PUT /v1/config`).
    pub action: String,
}

/// What a change did.
#[derive(Debug, Clone)]
pub enum ChangeOutcome {
    /// Applied as a new revision.
    Applied(Revision),
    /// Equal to the live configuration: nothing changed.
    Unchanged(Revision),
    /// A dry run: valid; the differences with the head.
    Valid(Value),
}

impl App {
    /// Validates, compiles, persists and applies a whole new configuration; on any error
    /// the live configuration and the head stay as they were.
    pub async fn change(&self, mut change: ConfigChange) -> Result<ChangeOutcome, ChangeError> {
        let store = self.store.as_ref().ok_or(ChangeError::NoStore)?;
        let _serialized = self.reload_lock.lock().await;
        let head = store.head().await?;
        let (spec, table) = match self.validate(&mut change, head.as_ref()) {
            Ok(compiled) => compiled,
            Err(errors) => {
                if !change.dry_run {
                    // Every problem with its pointer, not just "invalid".
                    let detail = match &errors {
                        ChangeError::Invalid(list) => list.to_string(),
                        other => other.to_string(),
                    };
                    store
                        .record(&change.author, &change.action, "rejected", &detail)
                        .await?;
                    self.board.rejected(detail);
                }
                return Err(errors);
            }
        };
        let canonical = canonical(&spec);
        if change.dry_run {
            return review(&change, head.as_ref(), &table, &canonical);
        }
        let revision = match persist(store, &change, canonical).await? {
            Committed::Unchanged(revision) => return Ok(ChangeOutcome::Unchanged(revision)),
            Committed::New(revision) => revision,
        };
        if let Err(error) = self.swap(table).await {
            // Persisted but not applicable here (a port in use, a Kafka client refused):
            // the head goes back to what runs.
            let reason = error.to_string();
            store
                .reset_head(revision.parent, &change.author, &reason)
                .await?;
            self.board.rejected(reason);
            return Err(error);
        }
        self.settle(store, &revision).await?;
        info!(revision = revision.number, author = %change.author, "configuration applied");
        Ok(ChangeOutcome::Applied(revision))
    }

    /// Step 1: the change's document, with masked secrets restored from `head`, parsed and
    /// compiled.
    fn validate(
        &self,
        change: &mut ConfigChange,
        head: Option<&Revision>,
    ) -> Result<(ConfigSpec, RouteTable), ChangeError> {
        // Secrets sent back as '***' (as the admin API shows them) keep their stored value.
        sluice_shared::secrets::restore(&mut change.config, head.map(|h| &h.config))
            .map_err(ChangeError::Invalid)?;
        let text = change.config.to_string();
        sluice_shared::load_config(&text, &self.compile_options).map_err(ChangeError::Invalid)
    }

    /// Step 3: topics on the embedded broker, then the data plane's one swap.
    async fn swap(&self, table: RouteTable) -> Result<(), ChangeError> {
        create_embedded_topics(self.embedded.as_ref(), &table)?;
        self.data_plane.apply(table).await?;
        Ok(())
    }

    /// Step 4: the revision runs: marked good, counted, announced to followers.
    async fn settle(&self, store: &StoreHandle, revision: &Revision) -> Result<(), ChangeError> {
        store.mark_good(revision.number).await?;
        self.board.applied(revision.number);
        self.live.send_replace(Some(revision.number));
        self.data_plane.traffic().mark(revision.number);
        Ok(())
    }

    /// Reads the configuration again and swaps it in whole; on any error the running
    /// configuration stays as it is.
    ///
    /// With a store, only a `--config` file is applied, and only when its text changed since
    /// it was last applied: a SIGHUP sent to renew certificates never undoes a change made
    /// through the admin API, and without `--config` it creates no revision.
    pub async fn reload(&self) -> Result<(), AppError> {
        let source = self.config.name();
        if let Some(store) = &self.store {
            return self.reload_into_store(store, &source).await;
        }
        let _serialized = self.reload_lock.lock().await;
        let spec = config::parse(&self.config.read()?, &source)?;
        let table = config::compile(&spec, &self.compile_options, &source)?;
        create_embedded_topics(self.embedded.as_ref(), &table)?;
        self.data_plane.apply(table).await?;
        Ok(())
    }

    /// A reload with a store: the `--config` file as a change, when its text changed.
    async fn reload_into_store(&self, store: &StoreHandle, source: &str) -> Result<(), AppError> {
        let ConfigSource::File(_) = &self.config else {
            info!("no --config file: SIGHUP applies no configuration");
            return Ok(());
        };
        let text = self.config.read()?;
        let digest = crate::store::text_digest(&text);
        if store.config_file_digest().await?.as_deref() == Some(digest.as_str()) {
            info!(config = %source, "--config is unchanged since it was last applied; no new revision");
            return Ok(());
        }
        let spec = config::parse(&text, source)?;
        let change = ConfigChange {
            config: canonical(&spec),
            author: "SIGHUP".to_owned(),
            message: format!("{source} re-read on SIGHUP"),
            expected: None,
            dry_run: false,
            action: "SIGHUP".to_owned(),
        };
        match self.change(change).await {
            Ok(_) => {
                store.set_config_file_digest(&digest).await?;
                Ok(())
            }
            Err(ChangeError::Invalid(errors)) => Err(AppError::Config(ConfigLoadError::Invalid {
                source_name: source.to_owned(),
                errors,
            })),
            Err(other) => Err(AppError::Change(other)),
        }
    }
}

/// A dry run's answer: the differences with the head, once the expected head and the files
/// the configuration names (TLS certificates) are checked, so that a review shows what the
/// apply would refuse.
fn review(
    change: &ConfigChange,
    head: Option<&Revision>,
    table: &RouteTable,
    canonical: &Value,
) -> Result<ChangeOutcome, ChangeError> {
    if let Some(expected) = change.expected
        && expected != head.map(|h| h.number)
    {
        return Err(ChangeError::Conflict {
            head: head.map(|h| h.number),
        });
    }
    DataPlane::check_files(table)?;
    Ok(ChangeOutcome::Valid(diff(
        head.map(|h| &h.config),
        canonical,
    )))
}

/// Step 2: the new revision, committed if the head is still the expected one.
async fn persist(
    store: &StoreHandle,
    change: &ConfigChange,
    canonical: Value,
) -> Result<Committed, ChangeError> {
    store
        .commit(
            Change {
                config: canonical,
                author: change.author.clone(),
                message: change.message.clone(),
            },
            change.expected,
            &change.action,
        )
        .await
        .map_err(|error| match error {
            StoreError::Conflict { head } => ChangeError::Conflict { head },
            other => ChangeError::Store(other),
        })
}
