//! `apply`: configuration changes through the control plane, in process (no Kafka).
//!
//! 1. Apply latency (`App::change`: validate, compile, store with flush, swap) at 10, 1,000
//!    and 10,000 routes: p50 / p99 over repeated one-route changes.
//! 2. The data plane's p99 on an untouched route while one change per second is applied,
//!    against the same load without changes (1,000 routes).
//! 3. Process RSS after 1,000 applies against after 10 (10 routes).
//!
//! Prints one JSON line per measurement.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use sluice_controlplane::app::ConfigChange;
use sluice_controlplane::{App, AppConfig, ConfigSource, KafkaSource};
use sluice_dataplane::DataPlaneOptions;

/// `apply` options.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Seconds of load for each half of the p99 comparison.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients of that load.
    #[arg(long, default_value_t = 8)]
    clients: usize,
}

const PORT: u16 = 8080;

/// A configuration with `routes` echo routes `/r0`..; the last one's path carries `version`.
fn config(routes: usize, version: usize) -> Value {
    let list: Vec<Value> = (0..routes)
        .map(|i| {
            let path = if i + 1 == routes && routes > 1 {
                format!("/r{i}-v{version}")
            } else {
                format!("/r{i}")
            };
            json!({ "when": [ { "headers": { ":path": path } } ], "exit": "echo" })
        })
        .collect();
    json!({
        "name": "bench-apply",
        "bindings": {
            "tcp": { "type": "tcp", "kind": "server", "options": { "host": "127.0.0.1", "port": PORT }, "exit": "http" },
            "http": { "type": "http", "kind": "server", "routes": list },
            "echo": { "type": "echo", "kind": "server" }
        }
    })
}

async fn start(routes: usize) -> Result<(App, PathBuf)> {
    let dir = std::env::temp_dir().join(format!("sluice-bench-apply-{}", uuid::Uuid::new_v4()));
    let app = App::start(AppConfig {
        config: ConfigSource::Text(config(routes, 0).to_string()),
        kafka: KafkaSource::Config,
        data_plane: DataPlaneOptions {
            bind_override: Some("127.0.0.1:0".parse()?),
            ..DataPlaneOptions::default()
        },
        data_dir: Some(dir.clone()),
    })
    .await?;
    Ok((app, dir))
}

async fn apply(app: &App, routes: usize, version: usize) -> Result<Duration> {
    let started = Instant::now();
    app.change(ConfigChange {
        config: config(routes, version),
        author: "bench".to_owned(),
        message: format!("change {version}"),
        expected: None,
        dry_run: false,
        action: "bench".to_owned(),
    })
    .await
    .map_err(|e| anyhow::anyhow!("apply {version}: {e}"))?;
    Ok(started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

fn rss_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmRSS")
}

/// Load on `/r0` for `seconds`; calls `during` once per second meanwhile. Request latencies.
async fn load(
    app: &App,
    args: &ApplyArgs,
    mut during: impl FnMut(usize) -> Option<usize>,
    routes: usize,
) -> Result<(Vec<Duration>, u64)> {
    let addr = app.local_addr(PORT).await.context("listener")?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        tasks.push(tokio::spawn(async move {
            let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            let (mut latencies, mut failed) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let request = http::Request::post(format!("http://{addr}/r0"))
                    .body(Full::new(Bytes::from_static(b"x")))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let started = Instant::now();
                match client.request(request).await {
                    Ok(response) if response.status() == 200 => {
                        let _ = response.into_body().collect().await;
                        latencies.push(started.elapsed());
                    }
                    _ => failed += 1,
                }
            }
            Ok::<_, anyhow::Error>((latencies, failed))
        }));
    }
    let mut second = 0;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        second += 1;
        if let Some(version) = during(second) {
            apply(app, routes, version).await?;
        }
    }
    let (mut all, mut failed) = (Vec::new(), 0);
    for task in tasks {
        let (latencies, failures) = task.await??;
        all.extend(latencies);
        failed += failures;
    }
    all.sort();
    Ok((all, failed))
}

/// Runs the three measurements.
pub async fn run(args: ApplyArgs) -> Result<()> {
    for routes in [10usize, 1_000, 10_000] {
        let (app, dir) = start(routes).await?;
        let changes = if routes >= 10_000 { 20 } else { 50 };
        let mut times = Vec::with_capacity(changes);
        for version in 1..=changes {
            times.push(apply(&app, routes, version).await?);
        }
        times.sort();
        println!(
            "{{\"measure\": \"apply latency\", \"routes\": {routes}, \"applies\": {changes}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}}}",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
        app.shutdown(Duration::from_secs(1)).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    let routes = 1_000;
    let (app, dir) = start(routes).await?;
    let (quiet, quiet_failed) = load(&app, &args, |_| None, routes).await?;
    let mut version = 100;
    let (busy, busy_failed) = load(
        &app,
        &args,
        |_| {
            version += 1;
            Some(version)
        },
        routes,
    )
    .await?;
    let (quiet_p99, busy_p99) = (percentile(&quiet, 0.99), percentile(&busy, 0.99));
    println!(
        "{{\"measure\": \"data plane p99 on an untouched route\", \"routes\": {routes}, \"clients\": {}, \"without_applies_ms\": {quiet_p99:.3}, \"with_1_apply_per_s_ms\": {busy_p99:.3}, \"ratio\": {:.2}, \"requests\": [{}, {}], \"failed\": [{quiet_failed}, {busy_failed}], \"goal_ratio\": 1.5}}",
        args.clients,
        busy_p99 / quiet_p99.max(f64::MIN_POSITIVE),
        quiet.len(),
        busy.len()
    );
    app.shutdown(Duration::from_secs(1)).await;
    let _ = std::fs::remove_dir_all(dir);
    anyhow::ensure!(
        quiet_failed == 0 && busy_failed == 0,
        "requests failed during applies"
    );

    let (app, dir) = start(10).await?;
    for version in 1..=10 {
        apply(&app, 10, version).await?;
    }
    let after_10 = rss_kib()?;
    for version in 11..=1_000 {
        apply(&app, 10, version).await?;
    }
    let after_1000 = rss_kib()?;
    println!(
        "{{\"measure\": \"RSS after applies\", \"after_10_kib\": {after_10}, \"after_1000_kib\": {after_1000}, \"ratio\": {:.3}, \"goal_ratio\": 1.05}}",
        after_1000 as f64 / after_10 as f64
    );
    app.shutdown(Duration::from_secs(1)).await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
