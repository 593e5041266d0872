//! One compiled model: what it checks, and how it converts between the client's view and
//! the bytes on Kafka.

use crate::avro::AvroSchema;
use crate::error::SchemaError;
use crate::json::JsonCodec;
use crate::protobuf::ProtobufCodec;
use crate::scalar::{ScalarCodec, ScalarKind, ScalarOptions};
use crate::violation::Violation;

/// The models, by their configuration names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// JSON Schema.
    Json,
    /// Avro binary.
    Avro,
    /// Protobuf binary.
    Protobuf,
    /// Text.
    String,
    /// 32-bit integer.
    Int32,
    /// 64-bit integer.
    Int64,
    /// 32-bit float.
    Float,
    /// 64-bit float.
    Double,
}

impl ModelKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [Self; 8] = [
        Self::Json,
        Self::Avro,
        Self::Protobuf,
        Self::String,
        Self::Int32,
        Self::Int64,
        Self::Float,
        Self::Double,
    ];

    /// The kind a configuration names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Avro => "avro",
            Self::Protobuf => "protobuf",
            Self::String => "string",
            Self::Int32 => "int32",
            Self::Int64 => "int64",
            Self::Float => "float",
            Self::Double => "double",
        }
    }

    /// Whether the model reads its schema from a catalog.
    pub fn has_schema(self) -> bool {
        matches!(self, Self::Json | Self::Avro | Self::Protobuf)
    }

    /// Whether the model can show its binary form as JSON (`view: json`).
    pub fn has_json_view(self) -> bool {
        matches!(self, Self::Avro | Self::Protobuf)
    }

    fn scalar(self) -> Option<ScalarKind> {
        Some(match self {
            Self::String => ScalarKind::String,
            Self::Int32 => ScalarKind::Int32,
            Self::Int64 => ScalarKind::Int64,
            Self::Float => ScalarKind::Float,
            Self::Double => ScalarKind::Double,
            _ => return None,
        })
    }
}

/// A compiled model.
#[derive(Debug, Clone)]
pub enum Codec {
    /// JSON Schema.
    Json(JsonCodec),
    /// Avro.
    Avro(AvroSchema),
    /// Protobuf.
    Protobuf(ProtobufCodec),
    /// A scalar.
    Scalar(ScalarCodec),
}

impl Codec {
    /// Compiles schema `text` for a schema model; `record` names the Protobuf message.
    pub fn compile(kind: ModelKind, text: &str, record: Option<&str>) -> Result<Self, SchemaError> {
        match kind {
            ModelKind::Json => JsonCodec::compile(text).map(Self::Json),
            ModelKind::Avro => AvroSchema::parse(text).map(Self::Avro),
            ModelKind::Protobuf => {
                let record = record.ok_or_else(|| {
                    SchemaError::new("a protobuf model names its message in 'record'")
                })?;
                ProtobufCodec::compile(text, record).map(Self::Protobuf)
            }
            _ => Err(SchemaError::new(format!(
                "{} takes no schema",
                kind.as_str()
            ))),
        }
    }

    /// A scalar model with its options.
    pub fn scalar(kind: ModelKind, options: ScalarOptions) -> Result<Self, SchemaError> {
        let scalar = kind.scalar().ok_or_else(|| {
            SchemaError::new(format!("{} reads a schema from a catalog", kind.as_str()))
        })?;
        ScalarCodec::new(scalar, options).map(Self::Scalar)
    }

    /// Checks a payload from a client and appends what goes to Kafka to `out`: the payload
    /// itself, or with `json_view` its binary form converted from JSON.
    pub fn admit(
        &self,
        payload: &[u8],
        json_view: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Violation> {
        match (self, json_view) {
            (Self::Avro(schema), true) => {
                let document = crate::json::parse(payload)?;
                schema.encode(&document, out)
            }
            (Self::Protobuf(codec), true) => codec.from_json(payload, out),
            _ => {
                self.check(payload)?;
                out.extend_from_slice(payload);
                Ok(())
            }
        }
    }

    /// Checks a payload as it is (no conversion).
    pub fn check(&self, payload: &[u8]) -> Result<(), Violation> {
        match self {
            Self::Json(codec) => codec.check(payload).map(drop),
            Self::Avro(schema) => schema.decode(payload).map(drop),
            Self::Protobuf(codec) => codec.check(payload).map(drop),
            Self::Scalar(codec) => codec.check(payload),
        }
    }

    /// A record's payload (its frame removed) as a client sees it: checked, and with
    /// `json_view` converted to JSON; `None` when the bytes are shown unchanged.
    pub fn render(&self, payload: &[u8], json_view: bool) -> Result<Option<Vec<u8>>, Violation> {
        match (self, json_view) {
            (Self::Avro(schema), true) => {
                let document = schema.decode(payload)?;
                serde_json::to_vec(&document)
                    .map(Some)
                    .map_err(|e| Violation::whole(format!("cannot be shown as JSON: {e}")))
            }
            (Self::Protobuf(codec), true) => codec.to_json(payload).map(Some),
            _ => self.check(payload).map(|()| None),
        }
    }

    /// The model for the Protobuf message at `indexes` of the same schema (a framed
    /// payload names its message); `None` when the schema has no such message. Other
    /// models are themselves.
    pub fn at_indexes(&self, indexes: &[i32]) -> Option<std::borrow::Cow<'_, Self>> {
        match self {
            Self::Protobuf(codec) if codec.indexes() != indexes => codec
                .at_indexes(indexes)
                .map(|c| std::borrow::Cow::Owned(Self::Protobuf(c))),
            _ => Some(std::borrow::Cow::Borrowed(self)),
        }
    }

    /// The Protobuf message indexes of the record, for the registry wire format.
    pub fn indexes(&self) -> Option<&[i32]> {
        match self {
            Self::Protobuf(codec) => Some(codec.indexes()),
            _ => None,
        }
    }
}
