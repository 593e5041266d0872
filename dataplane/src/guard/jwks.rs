//! Keys read from a JWKS URL: fetched before the configuration that names them goes live,
//! read again on schedule and when a token names an unknown `kid` (at most once per
//! [`UNKNOWN_KID_REFETCH`]), and kept through outages: a failed read never drops the last
//! good keys.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
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
            let mut last = self.last_forced.lock().ok()?;
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
        let existing = self.urls.lock().ok().and_then(|mut urls| {
            urls.retain(|(_, weak)| weak.strong_count() > 0);
            urls.iter()
                .find(|(u, _)| u == url)
                .and_then(|(_, weak)| weak.upgrade())
        });
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
        if let Ok(mut urls) = self.urls.lock() {
            urls.push((url.to_owned(), Arc::downgrade(&jwks)));
        }
        jwks
    }
}

async fn refresher(jwks: Weak<Jwks>, kick: Arc<Notify>, refresh: Duration) {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut retry = RETRY_DELAYS.0;
    loop {
        let Some(url) = jwks.upgrade().map(|j| j.url.clone()) else {
            return;
        };
        let wait = match fetch(&client, &url).await {
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

async fn fetch(client: &Client<HttpConnector, Empty<Bytes>>, url: &str) -> Result<KeySet, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let read = async {
        let response = client
            .get(uri)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if response.status() != http::StatusCode::OK {
            return Err(format!("status {}", response.status()));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the body failed: {e}"))?
            .to_bytes();
        Ok(body)
    };
    let body = tokio::time::timeout(FETCH_TIMEOUT, read)
        .await
        .map_err(|_| format!("no answer within {} s", FETCH_TIMEOUT.as_secs()))??;
    let document: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))?;
    let (keys, problems) = KeySet::parse(&document);
    for problem in &problems {
        warn!(url, key = %problem.pointer, problem = %problem.message, "JWKS key skipped");
    }
    if keys.is_empty() {
        return Err("the document holds no usable key".to_owned());
    }
    Ok(keys)
}
