//! `sluice`: parse arguments, start tracing, build the app, wait for signals, drain.

// Product code keeps functions under 60 lines (clippy.toml); test scenarios and benches
// read top to bottom and are not held to it.
#![warn(clippy::too_many_lines)]

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sluice_controlplane::cli::{Cli, Command, DataplaneArgs, LogFormat, ServeArgs};
use sluice_controlplane::config::{self, ConfigLoadError};
use sluice_controlplane::follow::{FollowConfig, Follower, follow_config};
use sluice_controlplane::limits;
use sluice_controlplane::reload::{admin_tls, admin_tls_reloaded, rotate_admin_token};
use sluice_controlplane::{App, AppConfig, ConfigSource, KafkaSource};
use sluice_dataplane::DataPlaneOptions;
use sluice_shared::CompileOptions;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { file } => validate(&file),
        Command::Serve(args) => serve(args),
        Command::Dataplane(args) => dataplane(args),
    }
}

/// Turns true once the data plane has drained: from then on the Kafka clients' reports are
/// not logged. They are still closing, and with the embedded broker, stopped at the same
/// time, each would log the broker's loss.
static DRAINED: AtomicBool = AtomicBool::new(false);

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let kafka_after_drain = tracing_subscriber::filter::filter_fn(|event| {
        !(DRAINED.load(Ordering::Relaxed)
            && (event.target() == "librdkafka"
                || event.target().starts_with("sluice_dataplane::kafka")))
    });
    let layer = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(layer.with_filter(filter).with_filter(kafka_after_drain))
        .init();
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| {
            eprintln!("cannot start the runtime: {err}");
            ExitCode::FAILURE
        })
}

fn validate(file: &Path) -> ExitCode {
    let name = file.display().to_string();
    let result = config::read_file(file)
        .and_then(|text| config::parse(&text, &name))
        .and_then(|spec| {
            // Relative vault stores and schema files are read from the file's directory, as
            // `sluice run` and `sluice serve` read them.
            let options = CompileOptions {
                base_dir: file.parent().map(Path::to_path_buf),
                ..CompileOptions::default()
            };
            config::compile(&spec, &options, &name)
        });
    match result {
        Ok(table) => {
            println!(
                "{name} is valid: {} listener(s), {} kafka cluster(s)",
                table.listeners.len(),
                table.clusters.len()
            );
            ExitCode::SUCCESS
        }
        Err(ConfigLoadError::Invalid { errors, .. }) => {
            eprintln!("{name} has {} error(s):", errors.0.len());
            for error in errors.iter() {
                eprintln!("  {error}");
            }
            ExitCode::FAILURE
        }
        Err(other) => {
            eprintln!("{other}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    init_tracing(args.log_format);
    limits::log_open_files(limits::raise_open_files());
    let kafka = match KafkaSource::from_flag(args.kafka.as_deref()) {
        Ok(kafka) => kafka,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let app_config = AppConfig {
        config: args
            .config
            .clone()
            .map_or(ConfigSource::Quickstart, ConfigSource::File),
        kafka,
        data_plane: {
            let mut options = DataPlaneOptions {
                bind_host: args.bind_host,
                body_budget_bytes: Some(args.body_budget_bytes),
                ..DataPlaneOptions::default()
            };
            args.traces.apply(&mut options);
            options
        },
        data_dir: Some(args.data_dir.clone()),
    };
    runtime.block_on(run(args, app_config))
}

async fn run(args: ServeArgs, app_config: AppConfig) -> ExitCode {
    let Some(mut signals) = Signals::install() else {
        return ExitCode::FAILURE;
    };
    // Checked before any port is bound.
    let Some(admin_tls) = checked_admin_tls(&args.admin_tls) else {
        return ExitCode::FAILURE;
    };
    let app = match App::start(app_config).await {
        Ok(app) => std::sync::Arc::new(app),
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    let Some(token) = admin_token(&args.data_dir) else {
        return ExitCode::FAILURE;
    };
    let admin = match sluice_controlplane::admin::start(
        app.clone(),
        args.admin_listen,
        admin_tls.clone(),
        token.clone(),
    )
    .await
    {
        Ok(admin) => admin,
        Err(err) => {
            eprintln!(
                "cannot listen on {} for the admin API: {err}",
                args.admin_listen
            );
            return ExitCode::FAILURE;
        }
    };
    while signals.next().await == Signal::Reload {
        match app.reload().await {
            Ok(()) => info!("SIGHUP: configuration source checked"),
            Err(err) => {
                error!(error = %err, "configuration rejected on SIGHUP; the previous one stays active")
            }
        }
        // Certificates renewed in place (same paths) and JWKS keys are read again either way.
        certificates_reloaded(app.reload_certificates());
        admin_tls_reloaded(admin_tls.as_deref());
        rotate_admin_token(
            &args.data_dir,
            &token,
            Duration::from_secs(args.admin_token_grace_seconds),
        );
        info!(urls = app.reload_jwks(), "jwks read again on SIGHUP");
    }
    info!(grace_ms = args.shutdown_grace_ms, "shutting down");
    admin.stop();
    app.shutdown(Duration::from_millis(args.shutdown_grace_ms))
        .await;
    DRAINED.store(true, Ordering::Relaxed);
    ExitCode::SUCCESS
}

/// The admin listener's TLS files, checked (`Some(None)` without TLS); `None` after saying
/// why they cannot be used.
fn checked_admin_tls(
    args: &sluice_controlplane::cli::AdminTlsArgs,
) -> Option<Option<std::sync::Arc<sluice_dataplane::FileAcceptor>>> {
    admin_tls(args)
        .map_err(|err| eprintln!("admin listener TLS: {err}"))
        .ok()
}

/// The admin token (see [`sluice_controlplane::admin_token`]), printed once when it was just
/// made; `None` (after saying why) when it cannot be read or written.
fn admin_token(data_dir: &Path) -> Option<sluice_controlplane::admin::Token> {
    match sluice_controlplane::admin_token(data_dir) {
        Ok((token, new)) => {
            if new {
                eprintln!(
                    "admin token (written to {}; shown this once): {}",
                    data_dir.join("admin-token").display(),
                    token.reveal()
                );
            }
            Some(token)
        }
        Err(err) => {
            eprintln!("admin token: {err}");
            None
        }
    }
}

/// What a signal asks of the process.
#[derive(PartialEq, Eq)]
enum Signal {
    /// SIGTERM or SIGINT: drain and exit.
    Stop,
    /// SIGHUP: read files again.
    Reload,
}

/// The signals `sluice serve` and `sluice dataplane` answer.
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers; `None` (after saying so) when they cannot be.
    fn install() -> Option<Self> {
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(terminate), Ok(interrupt), Ok(hangup)) => Some(Self {
                terminate,
                interrupt,
                hangup,
            }),
            _ => {
                eprintln!("cannot install signal handlers");
                None
            }
        }
    }

    /// The next signal.
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.terminate.recv() => Signal::Stop,
            _ = self.interrupt.recv() => Signal::Stop,
            _ = self.hangup.recv() => Signal::Reload,
        }
    }
}

