//! The compiled, immutable route table the data plane serves from.
//!
//! A [`RouteTable`] is built once per configuration revision by [`RouteTable::compile`]
//! (validation included) and then only read: the data plane holds it behind one `ArcSwap`
//! and swaps it whole.
//!
//! Resolution of a request follows the binding chain of the configuration:
//! tcp listener port -> `http` server (header conditions) -> `http-kafka` or `echo`
//! (method and path) -> action.

mod compile;

use indexmap::IndexMap;

use crate::guard::{Authorization, Guard, Principal};
use crate::path::{BadParam, Params, PathTemplate, wildcard_match};
use crate::spec::Acks;
use crate::template::Template;

pub use compile::{CompileOptions, check_topic_name};

/// Default largest request body.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
/// Default largest request head.
pub const DEFAULT_MAX_HEADER_BYTES: u64 = 16 * 1024;
/// Default time to receive a request head.
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Default concurrent HTTP/2 streams per connection.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Default open connections per listener.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 10_000;
/// Default HTTP/2 resets tolerated per connection (rapid reset).
pub const DEFAULT_MAX_RESET_STREAMS: u64 = 20;
/// Default idle timeout of a connection with nothing in progress (NGINX keeps idle
/// keep-alive connections 75 s, Envoy's HTTP/2 connections have no stream timeouts of 5 min).
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 60_000;
/// Default time a request body may go without a byte (NGINX `client_body_timeout`: 60 s).
pub const DEFAULT_BODY_READ_TIMEOUT_MS: u64 = 30_000;
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

/// The compiled configuration.
#[derive(Debug)]
pub struct RouteTable {
    /// The configuration's namespace name.
    pub name: String,
    /// TCP listeners to bind.
    pub listeners: Vec<Listener>,
    /// Kafka clusters the routes produce to.
    pub clusters: Vec<KafkaCluster>,
    /// Guards, in document order; routes refer to them by index.
    pub guards: Vec<Guard>,
    servers: Vec<HttpServer>,
    http_kafka: Vec<HttpKafkaBinding>,
    sse_servers: Vec<SseServer>,
    sse_kafka: Vec<SseKafkaBinding>,
}

/// One TCP port to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The `tcp` binding that declared it.
    pub binding: String,
    /// Address to bind.
    pub host: String,
    /// Port to bind; `0` asks the system for a free port (tests).
    pub port: u16,
    server: usize,
    /// TLS termination, when the tcp binding exits to a `tls` binding.
    pub tls: Option<TlsListener>,
}

/// The settings of a `tls` server binding, as configured: the data plane reads the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsListener {
    /// The `tls` binding.
    pub binding: String,
    /// PEM file with the certificate chain, leaf first.
    pub certificate: String,
    /// PEM file with the private key.
    pub key: String,
    /// ALPN protocols offered, in preference order (`h2`, `http/1.1`).
    pub alpn: Vec<String>,
}

/// An `http` server binding.
#[derive(Debug)]
pub struct HttpServer {
    /// Binding name.
    pub binding: String,
    /// HTTP/1.1 enabled.
    pub http1: bool,
    /// HTTP/2 (h2c prior knowledge on plaintext) enabled.
    pub h2: bool,
    /// Request limits.
    pub limits: HttpLimits,
    /// Where requests carry credentials, and for which guard.
    pub authorization: Option<Authorization>,
    /// The CORS policy (`access-control`); `None` is same-origin.
    pub cors: Option<Cors>,
    routes: Vec<HttpRoute>,
    exit: Option<Exit>,
}

/// A compiled CORS policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    /// `cross-origin`: requests from other origins are allowed as below.
    pub cross_origin: bool,
    /// Allowed origins, normalised (`scheme://host:port`); `None` allows any.
    pub origins: Option<Vec<String>>,
    /// Allowed methods, uppercase; `None` allows any.
    pub methods: Option<Vec<String>>,
    /// Allowed request headers, lowercase; `None` allows any.
    pub headers: Option<Vec<String>>,
    /// Credentials allowed.
    pub credentials: bool,
    /// Preflight cache time, seconds.
    pub max_age: Option<u64>,
    /// Response headers exposed to scripts, lowercase; `None` exposes every one.
    pub expose: Option<Vec<String>>,
}

