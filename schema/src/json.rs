//! JSON Schema models, through the `jsonschema` crate (drafts 4, 6, 7, 2019-09 and 2020-12,
//! chosen by the schema's `$schema`; 2020-12 when it names none). References to other
//! documents are not fetched: a schema is self-contained.

use serde_json::Value;

use crate::error::SchemaError;
use crate::violation::Violation;

/// A compiled JSON Schema.
#[derive(Clone)]
pub struct JsonCodec {
    validator: std::sync::Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for JsonCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonCodec")
    }
}

impl JsonCodec {
    /// Compiles the schema text.
    pub fn compile(text: &str) -> Result<Self, SchemaError> {
        let schema: Value = serde_json::from_str(text)
            .map_err(|e| SchemaError::new(format!("a JSON schema is JSON: {e}")))?;
        let validator = jsonschema::validator_for(&schema).map_err(|e| {
            SchemaError::new(format!("the JSON schema does not compile: {}", e.masked()))
        })?;
        Ok(Self {
            validator: std::sync::Arc::new(validator),
        })
    }

    /// Parses `payload` as JSON and checks it; returns the parsed document.
    pub fn check(&self, payload: &[u8]) -> Result<Value, Violation> {
        let document = parse(payload)?;
        self.check_value(&document)?;
        Ok(document)
    }

    /// Checks a parsed document; the first failure names its pointer and keyword.
    pub fn check_value(&self, document: &Value) -> Result<(), Violation> {
        match self.validator.iter_errors(document).next() {
            None => Ok(()),
            Some(error) => Err(Violation::at(
                error.instance_path().to_string(),
                format!(
                    "{} (keyword '{}')",
                    error.masked_with("the value"),
                    error.kind().keyword()
                ),
            )),
        }
    }
}

/// Parses a payload as JSON, naming the line and column of a syntax error.
pub(crate) fn parse(payload: &[u8]) -> Result<Value, Violation> {
    serde_json::from_slice(payload).map_err(|e| {
        Violation::whole(format!(
            "not JSON: {} at line {} column {}",
            classify(&e),
            e.line(),
            e.column()
        ))
    })
}

fn classify(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Eof => "the document ends early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema of Zilla's http.json.schema example.
    const ITEM: &str = r#"{"type":"object","properties":{"id":{"type":"integer"},
        "status":{"type":"string"}},"required":["id","status"],"additionalProperties":false}"#;

    #[test]
    fn valid_documents_pass_and_failures_name_pointer_and_keyword() {
        let codec = JsonCodec::compile(ITEM).unwrap();
        assert!(codec.check(br#"{"id": 42, "status": "Active"}"#).is_ok());
        let error = codec
            .check(br#"{"id": "42", "status": "Active"}"#)
            .unwrap_err();
        assert_eq!(error.pointer, "/id");
        assert!(error.rule.contains("keyword 'type'"), "{}", error.rule);
        assert!(
            !error.rule.contains("42"),
            "the value is masked: {}",
            error.rule
        );
        let error = codec.check(br#"{"id": 1}"#).unwrap_err();
        assert_eq!(error.pointer, "");
        assert!(error.rule.contains("'required'"), "{}", error.rule);
        let error = codec
            .check(br#"{"id": 1, "status": "x", "more": 1}"#)
            .unwrap_err();
        assert!(
            error.rule.contains("additionalProperties"),
            "{}",
            error.rule
        );
    }

    #[test]
    fn syntax_errors_name_the_place() {
        let codec = JsonCodec::compile(ITEM).unwrap();
        let error = codec.check(b"{\"id\": 1,\n \"status\": }").unwrap_err();
        assert_eq!(error.pointer, "");
        assert!(
            error.rule.starts_with("not JSON: syntax error at line 2"),
            "{}",
            error.rule
        );
    }

    #[test]
    fn broken_schemas_are_refused() {
        assert!(JsonCodec::compile("{").is_err());
        let error = JsonCodec::compile(r#"{"type": "nonsense"}"#).unwrap_err();
        assert!(error.to_string().contains("does not compile"), "{error}");
        let error =
            JsonCodec::compile(r#"{"$ref": "https://example.com/other.json"}"#).unwrap_err();
        assert!(error.to_string().contains("does not compile"), "{error}");
    }
}
