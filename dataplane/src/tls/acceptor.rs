//! The TLS listeners of one configuration and the reload of their certificates.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use sluice_shared::RouteTable;
use sluice_shared::table::TlsListener;
use tracing::info;

use super::config::{Loaded, server_config};
use super::error::{TlsError, TlsErrors};

/// The TLS settings of one listener and its current `rustls` configuration.
pub(crate) struct Acceptor {
    settings: TlsListener,
    config: ArcSwap<ServerConfig>,
    /// When the certificate served expires, Unix seconds.
    not_after: std::sync::atomic::AtomicU64,
}

impl Acceptor {
    /// The configuration for the next handshake.
    pub(crate) fn config(&self) -> Arc<ServerConfig> {
        self.config.load_full()
    }
}

/// The TLS listeners of one configuration, by configured port.
#[derive(Default)]
pub(crate) struct Acceptors {
    by_port: HashMap<u16, Arc<Acceptor>>,
}

impl Acceptors {
    /// Reads and checks the certificates of every TLS listener of `table`.
    pub(crate) fn load(table: &RouteTable) -> Result<Self, TlsError> {
        let mut by_port = HashMap::new();
        let mut loaded: Vec<(&TlsListener, Loaded)> = Vec::new();
        for listener in &table.listeners {
            let Some(settings) = &listener.tls else {
                continue;
            };
            // Several ports may share one tls binding: read its files once.
            let (config, not_after) = match loaded.iter().find(|(s, _)| *s == settings) {
                Some((_, loaded)) => loaded.clone(),
                None => {
                    let fresh = server_config(settings)?;
                    loaded.push((settings, fresh.clone()));
                    fresh
                }
            };
            by_port.insert(
                listener.port,
                Arc::new(Acceptor {
                    settings: settings.clone(),
                    config: ArcSwap::new(config),
                    not_after: std::sync::atomic::AtomicU64::new(not_after),
                }),
            );
        }
        Ok(Self { by_port })
    }

    /// The acceptor of the listener configured on `port`, if it terminates TLS.
    pub(crate) fn get(&self, port: u16) -> Option<&Arc<Acceptor>> {
        self.by_port.get(&port)
    }

    /// Reads every listener's files again and swaps in the ones that load. Returns how
    /// many listeners were reloaded, or every failure (those keep their certificate).
    pub(crate) fn reload(&self) -> Result<usize, TlsErrors> {
        let mut failures = Vec::new();
        let mut reloaded = 0;
        for (port, acceptor) in &self.by_port {
            match server_config(&acceptor.settings) {
                Ok((config, not_after)) => {
                    acceptor.config.store(config);
                    acceptor
                        .not_after
                        .store(not_after, std::sync::atomic::Ordering::Relaxed);
                    reloaded += 1;
                    info!(port, binding = %acceptor.settings.binding, "tls certificate reloaded");
                }
                Err(error) => failures.push(error),
            }
        }
        if failures.is_empty() {
            Ok(reloaded)
        } else {
            failures.sort_by_key(ToString::to_string);
            failures.dedup();
            Err(TlsErrors(failures))
        }
    }

    /// Each `tls` binding with the expiry of the certificate it serves (Unix seconds).
    pub(crate) fn expiries(&self) -> Vec<(&str, u64)> {
        let mut list: Vec<(&str, u64)> = self
            .by_port
            .values()
            .map(|a| {
                (
                    a.settings.binding.as_str(),
                    a.not_after.load(std::sync::atomic::Ordering::Relaxed),
                )
            })
            .collect();
        list.sort_unstable();
        list.dedup_by(|a, b| a.0 == b.0);
        list
    }
}
