//! `registry`: the tests' schema registry (`sluice_tests::registry`) as a process for the
//! models benchmark: registers `--schema subject=TYPE:FILE` entries, prints
//! `{"url": ..., "ids": {subject: id}}` on one line, and serves until it is killed.
//! `GET /_requests` answers how many requests it served.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use sluice_tests::registry::TestRegistry;

/// Arguments of `registry`.
#[derive(Debug, clap::Args)]
pub(crate) struct RegistryArgs {
    /// `subject=AVRO:path`, `subject=PROTOBUF:path` or `subject=JSON:path`; repeatable.
    #[arg(long = "schema")]
    schemas: Vec<String>,
}

pub(crate) async fn run(args: RegistryArgs) -> Result<()> {
    let registry = TestRegistry::start(None).await?;
    let mut ids = BTreeMap::new();
    for entry in &args.schemas {
        let (subject, rest) = entry
            .split_once('=')
            .context("--schema subject=TYPE:FILE")?;
        let (kind, path) = rest.split_once(':').context("--schema subject=TYPE:FILE")?;
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
        ids.insert(subject.to_owned(), registry.register(subject, &text, kind));
    }
    println!("{}", serde_json::json!({ "url": registry.url, "ids": ids }));
    registry.task.await?;
    Ok(())
}
