//! A configuration with Zilla's `telemetry` section, run by `sluice serve` as a user would
//! (the shape of Zilla's http.metrics example, written anew): the `prometheus` exporter
//! serves the selected series on its own port with the configured attributes, and the
//! `stdout` exporter writes one event line per request.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers panic on setup failures

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn config(port: u16, metrics_port: u16) -> String {
    format!(
        r#"---
name: shop
telemetry:
  attributes:
    service.namespace: shop
  metrics:
    - http.duration
    - http.active.requests
  exporters:
    events:
      type: stdout
    scrape:
      type: prometheus
      options:
        endpoints:
          - scheme: http
            port: {metrics_port}
            path: /scrape
bindings:
  north_tcp_server:
    type: tcp
    kind: server
    options:
      host: 127.0.0.1
      port: {port}
    exit: north_http_server
  north_http_server:
    type: http
    kind: server
    telemetry:
      metrics:
        - http.*
      attributes:
        method: ${{http.request.method}}
    exit: north_echo_server
  north_echo_server:
    type: echo
    kind: server
"#
    )
}

/// One HTTP/1.1 request on a new connection; the status and the body.
fn request(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost:{port}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn prometheus_and_stdout_exporters_follow_the_telemetry_section() {
    let (port, metrics_port) = (free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("sluice-telemetry-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("zilla.yaml");
    std::fs::write(&path, config(port, metrics_port)).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
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
        .arg(&path)
        .env_remove("SLUICE_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sluice");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "sluice did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }

    for _ in 0..3 {
        assert_eq!(
            request(port, "POST", "/orders?x=1", "hi"),
            (200, "hi".to_owned())
        );
    }
    let (status, scraped) = request(metrics_port, "GET", "/scrape", "");
    assert_eq!(status, 200, "{scraped}");
    assert!(
        scraped.contains("sluice_http_request_duration_seconds_count{service_namespace=\"shop\",")
            && scraped.contains("sluice_http_requests_active{service_namespace=\"shop\"}"),
        "the selected series carry the attributes: {scraped}"
    );
    assert!(
        scraped.contains("sluice_http_request_size_bytes_count{service_namespace=\"shop\",")
            && scraped.contains("sluice_http_request_size_bytes_sum{service_namespace=\"shop\",binding=\"north_http_server\",route=\"\",kind=\"unrouted\"} 6"),
        "the binding's http.* selects the request sizes (3 bodies of 2 bytes): {scraped}"
    );
    assert!(
        !scraped.contains("sluice_sse_streams_open"),
        "series that no listed metric selects are not exported: {scraped}"
    );
    assert_eq!(request(metrics_port, "GET", "/other", "").0, 404);

    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while events.len() < 3 && Instant::now() < deadline {
        if let Ok(line) = lines_rx.recv_timeout(Duration::from_millis(200))
            && line.contains("HTTP_REQUEST_ACCEPTED")
        {
            events.push(line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(events.len(), 3, "one event line per request: {events:?}");
    let event = &events[0];
    assert!(event.starts_with("shop:north_http_server ["), "{event}");
    assert!(
        event.ends_with(&format!(
            "] HTTP_REQUEST_ACCEPTED POST http://localhost:{port}/orders?x=1 200"
        )),
        "{event}"
    );
}
