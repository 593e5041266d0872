//! The `vaults` section, in Zilla's shape: `filesystem` vaults whose `keys`, `trust` and
//! `signers` are PKCS#12 or JKS key stores on disk.

use serde::{Deserialize, Serialize};

/// One vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSpec {
    /// Only `filesystem`.
    #[serde(rename = "type")]
    pub vault_type: VaultType,
    /// The stores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<FilesystemVaultSpec>,
}

/// Vault types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VaultType {
    /// Key stores in files.
    Filesystem,
}

/// The stores of a `filesystem` vault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesystemVaultSpec {
    /// Private keys with their certificate chains, by alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<StoreSpec>,
    /// Trusted certificates (certificate authorities), by alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<StoreSpec>,
    /// Certificate authorities that sign client certificates, by alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers: Option<StoreSpec>,
}

/// One key store file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSpec {
    /// The file; a relative path is read from the configuration file's directory.
    pub store: String,
    /// `pkcs12` (default) or `jks`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub store_type: Option<StoreType>,
    /// The store's password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Key store formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreType {
    /// PKCS#12 (`.p12`, `.pfx`).
    Pkcs12,
    /// Java KeyStore (`.jks`).
    Jks,
}

/// Client certificate policy of a `tls` server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MutualSpec {
    /// Every client presents a certificate signed by a trusted authority.
    Required,
    /// A client may present one; if it does, it must be trusted.
    Requested,
    /// No client certificates.
    None,
}
