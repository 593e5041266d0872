//! A JWKS endpoint for the guard tests: serves a document the test changes, and can stop.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// A JWKS endpoint whose document the test changes, and can stop.
pub struct JwksServer {
    /// Where the document is served.
    pub url: String,
    /// The document served; change it to rotate keys.
    pub document: Arc<Mutex<Value>>,
    /// The server task; abort it to make the JWKS unreachable.
    pub task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    /// Serves `document` on a loopback port.
    pub async fn start(document: Value) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/jwks.json", listener.local_addr()?);
        let document = Arc::new(Mutex::new(document));
        let served = document.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let served = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_request| {
                        let body = served.lock().map(|d| d.to_string()).unwrap_or_default();
                        async move {
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(body))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            url,
            document,
            task,
        })
    }
}
