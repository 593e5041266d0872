//! Awaiting a condition instead of sleeping.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// Waits until `condition` holds, asking every 20 ms, for at most `within`; the error says
/// `what` was awaited. Use it instead of a sleep wherever a condition can be observed.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut condition: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if condition().await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
