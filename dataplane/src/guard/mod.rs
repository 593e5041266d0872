//! JWT guards at request time: which keys verify a guard's tokens, who the caller is, and
//! the sessions of long-lived streams ([`session`]).

pub(crate) mod jwks;
pub(crate) mod session;

use sluice_shared::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_shared::RouteTable;
use sluice_shared::guard::{GuardKeys, KeySet, Principal, Rejection};
use tracing::debug;

use jwks::{Jwks, JwksPool};

/// Where one guard's keys come from at request time.
enum Keys {
    Inline(Arc<KeySet>),
    Url(Arc<Jwks>),
}

impl Keys {
    fn current(&self) -> Arc<KeySet> {
        match self {
            Self::Inline(keys) => keys.clone(),
            Self::Url(jwks) => jwks.keys(),
        }
    }
}

/// The keys of every guard of one configuration, by guard index.
#[derive(Default)]
pub(crate) struct GuardKeySets {
    keys: Vec<Keys>,
}

impl GuardKeySets {
    /// Prepares the keys of `table`'s guards, reading JWKS URLs not read yet.
    pub(crate) async fn attach(pool: &JwksPool, table: &RouteTable) -> Self {
        let mut keys = Vec::with_capacity(table.guards.len());
        for guard in &table.guards {
            keys.push(match &guard.keys {
                GuardKeys::Inline(set) => Keys::Inline(Arc::new(set.clone())),
                GuardKeys::Url {
                    url,
                    refresh_seconds,
                } => Keys::Url(
                    pool.attach(url, Duration::from_secs(*refresh_seconds))
                        .await,
                ),
            });
        }
        Self { keys }
    }
}

/// The last token verified on a connection, so that a client sending the same token on
/// every request pays for one signature check.
#[derive(Default)]
pub(crate) struct TokenCache {
    last: Mutex<Option<Cached>>,
}

struct Cached {
    token: String,
    keys: Arc<KeySet>,
    principal: Arc<Principal>,
}

/// Verifies `token` for guard `guard` of `table`.
pub(crate) async fn verify(
    table: &RouteTable,
    keys: &GuardKeySets,
    cache: &TokenCache,
    guard: usize,
    token: &str,
) -> Result<Arc<Principal>, Rejection> {
    let (Some(spec), Some(source)) = (table.guards.get(guard), keys.keys.get(guard)) else {
        return Err(Rejection::Invalid("guard not prepared".to_owned()));
    };
    let current = source.current();
    if let Some(cached) = lock(&cache.last).as_ref()
        && cached.token == token
        && cached.principal.guard == guard
        && Arc::ptr_eq(&cached.keys, &current)
        && cached.principal.expires_at + spec.leeway_seconds >= now_seconds()
    {
        return Ok(cached.principal.clone());
    }
    let (result, used) = match spec.verify(guard, token, &current) {
        Err(Rejection::UnknownKey(kid)) => match source {
            Keys::Url(jwks) => match jwks.refresh_for_unknown_kid().await {
                Some(newer) => (spec.verify(guard, token, &newer), newer),
                None => (Err(Rejection::UnknownKey(kid)), current),
            },
            Keys::Inline(_) => (Err(Rejection::UnknownKey(kid)), current),
        },
        other => (other, current),
    };
    match result {
        Ok(principal) => {
            let principal = Arc::new(principal);
            {
                let mut last = lock(&cache.last);
                *last = Some(Cached {
                    token: token.to_owned(),
                    keys: used,
                    principal: principal.clone(),
                });
            }
            Ok(principal)
        }
        Err(rejection) => {
            debug!(guard = %spec.name, reason = %rejection, "token refused");
            Err(rejection)
        }
    }
}

/// Verifies `token` for guard `guard` with the keys held now (no JWKS read, no cache).
pub(crate) fn verify_now(
    table: &RouteTable,
    keys: &GuardKeySets,
    guard: usize,
    token: &str,
) -> Result<Principal, Rejection> {
    let (Some(spec), Some(source)) = (table.guards.get(guard), keys.keys.get(guard)) else {
        return Err(Rejection::Invalid("guard not prepared".to_owned()));
    };
    spec.verify(guard, token, &source.current())
}

/// Seconds since the epoch.
pub(crate) fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
