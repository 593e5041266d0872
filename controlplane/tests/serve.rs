//! `sluice serve` as a process: SIGHUP reloads the file and TLS certificates, SIGTERM
//! drains and exits 0.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers panic on setup failures

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn config(port: u16, path: &str) -> String {
    sluice_shared::QUICKSTART_CONFIG
        .replacen("port: 7114", &format!("port: {port}"), 1)
        .replacen("path: /events", &format!("path: {path}"), 1)
}

/// Sends one HTTP/1.1 request with `curl`-free plain sockets and returns the status code.
fn post(port: u16, path: &str) -> u16 {
    status(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi"
        ),
    )
}

/// Sends `request` (a whole HTTP/1.1 request) and returns the response's status code.
fn status(port: u16, request: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_reloads_and_sigterm_drains() {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("sluice-serve-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("sluice.yaml");
    std::fs::write(&path, config(port, "/before")).expect("write config");
    let mut child = serve_in(&dir, &path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice");
    wait_for("the listener", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert_eq!(post(port, "/before"), 204);

    std::fs::write(&path, config(port, "/after")).expect("rewrite config");
    signal(&child, "HUP");
    wait_for("the reloaded route", || post(port, "/after") == 204);
    assert_eq!(post(port, "/before"), 404);

    std::fs::write(&path, "name: [broken").expect("break config");
    signal(&child, "HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        post(port, "/after"),
        204,
        "a bad file keeps the running configuration"
    );

    signal(&child, "TERM");
    let status = child.wait().expect("wait");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        status.success(),
        "sluice should exit 0 on SIGTERM, got {status}"
    );
    let log: Vec<String> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok)
        .collect();
    let log = log.join("\n");
    assert!(log.contains("EMBEDDED DEVELOPMENT BROKER"), "{log}");
    assert!(log.contains("configuration rejected on SIGHUP"), "{log}");
    assert!(log.contains("all connections closed"), "{log}");
}

#[test]
fn json_logs_are_one_object_per_line_and_a_clean_run_warns_of_nothing() {
    let port = free_port();
    let path = std::env::temp_dir().join(format!("sluice-json-{}-{port}.yaml", std::process::id()));
    std::fs::write(&path, config(port, "/json")).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "serve",
            "--kafka",
            "embedded",
            "--admin-listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .arg("--data-dir")
        .arg(std::env::temp_dir().join(format!("sluice-json-data-{}-{port}", std::process::id())))
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "info")
        .env_remove("SLUICE_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice");
    wait_for("the listener", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    // The producer and the item cache at work before the stop.
    wait_for("a produce", || {
        status(
            port,
            "PUT /items/1 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        ) == 204
    });
    wait_for("a fetch", || {
        status(
            port,
            "GET /items/1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        ) == 200
    });
    signal(&child, "TERM");
    assert!(child.wait().expect("wait").success());
    let _ = std::fs::remove_file(&path);
    let lines: Vec<String> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(lines.len() >= 3, "{lines:?}");
    for line in &lines {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(event["timestamp"].is_string(), "{line}");
        assert!(event["level"].is_string(), "{line}");
        assert!(event["message"].is_string(), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"message\":\"listening\"") && l.contains("\"port\":")),
        "fields are JSON members: {lines:?}"
    );
    // A clean start and stop warns of nothing but the embedded broker: no librdkafka
    // CONFWARN, no broker lost while its clients close.
    let warnings: Vec<&String> = lines
        .iter()
        .filter(|l| !l.contains("\"level\":\"INFO\""))
        .filter(|l| !l.contains("EMBEDDED DEVELOPMENT BROKER"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
    assert!(lines.iter().any(|l| l.contains("all connections closed")));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(
        stderr.contains("admin token"),
        "the new admin token is shown on stderr, never in the log: {stderr}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("admin token (")),
        "{lines:?}"
    );
}

/// `sluice serve` with the embedded broker, configuration `config`, data in `dir/data`.
fn serve_in(dir: &std::path::Path, config: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command
        .args([
            "serve",
            "--kafka",
            "embedded",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(config);
    command
}

/// A test authority and the certificates it signs, for the TLS listener test.
struct Authority {
    certificate: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl Authority {
    fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params.self_signed(&key).expect("self-signed");
        Self { certificate, key }
    }

    /// A certificate for `localhost`, PEM chain and key, and its DER.
    fn issue(&self) -> (String, String, Vec<u8>) {
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params
            .signed_by(&key, &self.certificate, &self.key)
            .expect("sign");
        (
            certificate.pem(),
            key.serialize_pem(),
            certificate.der().to_vec(),
        )
    }

    /// Connects with TLS and returns the server's certificate and the stream.
    async fn connect(
        &self,
        port: u16,
    ) -> (
        Vec<u8>,
        tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    ) {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.certificate.der().clone()).expect("root");
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("handshake");
        let presented = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|c| c.as_ref().to_vec())
            .expect("certificate");
        (presented, stream)
    }
}

/// One HTTP/1.1 request on an open TLS stream; returns the status code.
async fn tls_get(
    stream: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    path: &str,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buffer = vec![0u8; 4096];
    let read = stream.read(&mut buffer).await.expect("read");
    String::from_utf8_lossy(&buffer[..read])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn sighup_swaps_a_tls_certificate_and_open_connections_go_on() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("sluice-serve-tls-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let authority = Authority::new();
    let (first_pem, first_key, first_der) = authority.issue();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, first_pem).expect("cert");
    std::fs::write(&key, first_key).expect("key");
    let text = config(port, "/events").replacen(
        "    exit: north_http_server\n",
        &format!(
            "    exit: tls\n  tls:\n    type: tls\n    kind: server\n    options: {{ certificate: \"{}\", key: \"{}\" }}\n    exit: north_http_server\n",
            cert.display(),
            key.display()
        ),
        1,
    );
    assert!(text.contains("exit: tls"));
    let path = dir.join("sluice.yaml");
    std::fs::write(&path, text).expect("write config");
    let mut child = serve_in(&dir, &path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sluice");
    wait_for("the listener", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    runtime.block_on(async {
        let (presented, mut open) = authority.connect(port).await;
        assert_eq!(presented, first_der);
        assert_eq!(tls_get(&mut open, "/health").await, 200);

        // A renewal rewrites the files in place; SIGHUP makes Sluice read them.
        let (second_pem, second_key, second_der) = authority.issue();
        std::fs::write(&cert, second_pem).expect("cert");
        std::fs::write(&key, second_key).expect("key");
        signal(&child, "HUP");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (presented, _) = authority.connect(port).await;
            if presented == second_der {
                break;
            }
            assert!(Instant::now() < deadline, "the new certificate never came");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The connection opened before the swap goes on.
        assert_eq!(tls_get(&mut open, "/health").await, 200);
    });
    signal(&child, "TERM");
    let status = child.wait().expect("wait");
    let log: Vec<String> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok)
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "{status}");
    assert!(
        log.join("\n")
            .contains("tls certificates reloaded on SIGHUP"),
        "{log:?}"
    );
}

/// Serves `body` as JSON over https with `certificate` and `key` (PEM) on a thread of its
/// own; returns the port.
fn https_server(certificate: &str, key: &str, body: String) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(certificate.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("chain");
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((socket, _)) = listener.accept().await {
                let (acceptor, body) = (acceptor.clone(), body.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let mut head = vec![0u8; 4096];
                    let _ = tls.read(&mut head).await;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
    });
    port
}

#[test]
fn jwks_is_read_over_https_from_an_authority_the_system_trusts() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/jwt/rsa1.pem"
    ))
    .expect("test key");
    let signing = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("rsa key");
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&signing, Algorithm::RS256).expect("jwk"))
            .expect("json");
    jwk["kid"] = serde_json::json!("k1");
    let authority = Authority::new();
    let (server_pem, server_key, _) = authority.issue();
    let jwks_port = https_server(
        &server_pem,
        &server_key,
        serde_json::json!({ "keys": [jwk] }).to_string(),
    );

    let port = free_port();
    let dir = std::env::temp_dir().join(format!("sluice-serve-jwks-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, authority.certificate.pem()).expect("ca");
    let path = dir.join("sluice.yaml");
    std::fs::write(
        &path,
        format!(
            r#"name: jwks-https
guards:
  jwt:
    type: jwt
    options: {{ issuer: https://auth.test, audience: sluice, keys: "https://localhost:{jwks_port}/jwks.json" }}
bindings:
  tcp: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: {port} }}, exit: http }}
  http:
    type: http
    kind: server
    options: {{ authorization: {{ jwt: {{ credentials: {{ headers: {{ authorization: "Bearer {{credentials}}" }} }} }} }} }}
    routes:
      - when: [ {{ headers: {{ ":path": /secure }} }} ]
        guarded: {{ jwt: [ ] }}
        exit: echo
  echo: {{ type: echo, kind: server }}
"#
        ),
    )
    .expect("config");
    let mut child = serve_in(&dir, &path)
        // Only the test authority: the system's own are not involved.
        .env("SSL_CERT_FILE", &ca)
        .env("SSL_CERT_DIR", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sluice");
    wait_for("the listener", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let claims = serde_json::json!({
        "iss": "https://auth.test", "aud": "sluice", "sub": "alice",
        "exp": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("now").as_secs() + 300,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".to_owned());
    let token = jsonwebtoken::encode(&header, &claims, &signing).expect("sign");
    let get = |authorization: Option<&str>| {
        let extra = authorization
            .map(|t| format!("authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        status(
            port,
            &format!("GET /secure HTTP/1.1\r\nhost: x\r\n{extra}connection: close\r\n\r\n"),
        )
    };
    let mut status = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        status = get(Some(&token));
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let unauthenticated = get(None);
    signal(&child, "TERM");
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(status, 200, "a token signed with the key served over https");
    assert_eq!(unauthenticated, 401);
}
