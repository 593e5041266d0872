//! An OTLP/HTTP collector for the tests: every export it gets (path, `authorization`,
//! body) arrives on a channel, to be decoded with `opentelemetry-proto`.

use std::convert::Infallible;

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One export the receiver got: path, `authorization`, body.
pub type Export = (String, Option<String>, Bytes);

/// An OTLP/HTTP receiver on loopback, over TLS (the test server certificate) when `tls`;
/// every export arrives on the channel.
pub async fn receiver(tls: bool) -> Result<(u16, mpsc::UnboundedReceiver<Export>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (sender, exports) = mpsc::unbounded_channel();
    let acceptor = if tls {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let dir = format!("{}/../testdata/vault", env!("CARGO_MANIFEST_DIR"));
        let chain = vec![CertificateDer::from_pem_file(format!("{dir}/server.pem"))?];
        let key = PrivateKeyDer::from_pem_file(format!("{dir}/server.key"))?;
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
        Some(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
    } else {
        None
    };
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sender = sender.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: http::Request<Incoming>| {
                        let sender = sender.clone();
                        async move {
                            let path = request.uri().path().to_owned();
                            let authorization = request
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            let body = request
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let _ = sender.send((path, authorization, body));
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
                        }
                    });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    Ok((port, exports))
}
