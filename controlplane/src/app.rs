//! The running gateway: configuration source, Kafka source, data plane.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sluice_dataplane::{DataPlane, DataPlaneOptions, EmbeddedBroker};
use sluice_shared::{CompileOptions, QUICKSTART_CONFIG, RouteTable};
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::config::{self, ConfigLoadError};

/// Partitions of each topic created on the embedded broker.
const EMBEDDED_PARTITIONS: i32 = 1;

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// The built-in quick-start.
    Quickstart,
    /// A file, re-read on every reload.
    File(PathBuf),
    /// Text given directly (tests).
    Text(String),
}

impl ConfigSource {
    fn name(&self) -> String {
        match self {
            Self::Quickstart => "the quick-start configuration".to_owned(),
            Self::File(path) => path.display().to_string(),
            Self::Text(_) => "the configuration".to_owned(),
        }
    }

    fn read(&self) -> Result<String, ConfigLoadError> {
        match self {
            Self::Quickstart => Ok(QUICKSTART_CONFIG.to_owned()),
            Self::File(path) => config::read_file(path),
            Self::Text(text) => Ok(text.clone()),
        }
    }
}

/// Which Kafka to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaSource {
    /// The configuration's servers; the embedded broker for clients that name none.
    Config,
    /// The embedded development broker for every client.
    Embedded,
    /// These bootstrap servers for every client.
    Servers(Vec<String>),
}

impl KafkaSource {
    /// Reads the `--kafka` flag.
    pub fn from_flag(flag: Option<&str>) -> Result<Self, String> {
        match flag.map(str::trim) {
            None => Ok(Self::Config),
            Some("embedded") => Ok(Self::Embedded),
            Some(list) => {
                let servers: Vec<String> = list
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                let bad = servers.iter().find(|s| match s.rsplit_once(':') {
                    Some((host, port)) => host.is_empty() || port.parse::<u16>().is_err(),
                    None => true,
                });
                match bad {
                    _ if servers.is_empty() => {
                        Err("--kafka needs host:port[,host:port] or embedded".to_owned())
                    }
                    Some(bad) => Err(format!("--kafka: '{bad}' is not host:port")),
                    None => Ok(Self::Servers(servers)),
                }
            }
        }
    }
}

/// Everything needed to start an [`App`].
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Configuration source.
    pub config: ConfigSource,
    /// Kafka source.
    pub kafka: KafkaSource,
    /// Data-plane settings.
    pub data_plane: DataPlaneOptions,
}

/// Why the app could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The configuration is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigLoadError),
    /// The embedded broker could not start or create a topic.
    #[error("embedded broker: {0}")]
    Embedded(String),
    /// The data plane refused the configuration (listener or Kafka client).
    #[error("{0}")]
    DataPlane(String),
}

/// A running Sluice.
pub struct App {
    data_plane: DataPlane,
    embedded: Option<EmbeddedBroker>,
    config: ConfigSource,
    compile_options: CompileOptions,
    reload_lock: Mutex<()>,
}

impl App {
    /// Reads, validates and compiles the configuration, starts the embedded broker if one is
    /// needed, binds the listeners and starts serving. Nothing is bound when the
    /// configuration is invalid.
    pub async fn start(app_config: AppConfig) -> Result<Self, AppError> {
        let source = app_config.config.name();
        let spec = config::parse(&app_config.config.read()?, &source)?;
        let mut compile_options = CompileOptions {
            kafka_servers: match &app_config.kafka {
                KafkaSource::Servers(servers) => Some(servers.clone()),
                _ => None,
            },
            fallback_servers: None,
        };
        let table = config::compile(&spec, &compile_options, &source)?;
        let needs_embedded = app_config.kafka == KafkaSource::Embedded
            || table
                .clusters
                .iter()
                .any(|cluster| cluster.servers.is_empty());
        let embedded = if needs_embedded {
            let broker = EmbeddedBroker::start().map_err(AppError::Embedded)?;
            warn!(
                bootstrap = broker.bootstrap_servers(),
                "USING THE EMBEDDED DEVELOPMENT BROKER: in memory only, about 5 MiB or 100k messages kept per partition, no admin API. Give --kafka host:port for a real cluster."
            );
            let servers = vec![broker.bootstrap_servers().to_owned()];
            if app_config.kafka == KafkaSource::Embedded {
                compile_options.kafka_servers = Some(servers);
            } else {
                compile_options.fallback_servers = Some(servers);
            }
            Some(broker)
        } else {
            None
        };
        let table = config::compile(&spec, &compile_options, &source)?;
        create_embedded_topics(embedded.as_ref(), &table)?;
        let data_plane = DataPlane::start(table, app_config.data_plane)
            .await
            .map_err(AppError::DataPlane)?;
        info!(config = %source, "sluice started");
        Ok(Self {
            data_plane,
            embedded,
            config: app_config.config,
            compile_options,
            reload_lock: Mutex::new(()),
        })
    }

    /// Reads the configuration again and swaps it in whole; on any error the running
    /// configuration stays as it is.
    pub async fn reload(&self) -> Result<(), AppError> {
        let _serialized = self.reload_lock.lock().await;
        let source = self.config.name();
        let spec = config::parse(&self.config.read()?, &source)?;
        let table = config::compile(&spec, &self.compile_options, &source)?;
        create_embedded_topics(self.embedded.as_ref(), &table)?;
        self.data_plane
            .apply(table)
            .await
            .map_err(AppError::DataPlane)
    }

    /// Where the listener configured on `port` is bound.
    pub async fn local_addr(&self, port: u16) -> Option<SocketAddr> {
        self.data_plane.local_addr(port).await
    }

    /// The embedded broker's bootstrap address, when it runs.
    pub fn embedded_bootstrap(&self) -> Option<&str> {
        self.embedded
            .as_ref()
            .map(EmbeddedBroker::bootstrap_servers)
    }

    /// Requests waiting for a Kafka reply right now.
    pub fn reply_waiters(&self) -> usize {
        self.data_plane.reply_waiters()
    }

    /// SSE streams dropped so far because their client stopped reading.
    pub fn sse_dropped(&self) -> u64 {
        self.data_plane.sse_dropped()
    }

    /// The active route table.
    pub fn table(&self) -> std::sync::Arc<RouteTable> {
        self.data_plane.table()
    }

    /// Stops accepting, gives requests in flight up to `grace`, then stops.
    pub async fn shutdown(self, grace: Duration) {
        self.data_plane.shutdown(grace).await;
        drop(self.embedded);
    }
}

fn create_embedded_topics(
    embedded: Option<&EmbeddedBroker>,
    table: &RouteTable,
) -> Result<(), AppError> {
    let Some(broker) = embedded else {
        return Ok(());
    };
    for cluster in &table.clusters {
        if cluster.servers.first().map(String::as_str) != Some(broker.bootstrap_servers()) {
            continue;
        }
        for topic in &cluster.topics {
            broker
                .create_topic(topic, EMBEDDED_PARTITIONS)
                .map_err(AppError::Embedded)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_flag_forms() {
        assert_eq!(KafkaSource::from_flag(None), Ok(KafkaSource::Config));
        assert_eq!(
            KafkaSource::from_flag(Some("embedded")),
            Ok(KafkaSource::Embedded)
        );
        assert_eq!(
            KafkaSource::from_flag(Some("a:1, b:2")),
            Ok(KafkaSource::Servers(vec!["a:1".into(), "b:2".into()]))
        );
        assert!(KafkaSource::from_flag(Some("nohost")).is_err());
        assert!(KafkaSource::from_flag(Some(",")).is_err());
    }
}
