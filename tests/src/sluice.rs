//! A running Sluice for a test: configurations, the app, an HTTP client, metrics.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sluice_controlplane::{App, AppConfig, ConfigSource, KafkaSource};
use sluice_dataplane::DataPlaneOptions;

use super::broker::broker;
use super::sse::EventStream;
use super::wait::eventually;

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
