//! Avro binary to JSON (the form `encode` reads), checking every length against the bytes
//! left, so a hostile payload can neither allocate nor loop past its own size.
//!
//! A union value is written plain when its union is "null or one type", else in Avro's
//! `{"branch": value}` form so that the branch is never ambiguous.

use serde_json::{Map, Number, Value};

use super::schema::{AvroSchema, NamedDef, Ty};
use crate::violation::Violation;
use crate::wire::read_zigzag;

/// Deepest nesting of values read.
const MAX_DEPTH: usize = 64;

/// The reading position and the budget of collection items left.
struct Reader<'a> {
    bytes: &'a [u8],
    /// Items that may still be read; items of zero bytes (nulls) would otherwise let a few
    /// bytes claim billions of them.
    items_left: u64,
}

impl AvroSchema {
    /// Decodes one Avro binary value that must fill `bytes` exactly.
    pub fn decode(&self, bytes: &[u8]) -> Result<Value, Violation> {
        let mut reader = Reader {
            bytes,
            items_left: (bytes.len() as u64).max(1024),
        };
        let value = self.read(&self.root, &mut reader, 0)?;
        if !reader.bytes.is_empty() {
            return Err(Violation::whole(format!(
                "{} bytes follow the end of the value",
                reader.bytes.len()
            )));
        }
        Ok(value)
    }

    fn read(&self, ty: &Ty, reader: &mut Reader<'_>, depth: usize) -> Result<Value, Violation> {
        if depth > MAX_DEPTH {
            return Err(Violation::whole("the value nests too deeply"));
        }
        Ok(match ty {
            Ty::Null => Value::Null,
            Ty::Boolean => match reader.take(1)? {
                [0] => Value::Bool(false),
                [1] => Value::Bool(true),
                _ => return Err(Violation::whole("a boolean is the byte 0 or 1")),
            },
            Ty::Int => {
                let n = reader.long()?;
                let n = i32::try_from(n)
                    .map_err(|_| Violation::whole("an int is out of the 32-bit range"))?;
                Value::from(n)
            }
            Ty::Long => Value::from(reader.long()?),
            Ty::Float => {
                let mut raw = [0u8; 4];
                raw.copy_from_slice(reader.take(4)?);
                number(f64::from(f32::from_le_bytes(raw)))?
            }
            Ty::Double => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(reader.take(8)?);
                number(f64::from_le_bytes(raw))?
            }
            Ty::String => {
                let bytes = reader.sized()?;
                let text = std::str::from_utf8(bytes)
                    .map_err(|_| Violation::whole("a string is not UTF-8"))?;
                Value::String(text.to_owned())
            }
            Ty::Bytes => Value::String(code_points(reader.sized()?)),
            Ty::Array(items) => self.read_array(items, reader, depth)?,
            Ty::Map(values) => self.read_map(values, reader, depth)?,
            Ty::Union(branches) => self.read_union(branches, reader, depth)?,
            Ty::Named(index) => match &self.named[*index].def {
                NamedDef::Record(fields) => {
                    let mut object = Map::with_capacity(fields.len());
                    for field in fields {
                        let value = self
                            .read(&field.ty, reader, depth + 1)
                            .map_err(|v| v.under(&field.name))?;
                        object.insert(field.name.clone(), value);
                    }
                    Value::Object(object)
                }
                NamedDef::Enum(symbols) => {
                    let position = reader.long()?;
                    let symbol = usize::try_from(position)
                        .ok()
                        .and_then(|p| symbols.get(p))
                        .ok_or_else(|| Violation::whole("an enum index is out of range"))?;
                    Value::String(symbol.clone())
                }
                NamedDef::Fixed(size) => Value::String(code_points(reader.take(*size)?)),
                NamedDef::Pending => return Err(Violation::whole("the schema is incomplete")),
            },
        })
    }

    fn read_array(
        &self,
        items: &Ty,
        reader: &mut Reader<'_>,
        depth: usize,
    ) -> Result<Value, Violation> {
        let mut list = Vec::new();
        while let Some(count) = reader.block()? {
            for _ in 0..count {
                let index = list.len().to_string();
                list.push(
                    self.read(items, reader, depth + 1)
                        .map_err(|v| v.under(&index))?,
                );
            }
        }
        Ok(Value::Array(list))
    }

    fn read_map(
        &self,
        values: &Ty,
        reader: &mut Reader<'_>,
        depth: usize,
    ) -> Result<Value, Violation> {
        let mut object = Map::new();
        while let Some(count) = reader.block()? {
            for _ in 0..count {
                let key = std::str::from_utf8(reader.sized()?)
                    .map_err(|_| Violation::whole("a map key is not UTF-8"))?
                    .to_owned();
                let value = self
                    .read(values, reader, depth + 1)
                    .map_err(|v| v.under(&key))?;
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }

    fn read_union(
        &self,
        branches: &[Ty],
        reader: &mut Reader<'_>,
        depth: usize,
    ) -> Result<Value, Violation> {
        let index = reader.long()?;
        let branch = usize::try_from(index)
            .ok()
            .and_then(|i| branches.get(i))
            .ok_or_else(|| Violation::whole("a union branch index is out of range"))?;
        let value = self.read(branch, reader, depth + 1)?;
        let nullable = branches.len() == 2 && branches.contains(&Ty::Null);
        if matches!(branch, Ty::Null) || nullable {
            return Ok(value);
        }
        let mut wrapped = Map::with_capacity(1);
        wrapped.insert(self.branch_name(branch).to_owned(), value);
        Ok(Value::Object(wrapped))
    }
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Violation> {
        if n > self.bytes.len() {
            return Err(Violation::whole(
                "the payload ends in the middle of a value",
            ));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn long(&mut self) -> Result<i64, Violation> {
        let (value, rest) = read_zigzag(self.bytes)
            .ok_or_else(|| Violation::whole("the payload ends in the middle of a number"))?;
        self.bytes = rest;
        Ok(value)
    }

    /// A length-prefixed run of bytes.
    fn sized(&mut self) -> Result<&'a [u8], Violation> {
        let length = self.long()?;
        let length =
            usize::try_from(length).map_err(|_| Violation::whole("a length is negative"))?;
        self.take(length)
    }

    /// The item count of the next block of an array or map; `None` at the end.
    fn block(&mut self) -> Result<Option<u64>, Violation> {
        let count = self.long()?;
        if count == 0 {
            return Ok(None);
        }
        if count < 0 {
            // A negative count is followed by the block's size in bytes.
            self.long()?;
        }
        let count = count.unsigned_abs();
        if count > self.items_left {
            return Err(Violation::whole(
                "a block claims more items than the payload can hold",
            ));
        }
        self.items_left -= count;
        Ok(Some(count))
    }
}

fn number(n: f64) -> Result<Value, Violation> {
    Number::from_f64(n)
        .map(Value::Number)
        .ok_or_else(|| Violation::whole("NaN and infinities cannot be written as JSON"))
}

/// Bytes as Avro's JSON form: one character per byte.
fn code_points(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}
