//! TLS from a Zilla `vault`: the server's key by alias from a PKCS#12 or JKS store, the
//! server names it accepts (`sni`), ALPN routes, and client certificates checked against
//! the vault's `trust` store (`mutual`). The stores are `testdata/vault`, made with
//! OpenSSL and keytool.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sluice_tests::Sluice;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PORT: u16 = 8080;

fn vault_dir() -> String {
    format!("{}/../testdata/vault", env!("CARGO_MANIFEST_DIR"))
}

/// tcp → tls (vault keys, sni, alpn routes, mutual) → http → echo.
fn config(keys: &str, mutual: &str) -> String {
    let kind = if keys.ends_with(".jks") {
        "jks"
    } else {
        "pkcs12"
    };
    format!(
        r#"name: vaulted
vaults:
  server:
    type: filesystem
    options:
      keys:
        store: {dir}/{keys}
        type: {kind}
        password: generated
      trust:
        store: {dir}/trust.jks
        type: jks
        password: generated
bindings:
  north_tcp_server:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: {PORT} }}
    exit: north_tls_server
  north_tls_server:
    type: tls
    kind: server
    vault: server
    options:
      keys: [ localhost ]
      sni: [ localhost ]
      alpn: [ h2, http/1.1 ]
      trust: [ ca ]
      mutual: {mutual}
    routes:
      - when: [ {{ alpn: h2 }} ]
        exit: north_http_server
      - when: [ {{ alpn: http/1.1 }} ]
        exit: north_http_server
  north_http_server:
    type: http
    kind: server
    exit: north_echo_server
  north_echo_server:
    type: echo
    kind: server
"#,
        dir = vault_dir()
    )
}

/// A client trusting the test CA, presenting the test client certificate when `present`.
fn client(present: bool) -> Result<Arc<rustls::ClientConfig>> {
    let dir = vault_dir();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(format!("{dir}/ca.pem"))?)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = if present {
        let chain = vec![CertificateDer::from_pem_file(format!("{dir}/client.pem"))?];
        let key = PrivateKeyDer::from_pem_file(format!("{dir}/client.key"))?;
        builder.with_client_auth_cert(chain, key)?
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// One HTTP/1.1 POST to /echo over TLS with server name `name`; the response's head line.
async fn echo(addr: SocketAddr, name: &str, present: bool) -> Result<String> {
    let tcp = TcpStream::connect(addr).await?;
    let mut tls = tokio_rustls::TlsConnector::from(client(present)?)
        .connect(ServerName::try_from(name.to_owned())?, tcp)
        .await
        .context("tls handshake")?;
    tls.write_all(b"POST /echo HTTP/1.1\r\nhost: localhost\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello")
        .await?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer)
        .await
        .context("reading the answer")?;
    anyhow::ensure!(answer.ends_with("hello"), "echoed: {answer:?}");
    Ok(answer.lines().next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn keys_by_alias_from_pkcs12_and_jks_with_required_client_certificates() -> Result<()> {
    for store in ["localhost.p12", "localhost.jks"] {
        let sluice = Sluice::with_config(&config(store, "required")).await?;
        let addr = sluice.addr(PORT).await?;
        assert_eq!(echo(addr, "localhost", true).await?, "HTTP/1.1 200 OK");
        // No client certificate: refused by the handshake (TLS 1.3 reports it on the
        // first read).
        assert!(
            echo(addr, "localhost", false).await.is_err(),
            "{store}: a client without a certificate must be refused"
        );
        // No server name at all (a client connecting by IP address sends none): served,
        // as Zilla serves it.
        assert_eq!(echo(addr, "127.0.0.1", true).await?, "HTTP/1.1 200 OK");
        // A server name outside `sni`: no certificate is served.
        assert!(
            echo(addr, "other.localhost", true).await.is_err(),
            "{store}: a server name outside sni must be refused"
        );
    }
    Ok(())
}

#[tokio::test]
async fn requested_client_certificates_are_optional() -> Result<()> {
    let sluice = Sluice::with_config(&config("localhost.p12", "requested")).await?;
    let addr = sluice.addr(PORT).await?;
    assert_eq!(echo(addr, "localhost", false).await?, "HTTP/1.1 200 OK");
    assert_eq!(echo(addr, "localhost", true).await?, "HTTP/1.1 200 OK");
    Ok(())
}

#[tokio::test]
async fn a_wrong_store_password_is_refused_with_its_reason() -> Result<()> {
    let text =
        config("localhost.jks", "none").replacen("password: generated", "password: wrong", 1);
    let error = match Sluice::with_config(&text).await {
        Ok(_) => anyhow::bail!("a store with a wrong password was applied"),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains("integrity check failed")
            && error.contains("/bindings/north_tls_server/options/keys"),
        "{error}"
    );
    Ok(())
}
