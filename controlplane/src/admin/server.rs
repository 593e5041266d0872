//! The admin listener: binding, serving connections with hyper, stopping.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sluice_dataplane::FileAcceptor;
use tracing::{debug, info, warn};

use super::answer::Answer;
use super::router::handle;
use super::token::Token;
use crate::app::App;

/// A running admin listener.
pub struct Admin {
    /// Where it listens.
    pub local: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Admin {
    /// Stops accepting and closes admin connections, so that the app can shut down.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// Binds the admin listener and serves it until [`Admin::stop`], over TLS when `tls` is
/// given.
pub async fn start(
    app: Arc<App>,
    listen: SocketAddr,
    tls: Option<Arc<FileAcceptor>>,
    token: Token,
) -> std::io::Result<Admin> {
    let served = tls.clone();
    serve(listen, tls, "admin API", move |request, open_reads| {
        let (app, token, tls) = (app.clone(), token.clone(), served.clone());
        async move { handle((&app, tls.as_deref()), &token, open_reads, request).await }
    })
    .await
}

/// How long a client gets to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `listen` and answers every request with `handler`, told whether reads are open
/// (the listener is on loopback), until [`Admin::stop`]. With `tls`, every connection is
/// a TLS handshake first (with mutual TLS, one without a valid client certificate ends
/// there, before any request is read).
pub(crate) async fn serve<H, F>(
    listen: SocketAddr,
    tls: Option<Arc<FileAcceptor>>,
    what: &'static str,
    handler: H,
) -> std::io::Result<Admin>
where
    H: Fn(Request<Incoming>, bool) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    let listener = sluice_dataplane::listen(listen).await?;
    let local = listener.local_addr()?;
    let open_reads = local.ip().is_loopback();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mutual = tls.as_ref().is_some_and(|tls| tls.mutual());
    info!(%local, scheme, mutual, open_reads, "{what} listening");
    if tls.is_none() && !open_reads {
        warn!(%local, "{what} is reachable from other hosts over plain HTTP: the admin token (and the secrets sent with it) cross the network in clear; give --admin-tls-cert and --admin-tls-key");
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut stopping = stopped.clone();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopping.changed() => return,
            };
            let Ok((stream, peer)) = accepted else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            let stopping = stopped.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let Some(tls) = tls else {
                    return connection(stream, peer, handler, open_reads, stopping).await;
                };
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.config());
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        connection(stream, peer, handler, open_reads, stopping).await;
                    }
                    Ok(Err(error)) => {
                        warn!(%peer, error = %error, "{what}: TLS handshake refused");
                    }
                    Err(_) => debug!(%peer, "{what}: TLS handshake timed out"),
                }
            });
        }
    });
    Ok(Admin { local, stop })
}

/// Serves one connection until it ends or the listener stops.
async fn connection<I, H, F>(
    io: I,
    peer: SocketAddr,
    handler: H,
    open_reads: bool,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>, bool) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    let service = service_fn(move |request| {
        let answer = handler(request, open_reads);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::select! {
        served = connection => {
            if let Err(error) = served {
                debug!(%peer, error = %error, "admin connection ended with an error");
            }
        }
        _ = stopping.changed() => {}
    }
}
