//! Crash safety of `sluice serve`: configuration changes are PUT through the admin API while
//! the process is killed with SIGKILL, 200 times. Every change answered 2xx must be in the
//! store afterwards, and the store must open every time.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers panic on setup failures

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ROUNDS: u64 = 200;

fn config(port: u16, path: &str) -> String {
    format!(
        "name: crash\nbindings:\n  tcp: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: {port} }}, exit: http }}\n  http:\n    type: http\n    kind: server\n    routes:\n      - when: [ {{ headers: {{ \":path\": \"{path}\" }} }} ]\n        exit: echo\n  echo: {{ type: echo, kind: server }}\n"
    )
}

/// One admin request to `127.0.0.1:port`.
fn request(port: u16, method: &str, path: &str, token: &str, body: &str) -> Option<(u16, String)> {
    common::request("127.0.0.1", port, method, path, token, body)
}

fn start(dir: &Path, file: &Path) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--admin-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--config")
        .arg(file)
        .env("RUST_LOG", "info")
        .env_remove("SLUICE_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sluice");
    let port = common::listening_port(&mut child, "admin API listening");
    (child, port)
}

#[test]
fn acknowledged_changes_survive_kill_9_of_sluice_serve() {
    let dir = std::env::temp_dir().join(format!("sluice-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.with_extension("yaml");
    let data_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    std::fs::write(&file, config(data_port, "/start")).expect("config");
    let mut acknowledged: Vec<u64> = Vec::new();
    let started = Instant::now();
    for round in 0..ROUNDS {
        let (mut child, port) = start(&dir, &file);
        let token = std::fs::read_to_string(dir.join("admin-token")).expect("token");
        // Everything acknowledged before the last kill is there.
        for number in acknowledged.iter().rev().take(20) {
            let (status, _) = request(port, "GET", &format!("/v1/revisions/{number}"), &token, "")
                .expect("the admin API answers after a restart");
            assert_eq!(
                status, 200,
                "round {round}: acknowledged revision {number} is lost"
            );
        }
        let (writer_tx, writer_rx) = mpsc::channel();
        let writer_token = token.clone();
        std::thread::spawn(move || {
            for change in 0.. {
                let body = config(data_port, &format!("/r{round}-{change}"));
                match request(port, "PUT", "/v1/config", &writer_token, &body) {
                    Some((200, body)) => {
                        let revision = body
                            .split("\"revision\":")
                            .nth(1)
                            .and_then(|rest| rest.split([',', '}']).next())
                            .and_then(|n| n.trim().parse::<u64>().ok());
                        if let Some(revision) = revision
                            && writer_tx.send(revision).is_err()
                        {
                            return;
                        }
                    }
                    _ => return,
                }
            }
        });
        std::thread::sleep(Duration::from_millis(10 + (round * 53) % 150));
        let status = Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let _ = child.wait();
        acknowledged.extend(writer_rx.try_iter());
    }
    // A last start: the store opens and the newest acknowledged revision is there.
    let (mut child, port) = start(&dir, &file);
    let token = std::fs::read_to_string(dir.join("admin-token")).expect("token");
    let newest = acknowledged.iter().max().copied().unwrap_or(0);
    let (status, _) =
        request(port, "GET", &format!("/v1/revisions/{newest}"), &token, "").expect("admin API");
    assert_eq!(status, 200);
    let _ = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status();
    let _ = child.wait();
    println!(
        "{ROUNDS} kills of sluice serve in {:?}: {} changes acknowledged, none lost",
        started.elapsed(),
        acknowledged.len()
    );
    assert!(
        acknowledged.len() as u64 > ROUNDS,
        "changes were made between the kills"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&file);
}
