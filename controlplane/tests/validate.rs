//! `sluice validate FILE`: exit status and the location of every error, run as a user would.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers panic on setup failures

use std::path::PathBuf;
use std::process::Command;

use sluice_shared::QUICKSTART_CONFIG;

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn validate(text: &str, extension: &str) -> Outcome {
    let path: PathBuf = std::env::temp_dir().join(format!(
        "sluice-validate-{}-{}.{extension}",
        std::process::id(),
        text.len() ^ text.bytes().map(usize::from).sum::<usize>()
    ));
    std::fs::write(&path, text).expect("write temp config");
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("validate")
        .arg(&path)
        .output()
        .expect("run sluice");
    let _ = std::fs::remove_file(&path);
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Checks that `text` is rejected with exit status 1 and an error at `pointer`.
fn assert_rejected_at(text: &str, pointer: &str, needle: &str) {
    let outcome = validate(text, "yaml");
    assert_eq!(
        outcome.code,
        Some(1),
        "stdout: {}\nstderr: {}",
        outcome.stdout,
        outcome.stderr
    );
    assert!(
        outcome.stderr.lines().any(
            |line| line.trim_start().starts_with(&format!("{pointer}: ")) && line.contains(needle)
        ),
        "expected an error at {pointer} containing {needle:?}, got:\n{}",
        outcome.stderr
    );
}

fn quickstart_with(from: &str, to: &str) -> String {
    assert!(
        QUICKSTART_CONFIG.contains(from),
        "quick-start no longer contains {from:?}"
    );
    QUICKSTART_CONFIG.replacen(from, to, 1)
}

#[test]
fn valid_configuration_exits_zero() {
    let outcome = validate(QUICKSTART_CONFIG, "yaml");
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.stdout.contains("is valid"), "{}", outcome.stdout);
}

#[test]
fn json_configuration_is_accepted() {
    let spec = sluice_shared::parse_config(QUICKSTART_CONFIG).expect("quick-start parses");
    let json = serde_json::to_string_pretty(&spec).expect("serializes");
    let outcome = validate(&json, "json");
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
}

#[test]
fn unknown_binding_type_is_located() {
    assert_rejected_at(
        &quickstart_with("type: echo", "type: gopher"),
        "/bindings/north_echo/type",
        "unknown variant `gopher`",
    );
}

#[test]
fn unknown_binding_kind_is_located() {
    assert_rejected_at(
        &quickstart_with(
            "type: echo\n    kind: server",
            "type: echo\n    kind: sideways",
        ),
        "/bindings/north_echo/kind",
        "unknown variant `sideways`",
    );
}

#[test]
fn exit_naming_a_missing_binding_is_located() {
    assert_rejected_at(
        &quickstart_with("exit: north_echo", "exit: north_nowhere"),
        "/bindings/north_http_server/routes/0/exit",
        "names no binding",
    );
}

#[test]
fn exit_cycles_are_located() {
    let text = quickstart_with(
        "exit: south_kafka_client\n",
        "exit: north_kafka_cache_client\n",
    );
    assert_rejected_at(
        &text,
        "/bindings/south_kafka_cache_server",
        "exits form a cycle",
    );
}

#[test]
fn malformed_path_template_is_located() {
    assert_rejected_at(
        &quickstart_with("path: /events", "path: /events/{id"),
        "/bindings/north_http_kafka_mapping/routes/0/when/0/path",
        "unbalanced",
    );
}

#[test]
fn unknown_field_is_located() {
    assert_rejected_at(
        &quickstart_with(
            "capability: produce\n          topic: events",
            "capability: produce\n          topik: x\n          topic: events",
        ),
        "/bindings/north_http_kafka_mapping/routes/0/with/topik",
        "unknown field `topik`",
    );
}

#[test]
fn missing_topic_is_located() {
    assert_rejected_at(
        &quickstart_with(
            "          capability: produce\n          topic: events\n",
            "          capability: produce\n",
        ),
        "/bindings/north_http_kafka_mapping/routes/0/with",
        "missing field `topic`",
    );
}

#[test]
fn guarded_naming_a_missing_guard_is_located() {
    assert_rejected_at(
        &quickstart_with(
            "      - when:\n          - method: POST",
            "      - guarded: { my_jwt: [ write ] }\n        when:\n          - method: POST",
        ),
        "/bindings/north_http_kafka_mapping/routes/0/guarded/my_jwt",
        "not defined",
    );
}

#[test]
fn http_binding_without_tcp_listener_is_located() {
    let text = format!(
        "{QUICKSTART_CONFIG}  second_http:\n    type: http\n    kind: server\n    exit: north_echo\n"
    );
    assert_rejected_at(&text, "/bindings/second_http", "no listener");
}

