//! The store: revisions, no-ops, If-Match races, checksums, retention, restarts and crashes.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::*;

fn change(n: u64) -> Change {
    Change {
        config: json!({ "name": "test", "bindings": { "n": n } }),
        author: "alice".to_owned(),
        message: format!("change {n}"),
    }
}

fn temp() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-store-{}", uuid_like()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )
}

fn committed(result: Result<Committed, StoreError>) -> Revision {
    match result.expect("commit") {
        Committed::New(revision) => revision,
        Committed::Unchanged(revision) => panic!("unexpected no-op at {}", revision.number),
    }
}

#[test]
fn commits_number_revisions_and_keep_their_history() {
    let dir = temp();
    let store = SledStore::open(&dir).expect("open");
    assert_eq!(store.head().expect("head"), None);
    let first = committed(store.commit(change(1), None, "PUT /v1/config"));
    let second = committed(store.commit(change(2), Some(Some(1)), "PUT /v1/config"));
    assert_eq!((first.number, second.number), (1, 2));
    assert_eq!(second.parent, Some(1));
    assert_eq!(second.author, "alice");
    assert_eq!(second.checksum, checksum(&second.config));
    assert_eq!(store.head().expect("head"), Some(second.clone()));
    assert_eq!(store.get(1).expect("get"), Some(first));
    let listed: Vec<u64> = store
        .list(10)
        .expect("list")
        .iter()
        .map(|r| r.number)
        .collect();
    assert_eq!(listed, vec![2, 1]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_revision_that_could_not_be_applied_leaves_the_head_and_its_number() {
    let dir = temp();
    let store = SledStore::open(&dir).expect("open");
    committed(store.commit(change(1), None, "PUT"));
    let failed = committed(store.commit(change(2), None, "PUT"));
    store
        .reset_head(failed.parent, "alice", "port 80 in use")
        .expect("reset");
    assert_eq!(store.head().expect("head").map(|r| r.number), Some(1));
    let next = committed(store.commit(change(3), Some(Some(1)), "PUT"));
    assert_eq!(next.number, 3, "numbers are never reused");
    assert_eq!(store.get(2).expect("get").map(|r| r.number), Some(2));
    let audit = store.audit(1).expect("audit");
    assert_eq!(audit[0].outcome, "accepted");
    assert!(
        store
            .audit(10)
            .expect("audit")
            .iter()
            .any(|e| e.outcome == "not-applied" && e.detail.as_deref() == Some("port 80 in use"))
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unchanged_configuration_makes_no_revision_but_is_audited() {
    let dir = temp();
    let store = SledStore::open(&dir).expect("open");
    committed(store.commit(change(1), None, "PUT /v1/config"));
    match store
        .commit(change(1), None, "PUT /v1/config")
        .expect("commit")
    {
        Committed::Unchanged(head) => assert_eq!(head.number, 1),
        Committed::New(revision) => panic!("a no-op made revision {}", revision.number),
    }
    assert_eq!(store.list(10).expect("list").len(), 1);
    let outcomes: Vec<String> = store
        .audit(10)
        .expect("audit")
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes, vec!["unchanged", "accepted"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_stale_if_match_is_a_conflict_and_racing_writers_have_one_winner() {
    let dir = temp();
    let store = Arc::new(SledStore::open(&dir).expect("open"));
    committed(store.commit(change(0), None, "seed"));
    assert!(matches!(
        store.commit(change(9), Some(Some(7)), "PUT"),
        Err(StoreError::Conflict { head: Some(1) })
    ));
    for round in 0..20u64 {
        let head = store.head().expect("head").map(|r| r.number);
        let racers: Vec<_> = (0..4u64)
            .map(|writer| {
                let store = store.clone();
                std::thread::spawn(move || {
                    store
                        .commit(change(1000 * (round + 1) + writer), Some(head), "PUT")
                        .is_ok()
                })
            })
            .collect();
        let wins = racers
            .into_iter()
            .map(|r| r.join().expect("thread"))
            .filter(|won| *won)
            .count();
        assert_eq!(wins, 1, "round {round}: exactly one writer wins");
    }
    assert_eq!(store.head().expect("head").map(|r| r.number), Some(21));
    let conflicts = store
        .audit(1000)
        .expect("audit")
        .iter()
        .filter(|e| e.outcome == "conflict")
        .count();
    assert_eq!(conflicts, 1 + 20 * 3, "every losing attempt is audited");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn state_survives_a_restart_and_damage_is_detected() {
    let dir = temp();
    {
        let store = SledStore::open(&dir).expect("open");
        committed(store.commit(change(1), None, "PUT"));
        committed(store.commit(change(2), None, "PUT"));
        store.mark_good(1).expect("good");
        store
            .record("bob", "PUT /v1/config", "rejected", "/name: bad")
            .expect("record");
    }
    let store = SledStore::open(&dir).expect("reopen");
    assert_eq!(store.head().expect("head").map(|r| r.number), Some(2));
    assert_eq!(store.good().expect("good").map(|r| r.number), Some(1));
    assert_eq!(
        store.audit(1).expect("audit")[0].detail.as_deref(),
        Some("/name: bad")
    );
    // Damage revision 2 behind the store's back: reading it says so.
    let mut damaged = store.get(2).expect("get").expect("kept");
    damaged.config = json!({ "name": "tampered" });
    store
        .db
        .insert(revision_key(2), serde_json::to_vec(&damaged).expect("json"))
        .expect("insert");
    assert!(matches!(store.head(), Err(StoreError::Corrupt(_))));
    assert_eq!(store.good().expect("good").map(|r| r.number), Some(1));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_newest_revisions_are_kept_and_the_good_one_always() {
    let dir = temp();
    let store = SledStore::open(&dir).expect("open");
    committed(store.commit(change(1), None, "PUT"));
    store.mark_good(1).expect("good");
    for n in 2..=(KEEP_REVISIONS as u64 + 50) {
        committed(store.commit(change(n), None, "PUT"));
    }
    let kept = store.list(10_000).expect("list");
    assert_eq!(
        kept.len(),
        KEEP_REVISIONS + 1,
        "the newest, plus the good one"
    );
    assert!(
        store.get(1).expect("get").is_some(),
        "the good revision stays"
    );
    assert!(store.get(2).expect("get").is_none());
    assert!(store.get(51).expect("get").is_some());
    let _ = std::fs::remove_dir_all(dir);
}

/// Run by `acknowledged_revisions_survive_kill_9` in a child process: commits revisions
/// forever and prints each number once `commit` has returned.
#[test]
#[ignore = "the child process of acknowledged_revisions_survive_kill_9"]
fn crash_child() {
    let dir = std::env::var("SLUICE_STORE_CRASH_DIR").expect("SLUICE_STORE_CRASH_DIR");
    let store = SledStore::open(Path::new(&dir)).expect("open");
    let start = store.head().expect("head").map_or(0, |r| r.number);
    for n in start + 1.. {
        if let Committed::New(revision) = store.commit(change(n), None, "PUT").expect("commit") {
            println!("acked {}", revision.number);
        }
    }
}

/// The store alone, 50 kills (`controlplane/tests/crash.rs` does 200 through
/// `sluice serve` and the admin API).
#[test]
fn acknowledged_revisions_survive_kill_9() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = temp();
    let exe = std::env::current_exe().expect("test binary");
    let mut acknowledged = 0u64;
    for round in 0..50u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store::sled::tests::crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SLUICE_STORE_CRASH_DIR", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (lines_tx, lines_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(n) = line
                    .strip_prefix("acked ")
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    let _ = lines_tx.send(n);
                }
            }
        });
        // Kill at a different point of the write loop each round.
        let wait = Duration::from_millis(20 + (round * 37) % 120);
        let first = lines_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("child commits");
        acknowledged = acknowledged.max(first);
        std::thread::sleep(wait);
        let pid = i32::try_from(child.id()).expect("pid");
        assert_eq!(kill9(pid), 0);
        let _ = child.wait();
        while let Ok(n) = lines_rx.recv_timeout(Duration::from_millis(200)) {
            acknowledged = acknowledged.max(n);
        }
        let store = SledStore::open(&dir).expect("the store opens after every kill");
        let head = store.head().expect("head readable").map_or(0, |r| r.number);
        assert!(
            head >= acknowledged,
            "round {round}: revision {acknowledged} was acknowledged but the head is {head}"
        );
        for number in acknowledged.saturating_sub(5).max(1)..=acknowledged {
            assert!(
                store.get(number).expect("readable").is_some(),
                "revision {number} lost"
            );
        }
    }
    assert!(acknowledged > 50, "the child made progress: {acknowledged}");
    let _ = std::fs::remove_dir_all(dir);
}

fn kill9(pid: i32) -> i32 {
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .map_or(-1, |s| if s.success() { 0 } else { 1 })
}

#[test]
fn opening_waits_for_a_lock_that_is_let_go() {
    let dir = temp();
    let first = SledStore::open(&dir).expect("open");
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        drop(first);
    });
    let started = std::time::Instant::now();
    let second = SledStore::open(&dir).expect("opened once the first handle let go");
    assert!(started.elapsed() >= Duration::from_millis(300), "it waited");
    holder.join().expect("holder");
    drop(second);
    let _ = std::fs::remove_dir_all(dir);
}
