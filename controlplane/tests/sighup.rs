//! Which source wins on SIGHUP and on restart: a `--config` file is applied only when its
//! text changed since it was last applied, so a SIGHUP sent to renew certificates (or a
//! restart with the same file) never undoes a change made through the admin API.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers panic on setup failures

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn config(port: u16, path: &str) -> String {
    format!(
        "name: sighup\nbindings:\n  tcp: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: {port} }}, exit: http }}\n  http:\n    type: http\n    kind: server\n    routes:\n      - when: [ {{ headers: {{ \":path\": \"{path}\" }} }} ]\n        exit: echo\n  echo: {{ type: echo, kind: server }}\n"
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Starts `sluice serve` on `dir`, with `--config file` when given; returns it and its
/// admin port.
fn start(dir: &Path, file: Option<&Path>) -> (Child, u16) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command
        .args(["serve", "--admin-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "info")
        .env_remove("SLUICE_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(file) = file {
        command.arg("--config").arg(file);
    }
    let mut child = command.spawn().expect("start sluice");
    let port = common::listening_port(&mut child, "admin API listening");
    (child, port)
}

fn stop(mut child: Child) {
    signal(&child, "TERM");
    child.wait().expect("sluice exits");
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// The status of `GET path` on the data plane's port.
fn data(port: u16, path: &str) -> u16 {
    common::request("127.0.0.1", port, "GET", path, "", "").map_or(0, |(status, _)| status)
}

/// Waits until `GET path` answers `status`.
fn wait_for(port: u16, path: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while data(port, path) != status {
        assert!(
            Instant::now() < deadline,
            "GET {path} never answered {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The number of revisions in the store.
fn revisions(admin: u16, token: &str) -> usize {
    let (status, body) =
        common::request("127.0.0.1", admin, "GET", "/v1/revisions", token, "").expect("revisions");
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    list["revisions"]
        .as_array()
        .or(list.as_array())
        .map_or(0, Vec::len)
}

fn put_config(admin: u16, token: &str, text: &str) {
    let (status, body) =
        common::request("127.0.0.1", admin, "PUT", "/v1/config", token, text).expect("put");
    assert_eq!(status, 200, "{body}");
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

#[test]
fn sighup_without_config_applies_nothing_and_keeps_api_changes() {
    let root = temp_dir("sighup-none");
    let (data_dir, file) = (root.join("data"), root.join("sluice.yaml"));
    let port = free_port();
    std::fs::write(&file, config(port, "/from-file")).expect("config");
    // A first start with the file fills the store; later starts have no --config.
    let (child, _) = start(&data_dir, Some(&file));
    wait_for(port, "/from-file", 200);
    stop(child);

    let (child, admin) = start(&data_dir, None);
    let token = std::fs::read_to_string(data_dir.join("admin-token")).expect("token");
    put_config(admin, &token, &config(port, "/from-api"));
    wait_for(port, "/from-api", 200);
    let before = revisions(admin, &token);

    signal(&child, "HUP");
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(data(port, "/from-api"), 200, "SIGHUP undid the API change");
    assert_eq!(data(port, "/from-file"), 404);
    assert_eq!(revisions(admin, &token), before, "SIGHUP made a revision");
    stop(child);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_config_file_wins_only_when_it_changed_since_it_was_applied() {
    let root = temp_dir("sighup-file");
    let (data_dir, file) = (root.join("data"), root.join("sluice.yaml"));
    let port = free_port();
    std::fs::write(&file, config(port, "/file-1")).expect("config");
    let (child, admin) = start(&data_dir, Some(&file));
    let token = std::fs::read_to_string(data_dir.join("admin-token")).expect("token");
    wait_for(port, "/file-1", 200);
    put_config(admin, &token, &config(port, "/from-api"));
    wait_for(port, "/from-api", 200);
    let before = revisions(admin, &token);

    // The file did not change: SIGHUP keeps the API change and makes no revision.
    signal(&child, "HUP");
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(data(port, "/from-api"), 200, "SIGHUP undid the API change");
    assert_eq!(revisions(admin, &token), before);

    // A restart with the same file keeps it too.
    stop(child);
    let (child, admin) = start(&data_dir, Some(&file));
    wait_for(port, "/from-api", 200);
    assert_eq!(data(port, "/file-1"), 404);
    assert_eq!(revisions(admin, &token), before);

    // The file changed: SIGHUP applies it as a new revision.
    std::fs::write(&file, config(port, "/file-2")).expect("config");
    signal(&child, "HUP");
    wait_for(port, "/file-2", 200);
    assert_eq!(data(port, "/from-api"), 404);
    assert_eq!(revisions(admin, &token), before + 1);
    stop(child);
    let _ = std::fs::remove_dir_all(&root);
}
