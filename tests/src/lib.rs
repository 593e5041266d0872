//! End-to-end test support: a Kafka broker, a running Sluice, an HTTP client and a Kafka
//! consumer to check what landed.
//!
//! The broker is the one named by `KAFKA_BOOTSTRAP_SERVERS` (the test command starts Tansu
//! and sets it), or, when that is unset, librdkafka's in-process mock cluster. Every test
//! uses its own topics, created explicitly with one partition.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use sluice_controlplane::{App, AppConfig, ConfigSource, KafkaSource};
use sluice_dataplane::{DataPlaneOptions, EmbeddedBroker};

pub mod tansu;

/// The broker the tests run against.
pub enum TestBroker {
    /// A real broker (Tansu in CI).
    Real(String),
    /// The in-process mock cluster.
    Mock(EmbeddedBroker),
}

/// The process-wide broker.
pub fn broker() -> &'static TestBroker {
    static BROKER: OnceLock<TestBroker> = OnceLock::new();
    BROKER.get_or_init(|| match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
        Ok(servers) if !servers.trim().is_empty() => TestBroker::Real(servers),
        _ => TestBroker::Mock(
            EmbeddedBroker::start().unwrap_or_else(|e| panic!("mock cluster: {e}")),
        ),
    })
}

impl TestBroker {
    /// `host:port` list.
    pub fn bootstrap(&self) -> &str {
        match self {
            Self::Real(servers) => servers,
            Self::Mock(mock) => mock.bootstrap_servers(),
        }
    }

    /// Whether this is the mock cluster.
    pub fn is_mock(&self) -> bool {
        matches!(self, Self::Mock(_))
    }

    /// Creates a fresh topic with a unique name starting with `prefix`.
    pub async fn topic(&self, prefix: &str) -> Result<String> {
        let name = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
        match self {
            Self::Mock(mock) => mock.create_topic(&name, 1).map_err(|e| anyhow!(e))?,
            Self::Real(servers) => {
                let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
                    .set("bootstrap.servers", servers)
                    .create()?;
                let topic = NewTopic::new(&name, 1, TopicReplication::Fixed(1));
                let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
                for result in admin.create_topics([&topic], &options).await? {
                    result.map_err(|(topic, code)| anyhow!("create topic {topic}: {code}"))?;
                }
            }
        }
        Ok(name)
    }

    /// Produces one record to partition 0 of `topic` and waits for the acknowledgement.
    pub async fn produce(
        &self,
        topic: &str,
        key: &str,
        value: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<()> {
        use rdkafka::message::{Header, OwnedHeaders};
        use rdkafka::producer::{FutureProducer, FutureRecord};
        static PRODUCER: OnceLock<FutureProducer> = OnceLock::new();
        let producer = match PRODUCER.get() {
            Some(producer) => producer,
            None => {
                let created: FutureProducer = ClientConfig::new()
                    .set("bootstrap.servers", self.bootstrap())
                    .set("linger.ms", "0")
                    .create()?;
                PRODUCER.get_or_init(|| created)
            }
        };
        let mut owned = OwnedHeaders::new();
        for (name, value) in headers {
            owned = owned.insert(Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
        let mut record = FutureRecord::to(topic).key(key).partition(0).headers(owned);
        if let Some(value) = value {
            record = record.payload(value);
        }
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(error, _)| anyhow!("produce to {topic}: {error}"))?;
        Ok(())
    }

    /// Reads `count` records from partition 0 of `topic` from the start, waiting up to
    /// `timeout`; fails if fewer arrive. Waits a little longer to catch extra records.
    pub async fn read(&self, topic: &str, count: usize, timeout: Duration) -> Result<Vec<Record>> {
        let servers = self.bootstrap().to_owned();
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || read_blocking(&servers, &topic, count, timeout)).await?
    }
}

/// A record as the tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Key, if not null.
    pub key: Option<Vec<u8>>,
    /// Value, `None` for a tombstone.
    pub value: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Record {
    /// Copies a consumed message.
    pub fn of(message: &impl Message) -> Self {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers,
        }
    }

