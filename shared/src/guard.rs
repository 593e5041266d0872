//! JWT guards: keys, token verification and credential extraction.
//!
//! A guard is compiled once per configuration ([`Guard`]); its inline keys are parsed then
//! ([`KeySet`]), and a JWKS document read from a URL is parsed the same way by the data
//! plane. [`Guard::verify`] checks one token against a key set and yields the [`Principal`]
//! that routes and templates see. [`Authorization::credentials`] finds the token in a request.
//!
//! Rules (see `docs/configuration.md`, "Guards"):
//! - the token's `alg` must equal the algorithm of the key it names; symmetric (`HS*`) and
//!   `none` algorithms are never accepted;
//! - a token without `kid` is accepted only when the key set holds exactly one key;
//! - `exp` is required; `exp` and `nbf` are checked with the guard's leeway;
//! - `iss` must equal `issuer` and `aud` must contain `audience` when those are configured.

use std::borrow::Cow;
use std::sync::OnceLock;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::request::RequestHead;

/// Default clock skew allowed on `exp` and `nbf`, seconds.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;
/// Largest leeway accepted.
pub const MAX_LEEWAY_SECONDS: u64 = 300;
/// Default interval between two reads of a JWKS URL, seconds.
pub const DEFAULT_JWKS_REFRESH_SECONDS: u64 = 600;
/// Longest token accepted, bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// One verification key, bound to one algorithm.
#[derive(Clone)]
pub struct VerifyKey {
    /// `kid`, if the key has one.
    pub kid: Option<String>,
    /// The only algorithm this key verifies.
    pub algorithm: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The keys of a guard.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerifyKey>,
}

/// A key that could not be used, with the JSON pointer of the problem below the key list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    /// Pointer relative to the key list, e.g. `/0/alg`.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl KeySet {
    /// Parses a JWK list (`[...]`, the inline form) or a JWKS document (`{"keys": [...]}`).
    /// Keys that cannot verify signatures are reported; the usable ones are kept.
    pub fn parse(value: &Value) -> (Self, Vec<KeyProblem>) {
        let (list, prefix) = match value {
            Value::Array(list) => (list.as_slice(), ""),
            Value::Object(object) => match object.get("keys") {
                Some(Value::Array(list)) => (list.as_slice(), "/keys"),
                _ => {
                    let problem = KeyProblem {
                        pointer: String::new(),
                        message: "expected a list of JWKs or a JWKS document with 'keys'"
                            .to_owned(),
                    };
                    return (Self::default(), vec![problem]);
                }
            },
            _ => {
                let problem = KeyProblem {
                    pointer: String::new(),
                    message: "expected a list of JWKs, or a JWKS URL".to_owned(),
                };
                return (Self::default(), vec![problem]);
            }
        };
        let mut keys = Vec::new();
        let mut problems = Vec::new();
        for (index, entry) in list.iter().enumerate() {
            match parse_key(entry) {
                Ok(Some(key)) => {
                    if keys.iter().any(|k: &VerifyKey| k.kid == key.kid) {
                        problems.push(KeyProblem {
                            pointer: format!("{prefix}/{index}/kid"),
                            message: "two keys have the same kid".to_owned(),
                        });
                    } else {
                        keys.push(key);
                    }
                }
                Ok(None) => {}
                Err((field, message)) => problems.push(KeyProblem {
                    pointer: format!("{prefix}/{index}{field}"),
                    message,
                }),
            }
        }
        (Self { keys }, problems)
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key a token names by `kid`; without `kid`, the only key if there is exactly one.
    pub fn find(&self, kid: Option<&str>) -> Option<&VerifyKey> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
    }
}

/// Parses one JWK; `Ok(None)` for an encryption key (skipped, as JWKS documents mix them).
fn parse_key(entry: &Value) -> Result<Option<VerifyKey>, (&'static str, String)> {
    if let Some(alg) = entry.get("alg").and_then(Value::as_str)
        && (alg.starts_with("HS") || alg.eq_ignore_ascii_case("none"))
    {
        return Err((
            "/alg",
            format!("algorithm '{alg}' is not accepted: only RSA, EC and EdDSA public keys"),
        ));
    }
    if entry.get("kty").and_then(Value::as_str) == Some("oct") {
        return Err((
            "/kty",
            "symmetric keys (kty oct) are not accepted: only RSA, EC and EdDSA public keys"
                .to_owned(),
        ));
    }
    let jwk: Jwk = serde_json::from_value(entry.clone())
        .map_err(|e| ("", format!("not a usable JWK: {e}")))?;
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return Ok(None);
    }
    let inferred = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => {
                return Err((
                    "/crv",
                    "only the curves P-256 and P-384 are supported".to_owned(),
                ));
            }
        },
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => {
            return Err(("/kty", "symmetric keys are not accepted".to_owned()));
        }
    };
    let algorithm = match jwk.common.key_algorithm {
        None => inferred,
        Some(alg) => key_algorithm(alg)
            .filter(|a| compatible(*a, inferred))
            .ok_or_else(|| {
                (
                    "/alg",
                    format!("algorithm {alg} does not fit this key type"),
                )
            })?,
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| ("", format!("not a usable JWK: {e}")))?;
    Ok(Some(VerifyKey {
        kid: jwk.common.key_id,
        algorithm,
        key,
    }))
}

