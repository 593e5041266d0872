//! The document's top level: `name`, `guards` and `bindings`, and each binding's type and
//! kind.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::catalog::CatalogSpec;
use super::options::OptionsSpec;
use super::route::RouteSpec;
use super::telemetry::{BindingTelemetrySpec, TelemetrySpec};
use super::vault::VaultSpec;

/// A whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigSpec {
    /// The namespace name.
    pub name: String,
    /// Guards by name.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub guards: IndexMap<String, GuardSpec>,
    /// Bindings by name, in document order.
    pub bindings: IndexMap<String, BindingSpec>,
    /// Key stores by name, for `tls` bindings.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vaults: IndexMap<String, VaultSpec>,
    /// Where the schemas of models live, by catalog name.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub catalogs: IndexMap<String, CatalogSpec>,
    /// Metrics and events, and where they are exported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<TelemetrySpec>,
    /// Bindings and guards present in the document that could not be read (their errors are reported
    /// where they are): the table compiler treats them as existing, so a refused binding
    /// does not add a wrong "exit does not exist" to its own error.
    #[serde(skip)]
    pub unparsed: Vec<String>,
}

/// A guard: something that authorizes requests (`jwt`), or that holds credentials for
/// Kafka (`inline`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardSpec {
    /// The guard type.
    #[serde(rename = "type")]
    pub guard_type: GuardType,
    /// The guard's options.
    pub options: GuardOptionsSpec,
}

impl GuardSpec {
    /// The options of a `jwt` guard.
    pub fn jwt(&self) -> Option<&JwtOptionsSpec> {
        match &self.options {
            GuardOptionsSpec::Jwt(options) => Some(options),
            GuardOptionsSpec::Inline(_) => None,
        }
    }

    /// The options of an `inline` guard.
    pub fn inline(&self) -> Option<&InlineGuardSpec> {
        match &self.options {
            GuardOptionsSpec::Inline(options) => Some(options),
            GuardOptionsSpec::Jwt(_) => None,
        }
    }
}

/// Options, by guard type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GuardOptionsSpec {
    /// `jwt`.
    Jwt(Box<JwtOptionsSpec>),
    /// `inline`.
    Inline(InlineGuardSpec),
}

/// Guard types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuardType {
    /// JSON Web Tokens.
    Jwt,
    /// A fixed identity and credentials, for Kafka SASL (Zilla 2.x): the kafka client's
    /// `options.authorization` names it.
    Inline,
}

/// Options of an `inline` guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineGuardSpec {
    /// The identity (a SASL user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The credentials (a SASL password or an OAuth bearer token); secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
}

/// Options of a `jwt` guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JwtOptionsSpec {
    /// Required `iss` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Required `aud` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Claim holding the roles (default `scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<String>,
    /// Claim holding the identity (default `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Seconds before expiry at which SSE streams are challenged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<u64>,
    /// Attribute name to claim path.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub attributes: IndexMap<String, String>,
    /// JWKs, or a JWKS URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<serde_json::Value>,
    /// Sluice: clock skew allowed on `exp` and `nbf`, seconds (default 0 as in Zilla, at most
    /// 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leeway_seconds: Option<u64>,
    /// Sluice: how often a JWKS URL is read again, seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_refresh_seconds: Option<u64>,
}

/// A binding: one protocol adapter with its routes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BindingSpec {
    /// What the binding speaks.
    #[serde(rename = "type")]
    pub binding_type: BindingType,
    /// Its role.
    pub kind: BindingKind,
    /// Type-specific options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<OptionsSpec>,
    /// Routes, first match wins.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
    /// The default exit when no route matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    /// The vault a `tls` binding reads its keys and trusted certificates from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    /// The binding's own metrics and attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<BindingTelemetrySpec>,
}

/// Binding types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BindingType {
    /// TCP listener (server) or connector (client).
    Tcp,
    /// TLS termination.
    Tls,
    /// HTTP/1.1 and HTTP/2 server.
    Http,
    /// Server-Sent Events server.
    Sse,
    /// REST over Kafka.
    HttpKafka,
    /// SSE over Kafka.
    SseKafka,
    /// Kafka client and cache.
    Kafka,
    /// Answers every HTTP request with its own body, without Kafka (Sluice: health checks and
    /// the HTTP baseline of benchmarks); behind a `tcp` or `tls` server directly, echoes the
    /// connection's bytes.
    Echo,
    /// Maps HTTP requests onto files of a `filesystem` binding.
    HttpFilesystem,
    /// Files under a directory.
    Filesystem,
}

impl BindingType {
    /// The name as written in configurations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Tls => "tls",
            Self::Http => "http",
            Self::Sse => "sse",
            Self::HttpKafka => "http-kafka",
            Self::SseKafka => "sse-kafka",
            Self::Kafka => "kafka",
            Self::Echo => "echo",
            Self::HttpFilesystem => "http-filesystem",
            Self::Filesystem => "filesystem",
        }
    }
}

/// Binding kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingKind {
    /// Accepts connections or requests.
    Server,
    /// Opens connections.
    Client,
    /// Maps one protocol onto another.
    Proxy,
    /// Kafka cache, client side.
    CacheClient,
    /// Kafka cache, server side.
    CacheServer,
}

impl BindingKind {
    /// The name as written in configurations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
            Self::Proxy => "proxy",
            Self::CacheClient => "cache_client",
            Self::CacheServer => "cache_server",
        }
    }
}