/// `scheme://host:port` with the scheme and host lowercase and the default port made
/// explicit, or `None` when `origin` is not a `http(s)://host[:port]` origin.
pub fn normalize_origin(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (inside, after) = bracketed.split_once(']')?;
        let port = match after {
            "" => default_port,
            _ => after.strip_prefix(':')?.parse::<u16>().ok()?,
        };
        (&rest[..inside.len() + 2], port)
    } else {
        match rest.split_once(':') {
            None => (rest, default_port),
            Some((host, port)) => (host, port.parse::<u16>().ok()?),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{}:{port}", host.to_ascii_lowercase()))
}

/// Limits applied to every request of an `http` binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body, bytes.
    pub max_body_bytes: u64,
    /// Largest request head, bytes.
    pub max_header_bytes: u64,
    /// Time to receive a request head, milliseconds.
    pub header_read_timeout_ms: u64,
    /// Concurrent HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Open connections per listener.
    pub max_connections: u64,
    /// HTTP/2 streams reset early per connection before GOAWAY.
    pub max_reset_streams: u64,
    /// Time a connection with nothing in progress stays open, milliseconds.
    pub idle_timeout_ms: u64,
    /// Time a request body may go without a byte, milliseconds.
    pub body_read_timeout_ms: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            header_read_timeout_ms: DEFAULT_HEADER_READ_TIMEOUT_MS,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_reset_streams: DEFAULT_MAX_RESET_STREAMS,
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            body_read_timeout_ms: DEFAULT_BODY_READ_TIMEOUT_MS,
        }
    }
}

#[derive(Debug)]
struct HttpRoute {
    /// Any-of list; each entry is an all-of list of (header name, pattern).
    when: Vec<Vec<(String, String)>>,
    guarded: Guarded,
    exit: Exit,
}

/// Guards a route requires: guard index and the roles it must grant.
pub type Guarded = Vec<(usize, Vec<String>)>;

#[derive(Debug, Clone, Copy)]
enum Exit {
    HttpKafka(usize),
    Echo,
    Sse(usize),
}

/// An `sse` server binding.
#[derive(Debug)]
pub struct SseServer {
    /// Binding name.
    pub binding: String,
    /// `retry:` sent at the start of every stream, milliseconds.
    pub retry_ms: u64,
    /// Seconds between keep-alive comments; 0 for none.
    pub keepalive_seconds: u64,
    routes: Vec<(Vec<PathTemplate>, usize)>,
    exit: Option<usize>,
}

/// An `sse-kafka` proxy binding.
#[derive(Debug)]
pub struct SseKafkaBinding {
    /// Binding name.
    pub binding: String,
    routes: Vec<SseKafkaRoute>,
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
    when: Vec<PathTemplate>,
    guarded: Guarded,
    /// What to stream.
    pub action: SseAction,
}

/// What an SSE stream carries.
#[derive(Debug)]
pub struct SseAction {
    /// Index into [`RouteTable::clusters`].
    pub cluster: usize,
    /// The topic.
    pub topic: String,
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
    routes: Vec<HttpKafkaRoute>,
}

/// One `http-kafka` route.
#[derive(Debug)]
pub struct HttpKafkaRoute {
    /// Position in the binding's routes, for logs and metrics.
    pub index: usize,
    when: Vec<RequestCondition>,
    guarded: Guarded,
    /// What to do.
    pub action: Action,
}

#[derive(Debug)]
struct RequestCondition {
    method: Option<String>,
    path: Option<PathTemplate>,
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
    /// Index into [`RouteTable::clusters`].
    pub cluster: usize,
    /// The topic.
    pub topic: String,
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

impl SseKafkaRoute {
    /// Whether the route requires a guard (its streams then end when the token expires).
    pub fn is_guarded(&self) -> bool {
        !self.guarded.is_empty()
    }
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

/// A Kafka cluster, from a `kafka` client binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaCluster {
    /// The `kafka` client binding.
    pub binding: String,
    /// Bootstrap servers; empty means "use the embedded development broker".
    pub servers: Vec<String>,
    /// Extra librdkafka properties.
    pub properties: IndexMap<String, String>,
    /// Topics named literally by routes (created on the embedded broker).
    pub topics: Vec<String>,
    /// Memory bound of each fetched topic's cache, bytes.
    pub cache_max_bytes: u64,
    /// TLS and SASL to the brokers, as librdkafka properties.
    pub security: KafkaSecurity,
}

impl KafkaCluster {
    /// Every librdkafka property of this cluster's clients: `properties`, then security.
    pub fn client_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(self.security.properties())
    }

    /// The properties of this cluster's producers: every one but the consumer-only ones.
    pub fn producer_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.client_properties()
            .filter(|(key, _)| !CONSUMER_ONLY_PROPERTIES.contains(key))
    }

    /// The properties of this cluster's consumers: every one but the producer-only ones.
    /// A change to a producer-only property (`linger.ms`) leaves consumers, and the SSE
    /// streams they feed, untouched.
    pub fn consumer_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.client_properties()
            .filter(|(key, _)| !PRODUCER_ONLY_PROPERTIES.contains(key))
    }
}

