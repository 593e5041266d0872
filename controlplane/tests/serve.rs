//! `sluice serve` as a process: SIGHUP reloads the file, SIGTERM drains and exits 0.
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
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi"
    )
    .expect("write");
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
    let path =
        std::env::temp_dir().join(format!("sluice-serve-{}-{port}.yaml", std::process::id()));
    std::fs::write(&path, config(port, "/before")).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "serve",
            "--kafka",
            "embedded",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(std::env::temp_dir().join(format!("sluice-serve-data-{}-{port}", std::process::id())))
        .arg("--config")
        .arg(&path)
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
    let _ = std::fs::remove_file(&path);
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
fn json_logs_are_one_object_per_line() {
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
