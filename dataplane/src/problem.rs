//! A payload that does not fit its model, as an RFC 9457 problem: where (a JSON pointer into
//! the body, or a header, parameter or key name), the rule that failed, and the schema.
//! Sizes are capped: the rule by the schema crate, names and pointers here.

use serde_json::{Map, Value, json};
use sluice_schema::{ModelKind, Violation};
use sluice_shared::table::models::SchemaIdentity;

/// Longest pointer or name echoed in an answer.
const MAX_NAME_CHARS: usize = 256;

/// Where in a request a value was checked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place<'a> {
    /// The body (or a record value).
    Body,
    /// A header.
    Header(&'a str),
    /// A path parameter.
    Path(&'a str),
    /// A query parameter.
    Query(&'a str),
    /// The record key.
    Key,
}

/// One failure, ready to answer.
#[derive(Debug, Clone)]
pub struct Problem {
    /// `body`, `header`, `path`, `query` or `key`.
    pub(crate) place: &'static str,
    /// The header or parameter name.
    pub(crate) name: Option<String>,
    /// What failed, and where in the value.
    pub(crate) violation: Violation,
    /// The model.
    pub(crate) model: ModelKind,
    /// The schema.
    pub(crate) schema: SchemaIdentity,
}

impl Problem {
    pub(crate) fn new(
        place: Place<'_>,
        violation: Violation,
        model: ModelKind,
        schema: SchemaIdentity,
    ) -> Self {
        let (place, name) = match place {
            Place::Body => ("body", None),
            Place::Header(name) => ("header", Some(name)),
            Place::Path(name) => ("path", Some(name)),
            Place::Query(name) => ("query", Some(name)),
            Place::Key => ("key", None),
        };
        Self {
            place,
            name: name.map(|n| cap(n).to_owned()),
            violation: Violation {
                pointer: cap(&violation.pointer).to_owned(),
                rule: violation.rule,
            },
            model,
            schema,
        }
    }

    /// One line: where and what.
    pub(crate) fn detail(&self) -> String {
        let mut out = match &self.name {
            Some(name) => format!("{} '{name}'", self.place),
            None => self.place.to_owned(),
        };
        if !self.violation.pointer.is_empty() {
            out.push(' ');
            out.push_str(&self.violation.pointer);
        }
        out.push_str(": ");
        out.push_str(&self.violation.rule);
        out
    }

    /// The RFC 9457 members, with Sluice's `code` and `message`.
    pub(crate) fn body(&self, status: u16, code: &str, title: &str) -> Value {
        let detail = self.detail();
        let mut body = json!({
            "type": format!("urn:sluice:problem:{code}"),
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
            "message": detail,
            "in": self.place,
        });
        let Value::Object(map) = &mut body else {
            return body;
        };
        if let Some(name) = &self.name {
            map.insert("name".into(), json!(name));
        }
        if self.place == "body" || !self.violation.pointer.is_empty() {
            map.insert("pointer".into(), json!(self.violation.pointer));
        }
        map.insert("rule".into(), json!(self.violation.rule));
        map.insert("model".into(), json!(self.model.as_str()));
        let mut schema = Map::new();
        let identity = &self.schema;
        for (field, value) in [
            ("catalog", &identity.catalog),
            ("subject", &identity.subject),
            ("version", &identity.version),
        ] {
            if let Some(value) = value {
                schema.insert(field.into(), json!(value));
            }
        }
        if let Some(id) = identity.id {
            schema.insert("id".into(), json!(id));
        }
        if !schema.is_empty() {
            map.insert("schema".into(), Value::Object(schema));
        }
        body
    }
}

fn cap(text: &str) -> &str {
    match text.char_indices().nth(MAX_NAME_CHARS) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}
