//! Reading a configuration document into [`ConfigSpec`], collecting every shape error.
//!
//! The document is first read into a JSON value (YAML or JSON), `${{env.NAME}}` expressions
//! are substituted, and then each binding, its options, and each of its routes is
//! deserialized on its own, so one mistake never hides the next.

use indexmap::IndexMap;
use serde_json::Value;

use super::typed::typed;
use crate::error::{ConfigErrors, pointer_token};
use crate::spec::catalog::{CatalogOptionsSpec, CatalogSpec, CatalogType};
use crate::spec::document::{ConfigSpec, GuardOptionsSpec, GuardSpec, GuardType};
use crate::spec::vault::VaultSpec;
use binding::binding;

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
    let (spec, errors) = parse_partial(text, env);
    match spec {
        Some(spec) => errors.into_result(spec),
        None => Err(errors),
    }
}

/// The spec of every part that could be read, and every shape error; `None` when the
/// document is not a document at all.
pub(crate) fn parse_partial(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Option<ConfigSpec>, ConfigErrors) {
    let mut errors = ConfigErrors::default();
    if text.len() > MAX_DOCUMENT_BYTES {
        errors.push(
            "",
            format!("document is larger than {MAX_DOCUMENT_BYTES} bytes"),
        );
        return (None, errors);
    }
    let mut value = match read_document(text) {
        Ok(value) => value,
        Err(message) => {
            errors.push("", message);
            return (None, errors);
        }
    };
    substitute_env(&mut value, String::new(), env, &mut errors);
    let spec = config(value, &mut errors);
    (Some(spec), errors)
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

fn config(value: Value, errors: &mut ConfigErrors) -> ConfigSpec {
    let mut spec = ConfigSpec {
        name: String::new(),
        guards: IndexMap::new(),
        bindings: IndexMap::new(),
        vaults: IndexMap::new(),
        catalogs: IndexMap::new(),
        telemetry: None,
        unparsed: Vec::new(),
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
            "guards" => guards(value, &mut spec, errors),
            "bindings" => bindings(value, &mut spec, errors),
            "telemetry" => spec.telemetry = typed(value, &pointer, errors),
            "vaults" => vaults(value, &mut spec, errors),
            "catalogs" => catalogs(value, &mut spec, errors),
            "stores" => errors.push(
                pointer,
                format!(
                    "'{key}' is not supported by sluice; remove it ({})",
                    unsupported_hint(&key)
                ),
            ),
            _ => errors.push(
                pointer,
                format!("unknown field '{key}', expected one of name, vaults, catalogs, guards, bindings, telemetry"),
            ),
        }
    }
    if !saw_name {
        errors.push("", "missing field 'name'");
    }
    spec
}

fn guards(value: Value, spec: &mut ConfigSpec, errors: &mut ConfigErrors) {
    let Some(map) = typed::<IndexMap<String, Value>>(value, "/guards", errors) else {
        return;
    };
    for (name, guard) in map {
        let at = format!("/guards/{}", pointer_token(&name));
        match guard_spec(guard, &at, errors) {
            Some(guard) => {
                spec.guards.insert(name, guard);
            }
            None => spec.unparsed.push(name),
        }
    }
}

/// A guard's fields before its type is known.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuard {
    #[serde(rename = "type")]
    guard_type: GuardType,
    #[serde(default)]
    options: Option<Value>,
}

fn guard_spec(value: Value, at: &str, errors: &mut ConfigErrors) -> Option<GuardSpec> {
    if let Some(name) = value.get("type").and_then(Value::as_str)
        && name == "x509"
    {
        errors.push(
            format!("{at}/type"),
            "'x509' is a Zilla guard type that sluice does not implement; sluice implements jwt and inline (tls trust and mutual check that a trusted authority signed a client certificate)",
        );
        return None;
    }
    let raw: RawGuard = typed(value, at, errors)?;
    let options_at = format!("{at}/options");
    let Some(options) = raw.options else {
        errors.push(at, "missing field 'options'");
        return None;
    };
    let options = match raw.guard_type {
        GuardType::Jwt => GuardOptionsSpec::Jwt(Box::new(typed(options, &options_at, errors)?)),
        GuardType::Inline => GuardOptionsSpec::Inline(typed(options, &options_at, errors)?),
    };
    Some(GuardSpec {
        guard_type: raw.guard_type,
        options,
    })
}

fn vaults(value: Value, spec: &mut ConfigSpec, errors: &mut ConfigErrors) {
    let Some(map) = typed::<IndexMap<String, Value>>(value, "/vaults", errors) else {
        return;
    };
    for (name, vault) in map {
        let at = format!("/vaults/{}", pointer_token(&name));
        match typed::<VaultSpec>(vault, &at, errors) {
            Some(vault) => {
                spec.vaults.insert(name, vault);
            }
            None => spec.unparsed.push(name),
        }
    }
}

fn bindings(value: Value, spec: &mut ConfigSpec, errors: &mut ConfigErrors) {
    let Some(map) = typed::<IndexMap<String, Value>>(value, "/bindings", errors) else {
        return;
    };
    for (name, binding_value) in map {
        let at = format!("/bindings/{}", pointer_token(&name));
        match binding(binding_value, &at, errors) {
            Some(binding) => {
                spec.bindings.insert(name, binding);
            }
            None => spec.unparsed.push(name),
        }
    }
}

/// What a user of a top-level section Sluice does not support can do instead.
fn unsupported_hint(_section: &str) -> &'static str {
    "sluice keeps its state in its own store"
}

fn catalogs(value: Value, spec: &mut ConfigSpec, errors: &mut ConfigErrors) {
    let Some(map) = typed::<IndexMap<String, Value>>(value, "/catalogs", errors) else {
        return;
    };
    for (name, catalog) in map {
        let at = format!("/catalogs/{}", pointer_token(&name));
        match catalog_spec(catalog, &at, errors) {
            Some(catalog) => {
                spec.catalogs.insert(name, catalog);
            }
            None => spec.unparsed.push(name),
        }
    }
}

/// A catalog's fields before its type is known.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(rename = "type")]
    catalog_type: CatalogType,
    #[serde(default)]
    vault: Option<String>,
    #[serde(default)]
    options: Option<Value>,
}

fn catalog_spec(value: Value, at: &str, errors: &mut ConfigErrors) -> Option<CatalogSpec> {
    let raw: RawCatalog = typed(value, at, errors)?;
    let options_at = format!("{at}/options");
    let options = match raw.options {
        None => None,
        Some(options) => Some(match raw.catalog_type {
            CatalogType::Inline => CatalogOptionsSpec::Inline(typed(options, &options_at, errors)?),
            CatalogType::Filesystem => {
                CatalogOptionsSpec::Filesystem(typed(options, &options_at, errors)?)
            }
            CatalogType::SchemaRegistry | CatalogType::KarapaceSchemaRegistry => {
                CatalogOptionsSpec::Registry(typed(options, &options_at, errors)?)
            }
            CatalogType::ApicurioRegistry => {
                CatalogOptionsSpec::Apicurio(typed(options, &options_at, errors)?)
            }
        }),
    };
    Some(CatalogSpec {
        catalog_type: raw.catalog_type,
        vault: raw.vault,
        options,
    })
}

mod binding;
#[cfg(test)]
mod tests;
