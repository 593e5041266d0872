//! Scale-out: `sluice dataplane --control-plane URL` follows `sluice serve`, keeps serving
//! through a SIGKILL of the control plane (and its own restart while the control plane is
//! down), and picks up the next revision once the control plane is back.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers panic on setup failures

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "follow-test-token";
/// Where the data plane binds its listeners (the control plane's use 127.0.0.1).
const DATA_PLANE_HOST: &str = "127.0.0.2";

fn config(port: u16, path: &str) -> String {
    format!(
        "name: follow\nbindings:\n  tcp: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: {port} }}, exit: http }}\n  http:\n    type: http\n    kind: server\n    routes:\n      - when: [ {{ headers: {{ \":path\": \"{path}\" }} }} ]\n        exit: echo\n  echo: {{ type: echo, kind: server }}\n"
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One admin-token request to `host:port`.
fn request(host: &str, port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    common::request(host, port, method, path, TOKEN, body)
}

/// Starts `sluice <args>` and waits for the log line `"<listening> listening"`; the child
/// and the port it names.
fn spawn(args: &[&str], dir: &Path, listening: &str) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "info")
        .env("SLUICE_ADMIN_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sluice");
    let port = common::listening_port(&mut child, &format!("{listening} listening"));
    (child, port)
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits up to 20 s for `check`.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn serves(port: u16, path: &str) -> bool {
    request(DATA_PLANE_HOST, port, "GET", path, "").is_some_and(|(status, _)| status == 200)
}

fn status_of(admin: u16) -> serde_json::Value {
    let (status, body) = request("127.0.0.1", admin, "GET", "/v1/status", "").expect("status");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("status JSON")
}

#[test]
fn a_data_plane_serves_through_a_control_plane_kill_and_follows_again() {
    let root = std::env::temp_dir().join(format!("sluice-follow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("temp dir");
    let (cp_dir, dp_dir) = (root.join("control"), root.join("data"));
    let data_port = free_port();
    let file = root.join("config.yaml");
    std::fs::write(&file, config(data_port, "/one")).expect("config");
    let admin_port = free_port();
    let admin_listen = format!("127.0.0.1:{admin_port}");
    let control_plane_url = format!("http://127.0.0.1:{admin_port}");
    let serve_args = [
        "serve",
        "--admin-listen",
        &admin_listen,
        "--config",
        file.to_str().unwrap(),
    ];
    let dataplane_args = [
        "dataplane",
        "--control-plane",
        &control_plane_url,
        "--id",
        "edge-1",
        "--bind-host",
        DATA_PLANE_HOST,
        "--admin-listen",
        "127.0.0.1:0",
    ];

    let (mut control, _) = spawn(&serve_args, &cp_dir, "admin API");
    let (mut data, dp_admin) = spawn(&dataplane_args, &dp_dir, "data plane admin");
    eventually("the data plane serves revision 1", || {
        serves(data_port, "/one")
    });
    eventually(
        "the control plane lists the data plane at revision 1",
        || {
            let planes = status_of(admin_port)["data_planes"].clone();
            planes[0]["id"] == "edge-1"
                && planes[0]["applied_revision"] == 1
                && planes[0]["connected"] == true
        },
    );

    // A change reaches the data plane.
    let (status, body) = request(
        "127.0.0.1",
        admin_port,
        "PUT",
        "/v1/config",
        &config(data_port, "/two"),
    )
    .expect("PUT");
    assert_eq!(status, 200, "{body}");
    eventually("the data plane serves revision 2", || {
        serves(data_port, "/two")
    });
    assert!(!serves(data_port, "/one"), "revision 1's route is gone");

    // The control plane dies; the data plane keeps serving, and says the control plane is
    // unreachable.
    kill(&mut control);
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(3) {
        assert!(
            serves(data_port, "/two"),
            "a request failed while the control plane is down"
        );
        served += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("{served} requests served while the control plane was down, 0 failed");
    eventually(
        "the data plane reports the control plane unreachable",
        || status_of(dp_admin)["control_plane"]["reachable"] == false,
    );

    // The data plane restarts while the control plane is still down: it serves its local copy.
    kill(&mut data);
    let (mut data, dp_admin) = spawn(&dataplane_args, &dp_dir, "data plane admin");
    assert!(serves(data_port, "/two"), "restarted from the local copy");
    assert_eq!(status_of(dp_admin)["live_revision"], 2);

    // The control plane returns (from its store: without --config, which would be applied
    // as a new revision); the next revision reaches the data plane.
    let (mut control, _) = spawn(&serve_args[..3], &cp_dir, "admin API");
    let (status, body) = request(
        "127.0.0.1",
        admin_port,
        "PUT",
        "/v1/config",
        &config(data_port, "/three"),
    )
    .expect("PUT");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"revision\":3"), "{body}");
    eventually("the data plane serves revision 3", || {
        serves(data_port, "/three")
    });
    eventually(
        "the control plane lists the data plane at revision 3",
        || status_of(admin_port)["data_planes"][0]["applied_revision"] == 3,
    );
    assert_eq!(status_of(dp_admin)["control_plane"]["reachable"], true);

    // A revision this data plane cannot apply is reported, and the previous one stays.
    let occupied = std::net::TcpListener::bind((DATA_PLANE_HOST, 0)).expect("bind");
    let busy_port = occupied.local_addr().unwrap().port();
    let (status, body) = request(
        "127.0.0.1",
        admin_port,
        "PUT",
        "/v1/config",
        &config(busy_port, "/four"),
    )
    .expect("PUT");
    assert_eq!(status, 200, "the control plane itself can bind it: {body}");
    eventually(
        "the control plane shows the data plane's apply error",
        || {
            let plane = status_of(admin_port)["data_planes"][0].clone();
            plane["applied_revision"] == 3
                && plane["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("revision 4") && e.contains("cannot listen"))
        },
    );
    assert!(serves(data_port, "/three"), "revision 3 still serves");
    drop(occupied);

    let (status, metrics) = request("127.0.0.1", dp_admin, "GET", "/metrics", "").expect("metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("sluice_config_revision 3"), "{metrics}");
    assert!(
        metrics.contains("sluice_config_rejected_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_control_plane_reachable 1"),
        "{metrics}"
    );

    kill(&mut data);
    kill(&mut control);
    let _ = std::fs::remove_dir_all(&root);
}
