//! Keys read from a JWKS URL: fetched before the configuration that names them goes live,
//! read again on schedule and when a token names an unknown `kid` (at most once per
//! [`UNKNOWN_KID_REFETCH`]), and kept through outages: a failed read never drops the last
//! good keys.
//!
//! `http://` and `https://` URLs. Over https the server's certificate is checked against the
//! system's authorities (`SSL_CERT_FILE` and `SSL_CERT_DIR` name others), TLS 1.2 or 1.3.

use sluice_shared::sync::lock;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use sluice_shared::guard::KeySet;
use tokio::sync::{Notify, watch};
use tracing::{info, warn};

/// Largest JWKS document read.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// Time allowed for one read.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Shortest interval between two reads caused by unknown `kid`s.
pub(crate) const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(5);
/// How long a request with an unknown `kid` waits for the read it caused.
const UNKNOWN_KID_WAIT: Duration = Duration::from_secs(3);
/// How long applying a configuration waits for the first read of a new URL.
const FIRST_FETCH_WAIT: Duration = Duration::from_secs(5);
/// Retry delays after a failed read: doubling from the first to the second.
const RETRY_DELAYS: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// The keys of one JWKS URL.
pub(crate) struct Jwks {
    url: String,
    keys: ArcSwap<KeySet>,
    /// Counts finished reads, successful or not.
    reads: watch::Sender<u64>,
    kick: Arc<Notify>,
    last_forced: Mutex<Option<Instant>>,
}

impl Drop for Jwks {
    fn drop(&mut self) {
        // Wake the refresher so that it sees the keys are gone and ends.
        self.kick.notify_one();
    }
}

impl Jwks {
    /// The keys as last read (empty until the first successful read).
    pub(crate) fn keys(&self) -> Arc<KeySet> {
        self.keys.load_full()
    }

    /// Asks for a read because a token named an unknown `kid`, and waits for it. `None`
    /// when a read was forced too recently or did not finish in time.
    pub(crate) async fn refresh_for_unknown_kid(&self) -> Option<Arc<KeySet>> {
        {
            let mut last = lock(&self.last_forced);
            if last.is_some_and(|at| at.elapsed() < UNKNOWN_KID_REFETCH) {
                return None;
            }
            *last = Some(Instant::now());
        }
        let mut reads = self.reads.subscribe();
        reads.borrow_and_update();
        self.kick.notify_one();
        tokio::time::timeout(UNKNOWN_KID_WAIT, reads.changed())
            .await
            .ok()?
            .ok()?;
        Some(self.keys())
    }
}

/// JWKS URLs in use, shared across configurations so that a reload does not read them again.
#[derive(Default)]
pub(crate) struct JwksPool {
    urls: Mutex<Vec<(String, Weak<Jwks>)>>,
}

impl JwksPool {
    /// The keys of `url`, reading them first if no configuration uses the URL yet.
    pub(crate) async fn attach(&self, url: &str, refresh: Duration) -> Arc<Jwks> {
        let existing = {
            let mut urls = lock(&self.urls);
            urls.retain(|(_, weak)| weak.strong_count() > 0);
            urls.iter()
                .find(|(u, _)| u == url)
                .and_then(|(_, weak)| weak.upgrade())
        };
        if let Some(jwks) = existing {
            return jwks;
        }
        let jwks = Arc::new(Jwks {
            url: url.to_owned(),
            keys: ArcSwap::from_pointee(KeySet::default()),
            reads: watch::Sender::new(0),
            kick: Arc::new(Notify::new()),
            last_forced: Mutex::new(None),
        });
        let mut reads = jwks.reads.subscribe();
        tokio::spawn(refresher(Arc::downgrade(&jwks), jwks.kick.clone(), refresh));
        if tokio::time::timeout(FIRST_FETCH_WAIT, reads.changed())
            .await
            .is_err()
        {
            warn!(
                url,
                "JWKS not read yet; tokens of this guard are refused until it is"
            );
        }
        {
            let mut urls = lock(&self.urls);
            urls.push((url.to_owned(), Arc::downgrade(&jwks)));
        }
        jwks
    }
}

impl JwksPool {
    /// Asks every JWKS URL in use to be read again now (SIGHUP); returns how many.
    pub(crate) fn refresh_all(&self) -> usize {
        let urls = lock(&self.urls);
        let mut count = 0;
        for jwks in urls.iter().filter_map(|(_, weak)| weak.upgrade()) {
            jwks.kick.notify_one();
            count += 1;
        }
        count
    }
}