fn key_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Whether `declared` may be used with a key whose type suggests `inferred`.
fn compatible(declared: Algorithm, inferred: Algorithm) -> bool {
    use Algorithm::*;
    match inferred {
        RS256 => matches!(declared, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
        other => declared == other,
    }
}

/// Where a guard's keys come from.
#[derive(Debug, Clone)]
pub enum GuardKeys {
    /// Keys written in the configuration, parsed at compile time.
    Inline(KeySet),
    /// A JWKS document read by the data plane, and read again on schedule and on an
    /// unknown `kid`.
    Url {
        /// `http://` or `https://` URL.
        url: String,
        /// Seconds between scheduled reads.
        refresh_seconds: u64,
    },
}

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

fn claim<'v>(claims: &'v Value, path: &[String]) -> Option<&'v Value> {
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

/// A credential pattern: text around `{credentials}`, e.g. `Bearer {credentials}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPattern {
    prefix: String,
    suffix: String,
}

impl CredentialPattern {
    /// Compiles a pattern that holds `{credentials}` exactly once.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let Some((prefix, suffix)) = pattern.split_once("{credentials}") else {
            if pattern.contains('{') {
                return Err(format!(
                    "pattern '{pattern}': only '{{credentials}}' is supported (not '{{username}}:{{password}}')"
                ));
            }
            return Err(format!("pattern '{pattern}' has no '{{credentials}}'"));
        };
        if suffix.contains("{credentials}") {
            return Err(format!(
                "pattern '{pattern}' holds '{{credentials}}' more than once"
            ));
        }
        if prefix.contains('{') || suffix.contains('{') {
            return Err(format!(
                "pattern '{pattern}': only '{{credentials}}' is supported (not '{{username}}:{{password}}')"
            ));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
        })
    }

    /// The credentials in `value`, if it fits the pattern: the prefix (scheme names compare
    /// case-insensitively), then non-empty text without whitespace, then the suffix.
    pub fn extract<'v>(&self, value: &'v str) -> Option<&'v str> {
        let head = value.get(..self.prefix.len())?;
        if !head.eq_ignore_ascii_case(&self.prefix) {
            return None;
        }
        let rest = value[self.prefix.len()..].strip_suffix(self.suffix.as_str())?;
        (!rest.is_empty() && !rest.bytes().any(|b| b.is_ascii_whitespace())).then_some(rest)
    }
}

/// Where an `http` binding finds a guard's credentials.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// Index of the guard in the route table.
    pub guard: usize,
    /// Cookie name and pattern.
    pub cookies: Vec<(String, CredentialPattern)>,
    /// Header name (lowercase) and pattern.
    pub headers: Vec<(String, CredentialPattern)>,
    /// Query parameter name and pattern.
    pub query: Vec<(String, CredentialPattern)>,
}

impl Authorization {
    /// The request's credentials: cookies first, then headers, then the query, as in Zilla.
    pub fn credentials<'r>(&self, request: &'r dyn RequestHead) -> Option<Cow<'r, str>> {
        if !self.cookies.is_empty()
            && let Some(cookie) = request.header("cookie")
        {
            for pair in cookie.split(';') {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let name = name.trim();
                if let Some((_, pattern)) = self.cookies.iter().find(|(n, _)| n == name)
                    && let Some(found) = pattern.extract(value.trim())
                {
                    return Some(Cow::Borrowed(found));
                }
            }
        }
        for (name, pattern) in &self.headers {
            if let Some(found) = request.header(name).and_then(|v| pattern.extract(v.trim())) {
                return Some(Cow::Borrowed(found));
            }
        }
        if !self.query.is_empty()
            && let Some(query) = request.query()
        {
            for pair in query.split('&') {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                if let Some((_, pattern)) = self.query.iter().find(|(n, _)| n == name) {
                    let decoded = percent_encoding::percent_decode_str(value)
                        .decode_utf8()
                        .ok()?;
                    if let Some(found) = pattern.extract(&decoded) {
                        return Some(Cow::Owned(found.to_owned()));
                    }
                }
            }
        }
        None
    }
}

/// A claim path: `realm_access.roles` -> `["realm_access", "roles"]`.
pub fn claim_path(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}

#[cfg(test)]
mod tests;
