//! The `options` of each binding type.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::kafka::KafkaOptionsSpec;
use super::port::PortSpec;

/// Options, by binding type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OptionsSpec {
    /// `tcp` options.
    Tcp(TcpOptionsSpec),
    /// `http` options.
    Http(HttpOptionsSpec),
    /// `http-kafka` options.
    HttpKafka(HttpKafkaOptionsSpec),
    /// `kafka` options.
    Kafka(KafkaOptionsSpec),
    /// `sse` options.
    Sse(SseOptionsSpec),
    /// `tls` options.
    Tls(TlsOptionsSpec),
    /// `filesystem` options.
    Filesystem(FilesystemOptionsSpec),
}

/// `filesystem` server options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesystemOptionsSpec {
    /// The directory files are served from.
    pub location: String,
    /// `follow` symbolic links that stay inside `location`, or `ignore` them (default, as
    /// in Zilla: a link is answered 404).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symlinks: Option<SymlinksSpec>,
}

/// What a `filesystem` server does with symbolic links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SymlinksSpec {
    /// Follow links whose target is inside `location`.
    Follow,
    /// Answer 404 for a path through a link.
    Ignore,
}

/// `tls` binding options.
///
/// A server's certificate and key come from PEM files (`certificate`, `key`, Sluice's own
/// form) or from the binding's vault (`keys`: aliases in its `keys` store, Zilla's form).
/// A client (in front of Kafka) uses `trust`, `trustcacerts`, `keys` and `sni`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TlsOptionsSpec {
    /// Sluice: the PEM file holding the certificate chain, leaf first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Sluice: the PEM file holding the private key (PKCS#8, PKCS#1 or SEC1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Protocols offered by ALPN, in preference order: `h2`, `http/1.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<Vec<String>>,
    /// Aliases of keys in the vault's `keys` store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    /// Aliases of trusted certificates in the vault's `trust` store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<Vec<String>>,
    /// Also trust the system's certificate authorities (clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustcacerts: Option<bool>,
    /// Server names: a server accepts only these in the client's SNI; a client sends the
    /// first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<Vec<String>>,
    /// Client certificates: `required`, `requested` or `none` (default `none`, or
    /// `required` when `trust` is set, as in Zilla).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutual: Option<super::vault::MutualSpec>,
    /// Aliases of certificate authorities in the vault's `signers` store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers: Option<Vec<String>>,
    /// Zilla: an x509 guard on client certificates (not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<serde_json::Value>,
}

/// `sse` binding options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SseOptionsSpec {
    /// Reconnect delay sent to clients as `retry:`, milliseconds (default 2000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u64>,
    /// Sluice: seconds between keep-alive comments (default 15; 0 turns them off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_seconds: Option<u64>,
}

/// `tcp` binding options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpOptionsSpec {
    /// Address to listen on (server) or connect to (client); default `0.0.0.0` for servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Port, list of ports, or `"from-to"` range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSpec>,
}

/// `http` binding options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpOptionsSpec {
    /// Enabled protocol versions (`http/1.1`, `h2`); both by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<String>>,
    /// CORS policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control: Option<AccessControlSpec>,
    /// Credentials extraction, for one guard (its name is the only key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<IndexMap<String, AuthorizationSpec>>,
    /// Request headers forced on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<serde_json::Value>,
    /// Models of requests (server) and of the upstream's responses (client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<super::model::HttpRequestSpec>>,
    /// Sluice: request limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<HttpLimitsSpec>,
}

/// `options.access-control` of `http`: the CORS policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AccessControlSpec {
    /// `same-origin` (default) or `cross-origin`.
    #[serde(default)]
    pub policy: CorsPolicy,
    /// What cross-origin requests may do; everything when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<CorsAllowSpec>,
    /// Seconds a browser may cache a preflight answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// Response headers scripts may read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<CorsExposeSpec>,
}

/// CORS policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CorsPolicy {
    /// Cross-origin requests are refused.
    #[default]
    SameOrigin,
    /// Cross-origin requests are allowed as `allow` says.
    CrossOrigin,
}

/// `access-control.allow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsAllowSpec {
    /// Allowed origins (`scheme://host[:port]`); any when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origins: Option<Vec<String>>,
    /// Allowed methods; any when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Allowed request headers; any when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<String>>,
    /// Whether credentials (cookies, authorization) may be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<bool>,
}

/// `access-control.expose`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsExposeSpec {
    /// Response headers scripts may read; every one when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<String>>,
}

/// `options.authorization.GUARD` of `http`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationSpec {
    /// Where requests carry their credentials.
    pub credentials: CredentialsSpec,
}

/// Credential locations: name to pattern holding `{credentials}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsSpec {
    /// Request headers, e.g. `authorization: Bearer {credentials}`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// Query parameters, e.g. `access_token: "{credentials}"`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, String>,
    /// Cookies, e.g. `access_token: "{credentials}"`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub cookies: IndexMap<String, String>,
}

/// Sluice-only limits of an `http` binding. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpLimitsSpec {
    /// Largest request body accepted; bigger ones get 413 (default 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u64>,
    /// Largest request head (request line and headers) accepted (default 16 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_header_bytes: Option<u64>,
    /// Time a client has to send its request head (default 10 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_read_timeout_ms: Option<u64>,
    /// Concurrent HTTP/2 streams per connection (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_streams: Option<u32>,
    /// Open connections per listener; more are closed at once (default 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u64>,
    /// HTTP/2 streams a client may reset before they are answered, or make Sluice reset,
    /// before the connection gets GOAWAY (rapid reset; default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reset_streams: Option<u64>,
    /// A connection with no request or stream in progress for this long is closed (HTTP/1.1
    /// keep-alive and HTTP/2; default 60 s). Open SSE streams and long-polls are not idle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
    /// A request body that sends no byte for this long gets 408 and its connection is
    /// closed (default 30 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_read_timeout_ms: Option<u64>,
}

/// `http-kafka` binding options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpKafkaOptionsSpec {
    /// Idempotency key header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<IdempotencySpec>,
    /// Correlation header names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationSpec>,
    /// Sluice: largest `prefer: wait=N` accepted on an async poll, seconds (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_seconds: Option<u64>,
    /// Sluice: whether produced records carry the request's W3C trace context as
    /// `traceparent` (and `tracestate`) headers (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_context: Option<bool>,
}

/// `options.idempotency` of `http-kafka`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencySpec {
    /// Request header holding the idempotency key (default `idempotency-key`).
    pub header: String,
}

/// `options.correlation` of `http-kafka`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationSpec {
    /// Kafka header names.
    pub headers: CorrelationHeadersSpec,
}

/// Kafka header names used by correlated request-response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CorrelationHeadersSpec {
    /// Default `zilla:reply-to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Default `zilla:correlation-id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}
