//! Protobuf models: `.proto` text compiled at run time by `protox` (no `protoc`), messages
//! read, checked and converted by `prost-reflect`.
//!
//! A payload is refused when it is not a valid encoding of the message, when a field has the
//! wrong wire type, or when it carries fields the schema does not know (at any depth): a
//! producer with another version of the schema is caught, not silently passed. The JSON view
//! is proto3's JSON mapping with the `.proto` field names and every field written.

use prost::Message;
use prost_reflect::ReflectMessage;
use prost_reflect::{
    DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions, Value as ProtoValue,
};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use crate::error::SchemaError;
use crate::violation::Violation;

/// The name the schema text is compiled under.
const FILE_NAME: &str = "schema.proto";

/// A compiled Protobuf schema and the message a model reads and writes.
#[derive(Debug, Clone)]
pub struct ProtobufCodec {
    message: MessageDescriptor,
    indexes: Vec<i32>,
}

/// Resolves the schema text itself; imports of Google's well-known types come next.
struct TextResolver(String);

impl FileResolver for TextResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == FILE_NAME {
            File::from_source(name, &self.0)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

impl ProtobufCodec {
    /// Compiles `text` and selects `record` (a message name, with or without its package).
    pub fn compile(text: &str, record: &str) -> Result<Self, SchemaError> {
        let mut resolver = ChainFileResolver::new();
        resolver.add(TextResolver(text.to_owned()));
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler
            .open_file(FILE_NAME)
            .map_err(|e| SchemaError::new(format!("the protobuf schema does not compile: {e}")))?;
        let pool = compiler.descriptor_pool();
        let file = pool
            .get_file_by_name(FILE_NAME)
            .ok_or_else(|| SchemaError::new("the protobuf schema defines no file"))?;
        let package = file.package_name();
        let full = if package.is_empty() || record.starts_with(&format!("{package}.")) {
            record.to_owned()
        } else {
            format!("{package}.{record}")
        };
        let message = pool
            .get_message_by_name(&full)
            .filter(|m| m.parent_file() == file)
            .ok_or_else(|| {
                SchemaError::new(format!("the protobuf schema defines no message '{record}'"))
            })?;
        let indexes = indexes_of(&message);
        Ok(Self { message, indexes })
    }

    /// The message indexes of the record, for the registry wire format.
    pub fn indexes(&self) -> &[i32] {
        &self.indexes
    }

    /// The message at `indexes` in the same schema (a framed payload may name another).
    pub fn at_indexes(&self, indexes: &[i32]) -> Option<Self> {
        let file = self.message.parent_file();
        let (first, rest) = indexes.split_first()?;
        let mut message = file.messages().nth(usize::try_from(*first).ok()?)?;
        for index in rest {
            let child = message
                .child_messages()
                .nth(usize::try_from(*index).ok()?)?;
            message = child;
        }
        Some(Self {
            message,
            indexes: indexes.to_vec(),
        })
    }

    /// Checks a binary message.
    pub fn check(&self, payload: &[u8]) -> Result<DynamicMessage, Violation> {
        let message = DynamicMessage::decode(self.message.clone(), payload).map_err(|e| {
            Violation::whole(format!("not a valid {} message: {e}", self.message.name()))
        })?;
        unknown_fields(&message)?;
        Ok(message)
    }

    /// Reads JSON (proto3 mapping) and writes the binary message.
    pub fn from_json(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), Violation> {
        let mut json = serde_json::Deserializer::from_slice(payload);
        let mut track = serde_path_to_error::Track::new();
        let options = DeserializeOptions::new().deny_unknown_fields(true);
        let read = DynamicMessage::deserialize_with_options(
            self.message.clone(),
            serde_path_to_error::Deserializer::new(&mut json, &mut track),
            &options,
        )
        .and_then(|message| json.end().map(|()| message));
        let message = read.map_err(|e| Violation::at(pointer(&track.path()), e.to_string()))?;
        message
            .encode(out)
            .map_err(|e| Violation::whole(format!("the message cannot be encoded: {e}")))
    }

    /// Reads a binary message and writes its JSON.
    pub fn to_json(&self, payload: &[u8]) -> Result<Vec<u8>, Violation> {
        let message = self.check(payload)?;
        let mut out = serde_json::Serializer::new(Vec::with_capacity(payload.len() * 2));
        let options = SerializeOptions::new()
            .use_proto_field_name(true)
            .skip_default_fields(false);
        message
            .serialize_with_options(&mut out, &options)
            .map_err(|e| Violation::whole(format!("the message cannot be shown as JSON: {e}")))?;
        Ok(out.into_inner())
    }
}

/// The path of indexes from the file to `message`.
fn indexes_of(message: &MessageDescriptor) -> Vec<i32> {
    let mut path = Vec::new();
    let mut current = message.clone();
    loop {
        let siblings: Vec<MessageDescriptor> = match current.parent_message() {
            Some(parent) => parent.child_messages().collect(),
            None => current.parent_file().messages().collect(),
        };
        let position = siblings.iter().position(|m| *m == current).unwrap_or(0);
        path.push(i32::try_from(position).unwrap_or(0));
        match current.parent_message() {
            Some(parent) => current = parent,
            None => break,
        }
    }
    path.reverse();
    path
}

/// Refuses fields the schema does not know, at any depth.
fn unknown_fields(message: &DynamicMessage) -> Result<(), Violation> {
    if let Some(field) = message.unknown_fields().next() {
        return Err(Violation::whole(format!(
            "field number {} is not in the schema of {}",
            field.number(),
            message.descriptor().name().to_owned()
        )));
    }
    for (field, value) in message.fields() {
        nested(value).map_err(|v| v.under(field.name()))?;
    }
    Ok(())
}

fn nested(value: &ProtoValue) -> Result<(), Violation> {
    match value {
        ProtoValue::Message(message) => unknown_fields(message),
        ProtoValue::List(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| nested(item).map_err(|v| v.under(&i.to_string()))),
        ProtoValue::Map(entries) => entries.values().try_for_each(nested),
        _ => Ok(()),
    }
}

/// A serde path as a JSON pointer.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", crate::violation::escape(key))),
            Segment::Enum { variant } => {
                out.push_str(&format!("/{}", crate::violation::escape(variant)))
            }
            Segment::Unknown => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
