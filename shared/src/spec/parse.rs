//! Reading a configuration document into [`ConfigSpec`], collecting every shape error.
//!
//! The document is first read into a JSON value (YAML or JSON), `${{env.NAME}}` expressions
//! are substituted, and then each binding, its options, and each of its routes is
//! deserialized on its own, so one mistake never hides the next.

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ConfigErrors, pointer_token};
use crate::spec::document::{BindingKind, BindingSpec, BindingType, ConfigSpec, GuardSpec};
use crate::spec::options::OptionsSpec;
use crate::spec::route::{ConditionSpec, RouteSpec, WithSpec};

/// Largest configuration document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// Parses a YAML or JSON document, resolving `${{env.NAME}}` from the process environment.
pub fn parse_config(text: &str) -> Result<ConfigSpec, ConfigErrors> {
    parse_config_with_env(text, &|name| std::env::var(name).ok())
}

/// Parses a YAML or JSON document, resolving `${{env.NAME}}` with `env`.
pub fn parse_config_with_env(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ConfigSpec, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    if text.len() > MAX_DOCUMENT_BYTES {
        errors.push(
            "",
            format!("document is larger than {MAX_DOCUMENT_BYTES} bytes"),
        );
        return Err(errors);
    }
    let mut value = match read_document(text) {
        Ok(value) => value,
        Err(message) => {
            errors.push("", message);
            return Err(errors);
        }
    };
    substitute_env(&mut value, String::new(), env, &mut errors);
    let spec = config(value, &mut errors);
    errors.into_result(spec)
}

fn read_document(text: &str) -> Result<Value, DocumentError> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| DocumentError::Json(e.to_string()))
    } else {
        serde_yaml::from_str(text).map_err(|e| DocumentError::Yaml(e.to_string()))
    }
}

/// A document that is not JSON or YAML at all.
#[derive(Debug, thiserror::Error)]
enum DocumentError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("invalid YAML: {0}")]
    Yaml(String),
}

fn substitute_env(
    value: &mut Value,
    pointer: String,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut ConfigErrors,
) {
    match value {
        Value::String(text) if text.contains("${{") => {
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(start) = rest.find("${{") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 3..];
                let Some(end) = after.find("}}") else {
                    errors.push(pointer.clone(), "'${{' is never closed by '}}'");
                    return;
                };
                let expression = after[..end].trim();
                match expression.strip_prefix("env.") {
                    Some(name) => match env(name) {
                        Some(found) => out.push_str(&found),
                        None => errors.push(
                            pointer.clone(),
                            format!("environment variable '{name}' is not set"),
                        ),
                    },
                    None => errors.push(
                        pointer.clone(),
                        format!("unknown expression '${{{{{expression}}}}}', expected env.NAME"),
                    ),
                }
                rest = &after[end + 2..];
            }
            out.push_str(rest);
            *text = out;
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                substitute_env(item, format!("{pointer}/{index}"), env, errors);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                substitute_env(
                    item,
                    format!("{pointer}/{}", pointer_token(key)),
                    env,
                    errors,
                );
            }
        }
        _ => {}
    }
}

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

fn config(value: Value, errors: &mut ConfigErrors) -> ConfigSpec {
    let mut spec = ConfigSpec {
        name: String::new(),
        guards: IndexMap::new(),
        bindings: IndexMap::new(),
    };
    let Value::Object(top) = value else {
        errors.push(
            "",
            "the document must be a map with name, guards and bindings",
        );
        return spec;
    };
    let mut saw_name = false;
    for (key, value) in top {
        let pointer = format!("/{}", pointer_token(&key));
        match key.as_str() {
            "name" => {
                saw_name = true;
                if let Some(name) = typed::<String>(value, &pointer, errors) {
                    spec.name = name;
                }
            }
            "guards" => {
                if let Some(map) = typed::<IndexMap<String, Value>>(value, &pointer, errors) {
                    for (name, guard) in map {
                        let at = format!("/guards/{}", pointer_token(&name));
                        if let Some(guard) = typed::<GuardSpec>(guard, &at, errors) {
                            spec.guards.insert(name, guard);
                        }
                    }
                }
            }
            "bindings" => {
                if let Some(map) = typed::<IndexMap<String, Value>>(value, &pointer, errors) {
                    for (name, binding_value) in map {
                        let at = format!("/bindings/{}", pointer_token(&name));
                        if let Some(binding) = binding(binding_value, &at, errors) {
                            spec.bindings.insert(name, binding);
                        }
                    }
                }
            }
            "vaults" | "catalogs" | "stores" | "telemetry" => errors.push(
                pointer,
                format!(
                    "'{key}' is not supported by sluice; remove it ({})",
                    unsupported_hint(&key)
                ),
            ),
            _ => errors.push(
                pointer,
                format!("unknown field '{key}', expected one of name, guards, bindings"),
            ),
        }
    }
    if !saw_name {
        errors.push("", "missing field 'name'");
    }
    spec
}

