//! `sluice`: parse arguments, start tracing, build the app, wait for signals, drain.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sluice_controlplane::cli::{Cli, Command, ServeArgs};
use sluice_controlplane::config::{self, ConfigLoadError};
use sluice_controlplane::{App, AppConfig, ConfigSource, KafkaSource};
use sluice_dataplane::DataPlaneOptions;
use sluice_shared::CompileOptions;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { file } => validate(&file),
        Command::Serve(args) => serve(args),
    }
}

fn validate(file: &Path) -> ExitCode {
    let name = file.display().to_string();
    let result = config::read_file(file)
        .and_then(|text| config::parse(&text, &name))
        .and_then(|spec| config::compile(&spec, &CompileOptions::default(), &name));
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let kafka = match KafkaSource::from_flag(args.kafka.as_deref()) {
        Ok(kafka) => kafka,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let app_config = AppConfig {
        config: args
            .config
            .clone()
            .map_or(ConfigSource::Quickstart, ConfigSource::File),
        kafka,
        data_plane: DataPlaneOptions::default(),
        data_dir: Some(args.data_dir.clone()),
    };
    runtime.block_on(run(args, app_config))
}

async fn run(args: ServeArgs, app_config: AppConfig) -> ExitCode {
    let (Ok(mut terminate), Ok(mut interrupt), Ok(mut hangup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        eprintln!("cannot install signal handlers");
        return ExitCode::FAILURE;
    };
    let app = match App::start(app_config).await {
        Ok(app) => std::sync::Arc::new(app),
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    let token = match sluice_controlplane::admin_token(&args.data_dir) {
        Ok((token, new)) => {
            if new {
                println!(
                    "admin token (written to {}; shown this once): {}",
                    args.data_dir.join("admin-token").display(),
                    token.reveal()
                );
            }
            token
        }
        Err(err) => {
            eprintln!("admin token: {err}");
            return ExitCode::FAILURE;
        }
    };
    let admin = match sluice_controlplane::admin::start(app.clone(), args.admin_listen, token).await
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
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => match app.reload().await {
                Ok(()) => info!("configuration reloaded on SIGHUP"),
                Err(err) => error!(error = %err, "configuration rejected on SIGHUP; the previous one stays active"),
            },
        }
    }
    info!(grace_ms = args.shutdown_grace_ms, "shutting down");
    admin.stop();
    let mut app = app;
    for _ in 0..100 {
        match std::sync::Arc::try_unwrap(app) {
            Ok(owned) => {
                owned
                    .shutdown(Duration::from_millis(args.shutdown_grace_ms))
                    .await;
                return ExitCode::SUCCESS;
            }
            Err(shared) => {
                app = shared;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    warn!("admin requests still hold the gateway after 2 s; exiting without draining");
    ExitCode::SUCCESS
}