/// librdkafka properties that only producers read (librdkafka's CONFIGURATION.md, "P").
pub const PRODUCER_ONLY_PROPERTIES: &[&str] = &[
    "transactional.id",
    "transaction.timeout.ms",
    "enable.idempotence",
    "enable.gapless.guarantee",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "queue.buffering.max.ms",
    "linger.ms",
    "message.send.max.retries",
    "retries",
    "queue.buffering.backpressure.threshold",
    "compression.codec",
    "compression.type",
    "compression.level",
    "batch.num.messages",
    "batch.size",
    "delivery.report.only.error",
    "sticky.partitioning.linger.ms",
    "request.required.acks",
    "acks",
    "request.timeout.ms",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "partitioner",
    "queuing.strategy",
    "produce.offset.report",
];

/// librdkafka properties that only consumers read (librdkafka's CONFIGURATION.md, "C").
pub const CONSUMER_ONLY_PROPERTIES: &[&str] = &[
    "group.id",
    "group.instance.id",
    "partition.assignment.strategy",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "group.protocol.type",
    "group.protocol",
    "group.remote.assignor",
    "coordinator.query.interval.ms",
    "max.poll.interval.ms",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "enable.auto.offset.store",
    "queued.min.messages",
    "queued.max.messages.kbytes",
    "fetch.wait.max.ms",
    "fetch.queue.backoff.ms",
    "fetch.message.max.bytes",
    "max.partition.fetch.bytes",
    "fetch.max.bytes",
    "fetch.min.bytes",
    "fetch.error.backoff.ms",
    "isolation.level",
    "enable.partition.eof",
    "check.crcs",
    "auto.offset.reset",
];

/// librdkafka properties that carry TLS and SASL settings, some of them secret. Its
/// `Debug` shows secrets as `***`, so that no log or panic message prints them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KafkaSecurity {
    properties: Vec<(String, String)>,
    /// Files the properties name: (JSON pointer of the option, path).
    files: Vec<(String, String)>,
}

/// librdkafka properties whose values are secrets.
pub const SECRET_PROPERTIES: &[&str] = &["sasl.password", "ssl.key.password"];

impl KafkaSecurity {
    pub(crate) fn set(&mut self, key: &str, value: impl Into<String>) {
        self.properties.push((key.to_owned(), value.into()));
    }

    pub(crate) fn file(&mut self, key: &str, pointer: String, path: &str) {
        self.set(key, path);
        self.files.push((pointer, path.to_owned()));
    }

    /// The properties, secrets included: for building clients only.
    pub fn properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Files the settings name, with the pointer of the option naming each.
    pub fn files(&self) -> &[(String, String)] {
        &self.files
    }
}

impl std::fmt::Debug for KafkaSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.properties {
            if SECRET_PROPERTIES.contains(&key.as_str()) {
                map.entry(key, &"***");
            } else {
                map.entry(key, value);
            }
        }
        map.finish()
    }
}

/// Default memory bound of a fetched topic's cache.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The parts of a request that routing looks at.
pub trait RequestHead {
    /// `GET`, `POST`, ...
    fn method(&self) -> &str;
    /// The path, without query string, still percent-encoded.
    fn path(&self) -> &str;
    /// The query string without `?`, if any.
    fn query(&self) -> Option<&str>;
    /// `http` or `https`.
    fn scheme(&self) -> &str;
    /// Host and port the request was sent to.
    fn authority(&self) -> &str;
    /// A request header by lowercase name (first value).
    fn header(&self, name: &str) -> Option<&str>;
}

/// Outcome of routing one request.
#[derive(Debug)]
pub enum Resolved<'t> {
    /// An `echo` binding answers.
    Echo,
    /// An `http-kafka` route matched.
    HttpKafka {
        /// The binding.
        binding: &'t HttpKafkaBinding,
        /// The route.
        route: &'t HttpKafkaRoute,
        /// Path parameters, percent-decoded.
        params: Params,
    },
    /// An `sse-kafka` route matched.
    Sse {
        /// The `sse` server binding.
        server: &'t SseServer,
        /// The route.
        route: &'t SseKafkaRoute,
        /// Path parameters, percent-decoded.
        params: Params,
    },
    /// A route matched but a path parameter is not valid UTF-8.
    BadParam(BadParam),
    /// Routes matched but their guards refused the caller, and no other route matched.
    Denied(Denial),
    /// Nothing matched.
    NotFound,
}