/// A binding's fields before its type is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    #[serde(rename = "type")]
    binding_type: BindingType,
    kind: BindingKind,
    #[serde(default)]
    options: Option<Value>,
    #[serde(default)]
    routes: Vec<Value>,
    #[serde(default)]
    exit: Option<String>,
}

/// A route's fields before the binding type gives them meaning.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default)]
    when: Vec<Value>,
    #[serde(default)]
    exit: Option<String>,
    #[serde(default)]
    with: Option<Value>,
    #[serde(default)]
    guarded: IndexMap<String, Vec<String>>,
}

fn binding(value: Value, pointer: &str, errors: &mut ConfigErrors) -> Option<BindingSpec> {
    let raw: RawBinding = typed(value, pointer, errors)?;
    let binding_type = raw.binding_type;
    let options = raw.options.and_then(|options| {
        let at = format!("{pointer}/options");
        match binding_type {
            BindingType::Tcp => typed(options, &at, errors).map(OptionsSpec::Tcp),
            BindingType::Http => typed(options, &at, errors).map(OptionsSpec::Http),
            BindingType::HttpKafka => typed(options, &at, errors).map(OptionsSpec::HttpKafka),
            BindingType::Kafka => typed(options, &at, errors).map(OptionsSpec::Kafka),
            BindingType::Sse => typed(options, &at, errors).map(OptionsSpec::Sse),
            BindingType::Tls => typed(options, &at, errors).map(OptionsSpec::Tls),
            other => {
                errors.push(
                    at,
                    format!("a {} binding takes no options here", other.as_str()),
                );
                None
            }
        }
    });
    let mut routes = Vec::with_capacity(raw.routes.len());
    for (index, route_value) in raw.routes.into_iter().enumerate() {
        let at = format!("{pointer}/routes/{index}");
        if let Some(route) = route(binding_type, route_value, &at, errors) {
            routes.push(route);
        }
    }
    Some(BindingSpec {
        binding_type,
        kind: raw.kind,
        options,
        routes,
        exit: raw.exit,
    })
}

fn route(
    binding_type: BindingType,
    value: Value,
    pointer: &str,
    errors: &mut ConfigErrors,
) -> Option<RouteSpec> {
    let raw: RawRoute = typed(value, pointer, errors)?;
    let mut when = Vec::with_capacity(raw.when.len());
    for (index, condition) in raw.when.into_iter().enumerate() {
        let at = format!("{pointer}/when/{index}");
        let parsed = match binding_type {
            BindingType::Tcp => typed(condition, &at, errors).map(ConditionSpec::Tcp),
            BindingType::Http => typed(condition, &at, errors).map(ConditionSpec::Http),
            BindingType::HttpKafka => typed(condition, &at, errors).map(ConditionSpec::HttpKafka),
            BindingType::Sse | BindingType::SseKafka => {
                typed(condition, &at, errors).map(ConditionSpec::Path)
            }
            other => {
                errors.push(
                    at,
                    format!(
                        "routes of a {} binding take no conditions here",
                        other.as_str()
                    ),
                );
                None
            }
        };
        when.extend(parsed);
    }
    let with = raw.with.and_then(|with| {
        let at = format!("{pointer}/with");
        match binding_type {
            BindingType::HttpKafka => {
                typed(with, &at, errors).map(|with| WithSpec::HttpKafka(Box::new(with)))
            }
            BindingType::Http => Some(WithSpec::Http(with)),
            BindingType::SseKafka => typed(with, &at, errors).map(WithSpec::SseKafka),
            other => {
                errors.push(
                    at,
                    format!("routes of a {} binding take no 'with'", other.as_str()),
                );
                None
            }
        }
    });
    Some(RouteSpec {
        when,
        exit: raw.exit,
        with,
        guarded: raw.guarded,
    })
}

/// What a user of a top-level section Sluice does not support can do instead.
fn unsupported_hint(section: &str) -> &'static str {
    match section {
        "telemetry" => "metrics are served on the admin listener at /metrics",
        "vaults" => "give tls bindings PEM files in options.certificate and options.key",
        "catalogs" => "schemas and models are not supported yet",
        _ => "sluice keeps its state in its own store",
    }
}

#[cfg(test)]
mod tests;
