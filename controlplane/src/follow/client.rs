//! The follower's HTTP client to its control plane: plain `http://`, or `https://` that
//! verifies the control plane's certificate against `--control-plane-ca` (or the system's
//! authorities) and presents `--client-cert` for mutual TLS. SIGHUP builds it again from
//! the files, so renewed certificates are used from the next connection on.

use bytes::Bytes;
use http::Uri;
use http_body_util::Empty;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sluice_dataplane::{ClientFiles, TlsFileError, file_client_config};
use tracing::warn;

/// The client that polls the control plane.
pub(crate) type PollClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Why a control plane URL and its TLS files cannot be used together.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not `http(s)://host[:port]`.
    #[error("--control-plane: '{0}' is not an http:// or https:// URL with a host")]
    Url(String),
    /// TLS files given for a plain URL.
    #[error(
        "--control-plane-ca and --client-cert are for an https:// control plane; '{0}' is http://"
    )]
    FilesWithoutTls(String),
    /// A file cannot be used.
    #[error(transparent)]
    File(#[from] TlsFileError),
}

/// Builds the client for `url` from `files`.
pub(crate) fn build(url: &Uri, files: &ClientFiles) -> Result<PollClient, ClientError> {
    let tls = match (url.scheme_str(), url.authority()) {
        (Some("https"), Some(_)) => true,
        (Some("http"), Some(_)) => false,
        _ => return Err(ClientError::Url(url.to_string())),
    };
    if !tls && (files.ca.is_some() || files.identity.is_some()) {
        return Err(ClientError::FilesWithoutTls(url.to_string()));
    }
    if !tls && !loopback(url) {
        warn!(control_plane = %url, "following over plain HTTP: the admin token and the configuration's secrets cross the network in clear; use an https:// control plane");
    }
    let connector = if tls {
        HttpsConnectorBuilder::new()
            .with_tls_config(file_client_config(files)?)
            .https_only()
            .enable_http1()
            .build()
    } else {
        HttpsConnectorBuilder::new()
            .with_tls_config(file_client_config(&ClientFiles {
                ca: None,
                identity: None,
            })?)
            .https_or_http()
            .enable_http1()
            .build()
    };
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Whether `url` names this host (`localhost` or a loopback address).
fn loopback(url: &Uri) -> bool {
    let host = url.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(ca: bool) -> ClientFiles {
        ClientFiles {
            ca: ca.then(|| ("/nonexistent/ca.pem".into(), "--control-plane-ca")),
            identity: None,
        }
    }

    #[test]
    fn urls_and_files_are_checked_together() {
        let url = |text: &str| text.parse::<Uri>().unwrap_or_default();
        let error = |u: &str, ca: bool| build(&url(u), &files(ca)).err().map(|e| e.to_string());
        assert_eq!(error("http://127.0.0.1:7180", false), None);
        assert!(error("ftp://cp:7180", false).is_some_and(|e| e.contains("not an http://")));
        assert!(error("/v1/config", false).is_some_and(|e| e.contains("not an http://")));
        assert!(
            error("http://cp:7180", true).is_some_and(|e| e.contains("for an https://")),
            "a CA with a plain URL"
        );
        assert!(
            error("https://cp:7180", true).is_some_and(
                |e| e.contains("--control-plane-ca") && e.contains("/nonexistent/ca.pem")
            ),
            "a CA file that cannot be read names its flag"
        );
        assert!(loopback(&url("http://localhost:1")) && loopback(&url("http://[::1]:1")));
        assert!(loopback(&url("http://127.0.0.2:1")) && !loopback(&url("http://cp.internal:1")));
    }
}
