//! CORS: preflights, origin checks with default-port equivalence, response decoration, and
//! the same-origin default. Preflights are answered before routing and guards.

use anyhow::Result;
use http::{Method, StatusCode};
use sluice_tests::{Reply, Sluice, config};

const PORT: u16 = 8080;

const CROSS_ORIGIN: &str = r#"access-control: { policy: cross-origin, allow: { origins: [ "https://app.example", "http://127.0.0.1:3000" ], methods: [ GET, POST ], headers: [ content-type, x-trace ], credentials: true }, max-age: 600, expose: { headers: [ etag, x-request-id ] } }"#;

async fn sluice(http_options: &str) -> Result<Sluice> {
    Sluice::with_config(&config(
        PORT,
        http_options,
        "      - when: [ { method: POST, path: /unused } ]\n        exit: cache\n        with: { capability: produce, topic: unused }",
        "",
    ))
    .await
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn an_allowed_preflight_gets_every_header_including_credentials() -> Result<()> {
    let sluice = sluice(CROSS_ORIGIN).await?;
    let reply = sluice
        .send(
            PORT,
            Method::OPTIONS,
            "/echo",
            &[
                ("origin", "https://app.example:443"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "Content-Type, X-Trace"),
            ],
            "",
        )
        .await?;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        header(&reply, "access-control-allow-origin"),
        Some("https://app.example:443")
    );
    assert_eq!(header(&reply, "access-control-allow-methods"), Some("POST"));
    assert_eq!(
        header(&reply, "access-control-allow-headers"),
        Some("content-type, x-trace")
    );
    assert_eq!(
        header(&reply, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&reply, "access-control-max-age"), Some("600"));
    assert_eq!(header(&reply, "vary"), Some("origin"));
    Ok(())
}

#[tokio::test]
async fn a_preflight_is_refused_unless_everything_requested_is_allowed() -> Result<()> {
    let sluice = sluice(CROSS_ORIGIN).await?;
    let preflight = |origin: &'static str, method: &'static str, headers: &'static str| {
        let sluice = &sluice;
        async move {
            let mut list = vec![
                ("origin", origin),
                ("access-control-request-method", method),
            ];
            if !headers.is_empty() {
                list.push(("access-control-request-headers", headers));
            }
            sluice
                .send(PORT, Method::OPTIONS, "/echo", &list, "")
                .await
                .map(|r| r.status)
        }
    };
    assert_eq!(
        preflight("https://app.example", "POST", "content-type, x-other").await?,
        StatusCode::FORBIDDEN,
        "one header not allowed refuses the preflight"
    );
    assert_eq!(
        preflight("https://app.example", "DELETE", "").await?,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        preflight("https://evil.example", "GET", "").await?,
        StatusCode::FORBIDDEN
    );
    assert_eq!(preflight("null", "GET", "").await?, StatusCode::FORBIDDEN);
    assert_eq!(
        preflight("http://127.0.0.1:3000", "GET", "x-trace").await?,
        StatusCode::NO_CONTENT
    );
    Ok(())
}

#[tokio::test]
async fn allowed_cross_origin_responses_are_decorated() -> Result<()> {
    let sluice = sluice(CROSS_ORIGIN).await?;
    let reply = sluice
        .send(
            PORT,
            Method::POST,
            "/echo",
            &[("origin", "https://app.example")],
            "hi",
        )
        .await?;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        header(&reply, "access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(
        header(&reply, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        header(&reply, "access-control-expose-headers"),
        Some("etag, x-request-id"),
        "one comma-separated header"
    );
    assert_eq!(
        reply
            .headers
            .get_all("access-control-expose-headers")
            .iter()
            .count(),
        1
    );
    assert_eq!(header(&reply, "vary"), Some("origin"));
    // Error responses are decorated too, so that scripts can read them.
    let missing = sluice
        .send(
            PORT,
            Method::GET,
            "/nothing",
            &[("origin", "https://app.example")],
            "",
        )
        .await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        header(&missing, "access-control-allow-origin"),
        Some("https://app.example")
    );
    // Another origin is refused before routing.
    let evil = sluice
        .send(
            PORT,
            Method::POST,
            "/echo",
            &[("origin", "https://evil.example")],
            "hi",
        )
        .await?;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    assert_eq!(evil.json()?["code"], "forbidden");
    Ok(())
}

#[tokio::test]
async fn without_allow_any_origin_gets_a_star() -> Result<()> {
    let sluice = sluice("access-control: { policy: cross-origin }").await?;
    let reply = sluice
        .send(
            PORT,
            Method::POST,
            "/echo",
            &[("origin", "https://anywhere.example")],
            "hi",
        )
        .await?;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&reply, "access-control-allow-credentials"), None);
    assert_eq!(header(&reply, "vary"), None);
    let preflight = sluice
        .send(
            PORT,
            Method::OPTIONS,
            "/echo",
            &[
                ("origin", "https://anywhere.example"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "x-anything"),
            ],
            "",
        )
        .await?;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(
        header(&preflight, "access-control-allow-methods"),
        Some("*")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-headers"),
        Some("*")
    );
    Ok(())
}

#[tokio::test]
async fn same_origin_is_the_default() -> Result<()> {
    let sluice = sluice("").await?;
    let addr = sluice.addr(PORT).await?;
    let cross = sluice
        .send(
            PORT,
            Method::POST,
            "/echo",
            &[("origin", "https://app.example")],
            "hi",
        )
        .await?;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let own = format!("http://{addr}");
    let same = sluice
        .send(PORT, Method::POST, "/echo", &[("origin", &own)], "hi")
        .await?;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(header(&same, "access-control-allow-origin"), None);
    let plain = sluice.send(PORT, Method::POST, "/echo", &[], "hi").await?;
    assert_eq!(plain.status, StatusCode::OK, "no origin, no CORS");
    Ok(())
}

#[tokio::test]
async fn preflights_are_answered_before_guards() -> Result<()> {
    let keys = serde_json::json!([sluice_tests::jwt::public_jwk(sluice_tests::jwt::RSA1, "k1")]);
    let options = format!(
        r#"{CROSS_ORIGIN}, authorization: {{ jwt: {{ credentials: {{ headers: {{ authorization: "Bearer {{credentials}}" }} }} }} }}"#
    );
    let text = config(
        PORT,
        &options,
        "      - when: [ { method: POST, path: /items } ]\n        guarded: { jwt: [ w ] }\n        exit: cache\n        with: { capability: produce, topic: unused }",
        "",
    )
    .replacen(
        "name: test\n",
        &format!("name: test\n{}", sluice_tests::jwt::guard_section(&keys.to_string(), "")),
        1,
    );
    let sluice = Sluice::with_config(&text).await?;
    let preflight = sluice
        .send(
            PORT,
            Method::OPTIONS,
            "/items",
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            "",
        )
        .await?;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    let unauthorized = sluice
        .send(
            PORT,
            Method::POST,
            "/items",
            &[("origin", "https://app.example")],
            "{}",
        )
        .await?;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&unauthorized, "access-control-allow-origin"),
        Some("https://app.example"),
        "a script can read the 401"
    );
    Ok(())
}