    /// The first header called `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_ref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// A consumer of partition 0 of `topic` from its first record, in a group of its own.
fn consumer_from_start<C: Consumer + rdkafka::config::FromClientConfig>(
    servers: &str,
    topic: &str,
) -> Result<C> {
    let consumer: C = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set(
            "group.id",
            format!("sluice-tests-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// How long to keep polling for unexpected extra records after the expected ones arrived.
const EXTRA_RECORD_WAIT: Duration = Duration::from_millis(300);

fn read_blocking(
    servers: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Result<Vec<Record>> {
    let consumer: BaseConsumer = consumer_from_start(servers, topic)?;
    let mut records = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut extra_deadline: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let until = extra_deadline.unwrap_or(deadline);
        if now >= until {
            break;
        }
        match consumer.poll(until - now) {
            Some(Ok(message)) => {
                records.push(Record::of(&message));
                if records.len() >= count && extra_deadline.is_none() {
                    extra_deadline = Some(Instant::now() + EXTRA_RECORD_WAIT);
                }
            }
            Some(Err(error)) => bail!("consume {topic}: {error}"),
            None => {}
        }
    }
    if records.len() < count {
        bail!(
            "expected {count} record(s) on {topic}, got {}: {records:?}",
            records.len()
        );
    }
    Ok(records)
}

/// A Sluice started for one test, its listeners on ephemeral loopback ports.
pub struct Sluice {
    /// The app.
    pub app: App,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// An HTTP response as the tests see it.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("body is not JSON: {:?}", self.body))
    }
}

impl Sluice {
    /// Starts Sluice with configuration `text` from `source`, against the test broker.
    pub async fn start(config: ConfigSource) -> Result<Self> {
        Self::start_in(config, None).await
    }

    /// Starts Sluice with configuration `text` and a store in a fresh temporary folder, so
    /// that `app.change` can apply changes.
    pub async fn with_store(text: &str) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("sluice-store-{}", uuid::Uuid::new_v4()));
        Self::start_in(ConfigSource::Text(text.to_owned()), Some(dir)).await
    }

    async fn start_in(config: ConfigSource, data_dir: Option<std::path::PathBuf>) -> Result<Self> {
        Self::start_with(config, data_dir, DataPlaneOptions::default()).await
    }

    /// Starts Sluice with configuration `text` and data-plane `options` (its listeners
    /// still on ephemeral loopback ports).
    pub async fn with_options(text: &str, options: DataPlaneOptions) -> Result<Self> {
        Self::start_with(ConfigSource::Text(text.to_owned()), None, options).await
    }

    async fn start_with(
        config: ConfigSource,
        data_dir: Option<std::path::PathBuf>,
        options: DataPlaneOptions,
    ) -> Result<Self> {
        let app = App::start(AppConfig {
            config,
            kafka: KafkaSource::Config,
            data_plane: DataPlaneOptions {
                bind_override: Some("127.0.0.1:0".parse()?),
                ..options
            },
            data_dir,
        })
        .await?;
        Ok(Self {
            app,
            client: Self::client(),
        })
    }

    /// A plain HTTP/1.1 client.
    pub fn client() -> Client<HttpConnector, Full<Bytes>> {
        Client::builder(TokioExecutor::new()).build_http()
    }

    /// Starts Sluice with configuration `text`.
    pub async fn with_config(text: &str) -> Result<Self> {
        Self::start(ConfigSource::Text(text.to_owned())).await
    }

    /// Address of the listener configured on `port`.
    pub async fn addr(&self, port: u16) -> Result<SocketAddr> {
        self.app
            .local_addr(port)
            .await
            .context("no listener on that port")
    }

    /// Sends one HTTP/1.1 request to the listener configured on `port`.
    pub async fn send(
        &self,
        port: u16,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Reply> {
        let addr = self.addr(port).await?;
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .client
            .request(request.body(Full::new(body.into()))?)
            .await?;
        let (parts, body) = response.into_parts();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await?.to_bytes(),
        })
    }
}

