//! The Sluice configuration model.
//!
//! What users write (`spec`), how it is checked and compiled (`table`), and the error
//! vocabulary shared by every layer (`error`). This crate has no I/O beyond parsing text:
//! no tokio, hyper, rdkafka or sled.
//!
//! Modules:
//! - [`spec`]: the `zilla.yaml`-style document as users write it (`ConfigSpec` and friends),
//!   parsed from YAML or JSON with every error reported at its JSON pointer.
//! - [`path`]: path templates (`/items/{id}`) and their matcher.
//! - [`guard`]: JWT guards: keys, token verification, credential extraction.
//! - [`request`]: the request as routing and guards see it.
//! - [`template`]: value templates (`${params.id}`, `${idempotencyKey}`).
//! - [`table`]: validation and compilation of a spec into the immutable [`RouteTable`].
//! - [`wire`]: ETag / event-id codec, `If-None-Match` and `Prefer` parsing, and why such a
//!   header is refused.
//! - [`secrets`]: which configuration fields are secrets, redacted and restored.
//! - [`sync`]: the one policy for poisoned locks.
//! - [`error`]: [`ConfigError`] for configuration problems and [`ErrorCode`] for request
//!   failures.
//!
//! `scripts/module-cycles` checks that no two files of the crate import each other.

// Product code keeps functions under 60 lines (clippy.toml); test scenarios and benches
// read top to bottom and are not held to it.
#![warn(clippy::too_many_lines)]

pub mod error;
pub mod guard;
mod load;
pub mod path;
pub mod request;
pub mod secrets;
pub mod spec;
pub mod sync;
pub mod table;
pub mod template;
pub mod wire;

pub use error::{ConfigError, ConfigErrors, ErrorCode, Party};
pub use load::{load_config, load_config_with_env};
pub use spec::{ConfigSpec, parse_config};
pub use table::{CompileOptions, RouteTable};

/// The built-in quick-start configuration: a tour of what this version can do.
pub const QUICKSTART_CONFIG: &str = include_str!("quickstart.yaml");
