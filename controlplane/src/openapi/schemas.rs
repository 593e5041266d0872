//! The admin API's documents as the OpenAPI document describes them.

#![allow(
    dead_code,
    reason = "schema-only types: utoipa reads their shape, the handlers build the JSON"
)]

use serde::Serialize;
use utoipa::ToSchema;

/// An error.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// Machine-readable code: `unauthorized`, `not_found`, `conflict`, `invalid`...
    pub code: String,
    /// For a person.
    pub message: String,
}

/// One validation error.
#[derive(Serialize, ToSchema)]
pub struct PointerError {
    /// JSON pointer (RFC 6901) to the offending value.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

/// A refused configuration: every problem with its location.
#[derive(Serialize, ToSchema)]
pub struct ValidationErrors {
    /// `invalid`.
    pub code: String,
    /// Summary.
    pub message: String,
    /// Every problem.
    pub errors: Vec<PointerError>,
}

/// The result of a change.
#[derive(Serialize, ToSchema)]
pub struct Applied {
    /// The head revision after the change.
    pub revision: u64,
    /// True when the change equalled the head and made no revision.
    pub unchanged: bool,
}

/// What a change answers: the revision after it, or for a dry run the validity and diff.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ChangeResult {
    /// The change was made (or equalled the head).
    Applied(Applied),
    /// `?dry_run=true`.
    DryRun(DryRun),
}

/// Names added, removed and changed in one section.
#[derive(Serialize, ToSchema)]
pub struct SectionDiff {
    /// New names.
    pub added: Vec<String>,
    /// Names gone.
    pub removed: Vec<String>,
    /// Names whose content differs.
    pub changed: Vec<String>,
}

/// What a change would do.
#[derive(Serialize, ToSchema)]
pub struct Diff {
    /// The configuration's `name` differs.
    pub name_changed: bool,
    /// Bindings.
    pub bindings: SectionDiff,
    /// Guards.
    pub guards: SectionDiff,
}

/// The result of a dry run.
#[derive(Serialize, ToSchema)]
pub struct DryRun {
    /// Always true (an invalid configuration is a 422).
    pub valid: bool,
    /// The differences with the head.
    pub diff: Diff,
}

/// One revision, without its configuration.
#[derive(Serialize, ToSchema)]
pub struct RevisionSummary {
    /// Its number.
    pub number: u64,
    /// The revision it replaced.
    pub parent: Option<u64>,
    /// Who.
    pub author: String,
    /// Why.
    pub message: String,
    /// When, milliseconds since the epoch.
    pub created_ms: u64,
    /// SHA-256 of the configuration's JSON.
    pub checksum: String,
}

/// Revisions, newest first.
#[derive(Serialize, ToSchema)]
pub struct RevisionList {
    /// At most the newest 100.
    pub revisions: Vec<RevisionSummary>,
}

/// A refused change.
#[derive(Serialize, ToSchema)]
pub struct RejectedChange {
    /// When, milliseconds since the epoch.
    pub time_ms: u64,
    /// Why.
    pub reason: String,
}

/// What runs.
#[derive(Serialize, ToSchema)]
pub struct StatusReport {
    /// The revision the data plane serves.
    pub live_revision: Option<u64>,
    /// When it was applied, milliseconds since the epoch.
    pub applied_ms: Option<u64>,
    /// The last refused change.
    pub last_rejected: Option<RejectedChange>,
    /// Separate data planes following this control plane.
    pub data_planes: Vec<DataPlaneEntry>,
}

/// A separate data plane, as it reported itself when it last polled.
#[derive(Serialize, ToSchema)]
pub struct DataPlaneEntry {
    /// Its id.
    pub id: String,
    /// The revision it serves.
    pub applied_revision: Option<u64>,
    /// Why the last revision it received did not apply there.
    pub last_error: Option<String>,
    /// When it last polled, milliseconds since the epoch.
    pub last_seen_ms: u64,
    /// It polled within the last 90 s.
    pub connected: bool,
}

/// Health.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
    /// The live revision (readiness).
    pub revision: Option<u64>,
}

/// A whole configuration, a binding or a guard: the `zilla.yaml` vocabulary of
/// `docs/configuration.md`, as JSON (or YAML with `application/yaml`).
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct Document(serde_json::Value);

/// A whole configuration (`docs/configuration.md`). The schema checks its shape; what it
/// cannot express (exits that name no binding, ports, topics...) is checked on apply and
/// refused with 422 and every error's JSON pointer.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigDocument {
    /// The namespace name.
    pub name: String,
    /// Guards by name.
    #[schema(value_type = Option<HashMap<String, GuardDocument>>)]
    pub guards: Option<serde_json::Value>,
    /// Bindings by name.
    #[schema(value_type = Option<HashMap<String, BindingDocument>>)]
    pub bindings: Option<serde_json::Value>,
    /// Key stores by name (`filesystem` vaults of PKCS#12 or JKS files).
    #[schema(value_type = Option<HashMap<String, Object>>)]
    pub vaults: Option<serde_json::Value>,
    /// Where the schemas of models live, by name (`inline`, `filesystem`,
    /// `schema-registry`, `karapace-schema-registry`, `apicurio-registry`).
    #[schema(value_type = Option<HashMap<String, CatalogDocument>>)]
    pub catalogs: Option<serde_json::Value>,
    /// Metrics, attributes and exporters.
    #[schema(value_type = Option<Object>)]
    pub telemetry: Option<serde_json::Value>,
}