/// Logs the outcome of a certificate reload (SIGHUP).
fn certificates_reloaded(outcome: Result<usize, sluice_dataplane::TlsErrors>) {
    match outcome {
        Ok(0) => {}
        Ok(listeners) => info!(listeners, "tls certificates reloaded on SIGHUP"),
        Err(err) => {
            error!(error = %err, "tls certificates not reloaded; the listeners keep their certificate")
        }
    }
}

fn dataplane(args: DataplaneArgs) -> ExitCode {
    init_tracing(args.log_format);
    limits::log_open_files(limits::raise_open_files());
    let config = match follow_config(&args) {
        Ok(config) => config,
        Err(message) => {
            // `{:#}` prints the cause after the context: "--admin-token-file F: No such file".
            eprintln!("{message:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(run_dataplane(args, config))
}

async fn run_dataplane(args: DataplaneArgs, config: FollowConfig) -> ExitCode {
    let Some(mut signals) = Signals::install() else {
        return ExitCode::FAILURE;
    };
    // Checked before any port is bound.
    let Some(admin_tls) = checked_admin_tls(&args.admin_tls) else {
        return ExitCode::FAILURE;
    };
    info!(id = %config.id, control_plane = %config.control_plane, "data plane starting");
    let start = Follower::start(config);
    tokio::pin!(start);
    // Waiting for a control plane may take long: SIGTERM stops the wait, SIGHUP does not.
    let follower = loop {
        tokio::select! {
            started = &mut start => match started {
                Ok(follower) => break follower,
                Err(err) => {
                    eprintln!("{err}");
                    return ExitCode::FAILURE;
                }
            },
            signal = signals.next() => if signal == Signal::Stop {
                return ExitCode::SUCCESS;
            },
        }
    };
    let admin = match follower
        .serve_admin(args.admin_listen, admin_tls.clone())
        .await
    {
        Ok(admin) => admin,
        Err(err) => {
            eprintln!(
                "cannot listen on {} for the data plane's admin listener: {err}",
                args.admin_listen
            );
            return ExitCode::FAILURE;
        }
    };
    let following = tokio::spawn(follower.clone().follow());
    while signals.next().await == Signal::Reload {
        certificates_reloaded(follower.reload_certificates());
        admin_tls_reloaded(admin_tls.as_deref());
        match follower.reload_client() {
            Ok(()) => info!("control plane client's TLS files read again on SIGHUP"),
            Err(err) => {
                error!(error = %err, "control plane client's TLS files not reloaded; it keeps the ones it has")
            }
        }
    }
    info!(grace_ms = args.shutdown_grace_ms, "shutting down");
    following.abort();
    let _ = following.await;
    admin.stop();
    follower
        .shutdown(Duration::from_millis(args.shutdown_grace_ms))
        .await;
    ExitCode::SUCCESS
}
