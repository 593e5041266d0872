//! Scale-out across machines, with the real binaries: a data plane follows its control
//! plane over verified TLS (a private authority), with mutual TLS as an option; a wrong
//! authority and a missing client certificate are refused with a clear log line; the
//! control plane's certificate and admin token change under a running follow, which
//! carries on; `sluice serve --bind-host` binds the data listeners there.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers panic on setup failures

#[allow(dead_code)] // this file uses only `request`
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A private certificate authority.
struct Authority {
    certificate: rcgen::Certificate,
    key: rcgen::KeyPair,
}

/// A certificate issued by an [`Authority`]: PEM chain, PEM key, DER.
struct Issued {
    pem: String,
    key: String,
    der: Vec<u8>,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params.self_signed(&key).expect("self-signed");
        Self { certificate, key }
    }

    /// A certificate for `localhost` and 127.0.0.1 (a server's), or a client's.
    fn issue(&self, client: bool) -> Issued {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
        params.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params
            .signed_by(&key, &self.certificate, &self.key)
            .expect("sign");
        Issued {
            pem: certificate.pem(),
            key: key.serialize_pem(),
            der: certificate.der().to_vec(),
        }
    }

    fn pem(&self) -> String {
        self.certificate.pem()
    }
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).expect("write");
    path.to_str().unwrap().to_owned()
}

