//! The `catalogs` section, in Zilla's shape: where the schemas of models live.
//!
//! `inline` (schema text in the configuration), `filesystem` (schema files), and the schema
//! registries: `schema-registry` (Confluent's REST API), `karapace-schema-registry` (the
//! same API), `apicurio-registry` (through its Confluent-compatible API).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// One catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogSpec {
    /// The catalog type.
    #[serde(rename = "type")]
    pub catalog_type: CatalogType,
    /// The vault a registry's TLS settings name stores in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    /// Type-specific options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<CatalogOptionsSpec>,
}

/// Options, by catalog type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CatalogOptionsSpec {
    /// `inline`.
    Inline(InlineCatalogSpec),
    /// `filesystem`.
    Filesystem(FilesystemCatalogSpec),
    /// `schema-registry`, `karapace-schema-registry`.
    Registry(RegistryCatalogSpec),
    /// `apicurio-registry`.
    Apicurio(ApicurioCatalogSpec),
}

/// Catalog types, with Zilla's short aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CatalogType {
    /// Schema text in the configuration.
    Inline,
    /// Schema files.
    Filesystem,
    /// A Confluent Schema Registry.
    SchemaRegistry,
    /// A Karapace schema registry (Confluent's API).
    #[serde(alias = "karapace")]
    KarapaceSchemaRegistry,
    /// An Apicurio registry, through its Confluent-compatible API.
    #[serde(alias = "apicurio")]
    ApicurioRegistry,
}

impl CatalogType {
    /// The name as written in configurations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inline => "inline",
            Self::Filesystem => "filesystem",
            Self::SchemaRegistry => "schema-registry",
            Self::KarapaceSchemaRegistry => "karapace-schema-registry",
            Self::ApicurioRegistry => "apicurio-registry",
        }
    }
}

/// `inline` options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineCatalogSpec {
    /// Subjects by name.
    #[serde(default)]
    pub subjects: IndexMap<String, InlineSubjectSpec>,
}

/// One subject of an `inline` catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineSubjectSpec {
    /// The schema text.
    pub schema: String,
    /// Its version name (default `latest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `filesystem` options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesystemCatalogSpec {
    /// Subjects by name.
    #[serde(default)]
    pub subjects: IndexMap<String, FileSubjectSpec>,
}

/// One subject of a `filesystem` catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSubjectSpec {
    /// The schema file; a relative path is read from the configuration file's directory.
    pub path: String,
}

/// `schema-registry` and `karapace-schema-registry` options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryCatalogSpec {
    /// The registry's base URL, `http://` or `https://`.
    pub url: String,
    /// The schema context (`default`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Seconds a looked-up schema is used before it is looked up again (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// TLS to an `https://` registry: vault aliases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<super::client::ClientTlsSpec>,
    /// Credentials sent to the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<super::client::ClientCredentialsSpec>,
}

/// `apicurio-registry` options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApicurioCatalogSpec {
    /// The registry's base URL; its Confluent-compatible API is at `/apis/ccompat/v7`.
    pub url: String,
    /// The artifact group (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// `globalId` (default) or `contentId`: which id the registry answers with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_id: Option<String>,
    /// `default` (8-byte ids in payloads) or `legacy` (4-byte ids, as Confluent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_encoding: Option<String>,
    /// Seconds a looked-up schema is used before it is looked up again (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
}
