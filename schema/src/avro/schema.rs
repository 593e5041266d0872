//! Reading an Avro schema (JSON text) into the types the codec walks.
//!
//! Named types (records, enums, fixed) live in one list and are referred to by index, so
//! recursive records work. Logical types are carried by their underlying type.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::SchemaError;

/// Deepest nesting of types accepted in a schema.
const MAX_SCHEMA_DEPTH: usize = 64;

/// A parsed Avro schema.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    pub(super) named: Vec<Named>,
    pub(super) root: Ty,
}

/// One Avro type.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ty {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(Box<Ty>),
    Map(Box<Ty>),
    Union(Vec<Ty>),
    Named(usize),
}

/// A named type: its full name and definition.
#[derive(Debug, Clone)]
pub(super) struct Named {
    pub(super) name: String,
    pub(super) def: NamedDef,
}

/// What a named type is.
#[derive(Debug, Clone)]
pub(super) enum NamedDef {
    /// Being read (a record that refers to itself).
    Pending,
    Record(Vec<Field>),
    Enum(Vec<String>),
    Fixed(usize),
}

/// A record field.
#[derive(Debug, Clone)]
pub(super) struct Field {
    pub(super) name: String,
    pub(super) ty: Ty,
    pub(super) default: Option<Value>,
}

impl AvroSchema {
    /// Parses the schema text.
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| SchemaError::new(format!("an avro schema is JSON: {e}")))?;
        let mut parser = Parser {
            named: Vec::new(),
            index: HashMap::new(),
        };
        let root = parser.ty(&value, None, 0)?;
        Ok(Self {
            named: parser.named,
            root,
        })
    }

    /// The name a union branch of type `ty` is written under in Avro's JSON encoding.
    pub(super) fn branch_name(&self, ty: &Ty) -> &str {
        match ty {
            Ty::Null => "null",
            Ty::Boolean => "boolean",
            Ty::Int => "int",
            Ty::Long => "long",
            Ty::Float => "float",
            Ty::Double => "double",
            Ty::Bytes => "bytes",
            Ty::String => "string",
            Ty::Array(_) => "array",
            Ty::Map(_) => "map",
            Ty::Union(_) => "union",
            Ty::Named(index) => &self.named[*index].name,
        }
    }
}

struct Parser {
    named: Vec<Named>,
    index: HashMap<String, usize>,
}

fn primitive(name: &str) -> Option<Ty> {
    Some(match name {
        "null" => Ty::Null,
        "boolean" => Ty::Boolean,
        "int" => Ty::Int,
        "long" => Ty::Long,
        "float" => Ty::Float,
        "double" => Ty::Double,
        "bytes" => Ty::Bytes,
        "string" => Ty::String,
        _ => return None,
    })
}