/// Who is calling, as the server's guard sees it.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// No credentials (or the server has no guard).
    Anonymous,
    /// Credentials were present but not valid.
    Rejected,
    /// A valid token.
    Authorized(&'a Principal),
}

/// Why guarded routes refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No valid credentials: 401.
    Unauthenticated {
        /// Credentials were present but invalid.
        invalid: bool,
    },
    /// Valid credentials without the roles: 403.
    Forbidden {
        /// The roles the route requires.
        roles: Vec<String>,
    },
}

impl Caller<'_> {
    /// Whether the caller passes `guarded`; `Err` says why not.
    fn admitted(self, guarded: &Guarded) -> Result<(), Denial> {
        for (guard, roles) in guarded {
            match self {
                Self::Anonymous => return Err(Denial::Unauthenticated { invalid: false }),
                Self::Rejected => return Err(Denial::Unauthenticated { invalid: true }),
                Self::Authorized(principal) => {
                    if principal.guard != *guard {
                        return Err(Denial::Unauthenticated { invalid: false });
                    }
                    if !principal.has_roles(roles) {
                        return Err(Denial::Forbidden {
                            roles: roles.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// The first guard refusal seen while routing, kept in case no route matches.
#[derive(Default)]
struct Refusals(Option<Denial>);

impl Refusals {
    fn admits(&mut self, caller: Caller<'_>, guarded: &Guarded) -> bool {
        match caller.admitted(guarded) {
            Ok(()) => true,
            Err(denial) => {
                self.0.get_or_insert(denial);
                false
            }
        }
    }

    fn not_found<'t>(self) -> Resolved<'t> {
        self.0.map_or(Resolved::NotFound, Resolved::Denied)
    }
}

impl RouteTable {
    /// A table with no listener and no route.
    pub fn empty() -> Self {
        Self {
            name: String::new(),
            listeners: Vec::new(),
            clusters: Vec::new(),
            guards: Vec::new(),
            servers: Vec::new(),
            http_kafka: Vec::new(),
            sse_servers: Vec::new(),
            sse_kafka: Vec::new(),
        }
    }

    /// Every `http-kafka` route with its binding.
    pub fn http_kafka_routes(&self) -> impl Iterator<Item = (&HttpKafkaBinding, &HttpKafkaRoute)> {
        self.http_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter().map(move |route| (binding, route)))
    }

    /// Every `sse-kafka` route with its binding.
    pub fn sse_kafka_routes(&self) -> impl Iterator<Item = (&SseKafkaBinding, &SseKafkaRoute)> {
        self.sse_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter().map(move |route| (binding, route)))
    }

    /// Every `http` server binding.
    pub fn servers(&self) -> &[HttpServer] {
        &self.servers
    }

    /// The fingerprints of every SSE route.
    pub fn stream_fingerprints(&self) -> impl Iterator<Item = u64> + '_ {
        self.sse_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter())
            .map(|route| route.fingerprint)
    }

    /// Every (cluster, topic) that SSE routes stream, without repeats.
    pub fn stream_topics(&self) -> Vec<(usize, &str)> {
        let mut topics: Vec<(usize, &str)> = Vec::new();
        for route in self
            .sse_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter())
        {
            let entry = (route.action.cluster, route.action.topic.as_str());
            if !topics.contains(&entry) {
                topics.push(entry);
            }
        }
        topics
    }

    /// The `http` server serving `port`, if any.
    pub fn server_for_port(&self, port: u16) -> Option<&HttpServer> {
        self.listeners
            .iter()
            .find(|listener| listener.port == port)
            .and_then(|listener| self.servers.get(listener.server))
    }

    /// Every produce action, for preparing the producers a table needs.
    pub fn produce_actions(&self) -> impl Iterator<Item = &ProduceAction> {
        self.http_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter())
            .filter_map(|route| match &route.action {
                Action::Produce(action) => Some(action.as_ref()),
                Action::Fetch(_) => None,
            })
    }

    /// Every (cluster, topic) that fetch routes read, without repeats.
    pub fn fetch_topics(&self) -> Vec<(usize, &str)> {
        let mut topics: Vec<(usize, &str)> = Vec::new();
        for route in self
            .http_kafka
            .iter()
            .flat_map(|binding| binding.routes.iter())
        {
            if let Action::Fetch(fetch) = &route.action {
                let entry = (fetch.cluster, fetch.topic.as_str());
                if !topics.contains(&entry) {
                    topics.push(entry);
                }
            }
        }
        topics
    }

    /// Every (cluster, reply topic, reply correlation header) that request-response routes
    /// wait on, without repeats.
    pub fn reply_topics(&self) -> Vec<(usize, &str, &str)> {
        let mut topics: Vec<(usize, &str, &str)> = Vec::new();
        for action in self.produce_actions() {
            if let Some(reply) = &action.reply {
                let entry = (
                    action.cluster,
                    reply.topic.as_str(),
                    reply.reply_correlation_header.as_str(),
                );
                if !topics.contains(&entry) {
                    topics.push(entry);
                }
            }
        }
        topics
    }

    /// Routes a request that arrived on listener `port`, from `caller`.
    pub fn resolve(
        &self,
        port: u16,
        request: &dyn RequestHead,
        caller: Caller<'_>,
    ) -> Resolved<'_> {
        let Some(server) = self.server_for_port(port) else {
            return Resolved::NotFound;
        };
        let mut refusals = Refusals::default();
        let exit = server
            .routes
            .iter()
            .find(|route| {
                (route.when.is_empty() || route.when.iter().any(|all| headers_match(all, request)))
                    && refusals.admits(caller, &route.guarded)
            })
            .map(|route| route.exit)
            .or(server.exit);
        let resolved = match exit {
            None => Resolved::NotFound,
            Some(Exit::Echo) => Resolved::Echo,
            Some(Exit::Sse(index)) => {
                self.resolve_sse(&self.sse_servers[index], request, caller, &mut refusals)
            }
            Some(Exit::HttpKafka(index)) => {
                self.resolve_http_kafka(&self.http_kafka[index], request, caller, &mut refusals)
            }
        };
        match resolved {
            Resolved::NotFound => refusals.not_found(),
            found => found,
        }
    }

    fn resolve_http_kafka<'t>(
        &'t self,
        binding: &'t HttpKafkaBinding,
        request: &dyn RequestHead,
        caller: Caller<'_>,
        refusals: &mut Refusals,
    ) -> Resolved<'t> {
        for route in &binding.routes {
            let matched = if route.when.is_empty() {
                Some(Ok(Vec::new()))
            } else {
                route.when.iter().find_map(|c| c.matches(request))
            };
            match matched {
                None => continue,
                Some(Err(bad)) => return Resolved::BadParam(bad),
                Some(Ok(params)) => {
                    if refusals.admits(caller, &route.guarded) {
                        return Resolved::HttpKafka {
                            binding,
                            route,
                            params,
                        };
                    }
                }
            }
        }
        Resolved::NotFound
    }
}