fn temp_root(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("sluice-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("temp dir");
    root
}

fn config(port: u16, path: &str) -> String {
    format!(
        "name: follow-tls\nbindings:\n  tcp: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: {port} }}, exit: http }}\n  http:\n    type: http\n    kind: server\n    routes:\n      - when: [ {{ headers: {{ \":path\": \"{path}\" }} }} ]\n        exit: echo\n  echo: {{ type: echo, kind: server }}\n"
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running `sluice` with every log line it wrote so far.
struct Sluice {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Sluice {
    /// Starts `sluice <args> --data-dir <dir>`, with `SLUICE_ADMIN_TOKEN` when given.
    fn start(args: &[&str], dir: &Path, token: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(dir)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("SLUICE_ADMIN_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            command.env("SLUICE_ADMIN_TOKEN", token);
        }
        let mut child = command.spawn().expect("start sluice");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [
            Box::new(stdout) as Box<dyn Read + Send>,
            Box::new(stderr) as Box<dyn Read + Send>,
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        Self { child, lines }
    }

    /// The first log line containing every one of `needles`, waiting up to 20 s.
    fn line(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needles:?}; the log:\n{}",
                self.lines.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether some log line so far contains `needle`.
    fn logged(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(needle))
    }

    /// The port of the `local=127.0.0.1:<port>` field of the line with `marker`.
    fn port(&self, marker: &str) -> u16 {
        let line = self.line(&[marker, "local=127.0.0.1:"]);
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("local=127.0.0.1:"))
            .and_then(|p| p.parse().ok())
            .expect("a port")
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTPS request to `127.0.0.1:port` (server name `localhost`) trusting `ca`, with the
/// client certificate `identity` when given: the status, the body and the server's
/// certificate; `Err` when TLS refuses.
fn https(
    port: u16,
    ca: &str,
    identity: Option<&Issued>,
    (method, path, token, body): (&str, &str, &str, &str),
) -> Result<(u16, String, Vec<u8>), String> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(certificate.expect("pem")).expect("root");
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some(issued) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(issued.der.clone())],
                PrivateKeyDer::from_pem_slice(issued.key.as_bytes()).expect("key"),
            )
            .expect("client auth"),
    };
    let name = ServerName::try_from("localhost").expect("name");
    let connection =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let socket = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(connection, socket);
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {token}\r\ncontent-type: application/yaml\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    if let Err(error) = tls.read_to_end(&mut answer)
        && answer.is_empty()
    {
        return Err(error.to_string());
    }
    let peer = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {answer:?}"))?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    Ok((status, body.unwrap_or_default(), peer))
}

/// Waits up to 20 s for `check`.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `host:port` answers `GET path` with 200 (an echo route).
fn serves(host: &str, port: u16, path: &str) -> bool {
    common::request(host, port, "GET", path, "", "").is_some_and(|(status, _)| status == 200)
}

#[test]
fn a_data_plane_follows_over_verified_tls_through_a_certificate_reload_and_a_token_rotation() {
    let root = temp_root("follow-tls");
    let (cp_dir, dp_dir) = (root.join("control"), root.join("data"));
    std::fs::create_dir_all(&cp_dir).expect("dir");
    let authority = Authority::new("Sluice test authority");
    let ca_pem = authority.pem();
    let ca = write(&root.join("ca.pem"), &ca_pem);
    let first = authority.issue(false);
    let cert = write(&root.join("admin.pem"), &first.pem);
    let key = write(&root.join("admin.key"), &first.key);
    write(&cp_dir.join("admin-token"), "token-one\n");
    let dp_token = write(&root.join("dp-token"), "token-one");
    let data_port = free_port();
    let file = write(&root.join("config.yaml"), &config(data_port, "/one"));
    let control = Sluice::start(
        &[
            "serve",
            "--admin-listen",
            "127.0.0.1:0",
            "--admin-tls-cert",
            &cert,
            "--admin-tls-key",
            &key,
            "--admin-token-grace-seconds",
            "3",
            "--bind-host",
            "127.0.0.3",
            "--config",
            &file,
        ],
        &cp_dir,
        None,
    );
    let admin = control.port("admin API listening");
    assert!(control.line(&["admin API listening"]).contains("https"));
    let url = format!("https://localhost:{admin}");
    let data = Sluice::start(
        &[
            "dataplane",
            "--control-plane",
            &url,
            "--control-plane-ca",
            &ca,
            "--admin-token-file",
            &dp_token,
            "--id",
            "edge-tls",
            "--bind-host",
            "127.0.0.2",
            "--admin-listen",
            "127.0.0.1:0",
        ],
        &dp_dir,
        None,
    );
    eventually("the data plane serves revision 1 over https", || {
        serves("127.0.0.2", data_port, "/one")
    });
    // `serve --bind-host`: the control plane's own data listener is on 127.0.0.3 only.
    assert!(serves("127.0.0.3", data_port, "/one"));
    assert!(
        !serves("127.0.0.1", data_port, "/one"),
        "not on the configured host"
    );
    // The admin listener speaks TLS only: a plain request gets no HTTP answer.
    assert_eq!(
        common::request("127.0.0.1", admin, "GET", "/v1/status", "token-one", ""),
        None
    );
    // Reads are open on loopback, secrets never: `?secrets=true` checks the token.
    let get = |token: &str| {
        https(
            admin,
            &ca_pem,
            None,
            ("GET", "/v1/config?secrets=true", token, ""),
        )
    };
    let (status, body, peer) = get("token-one").expect("https");
    assert_eq!(status, 200, "{body}");
    assert_eq!(peer, first.der, "the first certificate");
    eventually("the control plane lists the data plane", || {
        https(admin, &ca_pem, None, ("GET", "/v1/status", "token-one", "")).is_ok_and(
            |(_, body, _)| body.contains("\"edge-tls\"") && body.contains("\"applied_revision\":1"),
        )
    });

    // The certificate is renewed in place and SIGHUP reloads it: new handshakes get the new
    // one, and the data plane's long-poll (opened before) carries on.
    let second = authority.issue(false);
    write(&root.join("admin.pem"), &second.pem);
    write(&root.join("admin.key"), &second.key);
    control.signal("HUP");
    control.line(&["admin listener certificate reloaded"]);
    let (_, _, peer) = get("token-one").expect("https after the reload");
    assert_eq!(peer, second.der, "the renewed certificate");
    let put = |token: &str, path: &str| {
        https(
            admin,
            &ca_pem,
            None,
            ("PUT", "/v1/config", token, config(data_port, path).as_str()),
        )
        .expect("PUT")
    };
    assert_eq!(put("token-one", "/two").0, 200);
    eventually("the data plane serves revision 2", || {
        serves("127.0.0.2", data_port, "/two")
    });
    assert!(
        !data.logged("unreachable"),
        "the follow never lost the control plane"
    );

    // The admin token is rotated: the old one works during the grace period, the data plane
    // reads its token file again before its next poll, and the follow goes on with the new
    // token without a single refused poll.
    write(&cp_dir.join("admin-token"), "token-two\n");
    control.signal("HUP");
    control.line(&["admin token rotated"]);
    assert_eq!(get("token-two").expect("https").0, 200);
    assert_eq!(get("token-one").expect("https").0, 200, "within the grace");
    write(&root.join("dp-token"), "token-two\n");
    // The long-poll in flight (authorized with the old token) brings revision 3; the poll
    // after it reads the file again.
    assert_eq!(put("token-two", "/three").0, 200);
    eventually("the data plane serves revision 3", || {
        serves("127.0.0.2", data_port, "/three")
    });
    data.line(&["admin token changed in --admin-token-file"]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(get("token-one").expect("https").0, 401, "grace over");
    assert_eq!(put("token-two", "/four").0, 200);
    eventually("the data plane serves revision 4", || {
        serves("127.0.0.2", data_port, "/four")
    });
    assert!(!data.logged("refused the admin token"));
    drop(data);
    drop(control);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_wrong_authority_and_a_missing_client_certificate_are_refused() {
    let root = temp_root("follow-mtls");
    let authority = Authority::new("Sluice test authority");
    let other = Authority::new("Somebody else");
    let ca_pem = authority.pem();
    let ca = write(&root.join("ca.pem"), &ca_pem);
    let other_ca = write(&root.join("other-ca.pem"), &other.pem());
    let server = authority.issue(false);
    let client = authority.issue(true);
    let stranger = other.issue(true);
    let cert = write(&root.join("admin.pem"), &server.pem);
    let key = write(&root.join("admin.key"), &server.key);
    let client_cert = write(&root.join("client.pem"), &client.pem);
    let client_key = write(&root.join("client.key"), &client.key);
    let data_port = free_port();
    let file = write(&root.join("config.yaml"), &config(data_port, "/one"));
    let control = Sluice::start(
        &[
            "serve",
            "--admin-listen",
            "127.0.0.1:0",
            "--admin-tls-cert",
            &cert,
            "--admin-tls-key",
            &key,
            "--admin-tls-client-ca",
            &ca,
            "--bind-host",
            "127.0.0.3",
            "--config",
            &file,
        ],
        &root.join("control"),
        Some("token"),
    );
    let admin = control.port("admin API listening");
    let url = format!("https://localhost:{admin}");
    let follow = |name: &str, ca: &str, identity: &[&str]| {
        let mut args = vec![
            "dataplane",
            "--control-plane",
            &url,
            "--control-plane-ca",
            ca,
            "--bind-host",
            "127.0.0.2",
            "--admin-listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(identity);
        Sluice::start(&args, &root.join(name), Some("token"))
    };

    // A data plane trusting another authority refuses the control plane, and says why.
    let wrong_ca = follow(
        "wrong-ca",
        &other_ca,
        &["--client-cert", &client_cert, "--client-key", &client_key],
    );
    let line = wrong_ca.line(&["control plane is unreachable", "invalid peer certificate"]);
    assert!(line.contains("UnknownIssuer"), "{line}");
    println!("wrong authority, the data plane's log: {line}");
    assert!(!serves("127.0.0.2", data_port, "/one"));
    drop(wrong_ca);

    // Without a client certificate the handshake is refused, before any token is read: the
    // data plane logs why, the control plane too, and no request gets an HTTP status.
    let anonymous = follow("anonymous", &ca, &[]);
    let line = anonymous.line(&["control plane is unreachable", "CertificateRequired"]);
    assert!(!line.contains("admin token"), "{line}");
    println!("no client certificate, the data plane's log: {line}");
    let refused = control.line(&["TLS handshake refused", "no certificates"]);
    println!("no client certificate, the control plane's log: {refused}");
    drop(anonymous);
    let refused = https(admin, &ca_pem, None, ("GET", "/v1/status", "token", ""));
    assert!(refused.is_err(), "no client certificate: {refused:?}");
    let refused = https(
        admin,
        &ca_pem,
        Some(&stranger),
        ("GET", "/v1/status", "token", ""),
    );
    assert!(
        refused.is_err(),
        "a certificate of another authority: {refused:?}"
    );

    // With its certificate the data plane follows; the token is still checked. Its own
    // admin listener serves over TLS too.
    let data = follow(
        "data",
        &ca,
        &[
            "--client-cert",
            &client_cert,
            "--client-key",
            &client_key,
            "--admin-tls-cert",
            &cert,
            "--admin-tls-key",
            &key,
        ],
    );
    let data_admin = data.port("data plane admin listening");
    let (status, body, _) = https(data_admin, &ca_pem, None, ("GET", "/healthz", "", ""))
        .expect("the data plane's admin listener over https");
    assert_eq!(status, 200, "{body}");
    // Both admin listeners report when their certificate expires.
    for port in [data_admin, admin] {
        let identity = (port == admin).then_some(&client);
        let (status, metrics, _) = https(port, &ca_pem, identity, ("GET", "/metrics", "token", ""))
            .expect("metrics over https");
        assert_eq!(status, 200);
        let expiry: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("sluice_admin_tls_certificate_expiry_timestamp_seconds "))
            .and_then(|v| v.trim().parse().ok())
            .expect("the admin certificate's expiry");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(expiry > now, "{expiry} is in the future");
    }
    eventually("the data plane with a client certificate serves", || {
        serves("127.0.0.2", data_port, "/one")
    });
    let ask = |token: &str| {
        https(
            admin,
            &ca_pem,
            Some(&client),
            ("GET", "/v1/config?secrets=true", token, ""),
        )
        .expect("https")
        .0
    };
    assert_eq!(ask("token"), 200);
    assert_eq!(ask("wrong"), 401);
    drop(data);
    drop(control);
    let _ = std::fs::remove_dir_all(&root);
}
