//! A `tcp` server, or a `tls` server, exiting to an `echo` binding echoes the bytes of
//! each connection, as Zilla's tcp.echo and tls.echo examples describe (their shapes,
//! written anew).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use sluice_tests::Sluice;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const PORT: u16 = 12345;

fn vault_dir() -> String {
    format!("{}/../testdata/vault", env!("CARGO_MANIFEST_DIR"))
}

/// Sends two lines one after the other and reads each back.
async fn round_trips<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Result<()> {
    for line in ["Hello, world\n", "and again\n"] {
        stream.write_all(line.as_bytes()).await?;
        let mut back = vec![0u8; line.len()];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut back))
            .await
            .context("no echo in time")??;
        assert_eq!(String::from_utf8_lossy(&back), line);
    }
    Ok(())
}

#[tokio::test]
async fn a_tcp_server_exiting_to_echo_echoes_bytes() -> Result<()> {
    let config = format!(
        "name: example\nbindings:\n  north_tcp_server:\n    type: tcp\n    kind: server\n    options:\n      host: 127.0.0.1\n      port: {PORT}\n    exit: north_echo_server\n  north_echo_server:\n    type: echo\n    kind: server\n"
    );
    let sluice = Sluice::with_config(&config).await?;
    let mut stream = TcpStream::connect(sluice.addr(PORT).await?).await?;
    round_trips(&mut stream).await?;
    // Not HTTP: an HTTP request is echoed as it is.
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").await?;
    let mut back = [0u8; 18];
    stream.read_exact(&mut back).await?;
    assert_eq!(&back, b"GET / HTTP/1.1\r\n\r\n");
    Ok(())
}

#[tokio::test]
async fn a_tls_server_exiting_to_echo_echoes_bytes_with_its_alpn() -> Result<()> {
    let config = format!(
        r#"name: example
vaults:
  my_servers:
    type: filesystem
    options:
      keys: {{ store: {dir}/localhost.p12, type: pkcs12, password: generated }}
bindings:
  north_tcp_server:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: {PORT} }}
    exit: north_tls_server
  north_tls_server:
    type: tls
    kind: server
    vault: my_servers
    options:
      keys: [ localhost ]
      sni: [ localhost ]
      alpn: [ echo ]
    routes:
      - when: [ {{ alpn: echo }} ]
        exit: north_echo_server
  north_echo_server:
    type: echo
    kind: server
"#,
        dir = vault_dir()
    );
    let sluice = Sluice::with_config(&config).await?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(format!(
        "{}/ca.pem",
        vault_dir()
    ))?)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"echo".to_vec()];
    let tcp = TcpStream::connect(sluice.addr(PORT).await?).await?;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"echo"[..]));
    round_trips(&mut tls).await
}