impl RouteTable {
    fn resolve_sse<'t>(
        &'t self,
        server: &'t SseServer,
        request: &dyn RequestHead,
        caller: Caller<'_>,
        refusals: &mut Refusals,
    ) -> Resolved<'t> {
        let path = request.path();
        let exit = server
            .routes
            .iter()
            .find(|(when, _)| when.is_empty() || when.iter().any(|t| t.matches(path).is_some()))
            .map(|(_, exit)| *exit)
            .or(server.exit);
        let Some(binding) = exit.and_then(|index| self.sse_kafka.get(index)) else {
            return Resolved::NotFound;
        };
        for route in &binding.routes {
            let matched = if route.when.is_empty() {
                Some(Ok(Vec::new()))
            } else {
                route.when.iter().find_map(|t| t.matches(path))
            };
            match matched {
                None => continue,
                Some(Err(bad)) => return Resolved::BadParam(bad),
                Some(Ok(params)) => {
                    if refusals.admits(caller, &route.guarded) {
                        return Resolved::Sse {
                            server,
                            route,
                            params,
                        };
                    }
                }
            }
        }
        Resolved::NotFound
    }
}

impl RequestCondition {
    fn matches(&self, request: &dyn RequestHead) -> Option<Result<Params, BadParam>> {
        if let Some(method) = &self.method
            && !method.eq_ignore_ascii_case(request.method())
        {
            return None;
        }
        match &self.path {
            Some(path) => path.matches(request.path()),
            None => Some(Ok(Vec::new())),
        }
    }
}

fn headers_match(all: &[(String, String)], request: &dyn RequestHead) -> bool {
    all.iter().all(|(name, pattern)| {
        let value = match name.as_str() {
            ":method" => Some(request.method()),
            ":path" => Some(request.path()),
            ":scheme" => Some(request.scheme()),
            ":authority" => Some(request.authority()),
            other => request.header(other),
        };
        value.is_some_and(|value| wildcard_match(pattern, value))
    })
}

#[cfg(test)]
mod tests;