async fn refresher(jwks: Weak<Jwks>, kick: Arc<Notify>, refresh: Duration) {
    let mut client = Fetcher::default();
    let mut retry = RETRY_DELAYS.0;
    loop {
        let Some(url) = jwks.upgrade().map(|j| j.url.clone()) else {
            return;
        };
        let wait = match fetch(&mut client, &url).await {
            Ok(keys) => {
                info!(url, keys = keys.len(), "JWKS read");
                retry = RETRY_DELAYS.0;
                if let Some(jwks) = jwks.upgrade() {
                    jwks.keys.store(Arc::new(keys));
                }
                refresh
            }
            Err(error) => {
                warn!(url, error = %error, retry_in_s = retry.as_secs(), "JWKS read failed; keeping the last keys");
                let wait = retry;
                retry = (retry * 2).min(RETRY_DELAYS.1);
                wait
            }
        };
        match jwks.upgrade() {
            Some(jwks) => jwks.reads.send_modify(|n| *n += 1),
            None => return,
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = kick.notified() => {}
        }
    }
}

/// Why a JWKS document could not be read; the guard keeps its last keys.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("bad URL: {0}")]
    Url(String),
    #[error("not an http or https URL")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("bad host name: {0}")]
    HostName(String),
    #[error(
        "no certificate authorities found on this system to check https with ({0} errors); install ca-certificates or set SSL_CERT_FILE"
    )]
    NoAuthorities(usize),
    #[error("tls: {0}")]
    Tls(String),
    #[error("request failed: {0}")]
    Request(String),
    #[error("status {0}")]
    Status(http::StatusCode),
    #[error("reading the body failed: {0}")]
    Body(String),
    #[error("no answer within {0} s")]
    Timeout(u64),
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("the document holds no usable key")]
    NoKey,
}

/// Reads JWKS documents over http or https, one connection per read.
#[derive(Default)]
struct Fetcher {
    /// The TLS client configuration, made at the first https read.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Fetcher {
    fn tls(&mut self) -> Result<Arc<rustls::ClientConfig>, FetchError> {
        if let Some(config) = &self.tls {
            return Ok(config.clone());
        }
        let found = rustls_native_certs::load_native_certs();
        let mut roots = rustls::RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(FetchError::NoAuthorities(found.errors.len()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| FetchError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        self.tls = Some(config.clone());
        Ok(config)
    }

    /// `GET url`, HTTP/1.1.
    async fn get(
        &mut self,
        url: &str,
    ) -> Result<http::Response<hyper::body::Incoming>, FetchError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| FetchError::Url(e.to_string()))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(FetchError::Scheme),
        };
        let authority = uri.authority().ok_or(FetchError::NoHost)?.clone();
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let request = http::Request::get(path)
            .header(http::header::HOST, authority.as_str())
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Request(e.to_string()))?;
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| FetchError::Connect(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        if https {
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                .map_err(|e| FetchError::HostName(e.to_string()))?;
            let stream = tokio_rustls::TlsConnector::from(self.tls()?)
                .connect(name, tcp)
                .await
                .map_err(|e| FetchError::Tls(e.to_string()))?;
            send(TokioIo::new(stream), request).await
        } else {
            send(TokioIo::new(tcp), request).await
        }
    }
}

async fn send<I>(
    io: I,
    request: http::Request<Empty<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, FetchError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| FetchError::Request(e.to_string()))?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| FetchError::Request(e.to_string()))
}

async fn fetch(client: &mut Fetcher, url: &str) -> Result<KeySet, FetchError> {
    let read = async {
        let response = client.get(url).await?;
        if response.status() != http::StatusCode::OK {
            return Err(FetchError::Status(response.status()));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|e| FetchError::Body(e.to_string()))?
            .to_bytes();
        Ok(body)
    };
    let body = tokio::time::timeout(FETCH_TIMEOUT, read)
        .await
        .map_err(|_| FetchError::Timeout(FETCH_TIMEOUT.as_secs()))??;
    let document: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| FetchError::NotJson(e.to_string()))?;
    let (keys, problems) = KeySet::parse(&document);
    for problem in &problems {
        warn!(url, key = %problem.pointer, problem = %problem.message, "JWKS key skipped");
    }
    if keys.is_empty() {
        return Err(FetchError::NoKey);
    }
    Ok(keys)
}
