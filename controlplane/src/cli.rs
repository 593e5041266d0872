//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Sluice: an HTTP and Server-Sent-Events gateway for Apache Kafka.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (control plane and data plane in one process).
    Serve(ServeArgs),
    /// Check a configuration file: print every error with its location; exit 0 when valid.
    Validate {
        /// The configuration file (YAML or JSON).
        file: PathBuf,
    },
}

/// `sluice serve` options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Configuration file (YAML or JSON). Without it, the built-in quick-start runs.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the configuration store.
    #[arg(long, value_name = "DIR", default_value = "./sluice-data")]
    pub data_dir: PathBuf,
    /// Address of the admin API.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7180")]
    pub admin_listen: SocketAddr,
    /// Kafka bootstrap servers (comma-separated), overriding the configuration's; or
    /// `embedded` for the in-process development broker (the default when the
    /// configuration names no servers).
    #[arg(long, value_name = "BOOTSTRAP")]
    pub kafka: Option<String>,
    /// Milliseconds requests in flight get to finish after SIGTERM or SIGINT.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
}
