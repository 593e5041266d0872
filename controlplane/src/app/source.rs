//! Where the configuration and Kafka come from, and what starting an [`App`](super::App)
//! needs.

use std::path::{Path, PathBuf};

use sluice_dataplane::DataPlaneOptions;
use sluice_shared::QUICKSTART_CONFIG;

use crate::config::{self, ConfigLoadError};

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
    pub(super) fn name(&self) -> String {
        match self {
            Self::Quickstart => "the quick-start configuration".to_owned(),
            Self::File(path) => path.display().to_string(),
            Self::Text(_) => "the configuration".to_owned(),
        }
    }

    /// The directory relative paths of the configuration (vault stores) are read from:
    /// the file's own directory, as in Zilla; the working directory otherwise.
    pub(super) fn base_dir(&self) -> Option<PathBuf> {
        match self {
            Self::File(path) => {
                let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                absolute.parent().map(Path::to_path_buf)
            }
            Self::Quickstart | Self::Text(_) => None,
        }
    }

    pub(super) fn read(&self) -> Result<String, ConfigLoadError> {
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
    pub fn from_flag(flag: Option<&str>) -> Result<Self, KafkaFlagError> {
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
                    _ if servers.is_empty() => Err(KafkaFlagError::Empty),
                    Some(bad) => Err(KafkaFlagError::NotHostPort(bad.clone())),
                    None => Ok(Self::Servers(servers)),
                }
            }
        }
    }
}

/// Why a `--kafka` flag is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KafkaFlagError {
    /// Nothing but commas.
    #[error("--kafka needs host:port[,host:port] or embedded")]
    Empty,
    /// A server that is not `host:port`.
    #[error("--kafka: '{0}' is not host:port")]
    NotHostPort(String),
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
    /// Directory of the configuration store; `None` runs without one (tests, `validate`).
    pub data_dir: Option<PathBuf>,
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