#[test]
fn duplicate_listener_ports_are_located() {
    let text = format!(
        "{QUICKSTART_CONFIG}  second_tcp:\n    type: tcp\n    kind: server\n    options: {{ port: 7114 }}\n    exit: north_http_server\n"
    );
    assert_rejected_at(&text, "/bindings/second_tcp/options/port", "already used");
}

#[test]
fn several_errors_are_all_printed() {
    // Structural errors (shape of the document) are all reported together...
    let text = quickstart_with("type: echo", "type: gopher")
        .replacen("name: quickstart", "name: quickstart\ncolour: blue", 1)
        .replacen("capability: produce", "capability: produces", 1);
    let outcome = validate(&text, "yaml");
    assert_eq!(outcome.code, Some(1));
    assert!(outcome.stderr.contains("3 error(s)"), "{}", outcome.stderr);
    // ...and so are the errors that relate bindings to each other.
    let text = quickstart_with("path: /events", "path: /events/{id")
        .replacen("exit: north_echo", "exit: north_nowhere", 1)
        .replacen("name: quickstart", "name: 9quickstart", 1);
    let outcome = validate(&text, "yaml");
    assert_eq!(outcome.code, Some(1));
    assert!(outcome.stderr.contains("3 error(s)"), "{}", outcome.stderr);
}

#[test]
fn unreadable_file_exits_one_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["validate", "/nonexistent/sluice.yaml"])
        .output()
        .expect("run sluice");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/sluice.yaml")
    );
}

#[test]
fn serve_with_an_invalid_config_exits_before_binding() {
    let path =
        std::env::temp_dir().join(format!("sluice-serve-invalid-{}.yaml", std::process::id()));
    std::fs::write(&path, quickstart_with("path: /events", "path: events")).expect("write");
    let data = std::env::temp_dir().join(format!("sluice-serve-invalid-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("serve")
        .arg("--data-dir")
        .arg(&data)
        .arg("--admin-listen")
        .arg("127.0.0.1:0")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run sluice");
    let _ = std::fs::remove_file(&path);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        !data.exists(),
        "nothing is stored for an invalid configuration"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/bindings/north_http_kafka_mapping/routes/0/when/0/path"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("listening"),
        "no port may be bound: {stdout}"
    );
}

/// A binding type Sluice does not implement is named as such, and does not hide the
/// other errors of the document (here a dangling exit elsewhere) nor add wrong ones.
#[test]
fn one_pass_lists_every_error_with_its_pointer() {
    let text = quickstart_with(
        "bindings:\n",
        "bindings:\n  files:\n    type: grpc\n    kind: server\n  stray:\n    type: http\n    kind: server\n    exit: nowhere\n",
    );
    let outcome = validate(&text, "yaml");
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(
            "/bindings/files/type: 'grpc' is a Zilla binding type that sluice does not implement"
        ),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("/bindings/stray/exit: exit 'nowhere' names no binding"),
        "the semantic error is reported in the same pass: {}",
        outcome.stderr
    );
}

#[test]
fn telemetry_is_checked_at_its_pointers() {
    let telemetry = "telemetry:\n  metrics: [ http.*, grpc.duration, http.latency ]\n  exporters:\n    out: { type: stdout }\n    otel: { type: otlp, options: { endpoint: { location: ftp://collector:4318 } } }\n    secure: { type: otlp, options: { endpoint: { location: https://collector:4318 }, tls: { trust: [ ca ] } } }\n    nowhere: { type: otlp, vault: missing, options: { endpoint: { location: https://collector:4318 } } }\n    slow: { type: otlp, options: { interval: 0, endpoint: { location: http://collector:4318 } } }\nbindings:\n";
    let text = quickstart_with("bindings:\n", telemetry);
    assert_rejected_at(&text, "/telemetry/metrics/1", "grpc bindings");
    assert_rejected_at(
        &text,
        "/telemetry/metrics/2",
        "unknown metric 'http.latency'",
    );
    assert_rejected_at(
        &text,
        "/telemetry/exporters/otel/options/endpoint/location",
        "is not an http:// or https:// URL",
    );
    assert_rejected_at(
        &text,
        "/telemetry/exporters/secure/options/tls/trust",
        "give the exporter a 'vault'",
    );
    assert_rejected_at(
        &text,
        "/telemetry/exporters/nowhere/vault",
        "vault 'missing' is not defined",
    );
    assert_rejected_at(
        &text,
        "/telemetry/exporters/slow/options/interval",
        "outside 1..=3600",
    );
    let valid = quickstart_with(
        "bindings:\n",
        "telemetry:\n  attributes: { service.namespace: example }\n  metrics: [ http.*, stream.* ]\n  exporters:\n    out: { type: stdout }\n    scrape: { type: prometheus, options: { endpoints: [ { scheme: http, port: 7190, path: /metrics } ] } }\nbindings:\n",
    );
    let outcome = validate(&valid, "yaml");
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
}
