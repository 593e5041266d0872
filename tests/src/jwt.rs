//! Test tokens and keys for the JWT guard (keys from `testdata/jwt`, for tests only).

#![allow(
    clippy::expect_used,
    reason = "fixed test keys: failing to load them is a broken checkout"
)]

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// First RSA key.
pub const RSA1: &str = include_str!("../../testdata/jwt/rsa1.pem");
/// Second RSA key.
pub const RSA2: &str = include_str!("../../testdata/jwt/rsa2.pem");

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn key(pem: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(pem.as_bytes()).expect("test key")
}

/// The public JWK of RSA key `pem`, RS256, with `kid`.
pub fn public_jwk(pem: &str, kid: &str) -> Value {
    let jwk = Jwk::from_encoding_key(&key(pem), Algorithm::RS256).expect("jwk");
    let mut value = serde_json::to_value(jwk).expect("json");
    value["kid"] = json!(kid);
    value
}

/// Claims for `sub` with `scope`, expiring `ttl` seconds from now, tenant 42.
pub fn claims(sub: &str, scope: &str, ttl: i64) -> Value {
    json!({
        "iss": "https://auth.test",
        "aud": "sluice",
        "sub": sub,
        "scope": scope,
        "tenant": "42",
        "exp": now() + ttl,
    })
}

/// A token signed RS256 with `pem`, naming `kid`.
pub fn token(pem: &str, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key(pem)).expect("sign")
}

/// The YAML `guards:` section of a guard `jwt` with `keys` (JSON) and extra options.
pub fn guard_section(keys: &str, extra: &str) -> String {
    format!(
        "guards:\n  jwt:\n    type: jwt\n    options:\n      issuer: https://auth.test\n      audience: sluice\n      attributes: {{ tenant: tenant }}\n      keys: {keys}\n{extra}"
    )
}
