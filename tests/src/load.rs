//! HTTPS load for certificate-swap tests, and TLS client connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::tls::{TestCa, alpn, peer_certificate};

/// An HTTP/2 client connection.
pub type H2 = hyper::client::conn::http2::SendRequest<Full<Bytes>>;
/// An HTTP/1.1 client connection.
pub type H1 = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// An HTTP/2 connection over TLS, and the certificate the server showed.
pub async fn h2(ca: &TestCa, addr: std::net::SocketAddr) -> Result<(H2, Vec<u8>)> {
    let stream = ca.connect(addr, &["h2", "http/1.1"]).await?;
    assert_eq!(alpn(&stream).as_deref(), Some("h2"));
    let certificate = peer_certificate(&stream).context("no server certificate")?;
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok((sender, certificate))
}

/// An HTTP/1.1 connection over TLS, and the certificate the server showed.
pub async fn h1(ca: &TestCa, addr: std::net::SocketAddr) -> Result<(H1, Vec<u8>)> {
    let stream = ca.connect(addr, &["http/1.1"]).await?;
    assert_eq!(alpn(&stream).as_deref(), Some("http/1.1"));
    let certificate = peer_certificate(&stream).context("no server certificate")?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok((sender, certificate))
}

/// A `POST` of `body` to `path`.
pub fn post(path: &str, body: &str) -> Result<Request<Full<Bytes>>> {
    Ok(Request::post(format!("https://localhost{path}"))
        .body(Full::new(Bytes::from(body.to_owned())))?)
}

/// Requests over HTTPS while a test swaps certificates: counts what succeeded and failed,
/// and notes the certificates new handshakes saw.
pub struct Load {
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    certificates: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// `persistent` tasks keep one h2 connection each; `fresh` tasks open a new h1
    /// connection (a new handshake) for every request and note the certificate they saw.
    pub fn start(
        ca: &Arc<TestCa>,
        addr: std::net::SocketAddr,
        persistent: usize,
        fresh: usize,
    ) -> Self {
        let load = Self {
            ok: Arc::default(),
            failed: Arc::default(),
            certificates: Arc::default(),
            stop: Arc::default(),
            tasks: Vec::new(),
        };
        let mut tasks = Vec::new();
        for _ in 0..persistent {
            let (ca, ok, failed, stop) = (
                ca.clone(),
                load.ok.clone(),
                load.failed.clone(),
                load.stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let Ok((mut sender, _)) = h2(&ca, addr).await else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                while !stop.load(Ordering::Relaxed) {
                    let Ok(request) = post("/echo", "persistent") else {
                        return;
                    };
                    match sender.send_request(request).await {
                        Ok(r) if r.status() == StatusCode::OK => ok.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }));
        }
        for _ in 0..fresh {
            let (ca, ok, failed, stop, seen) = (
                ca.clone(),
                load.ok.clone(),
                load.failed.clone(),
                load.stop.clone(),
                load.certificates.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let answer = async {
                        let (mut sender, certificate) = h1(&ca, addr).await?;
                        let response = sender.send_request(post("/echo", "fresh")?).await?;
                        anyhow::ensure!(response.status() == StatusCode::OK);
                        Ok(certificate)
                    };
                    match answer.await {
                        Ok(certificate) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut seen) = seen.lock() {
                                seen.push(certificate);
                            }
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        Self { tasks, ..load }
    }

    /// The certificates fresh handshakes saw so far.
    pub fn certificates_seen(&self) -> Vec<Vec<u8>> {
        self.certificates
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Stops the load; (succeeded, failed).
    pub async fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = task.await;
        }
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}
