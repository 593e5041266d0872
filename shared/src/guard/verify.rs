//! A jwt guard and what it verifies: signature, issuer, audience, expiry, roles; the
//! principal a valid token establishes.

use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

use super::keys::{GuardKeys, KeySet};

/// Default clock skew allowed on `exp` and `nbf`, seconds: none, as in Zilla, so a token
/// is refused, and a stream living on it ends, at its `exp`. `leeway-seconds` allows skew.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 0;

/// Largest leeway accepted.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

/// Longest token accepted, bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A compiled `jwt` guard.
#[derive(Debug, Clone)]
pub struct Guard {
    /// The guard's name.
    pub name: String,
    /// Required `iss`.
    pub issuer: Option<String>,
    /// Required member of `aud`.
    pub audience: Option<String>,
    /// Path of the roles claim (default `scope`).
    pub roles: Vec<String>,
    /// Path of the identity claim (default `sub`).
    pub identity: Vec<String>,
    /// Attribute name and claim path.
    pub attributes: Vec<(String, Vec<String>)>,
    /// Seconds before expiry at which streams are challenged.
    pub challenge_seconds: Option<u64>,
    /// Clock skew allowed on `exp` and `nbf`, seconds.
    pub leeway_seconds: u64,
    /// The keys.
    pub keys: GuardKeys,
    /// Claim checks by algorithm, built once (see [`Guard::validation`]).
    pub prepared: OnceLock<Vec<(Algorithm, Validation)>>,
}

/// Who a request is, as a guard established from a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Index of the guard in the route table.
    pub guard: usize,
    /// The identity claim; `None` when the token has none.
    pub identity: Option<String>,
    /// Roles granted by the token.
    pub roles: Vec<String>,
    /// Attributes by name.
    pub attributes: Vec<(String, String)>,
    /// `exp`, seconds since the epoch.
    pub expires_at: u64,
}

impl Principal {
    /// Whether every role of `required` is granted.
    pub fn has_roles(&self, required: &[String]) -> bool {
        required.iter().all(|r| self.roles.contains(r))
    }

    /// An attribute by name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The token names a key the key set does not hold (a JWKS refresh may find it).
    UnknownKey(Option<String>),
    /// Anything else: malformed, bad signature, expired, wrong issuer...
    Invalid(String),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownKey(Some(kid)) => write!(f, "no key with kid '{kid}'"),
            Self::UnknownKey(None) => write!(f, "token has no kid and the guard has several keys"),
            Self::Invalid(reason) => f.write_str(reason),
        }
    }
}

impl Guard {
    /// The claim checks of this guard for tokens of `algorithm`: `exp` required, `nbf`
    /// checked, both with the leeway; `iss` and `aud` required and checked when configured.
    /// Built once per algorithm the first time (the compiler does it for every guard).
    pub fn validation(&self, algorithm: Algorithm) -> &Validation {
        let all = self.prepared.get_or_init(|| {
            use Algorithm::*;
            [
                RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA,
            ]
            .into_iter()
            .map(|alg| (alg, self.validation_for(alg)))
            .collect()
        });
        all.iter()
            .find(|(alg, _)| *alg == algorithm)
            .map_or(&all[0].1, |(_, validation)| validation)
    }

    fn validation_for(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway_seconds;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        match &self.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        validation
    }

    /// Verifies `token` with `keys`; `guard` is this guard's index in the route table.
    pub fn verify(&self, guard: usize, token: &str, keys: &KeySet) -> Result<Principal, Rejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::Invalid("token too long".to_owned()));
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| Rejection::Invalid(format!("malformed token: {e}")))?;
        let key = keys
            .find(header.kid.as_deref())
            .ok_or_else(|| Rejection::UnknownKey(header.kid.clone()))?;
        if header.alg != key.algorithm {
            return Err(Rejection::Invalid(format!(
                "token algorithm {:?} does not match its key's {:?}",
                header.alg, key.algorithm
            )));
        }
        let validation = self.validation(key.algorithm);
        let data = jsonwebtoken::decode::<Value>(token, &key.key, validation)
            .map_err(|e| Rejection::Invalid(format!("{e}")))?;
        let claims = data.claims;
        let expires_at = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or_else(|| Rejection::Invalid("exp is not a number of seconds".to_owned()))?;
        let identity = claim(&claims, &self.identity).and_then(claim_text);
        let roles = match claim(&claims, &self.roles) {
            Some(Value::String(text)) => text.split_whitespace().map(str::to_owned).collect(),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let attributes = self
            .attributes
            .iter()
            .filter_map(|(name, path)| {
                claim(&claims, path)
                    .and_then(claim_text)
                    .map(|v| (name.clone(), v))
            })
            .collect();
        Ok(Principal {
            guard,
            identity,
            roles,
            attributes,
            expires_at,
        })
    }
}

pub(crate) fn claim<'v>(claims: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter()
        .try_fold(claims, |value, segment| value.get(segment))
}

fn claim_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}
