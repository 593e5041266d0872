//! The configuration as users write it: a `zilla.yaml`-style document of `name`, `guards`
//! and `bindings`.
//!
//! These types mirror the document one to one (serde, unknown fields rejected). They are
//! not validated beyond their shape: [`crate::table`] checks the meaning and compiles them.
//! [`parse_config`] reads YAML or JSON and reports every shape error with its JSON pointer.

mod parse;
mod port;

pub use parse::{MAX_DOCUMENT_BYTES, parse_config, parse_config_with_env};
pub use port::PortSpec;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

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
}

/// A guard: something that authorizes requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSpec {
    /// The guard type; only `jwt`.
    #[serde(rename = "type")]
    pub guard_type: GuardType,
    /// The guard's options.
    pub options: JwtOptionsSpec,
}

/// Guard types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuardType {
    /// JSON Web Tokens.
    Jwt,
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
    /// Sluice: clock skew allowed on `exp` and `nbf`, seconds (default 60, at most 300).
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
    /// the HTTP baseline of benchmarks).
    Echo,
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
}

/// `tls` server binding options.
///
/// Sluice reads the certificate chain and private key from PEM files. Zilla's names for keys
/// held in a vault (`keys`, `trust`, `sni`, `mutual`) are recognised so that a configuration
/// using them is refused with a clear message instead of an unknown-field error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Zilla: key aliases in a vault (not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<serde_json::Value>,
    /// Zilla: trusted certificate aliases in a vault (not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<serde_json::Value>,
    /// Zilla: server names (not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<serde_json::Value>,
    /// Zilla: client certificate policy (not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutual: Option<serde_json::Value>,
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
    /// Typed request validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<serde_json::Value>,
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

/// `kafka` binding options; which fields apply depends on the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaOptionsSpec {
    /// `client`: bootstrap servers, `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<Vec<String>>,
    /// `client`, Sluice: extra librdkafka properties (`linger.ms`, `message.timeout.ms`, ...).
    /// Values may be written as strings, numbers or booleans; librdkafka takes them as text.
    #[serde(
        default,
        skip_serializing_if = "IndexMap::is_empty",
        deserialize_with = "scalar_strings"
    )]
    pub properties: IndexMap<String, String>,
    /// `client`: SASL authentication to the brokers (Zilla 1.x names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslSpec>,
    /// `client`, Sluice: TLS to the brokers (Zilla chains a `tls` client binding instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<KafkaTlsSpec>,
    /// `client`: guard-based authorization (Zilla 2.x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<serde_json::Value>,
    /// `cache_server`: topics fetched from start even with no client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Vec<String>>,
    /// `cache_server` / `cache_client`: per-topic settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<serde_json::Value>>,
    /// `client`, Sluice: memory bound of each fetched topic's cache, bytes (default 64 MiB).
    #[serde(
        default,
        rename = "cache-max-bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub cache_max_bytes: Option<u64>,
}

/// `kafka` client `options.sasl`, as Zilla 1.x names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaslSpec {
    /// `plain`, `scram-sha-256` or `scram-sha-512`.
    pub mechanism: String,
    /// User name.
    pub username: String,
    /// Password; a secret: the admin API shows it as `***`.
    pub password: String,
}

/// `kafka` client `options.tls` (Sluice): TLS to the brokers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KafkaTlsSpec {
    /// PEM file of the authorities that sign the brokers' certificates; the system's
    /// authorities when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// PEM file of the client certificate (mutual TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// PEM file of the client certificate's private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Password of an encrypted `key`; a secret: the admin API shows it as `***`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_password: Option<String>,
    /// Check that a broker's certificate names the host connected to (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_hostname: Option<bool>,
}

/// A route of any binding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteSpec {
    /// Conditions, any of which selects the route; empty matches everything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<ConditionSpec>,
    /// Where matching traffic goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    /// Type-specific action parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with: Option<WithSpec>,
    /// Guard name to required roles.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub guarded: IndexMap<String, Vec<String>>,
}

/// A route condition, by binding type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ConditionSpec {
    /// `tcp`: local port.
    Tcp(TcpConditionSpec),
    /// `http`: header patterns.
    Http(HttpConditionSpec),
    /// `http-kafka`: method and path.
    HttpKafka(HttpKafkaConditionSpec),
    /// `sse` and `sse-kafka`: path.
    Path(PathConditionSpec),
}

