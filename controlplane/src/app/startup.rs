//! Choosing the revision to start from, and the topics of the embedded broker.

use sluice_dataplane::EmbeddedBroker;
use sluice_dataplane::kafka::embedded::EmbeddedError;
use sluice_shared::{CompileOptions, ConfigSpec, RouteTable};
use tracing::{error, info, warn};

use super::document::{canonical, spec_of};
use super::errors::AppError;
use super::source::KafkaSource;
use crate::config::ConfigLoadError;
use crate::store::{Change, Committed, ConfigStore, Revision, SledStore};

/// Partitions of each topic created on the embedded broker.
const EMBEDDED_PARTITIONS: i32 = 1;

/// The revision to start from: the file given with `--config` when it differs from the
/// head (it becomes a new revision); else the head; the built-in quick-start for an empty
/// store. A head that does not compile falls back to the last good revision, loudly.
/// The revision to start from. A `--config` file (`file`: its text's digest) wins when it
/// changed since it was last applied; otherwise the store's head wins, so that a restart
/// with the same file keeps the changes made through the admin API since.
pub(super) fn initial_revision(
    store: &SledStore,
    file: Option<&str>,
    spec: &ConfigSpec,
    name: &str,
) -> Result<Revision, AppError> {
    let head = match store.head() {
        Ok(head) => head,
        Err(error) => {
            error!(error = %error, "THE HEAD REVISION CANNOT BE READ; falling back to the last good revision");
            None
        }
    };
    let file_changed = match file {
        Some(digest) => store.config_file_digest()?.as_deref() != Some(digest),
        None => false,
    };
    if file.is_some() && !file_changed && head.is_some() {
        info!(config = %name, "--config is unchanged since it was last applied; the stored head runs");
    }
    let given = file_changed || head.is_none();
    if given {
        // Nothing that does not compile is ever stored.
        RouteTable::compile(spec, &CompileOptions::default()).map_err(|errors| {
            ConfigLoadError::Invalid {
                source_name: name.to_owned(),
                errors,
            }
        })?;
        let change = Change {
            config: canonical(spec),
            author: "sluice serve".to_owned(),
            message: format!("{name} at start"),
        };
        let revision = match store.commit(change, None, "serve --config")? {
            Committed::New(revision) | Committed::Unchanged(revision) => revision,
        };
        if let Some(digest) = file {
            store.set_config_file_digest(digest)?;
        }
        return Ok(revision);
    }
    if let Some(head) = head {
        match spec_of(&head) {
            Ok(spec) if RouteTable::compile(&spec, &CompileOptions::default()).is_ok() => {
                return Ok(head);
            }
            _ => error!(
                revision = head.number,
                "THE HEAD REVISION DOES NOT COMPILE; starting from the last good revision instead"
            ),
        }
    }
    match store.good()? {
        Some(good) => {
            warn!(
                revision = good.number,
                "starting from the last good revision"
            );
            Ok(good)
        }
        None => Err(AppError::NoGoodRevision),
    }
}

pub(super) fn create_embedded_topics(
    embedded: Option<&EmbeddedBroker>,
    table: &RouteTable,
) -> Result<(), EmbeddedError> {
    let Some(broker) = embedded else {
        return Ok(());
    };
    for cluster in &table.clusters {
        if cluster.servers.first().map(String::as_str) != Some(broker.bootstrap_servers()) {
            continue;
        }
        for topic in &cluster.topics {
            broker.create_topic(topic, EMBEDDED_PARTITIONS)?;
        }
    }
    Ok(())
}

/// The embedded development broker, started when `--kafka embedded` asks for it or a kafka
/// client of `table` names no servers; `compile_options` then point those clients at it.
pub(super) fn embedded_broker(
    kafka: &KafkaSource,
    table: &RouteTable,
    compile_options: &mut CompileOptions,
) -> Result<Option<EmbeddedBroker>, AppError> {
    let needs_embedded = *kafka == KafkaSource::Embedded
        || table
            .clusters
            .iter()
            .any(|cluster| cluster.servers.is_empty());
    if !needs_embedded {
        return Ok(None);
    }
    let broker = EmbeddedBroker::start()?;
    warn!(
        bootstrap = broker.bootstrap_servers(),
        "USING THE EMBEDDED DEVELOPMENT BROKER: in memory only, about 5 MiB or 100k messages kept per partition, no admin API. Give --kafka host:port for a real cluster."
    );
    let servers = vec![broker.bootstrap_servers().to_owned()];
    if *kafka == KafkaSource::Embedded {
        compile_options.kafka_servers = Some(servers);
    } else {
        compile_options.fallback_servers = Some(servers);
    }
    Ok(Some(broker))
}
