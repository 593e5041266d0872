//! Deserializing one part of a document, with the failure's JSON pointer.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ConfigErrors, pointer_token};

/// Deserializes `value`, recording a failure at `pointer` plus the path inside `value`.
pub(crate) fn typed<T: DeserializeOwned>(
    value: Value,
    pointer: &str,
    errors: &mut ConfigErrors,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(typed) => Some(typed),
        Err(error) => {
            let mut at = pointer.to_owned();
            for segment in error.path().iter() {
                use serde_path_to_error::Segment;
                match segment {
                    Segment::Seq { index } => at.push_str(&format!("/{index}")),
                    Segment::Map { key } => {
                        at.push('/');
                        at.push_str(&pointer_token(key));
                    }
                    Segment::Enum { .. } | Segment::Unknown => {}
                }
            }
            errors.push(at, error.into_inner().to_string());
            None
        }
    }
}
