//! The admin listener: binding, serving connections with hyper, stopping.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tracing::{debug, info};

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

/// Binds the admin listener and serves it until [`Admin::stop`].
pub async fn start(app: Arc<App>, listen: SocketAddr, token: Token) -> std::io::Result<Admin> {
    serve(listen, "admin API", move |request, open_reads| {
        let (app, token) = (app.clone(), token.clone());
        async move { handle(&app, &token, open_reads, request).await }
    })
    .await
}

/// Binds `listen` and answers every request with `handler`, told whether reads are open
/// (the listener is on loopback), until [`Admin::stop`].
pub(crate) async fn serve<H, F>(
    listen: SocketAddr,
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
    info!(%local, open_reads, "{what} listening");
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
            let handler = handler.clone();
            let mut stopping = stopped.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let answer = handler(request, open_reads);
                    async move { Ok::<_, Infallible>(answer.await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    served = connection => {
                        if let Err(error) = served {
                            debug!(%peer, error = %error, "admin connection ended with an error");
                        }
                    }
                    _ = stopping.changed() => {}
                }
            });
        }
    });
    Ok(Admin { local, stop })
}
