//! Secret values of a configuration document.
//!
//! The admin API never returns a secret: [`redact`] shows each as [`REDACTED`]. A document
//! sent back with [`REDACTED`] in a secret field keeps the value stored at the same place
//! ([`restore`]), so that a client can read a resource, edit another field and put it back.
//! Values written as `${{env.NAME}}` are references, not secrets, and are shown as written.

use serde_json::Value;

use crate::ConfigErrors;
use crate::error::pointer_token;

/// What the admin API shows in place of a secret.
pub const REDACTED: &str = "***";

/// Secret fields of a binding, as paths below the binding.
const BINDING_SECRETS: &[&[&str]] = &[
    &["options", "sasl", "password"],
    &["options", "tls", "key-password"],
];

/// The `options.credentials.headers.authorization` of each entry of the map at `section`
/// (telemetry exporters, catalogs).
fn authorization_headers<'v>(
    config: &'v Value,
    section: &str,
    found: &mut Vec<(String, &'v Value)>,
) {
    let Some(entries) = config.pointer(section).and_then(Value::as_object) else {
        return;
    };
    for (name, entry) in entries {
        if let Some(value) = entry.pointer("/options/credentials/headers/authorization") {
            let pointer = format!(
                "{section}/{}/options/credentials/headers/authorization",
                pointer_token(name)
            );
            found.push((pointer, value));
        }
    }
}

/// JSON pointers of the secret fields present in `config`, and their values.
fn secrets(config: &Value) -> Vec<(String, &Value)> {
    let mut found = Vec::new();
    if let Some(vaults) = config.get("vaults").and_then(Value::as_object) {
        for (name, vault) in vaults {
            for role in ["keys", "trust", "signers"] {
                if let Some(password) = vault.pointer(&format!("/options/{role}/password")) {
                    let pointer =
                        format!("/vaults/{}/options/{role}/password", pointer_token(name));
                    found.push((pointer, password));
                }
            }
        }
    }
    authorization_headers(config, "/telemetry/exporters", &mut found);
    authorization_headers(config, "/catalogs", &mut found);
    if let Some(guards) = config.get("guards").and_then(Value::as_object) {
        for (name, guard) in guards {
            if guard.get("type").and_then(Value::as_str) == Some("inline")
                && let Some(credentials) = guard.pointer("/options/credentials")
            {
                let pointer = format!("/guards/{}/options/credentials", pointer_token(name));
                found.push((pointer, credentials));
            }
        }
    }
    let Some(bindings) = config.get("bindings").and_then(Value::as_object) else {
        return found;
    };
    for (name, binding) in bindings {
        for path in BINDING_SECRETS {
            let mut value = binding;
            let mut present = true;
            for step in *path {
                match value.get(step) {
                    Some(next) => value = next,
                    None => {
                        present = false;
                        break;
                    }
                }
            }
            if present {
                let pointer = format!("/bindings/{}/{}", pointer_token(name), path.join("/"));
                found.push((pointer, value));
            }
        }
    }
    found
}

fn is_reference(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|text| text.trim().starts_with("${{") && text.trim().ends_with("}}"))
}

/// JSON pointers of every secret field of `config`.
pub fn secret_pointers(config: &Value) -> Vec<String> {
    secrets(config).into_iter().map(|(p, _)| p).collect()
}

/// Replaces every secret value of `config` with [`REDACTED`].
pub fn redact(config: &mut Value) {
    for pointer in secret_pointers(config) {
        if let Some(value) = config.pointer_mut(&pointer)
            && !is_reference(value)
        {
            *value = Value::String(REDACTED.to_owned());
        }
    }
}

/// `config` with its secrets redacted.
pub fn redacted(config: &Value) -> Value {
    let mut copy = config.clone();
    redact(&mut copy);
    copy
}