impl Parser {
    fn ty(
        &mut self,
        value: &Value,
        namespace: Option<&str>,
        depth: usize,
    ) -> Result<Ty, SchemaError> {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(SchemaError::new("the avro schema nests too deeply"));
        }
        match value {
            Value::String(name) => self.reference(name, namespace),
            Value::Array(branches) => self.union(branches, namespace, depth),
            Value::Object(object) => self.complex(object, namespace, depth),
            other => Err(SchemaError::new(format!(
                "an avro type is a name, a union or an object, not {other}"
            ))),
        }
    }

    fn reference(&self, name: &str, namespace: Option<&str>) -> Result<Ty, SchemaError> {
        if let Some(ty) = primitive(name) {
            return Ok(ty);
        }
        let full = full_name(name, namespace);
        self.index
            .get(&full)
            .or_else(|| self.index.get(name))
            .map(|&index| Ty::Named(index))
            .ok_or_else(|| SchemaError::new(format!("unknown avro type '{name}'")))
    }

    fn union(
        &mut self,
        branches: &[Value],
        namespace: Option<&str>,
        depth: usize,
    ) -> Result<Ty, SchemaError> {
        if branches.is_empty() {
            return Err(SchemaError::new("an avro union needs at least one branch"));
        }
        let mut types = Vec::with_capacity(branches.len());
        for branch in branches {
            let ty = self.ty(branch, namespace, depth + 1)?;
            if matches!(ty, Ty::Union(_)) {
                return Err(SchemaError::new("an avro union cannot hold a union"));
            }
            let kind = std::mem::discriminant(&ty);
            if types.iter().any(|t: &Ty| {
                std::mem::discriminant(t) == kind && (!matches!(ty, Ty::Named(_)) || *t == ty)
            }) {
                return Err(SchemaError::new("an avro union holds the same type twice"));
            }
            types.push(ty);
        }
        Ok(Ty::Union(types))
    }

    fn complex(
        &mut self,
        object: &Map<String, Value>,
        namespace: Option<&str>,
        depth: usize,
    ) -> Result<Ty, SchemaError> {
        let Some(kind) = object.get("type") else {
            return Err(SchemaError::new("an avro type object needs 'type'"));
        };
        let Value::String(kind) = kind else {
            return self.ty(kind, namespace, depth + 1);
        };
        match kind.as_str() {
            "record" | "error" => self.record(object, namespace, depth),
            "enum" => self.enumeration(object, namespace),
            "fixed" => self.fixed(object, namespace),
            "array" => {
                let items = object
                    .get("items")
                    .ok_or_else(|| SchemaError::new("an avro array needs 'items'"))?;
                Ok(Ty::Array(Box::new(self.ty(items, namespace, depth + 1)?)))
            }
            "map" => {
                let values = object
                    .get("values")
                    .ok_or_else(|| SchemaError::new("an avro map needs 'values'"))?;
                Ok(Ty::Map(Box::new(self.ty(values, namespace, depth + 1)?)))
            }
            other => self.reference(other, namespace),
        }
    }

    /// Registers a named type, refusing a second definition of the same name.
    fn define(
        &mut self,
        object: &Map<String, Value>,
        namespace: Option<&str>,
    ) -> Result<(usize, Option<String>), SchemaError> {
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| SchemaError::new("an avro record, enum or fixed needs a 'name'"))?;
        let own_namespace = object.get("namespace").and_then(Value::as_str);
        let full = full_name(name, own_namespace.or(namespace));
        if self.index.contains_key(&full) || primitive(&full).is_some() {
            return Err(SchemaError::new(format!(
                "avro type '{full}' is defined twice"
            )));
        }
        let index = self.named.len();
        self.named.push(Named {
            name: full.clone(),
            def: NamedDef::Pending,
        });
        self.index.insert(full.clone(), index);
        let inner = full.rsplit_once('.').map(|(space, _)| space.to_owned());
        Ok((index, inner))
    }

    fn record(
        &mut self,
        object: &Map<String, Value>,
        namespace: Option<&str>,
        depth: usize,
    ) -> Result<Ty, SchemaError> {
        let (index, inner) = self.define(object, namespace)?;
        let fields = object
            .get("fields")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                SchemaError::new(format!(
                    "avro record '{}' needs 'fields'",
                    self.named[index].name
                ))
            })?;
        let mut parsed: Vec<Field> = Vec::with_capacity(fields.len());
        for field in fields {
            let name = field
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| SchemaError::new("an avro field needs a 'name'"))?;
            if parsed.iter().any(|f| f.name == name) {
                return Err(SchemaError::new(format!(
                    "avro field '{name}' appears twice"
                )));
            }
            let ty = field
                .get("type")
                .ok_or_else(|| SchemaError::new(format!("avro field '{name}' needs a 'type'")))?;
            let ty = self.ty(ty, inner.as_deref(), depth + 1)?;
            parsed.push(Field {
                name: name.to_owned(),
                ty,
                default: field.get("default").cloned(),
            });
        }
        self.named[index].def = NamedDef::Record(parsed);
        Ok(Ty::Named(index))
    }

    fn enumeration(
        &mut self,
        object: &Map<String, Value>,
        namespace: Option<&str>,
    ) -> Result<Ty, SchemaError> {
        let (index, _) = self.define(object, namespace)?;
        let symbols: Option<Vec<String>> = object
            .get("symbols")
            .and_then(Value::as_array)
            .and_then(|list| list.iter().map(|s| s.as_str().map(str::to_owned)).collect());
        let symbols = symbols
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SchemaError::new("an avro enum needs 'symbols', a list of names"))?;
        self.named[index].def = NamedDef::Enum(symbols);
        Ok(Ty::Named(index))
    }

    fn fixed(
        &mut self,
        object: &Map<String, Value>,
        namespace: Option<&str>,
    ) -> Result<Ty, SchemaError> {
        let (index, _) = self.define(object, namespace)?;
        let size = object
            .get("size")
            .and_then(Value::as_u64)
            .and_then(|s| usize::try_from(s).ok())
            .filter(|&s| s <= 1 << 20)
            .ok_or_else(|| SchemaError::new("an avro fixed needs a 'size' (at most 1 MiB)"))?;
        self.named[index].def = NamedDef::Fixed(size);
        Ok(Ty::Named(index))
    }
}

fn full_name(name: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(space) if !name.contains('.') && !space.is_empty() => format!("{space}.{name}"),
        _ => name.to_owned(),
    }
}
