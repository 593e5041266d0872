//! Models: the shape a payload must have, and its conversions.
//!
//! A model is JSON Schema (`json`), Avro (`avro`), Protobuf (`protobuf`) or a scalar
//! (`string`, `int32`, `int64`, `float`, `double`). Each checks a payload and, for Avro and
//! Protobuf with `view: json`, converts between the JSON a client speaks and the binary form
//! on Kafka. A payload that does not fit yields a [`Violation`] naming where and why.
//!
//! Modules: `avro` (own codec), `json` (JSON Schema through the `jsonschema` crate),
//! `protobuf` (schema text compiled at run time by `protox`, messages by `prost-reflect`),
//! `scalar` (strings and numbers), `codec` (one compiled model), `wire` (the registry wire
//! format and schema ids), `violation`, `error`.

pub mod avro;
mod codec;
mod error;
mod json;
mod protobuf;
mod scalar;
mod violation;
pub mod wire;

pub use codec::{Codec, ModelKind};
pub use error::SchemaError;
pub use json::JsonCodec;
pub use protobuf::ProtobufCodec;
pub use scalar::{ScalarCodec, ScalarFormat, ScalarKind, ScalarOptions};
pub use violation::{MAX_RULE_CHARS, Violation, escape};
