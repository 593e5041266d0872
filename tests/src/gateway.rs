//! A gateway as `sluice serve` runs it: the app with a store in a temporary directory, and
//! its admin API with a known token, for the admin API's tests.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use sluice_controlplane::admin::{self, Admin, Token};
use sluice_controlplane::{App, AppConfig, ConfigSource, KafkaSource};
use sluice_dataplane::DataPlaneOptions;

use crate::sluice::{Reply, Sluice};

/// The data-plane port of the gateway's configurations.
pub const PORT: u16 = 8080;
/// The admin token.
pub const TOKEN: &str = "test-admin-token";
/// The `authorization` value that carries [`TOKEN`].
pub const BEARER: &str = "Bearer test-admin-token";

/// A configuration whose only route is an echo on `path`.
pub fn echo_config(path: &str) -> String {
    format!(
        r#"
name: admin-test
bindings:
  tcp: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: {PORT} }}, exit: http }}
  http:
    type: http
    kind: server
    routes:
      - when: [ {{ headers: {{ ":path": "{path}" }} }} ]
        exit: echo
  echo: {{ type: echo, kind: server }}
"#
    )
}

/// A gateway as `sluice serve` runs it: the app with a store, and its admin API.
pub struct Gateway {
    /// The app.
    pub app: Arc<App>,
    /// Its admin listener.
    pub admin: Admin,
    /// Its store's directory.
    pub data_dir: PathBuf,
}

impl Gateway {
    /// Starts the app with its store in `data_dir`, and its admin API, on loopback.
    pub async fn start(data_dir: PathBuf, config: ConfigSource) -> Result<Self> {
        let app = Arc::new(
            App::start(AppConfig {
                config,
                kafka: KafkaSource::Config,
                data_plane: DataPlaneOptions {
                    bind_override: Some("127.0.0.1:0".parse()?),
                    ..DataPlaneOptions::default()
                },
                data_dir: Some(data_dir.clone()),
            })
            .await?,
        );
        let admin =
            admin::start(app.clone(), "127.0.0.1:0".parse()?, None, Token::new(TOKEN)).await?;
        Ok(Self {
            app,
            admin,
            data_dir,
        })
    }

    /// A gateway with a fresh store whose configuration echoes on `path`.
    pub async fn fresh(path: &str) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("sluice-admin-{}", uuid::Uuid::new_v4()));
        Self::start(dir, ConfigSource::Text(echo_config(path))).await
    }

    /// Stops the admin listener and the app; the store closes when the last admin
    /// connection lets go of the app (a restart on the same directory waits for it).
    pub async fn stop(self) -> Result<()> {
        self.admin.stop();
        self.app.shutdown(Duration::from_secs(1)).await;
        Ok(())
    }

    /// An admin request.
    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Reply> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.admin.local));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = Sluice::client()
            .request(request.body(Full::new(Bytes::from(body.to_owned())))?)
            .await?;
        let (parts, body) = response.into_parts();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await?.to_bytes(),
        })
    }

    /// `PUT /v1/config` with the token.
    pub async fn put(&self, config: &Value, headers: &[(&str, &str)]) -> Result<Reply> {
        let auth = BEARER;
        let mut all = vec![("authorization", auth)];
        all.extend_from_slice(headers);
        self.admin(Method::PUT, "/v1/config", &all, &config.to_string())
            .await
    }

    /// The head configuration and its ETag.
    pub async fn head(&self) -> Result<(Value, String)> {
        let reply = self.admin(Method::GET, "/v1/config", &[], "").await?;
        anyhow::ensure!(reply.status == StatusCode::OK, "{:?}", reply);
        let etag = reply.headers["etag"].to_str()?.to_owned();
        Ok((reply.json()?, etag))
    }

    /// The status of `POST path` on the data plane.
    pub async fn data(&self, path: &str) -> Result<StatusCode> {
        let addr = self.app.local_addr(PORT).await.context("listener")?;
        let request =
            Request::post(format!("http://{addr}{path}")).body(Full::new(Bytes::from("x")))?;
        Ok(Sluice::client().request(request).await?.status())
    }
}
