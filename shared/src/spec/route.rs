//! Routes: `when` conditions, `with` settings, `exit`, `guarded`; capabilities and acks.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::port::PortSpec;

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
    /// `tls`: server name and ALPN protocol.
    Tls(TlsConditionSpec),
}

/// `tls` route condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConditionSpec {
    /// The server name the client asked for (SNI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// The protocol negotiated by ALPN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
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
    /// `http-filesystem`.
    HttpFilesystem(HttpFilesystemWithSpec),
}

/// Which file an `http-filesystem` route serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFilesystemWithSpec {
    /// The file's path under the filesystem's location, a template (`${params.path}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Zilla: a directory to list or write to (not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
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
    /// Sluice: with a topic from the path (`${params.topic}`), how many topics the route may
    /// stream at once (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_topics: Option<u32>,
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
    /// Sluice, `fetch` with a topic from the path (`${params.topic}`): how many topics the
    /// route may serve at once (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_topics: Option<u32>,
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
