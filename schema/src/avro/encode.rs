//! JSON to Avro binary, with the JSON pointer of the first value that does not fit.
//!
//! The JSON form: records are objects (every field present or defaulted, no others), enums
//! their symbol, bytes and fixed a string of code points 0-255 (Avro's JSON encoding),
//! arrays and maps as such. A union value is either Avro's `{"branch": value}` form or a
//! plain value, written with the first branch that takes it.

use serde_json::Value;

use super::schema::{AvroSchema, Field, NamedDef, Ty};
use crate::violation::Violation;
use crate::wire::write_zigzag;

/// Deepest nesting of values written.
const MAX_DEPTH: usize = 64;

impl AvroSchema {
    /// Encodes `value` in Avro binary onto `out`.
    pub fn encode(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), Violation> {
        self.write(&self.root, value, out, 0)
    }

    fn write(
        &self,
        ty: &Ty,
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Violation> {
        if depth > MAX_DEPTH {
            return Err(Violation::whole("the value nests too deeply"));
        }
        match ty {
            Ty::Null => value
                .is_null()
                .then_some(())
                .ok_or_else(|| expected("null", value)),
            Ty::Boolean => {
                let flag = value
                    .as_bool()
                    .ok_or_else(|| expected("a boolean", value))?;
                out.push(u8::from(flag));
                Ok(())
            }
            Ty::Int => {
                let n = value
                    .as_i64()
                    .ok_or_else(|| expected("an integer of 32 bits", value))?;
                let n = i32::try_from(n)
                    .map_err(|_| Violation::whole("the integer is out of the 32-bit range"))?;
                write_zigzag(i64::from(n), out);
                Ok(())
            }
            Ty::Long => {
                let n = value
                    .as_i64()
                    .ok_or_else(|| expected("an integer of 64 bits", value))?;
                write_zigzag(n, out);
                Ok(())
            }
            Ty::Float => {
                let n = value.as_f64().ok_or_else(|| expected("a number", value))?;
                out.extend_from_slice(&(n as f32).to_le_bytes());
                Ok(())
            }
            Ty::Double => {
                let n = value.as_f64().ok_or_else(|| expected("a number", value))?;
                out.extend_from_slice(&n.to_le_bytes());
                Ok(())
            }
            Ty::String => {
                let text = value.as_str().ok_or_else(|| expected("a string", value))?;
                write_bytes(text.as_bytes(), out);
                Ok(())
            }
            Ty::Bytes => {
                let bytes = code_points(value)?;
                write_bytes(&bytes, out);
                Ok(())
            }
            Ty::Array(items) => self.array(items, value, out, depth),
            Ty::Map(values) => self.map(values, value, out, depth),
            Ty::Union(branches) => self.union(branches, value, out, depth),
            Ty::Named(index) => match &self.named[*index].def {
                NamedDef::Record(fields) => self.record(fields, value, out, depth),
                NamedDef::Enum(symbols) => {
                    let symbol = value
                        .as_str()
                        .ok_or_else(|| expected("an enum symbol", value))?;
                    let position = symbols.iter().position(|s| s == symbol).ok_or_else(|| {
                        Violation::whole(format!("'{symbol}' is not one of the enum's symbols"))
                    })?;
                    write_zigzag(position as i64, out);
                    Ok(())
                }
                NamedDef::Fixed(size) => {
                    let bytes = code_points(value)?;
                    if bytes.len() != *size {
                        return Err(Violation::whole(format!(
                            "expected exactly {size} bytes, found {}",
                            bytes.len()
                        )));
                    }
                    out.extend_from_slice(&bytes);
                    Ok(())
                }
                NamedDef::Pending => Err(Violation::whole("the schema is incomplete")),
            },
        }
    }

    fn record(
        &self,
        fields: &[Field],
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Violation> {
        let object = value
            .as_object()
            .ok_or_else(|| expected("an object", value))?;
        if let Some(unknown) = object
            .keys()
            .find(|k| !fields.iter().any(|f| &f.name == *k))
        {
            return Err(Violation::whole("the schema has no such field").under(unknown));
        }
        for field in fields {
            let value = match (object.get(&field.name), &field.default) {
                (Some(value), _) => value,
                (None, Some(default)) => default,
                (None, None) => {
                    return Err(Violation::whole(format!(
                        "missing required field '{}'",
                        field.name
                    )));
                }
            };
            let written = match (&field.ty, object.contains_key(&field.name)) {
                // A union's default is written with its first branch, as Avro says.
                (Ty::Union(branches), false) => self.write(&branches[0], value, out, depth + 1),
                _ => self.write(&field.ty, value, out, depth + 1),
            };
            written.map_err(|v| v.under(&field.name))?;
        }
        Ok(())
    }

    fn array(
        &self,
        items: &Ty,
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Violation> {
        let list = value
            .as_array()
            .ok_or_else(|| expected("an array", value))?;
        if !list.is_empty() {
            write_zigzag(list.len() as i64, out);
            for (index, item) in list.iter().enumerate() {
                self.write(items, item, out, depth + 1)
                    .map_err(|v| v.under(&index.to_string()))?;
            }
        }
        out.push(0);
        Ok(())
    }

    fn map(
        &self,
        values: &Ty,
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Violation> {
        let object = value
            .as_object()
            .ok_or_else(|| expected("an object", value))?;
        if !object.is_empty() {
            write_zigzag(object.len() as i64, out);
            for (key, item) in object {
                write_bytes(key.as_bytes(), out);
                self.write(values, item, out, depth + 1)
                    .map_err(|v| v.under(key))?;
            }
        }
        out.push(0);
        Ok(())
    }

    fn union(
        &self,
        branches: &[Ty],
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Violation> {
        if let Some(object) = value.as_object()
            && object.len() == 1
            && let Some((name, inner)) = object.iter().next()
            && let Some(index) = branches.iter().position(|b| self.branch_matches(b, name))
        {
            write_zigzag(index as i64, out);
            return self
                .write(&branches[index], inner, out, depth + 1)
                .map_err(|v| v.under(name));
        }
        let mut first_failure = None;
        for (index, branch) in branches.iter().enumerate() {
            let mark = out.len();
            write_zigzag(index as i64, out);
            match self.write(branch, value, out, depth + 1) {
                Ok(()) => return Ok(()),
                Err(violation) => {
                    out.truncate(mark);
                    if !matches!(branch, Ty::Null) {
                        first_failure.get_or_insert(violation);
                    }
                }
            }
        }
        let names: Vec<&str> = branches.iter().map(|b| self.branch_name(b)).collect();
        Err(match first_failure {
            Some(violation) if branches.len() <= 2 => violation,
            _ => Violation::whole(format!("the value fits none of {}", names.join(", "))),
        })
    }

    /// Whether `name` (full or short) names union branch `ty`.
    fn branch_matches(&self, ty: &Ty, name: &str) -> bool {
        let full = self.branch_name(ty);
        full == name
            || full
                .rsplit_once('.')
                .is_some_and(|(_, short)| short == name)
    }
}

fn write_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    write_zigzag(bytes.len() as i64, out);
    out.extend_from_slice(bytes);
}

/// Avro's JSON form of bytes: a string whose characters are the byte values 0-255.
fn code_points(value: &Value) -> Result<Vec<u8>, Violation> {
    let text = value
        .as_str()
        .ok_or_else(|| expected("a string of bytes", value))?;
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| Violation::whole("bytes are written as characters U+0000 to U+00FF"))
}

/// "expected X, found Y" naming the JSON type found, never the value itself.
pub(super) fn expected(what: &str, found: &Value) -> Violation {
    let kind = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number with a fraction",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    Violation::whole(format!("expected {what}, found {kind}"))
}
