//! The `http-kafka` and `sse-kafka` bindings: their routes and what each route does
//! (produce, fetch, request-response, stream).

use super::server::{Guarded, RequestCondition};
use crate::path::PathTemplate;
use crate::spec::Acks;
use crate::template::Template;

/// Default time a sync request waits for its reply.
pub const DEFAULT_REPLY_TIMEOUT_MS: u64 = 30_000;

/// Default largest `prefer: wait=N`, seconds.
pub const DEFAULT_MAX_WAIT_SECONDS: u64 = 60;

/// Default Kafka header naming the reply topic.
pub const DEFAULT_REPLY_TO_HEADER: &str = "zilla:reply-to";

/// Default Kafka header carrying the correlation id.
pub const DEFAULT_CORRELATION_HEADER: &str = "zilla:correlation-id";

/// Default idempotency key header.
pub const DEFAULT_IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// An `sse-kafka` proxy binding.
#[derive(Debug)]
pub struct SseKafkaBinding {
    /// Binding name.
    pub binding: String,
    pub(crate) routes: Vec<SseKafkaRoute>,
}

/// One `sse-kafka` route.
#[derive(Debug)]
pub struct SseKafkaRoute {
    /// Position in the binding's routes.
    pub index: usize,
    /// Identifies the route and everything that shapes its streams (binding, position,
    /// its configuration, its Kafka cluster): equal across configurations exactly when the
    /// route did not change, so that a reload ends only the streams of changed routes.
    pub fingerprint: u64,
    pub(crate) when: Vec<PathTemplate>,
    pub(crate) guarded: Guarded,
    /// What to stream.
    pub action: SseAction,
}

/// What an SSE stream carries.
#[derive(Debug)]
pub struct SseAction {
    /// The models of the topics of the route's kafka chain.
    pub models: super::models::ChainModels,
    /// Index into [`RouteTable::clusters`].
    pub cluster: usize,
    /// The topic as configured (a template when it comes from the path).
    pub topic: String,
    /// The topic from the request's path (`${params.topic}`): feeds are opened on demand,
    /// shared by every stream of a topic, and retired when idle.
    pub topic_template: Option<Template>,
    /// How many topics a route with a topic from the path may stream at once.
    pub max_topics: usize,
    /// Any-of filters; empty means every record.
    pub filters: Vec<FetchFilter>,
    /// Event ids carry the key: `["<base64url key>","<progress>"]`.
    pub key_in_id: bool,
    /// Where a stream without `Last-Event-ID` starts.
    pub start: crate::spec::SseStart,
}

/// An `http-kafka` proxy binding.
#[derive(Debug)]
pub struct HttpKafkaBinding {
    /// Binding name.
    pub binding: String,
    /// Request header holding the idempotency key, lowercase.
    pub idempotency_header: String,
    /// Largest `prefer: wait=N` accepted, seconds.
    pub max_wait_seconds: u64,
    /// Records carry the request's trace context (`traceparent`, `tracestate`).
    pub trace_context: bool,
    pub(crate) routes: Vec<HttpKafkaRoute>,
}

/// One `http-kafka` route.
#[derive(Debug)]
pub struct HttpKafkaRoute {
    /// Position in the binding's routes, for logs and metrics.
    pub index: usize,
    pub(crate) when: Vec<RequestCondition>,
    pub(crate) guarded: Guarded,
    /// What to do.
    pub action: Action,
}

/// What a matched `http-kafka` route does.
#[derive(Debug)]
pub enum Action {
    /// Produce, one-way or request-response.
    Produce(Box<ProduceAction>),
    /// Read the latest record or records from a topic cache.
    Fetch(FetchAction),
}

/// A fetch route: the latest record of a key, or a JSON list of the latest values.
#[derive(Debug)]
pub struct FetchAction {
    /// The models of the topics of the route's kafka chain.
    pub models: super::models::ChainModels,
    /// Index into [`RouteTable::clusters`].
    pub cluster: usize,
    /// The topic as configured (a template when it comes from the path).
    pub topic: String,
    /// The topic from the request's path (`${params.topic}`): caches are opened on demand,
    /// shared by every request for a topic, and retired when idle.
    pub topic_template: Option<Template>,
    /// How many topics a route with a topic from the path may serve at once.
    pub max_topics: usize,
    /// Any-of filters; empty means every record.
    pub filters: Vec<FetchFilter>,
    /// Answer with a JSON list (`merge`) instead of one record.
    pub merge: bool,
}

/// One fetch filter: key and every header must match.
#[derive(Debug)]
pub struct FetchFilter {
    /// Key template.
    pub key: Option<Template>,
    /// Header name and value template.
    pub headers: Vec<(String, Template)>,
}

/// A one-way produce: one record per request, answered 204 once acknowledged.
#[derive(Debug)]
pub struct ProduceAction {
    /// The models of the topics of the route's kafka chain.
    pub models: super::models::ChainModels,
    /// Index into [`RouteTable::clusters`].
    pub cluster: usize,
    /// Topic name.
    pub topic: Template,
    /// Acknowledgement level.
    pub acks: Acks,
    /// Record key; `None` writes a null key.
    pub key: Option<Template>,
    /// Kafka headers added after `content-type`, in configuration order.
    pub overrides: Vec<(String, Template)>,
    /// Request-response over a reply topic; `None` for one-way produce.
    pub reply: Option<ReplyAction>,
}

/// The request-response part of a produce route (`reply-to`).
#[derive(Debug)]
pub struct ReplyAction {
    /// The reply topic.
    pub topic: String,
    /// Kafka header naming the reply topic on the request record.
    pub reply_to_header: String,
    /// Kafka header carrying the correlation id on the request record.
    pub request_correlation_header: String,
    /// Kafka header carrying the correlation id on reply records.
    pub reply_correlation_header: String,
    /// Headers of a 202 answer (`async`), names lowercase; empty when the route is sync only.
    pub async_headers: Vec<(String, Template)>,
    /// Paths a GET polls for a reply, from the `async` values holding `${correlationId}`.
    pub locations: Vec<PathTemplate>,
    /// How long a sync request waits for its reply, milliseconds.
    pub timeout_ms: u64,
}

impl ReplyAction {
    /// The correlation id in a GET path that polls for a reply, if the path is a location.
    pub fn correlation_id_in(&self, path: &str) -> Option<String> {
        self.locations.iter().find_map(|location| {
            let params = location.matches(path)?.ok()?;
            params
                .into_iter()
                .find(|(name, _)| name == "correlationId")
                .map(|(_, value)| value)
        })
    }
}