/// A configuration with one tcp listener on `port`, an http server, and the http-kafka
/// `routes` (YAML, indented for the routes list), producing to the test broker with
/// `properties` (YAML flow map) on the kafka client.
pub fn config(port: u16, http_options: &str, routes: &str, properties: &str) -> String {
    format!(
        r#"
name: test
bindings:
  tcp:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: {port} }}
    exit: http
  http:
    type: http
    kind: server
    options: {{ {http_options} }}
    routes:
      - when: [ {{ headers: {{ ":path": /echo }} }} ]
        exit: echo
    exit: mapping
  echo:
    type: echo
    kind: server
  mapping:
    type: http-kafka
    kind: proxy
    routes:
{routes}
  cache:
    type: kafka
    kind: cache_client
    exit: client
  client:
    type: kafka
    kind: client
    options:
      servers: [ "{servers}" ]
      properties: {{ {properties} }}
"#,
        servers = broker().bootstrap(),
    )
}

/// A closed loopback port: nothing listens there.
pub fn closed_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// What a [`Responder`] answers to one request record.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// `:status` header; none leaves it out (Sluice then answers 200).
    pub status: Option<String>,
    /// Other reply headers.
    pub headers: Vec<(String, String)>,
    /// Reply value.
    pub body: Vec<u8>,
    /// Wait this long before replying.
    pub delay: Duration,
}

/// A service that consumes a request topic and replies on a reply topic, copying the
/// correlation id, as a backend behind Sluice would.
pub struct Responder {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Responder {
    /// Starts answering every record of `request_topic` (from its beginning) with `answer`.
    pub fn start(
        request_topic: &str,
        reply_topic: &str,
        answer: impl Fn(&Record) -> Answer + Send + Sync + 'static,
    ) -> Result<Self> {
        use rdkafka::consumer::StreamConsumer;
        use rdkafka::message::{Header, OwnedHeaders};
        use rdkafka::producer::{FutureProducer, FutureRecord};
        let servers = broker().bootstrap().to_owned();
        let consumer: StreamConsumer = consumer_from_start(&servers, request_topic)?;
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &servers)
            .set("linger.ms", "0")
            .create()?;
        let reply_topic = reply_topic.to_owned();
        let answer = std::sync::Arc::new(answer);
        let task = tokio::spawn(async move {
            loop {
                let Ok(message) = consumer.recv().await else {
                    continue;
                };
                let record = Record::of(&message);
                let Some(correlation_id) = record.header("zilla:correlation-id") else {
                    continue;
                };
                let reply = answer(&record);
                let (producer, topic) = (producer.clone(), reply_topic.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(reply.delay).await;
                    let mut headers = OwnedHeaders::new().insert(Header {
                        key: "zilla:correlation-id",
                        value: Some(correlation_id.as_bytes()),
                    });
                    if let Some(status) = &reply.status {
                        headers = headers.insert(Header {
                            key: ":status",
                            value: Some(status.as_bytes()),
                        });
                    }
                    for (name, value) in &reply.headers {
                        headers = headers.insert(Header {
                            key: name,
                            value: Some(value.as_bytes()),
                        });
                    }
                    let record = FutureRecord::<(), _>::to(&topic)
                        .payload(&reply.body)
                        .headers(headers);
                    let _ = producer.send(record, Duration::from_secs(5)).await;
                });
            }
        });
        Ok(Self { task })
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// `id:`.
    pub id: Option<String>,
    /// `event:`.
    pub event: Option<String>,
    /// `data:` lines joined with `\n`.
    pub data: String,
}

/// An open SSE response being read.
pub struct EventStream {
    body: hyper::body::Incoming,
    buffer: String,
    /// Comment lines seen so far.
    pub comments: Vec<String>,
    /// `retry:` value, once seen.
    pub retry: Option<String>,
}

impl EventStream {
    /// Wraps a response body.
    pub fn new(body: hyper::body::Incoming) -> Self {
        Self {
            body,
            buffer: String::new(),
            comments: Vec::new(),
            retry: None,
        }
    }

