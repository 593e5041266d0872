//! Scalar models: `string` (UTF-8 or UTF-16, length, pattern) and the numbers `int32`,
//! `int64`, `float`, `double` (as decimal text or big-endian binary, with a range and a
//! multiple). They check keys, headers and path or query parameters as well as bodies.

use regex::Regex;

use crate::error::SchemaError;
use crate::violation::Violation;

/// The scalar kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// Text.
    String,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 32-bit floating point.
    Float,
    /// 64-bit floating point.
    Double,
}

/// How a number is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScalarFormat {
    /// Decimal ASCII text (the default).
    #[default]
    Text,
    /// Big-endian bytes (4 or 8).
    Binary,
}

/// The options of a scalar model, as written in the configuration.
#[derive(Debug, Clone, Default)]
pub struct ScalarOptions {
    /// Number format.
    pub format: ScalarFormat,
    /// `string`: `utf_16` (big-endian) instead of UTF-8.
    pub utf16: bool,
    /// `string`: fewest characters.
    pub min_length: Option<u64>,
    /// `string`: most characters.
    pub max_length: Option<u64>,
    /// `string`: a regular expression the whole text must match.
    pub pattern: Option<String>,
    /// Numbers: `[a,b]`, `(a,b)`, `[a,)` and so on.
    pub range: Option<String>,
    /// Numbers: the value must be a multiple of this.
    pub multiple: Option<f64>,
}

/// A compiled scalar model.
#[derive(Debug, Clone)]
pub struct ScalarCodec {
    kind: ScalarKind,
    format: ScalarFormat,
    utf16: bool,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<Regex>,
    range: Option<Range>,
    multiple: Option<f64>,
}

/// A numeric range with open or closed ends.
#[derive(Debug, Clone, Copy)]
struct Range {
    low: Option<(f64, bool)>,
    high: Option<(f64, bool)>,
}

impl ScalarCodec {
    /// Checks the options for `kind`.
    pub fn new(kind: ScalarKind, options: ScalarOptions) -> Result<Self, SchemaError> {
        let pattern = match &options.pattern {
            Some(text) => Some(Regex::new(&format!("^(?:{text})$")).map_err(|e| {
                SchemaError::new(format!("the pattern is not a regular expression: {e}"))
            })?),
            None => None,
        };
        let range = options.range.as_deref().map(parse_range).transpose()?;
        if let Some(multiple) = options.multiple
            && !(multiple.is_finite() && multiple > 0.0)
        {
            return Err(SchemaError::new("multiple must be a positive number"));
        }
        if let (Some(min), Some(max)) = (options.min_length, options.max_length)
            && min > max
        {
            return Err(SchemaError::new("minLength is larger than maxLength"));
        }
        Ok(Self {
            kind,
            format: options.format,
            utf16: options.utf16,
            min_length: options.min_length,
            max_length: options.max_length,
            pattern,
            range,
            multiple: options.multiple,
        })
    }

    /// Checks one value.
    pub fn check(&self, bytes: &[u8]) -> Result<(), Violation> {
        match self.kind {
            ScalarKind::String => self.string(bytes),
            _ => self.number(bytes),
        }
    }

