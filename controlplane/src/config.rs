//! Reading configuration text into a validated [`RouteTable`].

use std::path::{Path, PathBuf};

use sluice_shared::{CompileOptions, ConfigErrors, ConfigSpec, RouteTable, parse_config};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigLoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The document is invalid; every problem is listed.
    #[error("{source_name} is invalid:\n{errors}")]
    Invalid {
        /// The file, or `quick-start`.
        source_name: String,
        /// Every problem.
        errors: ConfigErrors,
    },
}

/// Reads `path` as text, refusing files over the document limit before reading them whole.
pub fn read_file(path: &Path) -> Result<String, ConfigLoadError> {
    let read_error = |error| ConfigLoadError::Read {
        path: path.to_owned(),
        error,
    };
    let size = std::fs::metadata(path).map_err(read_error)?.len();
    if size > sluice_shared::spec::MAX_DOCUMENT_BYTES as u64 {
        return Err(ConfigLoadError::Invalid {
            source_name: path.display().to_string(),
            errors: ConfigErrors(vec![sluice_shared::ConfigError::new(
                "",
                format!(
                    "file is larger than {} bytes",
                    sluice_shared::spec::MAX_DOCUMENT_BYTES
                ),
            )]),
        });
    }
    std::fs::read_to_string(path).map_err(read_error)
}

/// Parses `text` (from `source_name`).
///
/// When the document has shape errors, it is also compiled as far as it could be read, so
/// the errors list every problem of the document, not only the first kind.
pub fn parse(text: &str, source_name: &str) -> Result<ConfigSpec, ConfigLoadError> {
    parse_config(text).map_err(|shape| {
        let errors = sluice_shared::load_config(text, &CompileOptions::default())
            .err()
            .unwrap_or(shape);
        ConfigLoadError::Invalid {
            source_name: source_name.to_owned(),
            errors,
        }
    })
}

/// Validates and compiles `spec` (from `source_name`).
pub fn compile(
    spec: &ConfigSpec,
    options: &CompileOptions,
    source_name: &str,
) -> Result<RouteTable, ConfigLoadError> {
    RouteTable::compile(spec, options).map_err(|errors| ConfigLoadError::Invalid {
        source_name: source_name.to_owned(),
        errors,
    })
}