    /// The next event (comments and `retry:` are recorded, not returned).
    pub async fn next(&mut self, timeout: Duration) -> Result<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Event::default();
                let mut data: Vec<&str> = Vec::new();
                for line in block.lines() {
                    if let Some(comment) = line.strip_prefix(':') {
                        self.comments.push(comment.to_owned());
                    } else if let Some(id) = line.strip_prefix("id:") {
                        event.id = Some(id.to_owned());
                    } else if let Some(kind) = line.strip_prefix("event:") {
                        event.event = Some(kind.to_owned());
                    } else if let Some(line) = line.strip_prefix("data:") {
                        data.push(line);
                    } else if let Some(retry) = line.strip_prefix("retry:") {
                        self.retry = Some(retry.to_owned());
                    }
                }
                if !data.is_empty() || event.event.is_some() {
                    event.data = data.join("\n");
                    return Ok(event);
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .context("no event in time")?
                .context("the stream ended")??;
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

/// Waits until `condition` holds, asking every 20 ms, for at most `within`; the error says
/// `what` was awaited. Use it instead of a sleep wherever a condition can be observed.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut condition: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if condition().await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Sluice {
    /// The value of one series of `/metrics` (name and labels exactly as rendered, e.g.
    /// `sluice_fetch_waiters`), or `None` when it is not rendered.
    pub fn metric(&self, series: &str) -> Option<f64> {
        let text = self.app.render_metrics();
        text.lines().find_map(|line| {
            let value = line.strip_prefix(series)?.strip_prefix(' ')?;
            value.trim().parse().ok()
        })
    }

    /// Waits until `series` reaches at least `value` (a request parked, a stream open).
    pub async fn gauge_at_least(&self, series: &str, value: f64) -> Result<()> {
        eventually(Duration::from_secs(10), series, || async {
            self.metric(series).is_some_and(|v| v >= value)
        })
        .await
    }

    /// Opens an SSE stream with HTTP/1.1.
    pub async fn stream(
        &self,
        port: u16,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<(StatusCode, HeaderMap, EventStream)> {
        let addr = self.addr(port).await?;
        let mut request =
            Request::get(format!("http://{addr}{path}")).header("accept", "text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .client
            .request(request.body(Full::new(Bytes::new()))?)
            .await?;
        let (parts, body) = response.into_parts();
        Ok((parts.status, parts.headers, EventStream::new(body)))
    }
}

/// Test tokens and keys for the JWT guard (keys from `testdata/jwt`, for tests only).
#[allow(
    clippy::expect_used,
    reason = "fixed test keys: failing to load them is a broken checkout"
)]
pub mod jwt {
    use std::time::{SystemTime, UNIX_EPOCH};

    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};

    /// First RSA key.
    pub const RSA1: &str = include_str!("../../testdata/jwt/rsa1.pem");
    /// Second RSA key.
    pub const RSA2: &str = include_str!("../../testdata/jwt/rsa2.pem");

    /// Seconds since the epoch.
    pub fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    fn key(pem: &str) -> EncodingKey {
        EncodingKey::from_rsa_pem(pem.as_bytes()).expect("test key")
    }

    /// The public JWK of RSA key `pem`, RS256, with `kid`.
    pub fn public_jwk(pem: &str, kid: &str) -> Value {
        let jwk = Jwk::from_encoding_key(&key(pem), Algorithm::RS256).expect("jwk");
        let mut value = serde_json::to_value(jwk).expect("json");
        value["kid"] = json!(kid);
        value
    }

    /// Claims for `sub` with `scope`, expiring `ttl` seconds from now, tenant 42.
    pub fn claims(sub: &str, scope: &str, ttl: i64) -> Value {
        json!({
            "iss": "https://auth.test",
            "aud": "sluice",
            "sub": sub,
            "scope": scope,
            "tenant": "42",
            "exp": now() + ttl,
        })
    }

    /// A token signed RS256 with `pem`, naming `kid`.
    pub fn token(pem: &str, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &key(pem)).expect("sign")
    }

    /// The YAML `guards:` section of a guard `jwt` with `keys` (JSON) and extra options.
    pub fn guard_section(keys: &str, extra: &str) -> String {
        format!(
            "guards:\n  jwt:\n    type: jwt\n    options:\n      issuer: https://auth.test\n      audience: sluice\n      attributes: {{ tenant: tenant }}\n      keys: {keys}\n{extra}"
        )
    }
}

/// TLS for the tests: a certificate authority made at test time, server certificates it
/// signs, configurations with a `tls` binding, and clients that trust the authority.
pub mod tls {
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::sync::Arc;

    use anyhow::{Context, Result};
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::net::TcpStream;
    use tokio_rustls::client::TlsStream;