/// `sse` / `sse-kafka` route condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathConditionSpec {
    /// Path template.
    pub path: String,
}

/// `tcp` route condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConditionSpec {
    /// The local port(s) the connection arrived on.
    pub port: PortSpec,
}

/// `http` route condition: every listed header must match its `*` pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConditionSpec {
    /// Header name (`:method`, `:path`, `:scheme`, `:authority` or a header) to pattern.
    pub headers: IndexMap<String, String>,
}

/// `http-kafka` route condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpKafkaConditionSpec {
    /// HTTP method; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path template; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Route `with`, by binding type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum WithSpec {
    /// `http-kafka`.
    HttpKafka(Box<HttpKafkaWithSpec>),
    /// `http`: header overrides.
    Http(serde_json::Value),
    /// `sse-kafka`.
    SseKafka(SseKafkaWithSpec),
}

/// What an `sse-kafka` route streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SseKafkaWithSpec {
    /// Topic.
    pub topic: String,
    /// Any-of filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<FilterSpec>>,
    /// Event id format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<SseEventSpec>,
    /// Sluice: where a stream without `Last-Event-ID` starts: `historical` (default) or `live`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<SseStart>,
}

/// `with.event` of `sse-kafka`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SseEventSpec {
    /// `${etag}` (default) or `["${base64(key)}","${etag}"]`.
    pub id: String,
}

/// Where an SSE stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SseStart {
    /// Every record still held, then live.
    Historical,
    /// Only records written after the stream opened.
    Live,
}

/// What an `http-kafka` route does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpKafkaWithSpec {
    /// `produce` or `fetch`.
    pub capability: Capability,
    /// Topic name template.
    pub topic: String,
    /// Produce acknowledgement level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acks: Option<Acks>,
    /// Record key template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Kafka header name to value template.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub overrides: IndexMap<String, String>,
    /// Reply topic; selects request-response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Request header carrying the correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Response headers of a 202 for async request-response.
    #[serde(default, rename = "async", skip_serializing_if = "IndexMap::is_empty")]
    pub async_headers: IndexMap<String, String>,
    /// Sluice: how long a sync request waits for its reply, milliseconds (default 30000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_timeout_ms: Option<u64>,
    /// Fetch filters: any may match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<FilterSpec>>,
    /// Fetch as a JSON list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeSpec>,
}

/// One fetch filter: the key and every listed header must match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// Record key template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Kafka header name to value template.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
}

/// `merge` of a fetch route: answer with a JSON list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MergeSpec {
    /// Must be `application/json`.
    pub content_type: String,
    /// JSON-patch settings, accepted for Zilla compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<MergePatchSpec>,
}

/// `merge.patch`; Zilla's schema allows only `initial: "[]"` and `path: "/-"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergePatchSpec {
    /// `[]`.
    pub initial: String,
    /// `/-`.
    pub path: String,
}

/// What an `http-kafka` route does with Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Write a record.
    Produce,
    /// Read records.
    Fetch,
}

/// Produce acknowledgement level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acks {
    /// `acks=0`: answered once the record is handed to the network.
    None,
    /// `acks=1`: the partition leader wrote it.
    LeaderOnly,
    /// `acks=all` (default): every in-sync replica wrote it.
    InSyncReplicas,
}

impl Acks {
    /// The librdkafka `acks` value.
    pub fn as_kafka(self) -> &'static str {
        match self {
            Self::None => "0",
            Self::LeaderOnly => "1",
            Self::InSyncReplicas => "all",
        }
    }
}

/// A map whose values are strings, numbers or booleans, each kept as its text.
fn scalar_strings<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Integer(i64),
        Float(f64),
        Flag(bool),
        Other(serde::de::IgnoredAny),
    }
    let map = IndexMap::<String, Scalar>::deserialize(deserializer)?;
    map.into_iter()
        .map(|(key, value)| {
            let text = match value {
                Scalar::Text(text) => text,
                Scalar::Integer(n) => n.to_string(),
                Scalar::Float(n) => n.to_string(),
                Scalar::Flag(flag) => flag.to_string(),
                Scalar::Other(_) => {
                    return Err(serde::de::Error::custom(format!(
                        "property '{key}' must be a string, a number or a boolean"
                    )));
                }
            };
            Ok((key, text))
        })
        .collect()
}
