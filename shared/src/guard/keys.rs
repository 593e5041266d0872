//! A guard's keys: JWKs parsed into verification keys, inline or read from a JWKS URL.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// Default interval between two reads of a JWKS URL, seconds.
pub const DEFAULT_JWKS_REFRESH_SECONDS: u64 = 600;

/// One verification key, bound to one algorithm.
#[derive(Clone)]
pub struct VerifyKey {
    /// `kid`, if the key has one.
    pub kid: Option<String>,
    /// The only algorithm this key verifies.
    pub algorithm: Algorithm,
    pub(super) key: DecodingKey,
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
    let jwk: Jwk = serde_json::from_value(url_safe_members(entry))
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

/// Key members that RFC 7518 writes in base64url.
const KEY_MEMBERS: [&str; 4] = ["n", "e", "x", "y"];

/// `entry` with its key members in base64url without padding. Zilla, and many hand-written
/// JWKs, write them in standard base64 (`+`, `/`, `=`); both spell the same bytes, so both are
/// accepted rather than refusing a key a migrating user copied from a working Zilla setup.
fn url_safe_members(entry: &Value) -> Value {
    let mut entry = entry.clone();
    for member in KEY_MEMBERS {
        if let Some(Value::String(text)) = entry.get_mut(member)
            && text.contains(['+', '/', '='])
        {
            *text = text
                .trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_");
        }
    }
    entry
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
