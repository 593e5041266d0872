//! Credential extraction from headers, cookies and query strings, and JWT header / claims
//! handling: nothing panics, and nothing but a token signed by the guard's key passes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sluice_shared::guard::{
    Authorization, CredentialPattern, Guard, GuardKeys, KeySet, claim_path,
};
use sluice_shared::table::RequestHead;

struct Head<'a> {
    lines: Vec<&'a str>,
    query: Option<&'a str>,
}

impl RequestHead for Head<'_> {
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
        self.lines.iter().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            (n.eq_ignore_ascii_case(name)).then_some(v)
        })
    }
}

fn setup() -> &'static (Authorization, Guard, KeySet) {
    static SETUP: OnceLock<(Authorization, Guard, KeySet)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let pattern = |p: &str| CredentialPattern::parse(p).expect("pattern");
        let authorization = Authorization {
            guard: 0,
            cookies: vec![("access_token".to_owned(), pattern("{credentials}"))],
            headers: vec![("authorization".to_owned(), pattern("Bearer {credentials}"))],
            query: vec![("access_token".to_owned(), pattern("{credentials}"))],
        };
        // The public half of RFC 7515's P-256 example key.
        let (keys, _) = KeySet::parse(&json!([{
            "kty": "EC", "crv": "P-256", "kid": "k1",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        }]));
        let guard = Guard {
            name: "jwt".to_owned(),
            issuer: Some("https://auth.test".to_owned()),
            audience: Some("sluice".to_owned()),
            roles: claim_path("scope"),
            identity: claim_path("sub"),
            attributes: vec![("tenant".to_owned(), claim_path("org.id"))],
            challenge_seconds: Some(5),
            leeway_seconds: 60,
            keys: GuardKeys::Inline(KeySet::default()),
            prepared: OnceLock::new(),
        };
        (authorization, guard, keys)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (authorization, guard, keys) = setup();
    let mut parts = text.splitn(2, '?');
    let headers = parts.next().unwrap_or_default();
    let head = Head {
        lines: headers.split('\n').collect(),
        query: parts.next(),
    };
    if let Some(token) = authorization.credentials(&head) {
        assert!(!token.is_empty());
        // No fuzz input can hold a valid ES256 signature of the key above.
        assert!(guard.verify(0, &token, keys).is_err());
    }
    assert!(guard.verify(0, text, keys).is_err());
    let _ = CredentialPattern::parse(text);
});
