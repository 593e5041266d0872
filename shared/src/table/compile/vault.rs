//! `vaults` and the `vault` field of bindings.

use std::path::Path;

use super::{Compiler, binding_pointer};
use crate::error::pointer_token;
use crate::spec::{BindingType, ClientTlsSpec, StoreSpec, StoreType};
use crate::table::client_tls::UpstreamTls;
use crate::table::server::{StoreFile, StoreFormat};

impl Compiler<'_> {
    /// Each vault's stores, and each binding's `vault`.
    pub(super) fn check_vaults(&mut self) {
        for (name, vault) in &self.spec.vaults {
            let at = format!("/vaults/{}", pointer_token(name));
            let Some(options) = &vault.options else {
                self.errors.push(
                    at,
                    "a filesystem vault needs options with keys, trust or signers",
                );
                continue;
            };
            for (role, store) in [
                ("keys", &options.keys),
                ("trust", &options.trust),
                ("signers", &options.signers),
            ] {
                let Some(store) = store else { continue };
                let here = format!("{at}/options/{role}");
                if store.store.trim().is_empty() {
                    self.errors
                        .push(format!("{here}/store"), "name the store file");
                }
                if store.password.as_deref().is_none_or(str::is_empty) {
                    self.errors.push(
                        format!("{here}/password"),
                        "a key store needs its password (for example ${{env.KEYSTORE_PASSWORD}})",
                    );
                }
            }
        }
        for (name, binding) in &self.spec.bindings {
            let Some(vault) = &binding.vault else {
                continue;
            };
            let at = format!("{}/vault", binding_pointer(name));
            if binding.binding_type != BindingType::Tls {
                self.errors.push(
                    at,
                    format!(
                        "only tls bindings read a vault, not {}",
                        binding.binding_type.as_str()
                    ),
                );
            } else if !self.spec.vaults.contains_key(vault) && !self.spec.unparsed.contains(vault) {
                self.errors
                    .push(at, format!("vault '{vault}' is not defined under /vaults"));
            }
        }
    }

    /// The `role` store (`keys`, `trust`, `signers`) of the vault of `binding`; `None`,
    /// with an error at `pointer`, when there is none.
    pub(super) fn store_file(
        &self,
        binding: &str,
        role: &'static str,
        pointer: &str,
        errors: &mut Vec<(String, String)>,
    ) -> Option<StoreFile> {
        let Some(vault_name) = self
            .spec
            .bindings
            .get(binding)
            .and_then(|b| b.vault.as_ref())
        else {
            errors.push((
                pointer.to_owned(),
                format!("'{role}' names aliases in a vault: give the binding a 'vault'"),
            ));
            return None;
        };
        self.vault_store(vault_name, role, pointer, errors)
    }

    /// The `role` store of vault `vault_name`; `None`, with an error at `pointer`, when the
    /// vault has none (an unknown vault is reported where it is named).
    pub(super) fn vault_store(
        &self,
        vault_name: &str,
        role: &'static str,
        pointer: &str,
        errors: &mut Vec<(String, String)>,
    ) -> Option<StoreFile> {
        let vault = self.spec.vaults.get(vault_name)?;
        let options = vault.options.as_ref()?;
        let store: Option<&StoreSpec> = match role {
            "keys" => options.keys.as_ref(),
            "trust" => options.trust.as_ref(),
            _ => options.signers.as_ref(),
        };
        let Some(store) = store else {
            errors.push((
                pointer.to_owned(),
                format!("vault '{vault_name}' has no '{role}' store"),
            ));
            return None;
        };
        Some(StoreFile {
            vault: vault_name.to_owned(),
            role,
            path: resolve(&store.store, self.options.base_dir.as_deref()),
            format: match store.store_type {
                Some(StoreType::Jks) => StoreFormat::Jks,
                Some(StoreType::Pkcs12) | None => StoreFormat::Pkcs12,
            },
            password: store.password.clone().unwrap_or_default(),
        })
    }
}

impl Compiler<'_> {
    /// TLS to an `https://` server for the element at `at` (an OTLP exporter, a registry
    /// catalog) with `vault`: its `tls.trust` and `tls.keys` aliases, the system's
    /// authorities otherwise. `Err` when it was refused (errors recorded).
    pub(super) fn https_tls(
        &mut self,
        name: &str,
        what: &str,
        vault: Option<&str>,
        spec: Option<&ClientTlsSpec>,
        https: bool,
        at: &str,
    ) -> Result<Option<UpstreamTls>, ()> {
        if let Some(vault) = vault
            && !self.spec.vaults.contains_key(vault)
        {
            self.errors.push(
                format!("{at}/vault"),
                format!("vault '{vault}' is not defined under /vaults"),
            );
            return Err(());
        }
        if !https {
            if spec.is_some() {
                self.errors.push(
                    format!("{at}/options/tls"),
                    "tls applies to an https:// location",
                );
                return Err(());
            }
            return Ok(None);
        }
        let mut problems = Vec::new();
        let mut store = |role: &'static str, field: &str| {
            let pointer = format!("{at}/options/tls/{field}");
            match vault {
                Some(vault) => self.vault_store(vault, role, &pointer, &mut problems),
                None => {
                    problems.push((
                        pointer,
                        format!("'{field}' names aliases in a vault: give the {what} a 'vault'"),
                    ));
                    None
                }
            }
        };
        let trust = spec
            .and_then(|t| t.trust.clone())
            .and_then(|aliases| store("trust", "trust").map(|file| (file, aliases)));
        let key = spec
            .and_then(|t| t.keys.as_ref())
            .and_then(|aliases| aliases.first().cloned())
            .and_then(|alias| store("keys", "keys").map(|file| (file, alias)));
        let failed = !problems.is_empty();
        for (pointer, message) in problems {
            self.errors.push(pointer, message);
        }
        if failed {
            return Err(());
        }
        Ok(Some(UpstreamTls {
            binding: name.to_owned(),
            system_authorities: spec.is_none_or(|t| t.trustcacerts.unwrap_or(t.trust.is_none())),
            trust,
            key,
            sni: None,
            alpn: Vec::new(),
        }))
    }
}

/// `path`, or `path` under `base` when it is relative and a base is known.
pub(super) fn resolve(path: &str, base: Option<&Path>) -> String {
    match base {
        Some(base) if Path::new(path).is_relative() => base.join(path).display().to_string(),
        _ => path.to_owned(),
    }
}