/// Puts back the stored value of every secret field of `config` that reads
/// [`REDACTED`]; a redacted field with no stored value is an error at its pointer.
pub fn restore(config: &mut Value, stored: Option<&Value>) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::default();
    for pointer in secret_pointers(config) {
        let Some(value) = config.pointer_mut(&pointer) else {
            continue;
        };
        if value.as_str() != Some(REDACTED) {
            continue;
        }
        match stored
            .and_then(|s| s.pointer(&pointer))
            .filter(|v| v.as_str() != Some(REDACTED))
        {
            Some(original) => *value = original.clone(),
            None => errors.push(
                pointer,
                format!("'{REDACTED}' stands for a stored secret, and none is stored here; send the value itself"),
            ),
        }
    }
    errors.into_result(())
}

/// Whether `text` holds one of the secrets of `config` (for tests and log checks).
pub fn leaks(config: &Value, text: &str) -> bool {
    secrets(config).iter().any(|(_, value)| {
        value
            .as_str()
            .is_some_and(|secret| secret.len() >= 4 && secret != REDACTED && text.contains(secret))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(password: &str) -> Value {
        json!({
            "name": "t",
            "bindings": {
                "kafka/a": { "type": "kafka", "kind": "client", "options": {
                    "sasl": { "mechanism": "plain", "username": "u", "password": password },
                    "tls": { "key": "k.pem", "key-password": "kp-secret" } } },
                "http": { "type": "http", "kind": "server" }
            },
            "vaults": { "v": { "type": "filesystem", "options": {
                "keys": { "store": "k.p12", "password": "vault-secret" } } } }
        })
    }

    #[test]
    fn every_secret_is_shown_redacted_and_references_as_written() {
        let mut shown = config("s3cret");
        redact(&mut shown);
        assert_eq!(
            shown.pointer("/bindings/kafka~1a/options/sasl/password"),
            Some(&json!("***"))
        );
        assert_eq!(
            shown.pointer("/vaults/v/options/keys/password"),
            Some(&json!("***"))
        );
        assert_eq!(
            shown.pointer("/bindings/kafka~1a/options/tls/key-password"),
            Some(&json!("***"))
        );
        assert_eq!(
            shown.pointer("/bindings/kafka~1a/options/sasl/username"),
            Some(&json!("u"))
        );
        assert!(!shown.to_string().contains("s3cret") && !shown.to_string().contains("kp-secret"));
        let reference = redacted(&config("${{env.KAFKA_PASSWORD}}"));
        assert_eq!(
            reference.pointer("/bindings/kafka~1a/options/sasl/password"),
            Some(&json!("${{env.KAFKA_PASSWORD}}"))
        );
    }

    #[test]
    fn a_redacted_value_sent_back_keeps_the_stored_secret() {
        let stored = config("s3cret");
        let mut sent = redacted(&stored);
        sent["bindings"]["kafka/a"]["options"]["sasl"]["username"] = json!("v");
        restore(&mut sent, Some(&stored)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sent.pointer("/bindings/kafka~1a/options/sasl/password"),
            Some(&json!("s3cret"))
        );
        assert_eq!(
            sent.pointer("/bindings/kafka~1a/options/sasl/username"),
            Some(&json!("v"))
        );
        // A new secret is taken as sent.
        let mut changed = config("n3w");
        restore(&mut changed, Some(&stored)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            changed.pointer("/bindings/kafka~1a/options/sasl/password"),
            Some(&json!("n3w"))
        );
        // '***' where nothing is stored is refused at its pointer.
        let mut orphan = redacted(&stored);
        let errors = restore(&mut orphan, None)
            .err()
            .unwrap_or_else(|| panic!("restored"));
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/vaults/v/options/keys/password",
                "/bindings/kafka~1a/options/sasl/password",
                "/bindings/kafka~1a/options/tls/key-password"
            ]
        );
        assert!(leaks(&stored, "password s3cret was wrong"));
        assert!(!leaks(&stored, "password *** was wrong"));
    }
}
