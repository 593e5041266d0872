//! The configuration as users write it: a `zilla.yaml`-style document of `name`, `guards`
//! and `bindings`.
//!
//! These types mirror the document one to one (serde, unknown fields rejected). They are
//! not validated beyond their shape: [`crate::table`] checks the meaning and compiles them.
//! [`parse_config`] reads YAML or JSON and reports every shape error with its JSON pointer.
//!
//! Modules: `document` (the top level, guards, binding types), `options` (each binding
//! type's options), `route` (conditions, `with`, capabilities), `port` (port ranges), `telemetry` (metrics and exporters),
//! `parse` (reading a document). This file only declares and re-exports.

mod catalog;
mod client;
pub(crate) mod document;
mod kafka;
mod model;
pub(crate) mod options;
mod parse;
mod port;
pub(crate) mod route;
mod telemetry;
mod typed;
mod vault;

pub use catalog::*;
pub use client::*;
pub use document::*;
pub use kafka::*;
pub use model::*;
pub use options::*;
pub(crate) use parse::parse_partial;
pub use parse::{MAX_DOCUMENT_BYTES, parse_config, parse_config_with_env};
pub use port::PortSpec;
pub use route::*;
pub use telemetry::*;
pub(crate) use typed::typed as typed_value;
pub use vault::*;