    /// A test certificate authority and the directory its files go to.
    pub struct TestCa {
        certificate: rcgen::Certificate,
        key: KeyPair,
        dir: PathBuf,
    }

    /// A server certificate and key written as PEM files.
    #[derive(Debug, Clone)]
    pub struct Issued {
        /// Path of the certificate file.
        pub certificate: String,
        /// Path of the key file.
        pub key: String,
        /// The certificate, DER, as a client sees it.
        pub der: Vec<u8>,
    }

    impl TestCa {
        /// A new authority; its files go to a fresh temporary directory.
        pub fn new() -> Result<Self> {
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "Sluice test CA");
            let key = KeyPair::generate()?;
            let certificate = params.self_signed(&key)?;
            let dir = std::env::temp_dir().join(format!("sluice-tls-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("ca.pem"), certificate.pem())?;
            Ok(Self {
                certificate,
                key,
                dir,
            })
        }

        /// The authority's certificate, PEM.
        pub fn pem(&self) -> String {
            self.certificate.pem()
        }

        /// Path of the authority's certificate file.
        pub fn ca_file(&self) -> String {
            self.dir.join("ca.pem").display().to_string()
        }

        /// A certificate for `localhost` and 127.0.0.1, written to `<name>.pem` and
        /// `<name>-key.pem`.
        pub fn issue(&self, name: &str) -> Result<Issued> {
            let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
            params
                .subject_alt_names
                .push(SanType::IpAddress([127, 0, 0, 1].into()));
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            let key = KeyPair::generate()?;
            let certificate = params.signed_by(&key, &self.certificate, &self.key)?;
            let cert_path = self.dir.join(format!("{name}.pem"));
            let key_path = self.dir.join(format!("{name}-key.pem"));
            std::fs::write(&cert_path, certificate.pem())?;
            std::fs::write(&key_path, key.serialize_pem())?;
            Ok(Issued {
                certificate: cert_path.display().to_string(),
                key: key_path.display().to_string(),
                der: certificate.der().to_vec(),
            })
        }

        /// A path in the authority's directory.
        pub fn path(&self, name: &str) -> String {
            self.dir.join(name).display().to_string()
        }

        /// A client configuration trusting only this authority, offering `alpn`.
        pub fn client_config(&self, alpn: &[&str]) -> Result<Arc<rustls::ClientConfig>> {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(CertificateDer::from(self.certificate.der().to_vec()))?;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
            Ok(Arc::new(config))
        }

        /// Connects to `addr` with TLS (server name `localhost`), offering `alpn`.
        pub async fn connect(
            &self,
            addr: SocketAddr,
            alpn: &[&str],
        ) -> Result<TlsStream<TcpStream>> {
            let config = self.client_config(alpn)?;
            let tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let name = ServerName::try_from("localhost")?;
            tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .context("tls handshake")
        }
    }

    impl Drop for TestCa {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// The certificate the server presented on `stream`, DER.
    pub fn peer_certificate(stream: &TlsStream<TcpStream>) -> Option<Vec<u8>> {
        let (_, connection) = stream.get_ref();
        connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|c| c.as_ref().to_vec())
    }

    /// The protocol ALPN chose on `stream`.
    pub fn alpn(stream: &TlsStream<TcpStream>) -> Option<String> {
        let (_, connection) = stream.get_ref();
        connection
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    }

    /// `config` (from [`crate::config`]) with TLS in front of its http server: the tcp
    /// binding exits to a `tls` binding with `issued`'s files.
    pub fn with_tls(config: &str, issued: &Issued) -> Result<String> {
        const PLAIN: &str =
            "    kind: server\n    options: { host: 127.0.0.1, port: 8080 }\n    exit: http\n";
        anyhow::ensure!(
            config.contains(PLAIN),
            "no tcp binding on port 8080 exiting to http"
        );
        let config = config.replacen(
            PLAIN,
            "    kind: server\n    options: { host: 127.0.0.1, port: 8080 }\n    exit: tls\n",
            1,
        );
        Ok(config.replacen(
            "bindings:\n",
            &format!(
                "bindings:\n  tls:\n    type: tls\n    kind: server\n    options: {{ certificate: \"{}\", key: \"{}\" }}\n    exit: http\n",
                issued.certificate, issued.key
            ),
            1,
        ))
    }
}