/// One catalog: its `type` and the `options` of that type.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogDocument {
    /// `inline`, `filesystem`, `schema-registry`, `karapace-schema-registry` (`karapace`)
    /// or `apicurio-registry` (`apicurio`).
    #[serde(rename = "type")]
    pub catalog_type: String,
    /// The vault an https registry's `tls` names stores in.
    pub vault: Option<String>,
    /// `subjects` (inline, filesystem), or `url` and the registry's settings.
    #[schema(value_type = Option<Object>)]
    pub options: Option<serde_json::Value>,
}

/// One binding: `type`, `kind`, and its `options`, `routes` and `exit`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingDocument {
    /// `tcp`, `tls`, `http`, `sse`, `http-kafka`, `sse-kafka`, `kafka`, `echo`,
    /// `http-filesystem` or `filesystem`.
    #[serde(rename = "type")]
    pub binding_type: String,
    /// `server`, `client`, `proxy`, `cache_client` or `cache_server`.
    pub kind: String,
    /// Options of that type.
    #[schema(value_type = Option<Object>)]
    pub options: Option<serde_json::Value>,
    /// Routes, first match wins.
    #[schema(value_type = Option<Vec<Object>>)]
    pub routes: Option<serde_json::Value>,
    /// The binding requests go to when no route matches.
    pub exit: Option<String>,
    /// The vault a `tls` binding reads its keys and trusted certificates from.
    pub vault: Option<String>,
    /// The binding's own metrics and attributes.
    #[schema(value_type = Option<Object>)]
    pub telemetry: Option<serde_json::Value>,
}

/// One guard: `type: jwt` and its options.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardDocument {
    /// `jwt`.
    #[serde(rename = "type")]
    pub guard_type: String,
    /// Issuer, audience, keys or JWKS URL, challenge...
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// `GET /v1/traffic`: the last minutes of traffic, in columns on one time axis.
#[derive(Serialize, ToSchema)]
pub struct TrafficView {
    /// Seconds between two readings.
    pub interval_seconds: u64,
    /// When each reading was taken, milliseconds since the Unix epoch, oldest first; every
    /// other column has one value per reading.
    pub times: Vec<u64>,
    /// Routes that answered requests in the window (the busiest 100 of each reading).
    pub routes: Vec<RouteSeries>,
    /// SSE streams open.
    pub sse_streams: Vec<i64>,
    /// Fetch long-polls waiting for a change.
    pub fetch_waiters: Vec<i64>,
    /// Request-response calls waiting for their reply.
    pub reply_waiters: Vec<u64>,
    /// Client connections open.
    pub connections: Vec<i64>,
    /// Each shared consumer's lag.
    pub topics: Vec<TopicLagSeries>,
    /// Kafka clients replaced (they broke, or lost every broker), per reading.
    pub kafka_clients_replaced: Vec<ReplacedSeries>,
    /// Revisions applied, with their times (the last 100).
    pub revisions: Vec<RevisionMark>,
}

/// One route's columns; `null` where it answered nothing in that interval.
#[derive(Serialize, ToSchema)]
pub struct RouteSeries {
    /// The `http-kafka` or `sse-kafka` binding, or the `http` server for unrouted requests.
    pub binding: String,
    /// The route's position in its binding; `null` for unrouted requests.
    pub route: Option<u64>,
    /// `produce`, `request-response`, `fetch`, `sse` or `unrouted`.
    pub kind: String,
    /// Requests answered per second.
    pub requests_per_second: Vec<Option<f64>>,
    /// `4xx` answers per second.
    pub client_errors_per_second: Vec<Option<f64>>,
    /// `502`, `503` and `504` answers per second: Kafka (or an upstream) refused, was
    /// unreachable or did not answer in time, or Sluice was overloaded.
    pub kafka_errors_per_second: Vec<Option<f64>>,
    /// `500` and `501` answers per second: Sluice's own fault.
    pub gateway_errors_per_second: Vec<Option<f64>>,
    /// Median latency to the response head, milliseconds.
    pub p50_ms: Vec<Option<f64>>,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: Vec<Option<f64>>,
}

/// A shared consumer's lag column.
#[derive(Serialize, ToSchema)]
pub struct TopicLagSeries {
    /// `cache` (fetch) or `feed` (SSE).
    pub purpose: String,
    /// The topic.
    pub topic: String,
    /// Records between the consumer and the partition ends; `null` before its first report.
    pub lag: Vec<Option<i64>>,
}

/// Replacements of one kind of Kafka client, per reading.
#[derive(Serialize, ToSchema)]
pub struct ReplacedSeries {
    /// The `kafka` binding.
    pub cluster: String,
    /// `producer`, `reply`, `cache` or `feed`.
    pub client: String,
    /// `fatal`, `stuck`, `disconnected` or `topic_gone`.
    pub reason: String,
    /// Replacements in each interval.
    pub count: Vec<u64>,
}

/// A revision applied.
#[derive(Serialize, ToSchema)]
pub struct RevisionMark {
    /// When, milliseconds since the Unix epoch.
    pub at: u64,
    /// The revision.
    pub revision: u64,
}
