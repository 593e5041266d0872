//! The flags of `sluice dataplane` made a [`FollowConfig`], checked before anything starts.

use anyhow::Context as _;
use sluice_dataplane::{ClientFiles, DataPlaneOptions};

use super::state::FollowConfig;
use crate::KafkaSource;
use crate::admin::{Token, read_token_file};
use crate::cli::DataplaneArgs;

/// Checks the flags of `sluice dataplane` and reads the token file.
pub fn follow_config(args: &DataplaneArgs) -> anyhow::Result<FollowConfig> {
    let control_plane = args
        .control_plane
        .parse()
        .with_context(|| format!("--control-plane '{}'", args.control_plane))?;
    let kafka = match KafkaSource::from_flag(args.kafka.as_deref())? {
        KafkaSource::Servers(servers) => Some(servers),
        KafkaSource::Config => None,
        _ => anyhow::bail!(
            "--kafka embedded: a separate data plane needs the Kafka cluster its control plane uses; give its bootstrap servers"
        ),
    };
    let token = match (&args.admin_token_file, std::env::var("SLUICE_ADMIN_TOKEN")) {
        (Some(file), _) => read_token_file(file)
            .with_context(|| format!("--admin-token-file {}", file.display()))?,
        (None, Ok(text)) => Some(text.trim().to_owned()).filter(|t| !t.is_empty()),
        (None, Err(_)) => None,
    };
    let id = match &args.id {
        Some(id) => id.clone(),
        None => crate::data_plane_id(&args.data_dir)
            .with_context(|| format!("data directory {}", args.data_dir.display()))?,
    };
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        anyhow::bail!("--id '{id}': 1 to 64 letters, digits, '.', '_' or '-'");
    }
    let mut data_plane = DataPlaneOptions {
        bind_host: args.bind_host,
        body_budget_bytes: Some(args.body_budget_bytes),
        ..DataPlaneOptions::default()
    };
    args.traces.apply(&mut data_plane);
    Ok(FollowConfig {
        control_plane,
        token: token.as_deref().map(Token::new),
        token_file: args.admin_token_file.clone(),
        tls: ClientFiles {
            ca: args
                .control_plane_ca
                .clone()
                .map(|ca| (ca, "--control-plane-ca")),
            identity: args
                .client_cert
                .clone()
                .zip(args.client_key.clone())
                .map(|(cert, key)| ((cert, "--client-cert"), (key, "--client-key"))),
        },
        id,
        data_dir: args.data_dir.clone(),
        kafka,
        data_plane,
    })
}
