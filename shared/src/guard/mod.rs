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
//!
//! Modules: `verify` (the guard, verification, the principal), `keys` (keys, inline or
//! JWKS), `credentials` (where credentials are found in a request). This file only
//! declares and re-exports.

mod credentials;
mod keys;
mod verify;

pub use credentials::*;
pub use keys::*;
pub use verify::*;

#[cfg(test)]
mod tests;
