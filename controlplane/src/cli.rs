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
    /// Run a data plane alone that follows a control plane's revisions (scale-out).
    Dataplane(DataplaneArgs),
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
    /// TLS on the admin listener.
    #[command(flatten)]
    pub admin_tls: AdminTlsArgs,
    /// Seconds the previous admin token is still accepted after SIGHUP read a new one from
    /// the data directory's `admin-token` file (data planes change over meanwhile).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub admin_token_grace_seconds: u64,
    /// Bind every data-plane listener on this address instead of the configured host
    /// (ports stay), for example 0.0.0.0 behind a load balancer.
    #[arg(long, value_name = "IP")]
    pub bind_host: Option<std::net::IpAddr>,
    /// Kafka bootstrap servers (comma-separated), overriding the configuration's; or
    /// `embedded` for the in-process development broker (the default when the
    /// configuration names no servers).
    #[arg(long, value_name = "BOOTSTRAP")]
    pub kafka: Option<String>,
    /// Milliseconds requests in flight get to finish after SIGTERM or SIGINT.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
    /// Memory budget for request bodies being received, over every listener, bytes; bodies
    /// past it get 503 (`overloaded`) instead of memory.
    #[arg(long, value_name = "BYTES", default_value_t = sluice_dataplane::budget::DEFAULT_BODY_BUDGET_BYTES, value_parser = clap::value_parser!(u64).range(1024..))]
    pub body_budget_bytes: u64,
    /// Log lines as human-readable text or as one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Traces sent whatever the configuration says.
    #[command(flatten)]
    pub traces: TraceArgs,
}

/// `sluice dataplane` options.
#[derive(Debug, Clone, clap::Args)]
pub struct DataplaneArgs {
    /// The control plane's admin API, `https://host:port` (or `http://` on a private
    /// network). The admin token, when the control plane needs one, comes from
    /// --admin-token-file (read again before every poll, so it can be rotated) or
    /// SLUICE_ADMIN_TOKEN.
    #[arg(long, value_name = "URL")]
    pub control_plane: String,
    /// PEM authorities the control plane's certificate must chain to (default: the
    /// system's). Read again on SIGHUP.
    #[arg(long, value_name = "FILE")]
    pub control_plane_ca: Option<PathBuf>,
    /// PEM client certificate presented to the control plane (mutual TLS), with
    /// --client-key. Read again on SIGHUP.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// This data plane's name in the control plane's status (default: an id made once and
    /// kept in the data directory).
    #[arg(long, value_name = "NAME")]
    pub id: Option<String>,
    /// Directory where the last good configuration is kept.
    #[arg(long, value_name = "DIR", default_value = "./sluice-dataplane-data")]
    pub data_dir: PathBuf,
    /// Address of this data plane's admin listener (health, metrics, status; read-only).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7181")]
    pub admin_listen: SocketAddr,
    /// TLS on this data plane's admin listener.
    #[command(flatten)]
    pub admin_tls: AdminTlsArgs,
    /// Kafka bootstrap servers (comma-separated), overriding the configuration's.
    #[arg(long, value_name = "BOOTSTRAP")]
    pub kafka: Option<String>,
    /// Bind every listener on this address instead of the configured host (ports stay).
    #[arg(long, value_name = "IP")]
    pub bind_host: Option<std::net::IpAddr>,
    /// File holding the admin token sent to the control plane.
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Milliseconds requests in flight get to finish after SIGTERM or SIGINT.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
    /// Memory budget for request bodies being received, over every listener, bytes; bodies
    /// past it get 503 (`overloaded`) instead of memory.
    #[arg(long, value_name = "BYTES", default_value_t = sluice_dataplane::budget::DEFAULT_BODY_BUDGET_BYTES, value_parser = clap::value_parser!(u64).range(1024..))]
    pub body_budget_bytes: u64,
    /// Log lines as human-readable text or as one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Traces sent whatever the configuration says.
    #[command(flatten)]
    pub traces: TraceArgs,
}

/// TLS on an admin listener: PEM files, read again on SIGHUP (connections already open,
/// such as data planes' long-polls, keep theirs).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AdminTlsArgs {
    /// PEM certificate chain (leaf first) of the admin listener: with --admin-tls-key it
    /// serves the admin API, the web UI and /metrics over HTTPS only.
    #[arg(long, value_name = "FILE", requires = "admin_tls_key")]
    pub admin_tls_cert: Option<PathBuf>,
    /// PEM private key of --admin-tls-cert.
    #[arg(long, value_name = "FILE", requires = "admin_tls_cert")]
    pub admin_tls_key: Option<PathBuf>,
    /// PEM authorities of client certificates (mutual TLS): every admin client must then
    /// present a certificate they signed, and one without is refused in the handshake,
    /// before any token is looked at.
    #[arg(long, value_name = "FILE", requires = "admin_tls_cert")]
    pub admin_tls_client_ca: Option<PathBuf>,
}

impl AdminTlsArgs {
    /// The files, when TLS is asked for.
    pub fn files(&self) -> Option<sluice_dataplane::ServerFiles> {
        let (certificate, key) = (self.admin_tls_cert.clone()?, self.admin_tls_key.clone()?);
        Some(sluice_dataplane::ServerFiles {
            certificate: (certificate, "--admin-tls-cert"),
            key: (key, "--admin-tls-key"),
            client_ca: self
                .admin_tls_client_ca
                .clone()
                .map(|ca| (ca, "--admin-tls-client-ca")),
        })
    }
}

/// Where traces go, whatever the configuration says.
#[derive(Debug, Clone, clap::Args)]
pub struct TraceArgs {
    /// Send traces (OTLP/HTTP, protobuf) to this endpoint, for example
    /// `http://127.0.0.1:4318/v1/traces`, besides the configuration's `otlp` exporters.
    #[arg(long, value_name = "URL", value_parser = otlp_url)]
    pub otlp_traces: Option<String>,
    /// The share of new traces recorded for --otlp-traces, 0 to 1; a request whose
    /// `traceparent` says sampled is always recorded.
    #[arg(long, value_name = "RATIO", default_value_t = 1.0, value_parser = ratio)]
    pub trace_sampling: f64,
}

impl TraceArgs {
    /// The data plane's options for these arguments.
    pub fn apply(&self, options: &mut sluice_dataplane::DataPlaneOptions) {
        options.traces_url.clone_from(&self.otlp_traces);
        // In 0..=1 (checked by the parser), so the product fits.
        options.trace_sampling_ppm = (self.trace_sampling * 1_000_000.0).round() as u32;
    }
}

fn otlp_url(text: &str) -> Result<String, String> {
    let plain = text.strip_prefix("http://").filter(|rest| !rest.is_empty());
    if plain.is_some() {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "'{text}' is not an http:// URL (an https:// collector is configured with a telemetry exporter and its vault)"
        ))
    }
}

fn ratio(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("'{text}' is not a number from 0 to 1"))
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colored on a terminal).
    Text,
    /// One JSON object per line: timestamp, level, target, message and fields.
    Json,
}
