//! The JWT attack suite against [`Guard::verify`], and credential extraction.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::{EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};

use super::*;
use crate::request::RequestHead;

const RSA1: &str = include_str!("../../../testdata/jwt/rsa1.pem");
const RSA2: &str = include_str!("../../../testdata/jwt/rsa2.pem");
const EC1: &str = include_str!("../../../testdata/jwt/ec1.pem");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn rsa(pem: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(pem.as_bytes()).expect("test key")
}

fn ec(pem: &str) -> EncodingKey {
    EncodingKey::from_ec_pem(pem.as_bytes()).expect("test key")
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: Option<&str>) -> Value {
    let mut value =
        serde_json::to_value(Jwk::from_encoding_key(key, alg).expect("jwk")).expect("json");
    if let Some(kid) = kid {
        value["kid"] = json!(kid);
    }
    value
}

fn guard() -> Guard {
    Guard {
        name: "jwt".to_owned(),
        issuer: Some("https://auth.example".to_owned()),
        audience: Some("sluice".to_owned()),
        roles: claim_path("scope"),
        identity: claim_path("sub"),
        attributes: vec![("tenant".to_owned(), claim_path("org.id"))],
        challenge_seconds: None,
        leeway_seconds: 60,
        keys: GuardKeys::Inline(KeySet::default()),
        prepared: OnceLock::new(),
    }
}

fn keys(list: Value) -> KeySet {
    let (set, problems) = KeySet::parse(&list);
    assert!(problems.is_empty(), "{problems:?}");
    set
}