    fn string(&self, bytes: &[u8]) -> Result<(), Violation> {
        let text = if self.utf16 {
            if !bytes.len().is_multiple_of(2) {
                return Err(Violation::whole("UTF-16 text has an even number of bytes"));
            }
            let units = bytes
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|_| Violation::whole("the text is not valid UTF-16"))?
        } else {
            std::str::from_utf8(bytes)
                .map_err(|e| {
                    Violation::whole(format!("the text is not UTF-8 (byte {})", e.valid_up_to()))
                })?
                .to_owned()
        };
        let length = text.chars().count() as u64;
        if let Some(min) = self.min_length
            && length < min
        {
            return Err(Violation::whole(format!("shorter than {min} characters")));
        }
        if let Some(max) = self.max_length
            && length > max
        {
            return Err(Violation::whole(format!("longer than {max} characters")));
        }
        if let Some(pattern) = &self.pattern
            && !pattern.is_match(&text)
        {
            return Err(Violation::whole("does not match the pattern"));
        }
        Ok(())
    }

    fn number(&self, bytes: &[u8]) -> Result<(), Violation> {
        let value = match self.format {
            ScalarFormat::Text => self.text_number(bytes)?,
            ScalarFormat::Binary => self.binary_number(bytes)?,
        };
        if let Some(range) = self.range
            && !range.contains(value)
        {
            return Err(Violation::whole("out of the allowed range"));
        }
        if let Some(multiple) = self.multiple
            && value % multiple != 0.0
        {
            return Err(Violation::whole(format!("not a multiple of {multiple}")));
        }
        Ok(())
    }

    fn text_number(&self, bytes: &[u8]) -> Result<f64, Violation> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| Violation::whole("a number is ASCII text"))?;
        let integer = matches!(self.kind, ScalarKind::Int32 | ScalarKind::Int64);
        let digits = text.strip_prefix('-').unwrap_or(text);
        if integer && (digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit())) {
            return Err(Violation::whole(format!(
                "expected an integer ({})",
                self.name()
            )));
        }
        let value = match self.kind {
            ScalarKind::Int32 => text.parse::<i32>().map(f64::from).ok(),
            ScalarKind::Int64 => text.parse::<i64>().map(|n| n as f64).ok(),
            ScalarKind::Float => text
                .parse::<f32>()
                .ok()
                .filter(|n| n.is_finite())
                .map(f64::from),
            _ => text.parse::<f64>().ok().filter(|n| n.is_finite()),
        };
        value
            .ok_or_else(|| Violation::whole(format!("expected a number that fits {}", self.name())))
    }

    fn binary_number(&self, bytes: &[u8]) -> Result<f64, Violation> {
        let wrong = |n: usize| {
            Violation::whole(format!(
                "{} in binary is {n} bytes, found {}",
                self.name(),
                bytes.len()
            ))
        };
        Ok(match self.kind {
            ScalarKind::Int32 => {
                f64::from(i32::from_be_bytes(bytes.try_into().map_err(|_| wrong(4))?))
            }
            ScalarKind::Int64 => i64::from_be_bytes(bytes.try_into().map_err(|_| wrong(8))?) as f64,
            ScalarKind::Float => {
                f64::from(f32::from_be_bytes(bytes.try_into().map_err(|_| wrong(4))?))
            }
            _ => f64::from_be_bytes(bytes.try_into().map_err(|_| wrong(8))?),
        })
    }

    fn name(&self) -> &'static str {
        match self.kind {
            ScalarKind::String => "string",
            ScalarKind::Int32 => "int32",
            ScalarKind::Int64 => "int64",
            ScalarKind::Float => "float",
            ScalarKind::Double => "double",
        }
    }
}

impl Range {
    fn contains(self, value: f64) -> bool {
        let above = match self.low {
            Some((low, true)) => value >= low,
            Some((low, false)) => value > low,
            None => true,
        };
        let below = match self.high {
            Some((high, true)) => value <= high,
            Some((high, false)) => value < high,
            None => true,
        };
        above && below
    }
}

/// `[a,b]`, `(a,b)`, `[a,)`, `(,b]`: brackets include the end, parentheses exclude it.
fn parse_range(text: &str) -> Result<Range, SchemaError> {
    let bad = || SchemaError::new(format!("range '{text}' is not like [1,10] or (0,)"));
    let text = text.trim();
    let inclusive_low = match text.chars().next() {
        Some('[') => true,
        Some('(') => false,
        _ => return Err(bad()),
    };
    let inclusive_high = match text.chars().last() {
        Some(']') => true,
        Some(')') => false,
        _ => return Err(bad()),
    };
    let inner = text.get(1..text.len() - 1).ok_or_else(bad)?;
    let (low, high) = inner.split_once(',').ok_or_else(bad)?;
    let end = |part: &str, inclusive: bool| -> Result<Option<(f64, bool)>, SchemaError> {
        let part = part.trim();
        if part.is_empty() {
            return Ok(None);
        }
        part.parse::<f64>()
            .map(|n| Some((n, inclusive)))
            .map_err(|_| bad())
    };
    Ok(Range {
        low: end(low, inclusive_low)?,
        high: end(high, inclusive_high)?,
    })
}

#[cfg(test)]
mod tests;
