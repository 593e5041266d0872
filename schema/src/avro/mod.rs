//! Avro: the schema, binary encoding from JSON and decoding to JSON, Sluice's own codec
//! (Avro 1.11 specification) so that every error names the field it is about.
//!
//! Modules: `schema` (reading the schema text), `encode` (JSON to binary), `decode`
//! (binary to JSON).

mod decode;
mod encode;
mod schema;

pub use schema::AvroSchema;

#[cfg(test)]
mod tests;
