//! The stored form of a configuration (its spec as JSON), and what a change does to it.

use serde_json::Value;
use sluice_shared::{ConfigErrors, ConfigSpec};

use crate::store::Revision;

/// The stored form of a configuration: its spec as JSON.
pub fn canonical(spec: &ConfigSpec) -> Value {
    serde_json::to_value(spec).unwrap_or(Value::Null)
}

/// The spec of a stored revision.
pub fn spec_of(revision: &Revision) -> Result<ConfigSpec, ConfigErrors> {
    sluice_shared::parse_config(&revision.config.to_string())
}

/// What a change does to bindings and guards, by name.
pub fn diff(before: Option<&Value>, after: &Value) -> Value {
    let section = |name: &str| {
        let empty = serde_json::Map::new();
        let old = before
            .and_then(|b| b.get(name))
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let new = after.get(name).and_then(Value::as_object).unwrap_or(&empty);
        let added: Vec<&String> = new.keys().filter(|k| !old.contains_key(*k)).collect();
        let removed: Vec<&String> = old.keys().filter(|k| !new.contains_key(*k)).collect();
        let changed: Vec<&String> = new
            .iter()
            .filter(|(k, v)| old.get(*k).is_some_and(|o| o != *v))
            .map(|(k, _)| k)
            .collect();
        serde_json::json!({ "added": added, "removed": removed, "changed": changed })
    };
    serde_json::json!({
        "name_changed": before.and_then(|b| b.get("name")) != after.get("name"),
        "bindings": section("bindings"),
        "guards": section("guards"),
    })
}