fn claims(exp_offset: i64) -> Value {
    json!({
        "iss": "https://auth.example",
        "aud": "sluice",
        "sub": "alice",
        "scope": "read:items write:items",
        "org": { "id": 42 },
        "exp": now() as i64 + exp_offset,
    })
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn rsa_keys() -> KeySet {
    keys(json!([jwk(&rsa(RSA1), Algorithm::RS256, Some("k1"))]))
}

#[test]
fn a_valid_token_gives_identity_roles_and_attributes() {
    let token = sign(Algorithm::RS256, Some("k1"), &claims(300), &rsa(RSA1));
    let principal = guard().verify(3, &token, &rsa_keys()).expect("valid");
    assert_eq!(principal.guard, 3);
    assert_eq!(principal.identity.as_deref(), Some("alice"));
    assert_eq!(principal.roles, vec!["read:items", "write:items"]);
    assert_eq!(principal.attribute("tenant"), Some("42"));
    assert!(principal.has_roles(&["read:items".to_owned()]));
    assert!(!principal.has_roles(&["admin".to_owned()]));
}

#[test]
fn roles_may_be_an_array_at_a_nested_path() {
    let mut g = guard();
    g.roles = claim_path("realm.roles");
    let mut c = claims(300);
    c["realm"] = json!({ "roles": ["a", "b"] });
    let token = sign(Algorithm::RS256, Some("k1"), &c, &rsa(RSA1));
    assert_eq!(
        g.verify(0, &token, &rsa_keys()).expect("valid").roles,
        vec!["a", "b"]
    );
}

/// Zilla's examples write RSA moduli in standard base64 with `+`, `/` and `=`.
#[test]
fn key_members_in_standard_base64_verify_like_base64url() {
    let url = jwk(&rsa(RSA1), Algorithm::RS256, Some("k1"));
    let mut standard = url.clone();
    for member in ["n", "e"] {
        let bytes = URL_SAFE_NO_PAD
            .decode(url[member].as_str().expect("member"))
            .expect("base64url");
        standard[member] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    let written = standard["n"].as_str().expect("n");
    assert!(
        written.contains(['+', '/']) || written.ends_with('='),
        "the test key must exercise the standard alphabet: {written}"
    );
    let token = sign(Algorithm::RS256, Some("k1"), &claims(300), &rsa(RSA1));
    let principal = guard()
        .verify(0, &token, &keys(json!([standard])))
        .expect("a standard-base64 key verifies");
    assert_eq!(principal.identity.as_deref(), Some("alice"));
}

#[test]
fn alg_none_is_rejected() {
    let header = json!({ "alg": "none", "kid": "k1", "typ": "JWT" });
    let token = format!("{}.{}.", b64(&header), b64(&claims(300)));
    assert!(matches!(
        guard().verify(0, &token, &rsa_keys()),
        Err(Rejection::Invalid(_))
    ));
    let token = format!("{}.{}", b64(&header), b64(&claims(300)));
    assert!(guard().verify(0, &token, &rsa_keys()).is_err());
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    let public = jwk(&rsa(RSA1), Algorithm::RS256, Some("k1"));
    let secret = EncodingKey::from_secret(public["n"].as_str().expect("n").as_bytes());
    let token = sign(Algorithm::HS256, Some("k1"), &claims(300), &secret);
    let rejection = guard()
        .verify(0, &token, &rsa_keys())
        .expect_err("confused alg");
    assert!(
        rejection.to_string().contains("does not match"),
        "{rejection}"
    );
}

#[test]
fn unknown_kid_is_reported_as_such() {
    let token = sign(Algorithm::RS256, Some("k9"), &claims(300), &rsa(RSA1));
    assert_eq!(
        guard().verify(0, &token, &rsa_keys()),
        Err(Rejection::UnknownKey(Some("k9".to_owned())))
    );
}

#[test]
fn a_token_without_kid_needs_a_single_key() {
    let token = sign(Algorithm::RS256, None, &claims(300), &rsa(RSA1));
    assert!(guard().verify(0, &token, &rsa_keys()).is_ok());
    let two = keys(json!([
        jwk(&rsa(RSA1), Algorithm::RS256, Some("k1")),
        jwk(&rsa(RSA2), Algorithm::RS256, Some("k2")),
    ]));
    assert_eq!(
        guard().verify(0, &token, &two),
        Err(Rejection::UnknownKey(None))
    );
}

#[test]
fn a_key_signed_by_another_key_is_rejected() {
    let token = sign(Algorithm::RS256, Some("k1"), &claims(300), &rsa(RSA2));
    assert!(matches!(
        guard().verify(0, &token, &rsa_keys()),
        Err(Rejection::Invalid(_))
    ));
}

#[test]
fn expiry_is_checked_at_the_leeway_edge() {
    let g = guard();
    let keys = rsa_keys();
    let ok = sign(Algorithm::RS256, Some("k1"), &claims(-59), &rsa(RSA1));
    assert!(
        g.verify(0, &ok, &keys).is_ok(),
        "expired 59 s ago, leeway 60"
    );
    let late = sign(Algorithm::RS256, Some("k1"), &claims(-62), &rsa(RSA1));
    assert!(
        g.verify(0, &late, &keys).is_err(),
        "expired 62 s ago, leeway 60"
    );
}

#[test]
fn not_before_is_checked_at_the_leeway_edge() {
    let g = guard();
    let keys = rsa_keys();
    let mut early = claims(600);
    early["nbf"] = json!(now() + 62);
    let token = sign(Algorithm::RS256, Some("k1"), &early, &rsa(RSA1));
    assert!(
        g.verify(0, &token, &keys).is_err(),
        "valid in 62 s, leeway 60"
    );
    early["nbf"] = json!(now() + 58);
    let token = sign(Algorithm::RS256, Some("k1"), &early, &rsa(RSA1));
    assert!(
        g.verify(0, &token, &keys).is_ok(),
        "valid in 58 s, leeway 60"
    );
}

#[test]
fn wrong_issuer_audience_and_missing_claims_are_rejected() {
    let g = guard();
    let keys = rsa_keys();
    let check = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims(300);
        edit(&mut c);
        g.verify(
            0,
            &sign(Algorithm::RS256, Some("k1"), &c, &rsa(RSA1)),
            &keys,
        )
    };
    assert!(check(&|c| c["iss"] = json!("https://evil.example")).is_err());
    assert!(check(&|c| c["aud"] = json!("other")).is_err());
    assert!(check(&|c| c["aud"] = json!(["other", "sluice"])).is_ok());
    assert!(
        check(&|c| {
            c.as_object_mut().map(|o| o.remove("exp"));
        })
        .is_err()
    );
    assert!(
        check(&|c| {
            c.as_object_mut().map(|o| o.remove("iss"));
        })
        .is_err()
    );
    assert!(
        check(&|c| {
            c.as_object_mut().map(|o| o.remove("aud"));
        })
        .is_err()
    );
}

#[test]
fn a_tampered_payload_is_rejected() {
    let token = sign(Algorithm::RS256, Some("k1"), &claims(300), &rsa(RSA1));
    let mut parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims(300);
    forged["scope"] = json!("admin");
    let forged = b64(&forged);
    parts[1] = &forged;
    assert!(guard().verify(0, &parts.join("."), &rsa_keys()).is_err());
}

#[test]
fn ec_keys_verify_es256_only() {
    let keys = keys(json!([jwk(&ec(EC1), Algorithm::ES256, Some("e1"))]));
    let token = sign(Algorithm::ES256, Some("e1"), &claims(300), &ec(EC1));
    assert!(guard().verify(0, &token, &keys).is_ok());
    let rsa_token = sign(Algorithm::RS256, Some("e1"), &claims(300), &rsa(RSA1));
    assert!(guard().verify(0, &rsa_token, &keys).is_err());
}

#[test]
fn symmetric_and_broken_keys_are_refused_with_their_location() {
    let (set, problems) = KeySet::parse(&json!([
        { "kty": "oct", "k": "c2VjcmV0", "kid": "h" },
        { "kty": "RSA", "alg": "HS256", "n": "AQAB", "e": "AQAB" },
        { "kty": "RSA", "alg": "ES256", "n": "AQAB", "e": "AQAB" },
        { "kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB" },
    ]));
    assert!(set.is_empty());
    let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(pointers, vec!["/0/kty", "/1/alg", "/2/alg"]);
    let (_, problems) = KeySet::parse(&json!("x"));
    assert_eq!(problems.len(), 1);
    let (set, problems) =
        KeySet::parse(&json!({ "keys": [jwk(&rsa(RSA1), Algorithm::RS256, Some("a"))] }));
    assert!(problems.is_empty());
    assert_eq!(set.len(), 1);
}

#[test]
fn garbage_tokens_are_rejected_without_panicking() {
    let keys = rsa_keys();
    for token in [
        "",
        ".",
        "..",
        "a.b.c",
        "eyJ.eyJ.sig",
        &"x".repeat(MAX_TOKEN_BYTES + 1),
    ] {
        assert!(guard().verify(0, token, &keys).is_err(), "{token:.20}");
    }
}

struct Head {
    headers: Vec<(&'static str, &'static str)>,
    query: Option<&'static str>,
}

impl RequestHead for Head {
    fn method(&self) -> &str {
        "GET"
    }
    fn path(&self) -> &str {
        "/"
    }
    fn query(&self) -> Option<&str> {
        self.query
    }
    fn scheme(&self) -> &str {
        "http"
    }
    fn authority(&self) -> &str {
        "localhost"
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

fn authorization() -> Authorization {
    let pattern = |p: &str| CredentialPattern::parse(p).expect("pattern");
    Authorization {
        guard: 0,
        cookies: vec![("access_token".to_owned(), pattern("{credentials}"))],
        headers: vec![("authorization".to_owned(), pattern("Bearer {credentials}"))],
        query: vec![("access_token".to_owned(), pattern("{credentials}"))],
    }
}

#[test]
fn credentials_come_from_cookie_then_header_then_query() {
    let auth = authorization();
    let head = |headers, query| Head { headers, query };
    let found = |h: &Head| auth.credentials(h).map(|c| c.into_owned());
    assert_eq!(
        found(&head(vec![("authorization", "Bearer abc")], None)).as_deref(),
        Some("abc")
    );
    assert_eq!(
        found(&head(vec![("authorization", "bearer abc")], None)).as_deref(),
        Some("abc"),
        "the scheme is case-insensitive"
    );
    assert_eq!(
        found(&head(vec![("authorization", "Basic abc")], None)),
        None
    );
    assert_eq!(
        found(&head(vec![("authorization", "Bearer a b")], None)),
        None
    );
    assert_eq!(found(&head(vec![("authorization", "Bearer ")], None)), None);
    assert_eq!(
        found(&head(
            vec![
                ("authorization", "Bearer h"),
                ("cookie", "x=1; access_token=c")
            ],
            Some("access_token=q")
        ))
        .as_deref(),
        Some("c")
    );
    assert_eq!(
        found(&head(vec![], Some("a=1&access_token=q%2Ev"))).as_deref(),
        Some("q.v")
    );
    assert_eq!(found(&head(vec![], Some("access_token="))), None);
}

#[test]
fn credential_patterns_need_exactly_one_placeholder() {
    assert!(CredentialPattern::parse("Bearer").is_err());
    assert!(CredentialPattern::parse("{credentials}{credentials}").is_err());
    assert!(CredentialPattern::parse("Basic {username}:{password}").is_err());
    let pattern = CredentialPattern::parse("x-{credentials}-y").expect("valid");
    assert_eq!(pattern.extract("x-abc-y"), Some("abc"));
    assert_eq!(pattern.extract("x--y"), None);
    assert_eq!(pattern.extract("é"), None);
}
