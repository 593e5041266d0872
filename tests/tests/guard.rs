//! JWT guards end to end: 401 / 403, identity in records and SSE filters, JWKS rotation and
//! outage, and continuous authorization of SSE streams over HTTP/1.1 and HTTP/2.

use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use sluice_tests::jwks::JwksServer;
use sluice_tests::jwt::{self, RSA1, RSA2, claims, public_jwk, token};
use sluice_tests::{EventStream, Sluice, broker, config};

const PORT: u16 = 8080;
const WAIT: Duration = Duration::from_secs(20);

const HTTP_OPTIONS: &str = r#"authorization: { jwt: { credentials: { headers: { authorization: "Bearer {credentials}" }, query: { access_token: "{credentials}" } } } }"#;

/// Produce to `topic` on POST /items/{id} (role write:items), SSE on /events/mine (role
/// read:items, only the caller's records) and /events/all.
fn guarded_config(keys: &str, guard_options: &str, topic: &str) -> String {
    let routes = format!(
        "      - when: [ {{ method: POST, path: \"/items/{{id}}\" }} ]\n        guarded: {{ jwt: [ \"write:items\" ] }}\n        exit: cache\n        with: {{ capability: produce, topic: {topic}, key: \"${{guarded['jwt'].identity}}-${{params.id}}\", overrides: {{ tenant: \"${{guarded['jwt'].attributes.tenant}}\" }} }}"
    );
    let base = config(PORT, HTTP_OPTIONS, &routes, "");
    let with_sse = base.replace(
        "      - when: [ { headers: { \":path\": /echo } } ]\n        exit: echo",
        "      - when: [ { headers: { \":path\": /echo } } ]\n        exit: echo\n      - when: [ { headers: { \":path\": \"/events*\" } } ]\n        exit: sse",
    ) + &format!(
        r#"  sse:
    type: sse
    kind: server
    options: {{ keepalive-seconds: 1 }}
    exit: sse_kafka
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ {{ path: /events/mine }} ]
        guarded: {{ jwt: [ "read:items" ] }}
        exit: cache
        with: {{ topic: {topic}, filters: [ {{ key: "${{guarded['jwt'].identity}}" }} ] }}
      - when: [ {{ path: /events/all }} ]
        guarded: {{ jwt: [ "read:items" ] }}
        exit: cache
        with: {{ topic: {topic}, start: live }}
"#
    );
    with_sse.replacen(
        "name: test\n",
        &format!("name: test\n{}", jwt::guard_section(keys, guard_options)),
        1,
    )
}

fn inline_keys() -> String {
    json!([public_jwk(RSA1, "k1")]).to_string()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn guarded_routes_need_a_valid_token_with_the_roles() -> Result<()> {
    let topic = broker().topic("guard").await?;
    let sluice = Sluice::with_config(&guarded_config(&inline_keys(), "", &topic)).await?;
    let post = |headers: Vec<(&'static str, String)>, path: &'static str| {
        let sluice = &sluice;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            sluice.send(PORT, Method::POST, path, &headers, "{}").await
        }
    };

    let missing = post(vec![], "/items/1").await?;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.headers["www-authenticate"],
        r#"Bearer realm="sluice""#
    );
    assert_eq!(missing.json()?["code"], "unauthorized");

    let forged = token(RSA2, "k1", &claims("alice", "write:items", 300));
    let invalid = post(vec![("authorization", bearer(&forged))], "/items/1").await?;
    assert_eq!(invalid.status, StatusCode::UNAUTHORIZED);
    assert!(
        invalid.headers["www-authenticate"]
            .to_str()?
            .contains(r#"error="invalid_token""#)
    );

    let expired = token(RSA1, "k1", &claims("alice", "write:items", -120));
    let old = post(vec![("authorization", bearer(&expired))], "/items/1").await?;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);

    let reader = token(RSA1, "k1", &claims("alice", "read:items", 300));
    let forbidden = post(vec![("authorization", bearer(&reader))], "/items/1").await?;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(
        forbidden.headers["www-authenticate"],
        r#"Bearer realm="sluice", error="insufficient_scope", scope="write:items""#
    );

    let writer = token(RSA1, "k1", &claims("alice", "read:items write:items", 300));
    let ok = post(vec![("authorization", bearer(&writer))], "/items/1").await?;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{:?}", ok.body);
    let bob = token(RSA1, "k1", &claims("bob", "write:items", 300));
    let path = format!("/items/2?access_token={bob}");
    let leaked: &'static str = Box::leak(path.into_boxed_str());
    let by_query = post(vec![], leaked).await?;
    assert_eq!(by_query.status, StatusCode::NO_CONTENT);

    let records = broker().read(&topic, 2, WAIT).await?;
    assert_eq!(records[0].key.as_deref(), Some(&b"alice-1"[..]));
    assert_eq!(records[0].header("tenant").as_deref(), Some("42"));
    assert_eq!(
        records[0].header("authorization"),
        None,
        "never copied to Kafka"
    );
    assert_eq!(records[1].key.as_deref(), Some(&b"bob-2"[..]));

    // Unguarded routes ignore credentials, valid or not.
    let echo = sluice
        .send(
            PORT,
            Method::POST,
            "/echo",
            &[("authorization", "Bearer junk")],
            "hi",
        )
        .await?;
    assert_eq!(echo.status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn sse_filters_on_the_callers_identity() -> Result<()> {
    let topic = broker().topic("guard-sse").await?;
    broker()
        .produce(&topic, "alice", Some(b"for alice"), &[])
        .await?;
    broker()
        .produce(&topic, "bob", Some(b"for bob"), &[])
        .await?;
    broker()
        .produce(&topic, "alice", Some(b"alice again"), &[])
        .await?;
    let sluice = Sluice::with_config(&guarded_config(&inline_keys(), "", &topic)).await?;
    let alice = token(RSA1, "k1", &claims("alice", "read:items", 300));
    let (status, _, _) = sluice.stream(PORT, "/events/mine", &[]).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, mut stream) = sluice
        .stream(PORT, "/events/mine", &[("authorization", &bearer(&alice))])
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stream.next(WAIT).await?.data, "for alice");
    assert_eq!(stream.next(WAIT).await?.data, "alice again");
    Ok(())
}

#[tokio::test]
async fn jwks_keys_rotate_with_overlap_and_survive_an_outage() -> Result<()> {
    let topic = broker().topic("guard-jwks").await?;
    let jwks = JwksServer::start(json!({ "keys": [public_jwk(RSA1, "k1")] })).await?;
    let keys = format!("\"{}\"", jwks.url);
    let sluice = Sluice::with_config(&guarded_config(&keys, "", &topic)).await?;
    let send = |token: String| {
        let sluice = &sluice;
        async move {
            let auth = bearer(&token);
            sluice
                .send(
                    PORT,
                    Method::POST,
                    "/items/1",
                    &[("authorization", &auth)],
                    "{}",
                )
                .await
                .map(|r| r.status)
        }
    };
    let scope = "write:items";
    assert_eq!(
        send(token(RSA1, "k1", &claims("a", scope, 300))).await?,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(token(RSA2, "k2", &claims("a", scope, 300))).await?,
        StatusCode::UNAUTHORIZED,
        "k2 is not published yet"
    );
    // Rotation: the issuer publishes k2 beside k1. A token naming k2 makes Sluice read the
    // JWKS again (at most once per 5 s, and the refusal above just used that).
    *jwks.document.lock().map_err(|_| anyhow::anyhow!("lock"))? =
        json!({ "keys": [public_jwk(RSA1, "k1"), public_jwk(RSA2, "k2")] });
    tokio::time::sleep(Duration::from_millis(5200)).await;
    assert_eq!(
        send(token(RSA2, "k2", &claims("a", scope, 300))).await?,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(token(RSA1, "k1", &claims("a", scope, 300))).await?,
        StatusCode::NO_CONTENT,
        "k1 still works during the overlap"
    );
    // Outage: the JWKS server goes away; the keys read last keep working.
    jwks.task.abort();
    let _ = jwks.task.await;
    tokio::time::sleep(Duration::from_millis(5200)).await;
    assert_eq!(
        send(token(RSA2, "k9", &claims("a", scope, 300))).await?,
        StatusCode::UNAUTHORIZED,
        "an unknown kid during the outage is refused"
    );
    assert_eq!(
        send(token(RSA1, "k1", &claims("b", scope, 300))).await?,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(token(RSA2, "k2", &claims("b", scope, 300))).await?,
        StatusCode::NO_CONTENT
    );
    Ok(())
}

/// Guard options for the continuous-authorization tests: challenge 2 s before expiry, no
/// leeway, so that a token of 4 s is challenged at 2 s and ends at 4 s.
const CHALLENGE: &str = "      challenge: 2\n      leeway-seconds: 0\n";

async fn expect_end(stream: &mut EventStream, within: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match stream.next(left).await {
            Ok(event) if event.event.as_deref() == Some("challenge") => continue,
            Ok(event) => anyhow::bail!("unexpected event {event:?}"),
            Err(error) if error.to_string().contains("no event in time") => {
                anyhow::bail!("the stream did not end in time")
            }
            Err(_) => return Ok(()),
        }
    }
}

#[tokio::test]
async fn an_http1_stream_is_challenged_renewed_from_another_connection_and_else_ends() -> Result<()>
{
    let topic = broker().topic("guard-challenge").await?;
    let sluice = Sluice::with_config(&guarded_config(&inline_keys(), CHALLENGE, &topic)).await?;
    let short = token(RSA1, "k1", &claims("alice", "read:items", 4));
    let auth = bearer(&short);
    let (status, _, mut renewed) = sluice
        .stream(PORT, "/events/all", &[("authorization", &auth)])
        .await?;
    assert_eq!(status, StatusCode::OK);
    let (_, _, mut unrenewed) = sluice
        .stream(PORT, "/events/all", &[("authorization", &auth)])
        .await?;

    let challenge = renewed.next(Duration::from_secs(4)).await?;
    assert_eq!(challenge.event.as_deref(), Some("challenge"));
    let request: Value = serde_json::from_str(&challenge.data)?;
    assert_eq!(request["method"], "POST");
    assert_eq!(
        request["headers"]["content-type"],
        "application/x-challenge-response"
    );
    let session = request["headers"]["sluice-session"]
        .as_str()
        .context("the challenge names the session")?
        .to_owned();

    // A bad answer is refused with 401 and renews nothing.
    let answer = |authorization: String| {
        let (sluice, session) = (&sluice, &session);
        async move {
            let headers = [
                ("content-type", "application/x-challenge-response"),
                ("sluice-session", session.as_str()),
                ("authorization", authorization.as_str()),
            ];
            sluice
                .send(PORT, Method::POST, "/events/all", &headers, "")
                .await
        }
    };
    let bad = answer("Bearer not-a-token".to_owned()).await?;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    // Another identity may not renew alice's session.
    let mallory = bearer(&token(RSA1, "k1", &claims("mallory", "read:items", 60)));
    let stolen = answer(mallory).await?;
    assert_eq!(stolen.status, StatusCode::FORBIDDEN);

    // The answer arrives on another HTTP/1.1 connection (the stream's own is busy).
    let fresh = bearer(&token(RSA1, "k1", &claims("alice", "read:items", 60)));
    let renewed_answer = answer(fresh).await?;
    assert_eq!(
        renewed_answer.status,
        StatusCode::NO_CONTENT,
        "{:?}",
        renewed_answer.body
    );

    // The second stream is on another connection, so it has a session of its own, which
    // nobody renews: it ends at expiry.
    expect_end(&mut unrenewed, Duration::from_secs(6)).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    broker()
        .produce(&topic, "k", Some(b"after expiry"), &[])
        .await?;
    let mut seen = renewed.next(WAIT).await?;
    while seen.event.as_deref() == Some("challenge") {
        seen = renewed.next(WAIT).await?;
    }
    assert_eq!(
        seen.data, "after expiry",
        "the renewed stream outlived its first token"
    );
    Ok(())
}

#[tokio::test]
async fn one_answer_renews_three_streams_on_one_h2_connection() -> Result<()> {
    let topic = broker().topic("guard-h2").await?;
    let sluice = Sluice::with_config(&guarded_config(&inline_keys(), CHALLENGE, &topic)).await?;
    let addr = sluice.addr(PORT).await?;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let short = bearer(&token(RSA1, "k1", &claims("alice", "read:items", 4)));
    let mut streams = Vec::new();
    for _ in 0..3 {
        let request = Request::get(format!("http://{addr}/events/all"))
            .header("accept", "text/event-stream")
            .header("authorization", &short)
            .body(Full::new(Bytes::new()))?;
        let response = client.request(request).await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), http::Version::HTTP_2);
        streams.push(EventStream::new(response.into_body()));
    }
    for stream in &mut streams {
        let challenge = stream.next(Duration::from_secs(4)).await?;
        assert_eq!(challenge.event.as_deref(), Some("challenge"));
    }
    // One answer on the same connection, without naming a session, renews all three.
    let fresh = bearer(&token(RSA1, "k1", &claims("alice", "read:items", 60)));
    let answer = client
        .request(
            Request::post(format!("http://{addr}/events/all"))
                .header("content-type", "application/x-challenge-response")
                .header("authorization", &fresh)
                .body(Full::new(Bytes::new()))?,
        )
        .await?;
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    broker()
        .produce(&topic, "k", Some(b"still here"), &[])
        .await?;
    for stream in &mut streams {
        assert_eq!(stream.next(WAIT).await?.data, "still here");
    }
    // A stream whose token is not renewed is reset at expiry while the others go on.
    let request = Request::get(format!("http://{addr}/events/all"))
        .header("accept", "text/event-stream")
        .header(
            "authorization",
            bearer(&token(RSA1, "k1", &claims("bob", "read:items", 3))),
        )
        .body(Full::new(Bytes::new()))?;
    let mut bob = EventStream::new(client.request(request).await?.into_body());
    expect_end(&mut bob, Duration::from_secs(6)).await?;
    broker()
        .produce(&topic, "k", Some(b"after bob"), &[])
        .await?;
    assert_eq!(streams[0].next(WAIT).await?.data, "after bob");
    Ok(())
}

/// The next event that is not a challenge.
async fn next_record(stream: &mut EventStream) -> Result<sluice_tests::Event> {
    loop {
        let event = stream.next(WAIT).await?;
        if event.event.as_deref() != Some("challenge") {
            return Ok(event);
        }
    }
}

/// The mission's story over TLS, as a browser would do it: three event streams share one
/// HTTP/2 connection (ALPN `h2`), and one challenge answer on it renews all three.
#[tokio::test]
async fn one_answer_renews_three_streams_on_one_tls_h2_connection() -> Result<()> {
    use sluice_tests::tls::{TestCa, alpn, with_tls};
    let topic = broker().topic("guard-tls").await?;
    let ca = TestCa::new()?;
    let issued = ca.issue("server")?;
    let text = with_tls(&guarded_config(&inline_keys(), CHALLENGE, &topic), &issued)?;
    let sluice = Sluice::with_config(&text).await?;
    let stream = ca
        .connect(sluice.addr(PORT).await?, &["h2", "http/1.1"])
        .await?;
    assert_eq!(alpn(&stream).as_deref(), Some("h2"));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
    tokio::spawn(connection);

    let short = bearer(&token(RSA1, "k1", &claims("alice", "read:items", 4)));
    let mut streams = Vec::new();
    for _ in 0..3 {
        let request = Request::get("https://localhost/events/all")
            .header("accept", "text/event-stream")
            .header("authorization", &short)
            .body(Full::new(Bytes::new()))?;
        let response = sender.send_request(request).await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), http::Version::HTTP_2);
        streams.push(EventStream::new(response.into_body()));
    }
    broker().produce(&topic, "k", Some(b"first"), &[]).await?;
    for stream in &mut streams {
        assert_eq!(next_record(stream).await?.data, "first");
    }
    for stream in &mut streams {
        let challenge = stream.next(Duration::from_secs(4)).await?;
        assert_eq!(challenge.event.as_deref(), Some("challenge"));
    }
    let fresh = bearer(&token(RSA1, "k1", &claims("alice", "read:items", 60)));
    let answer = sender
        .send_request(
            Request::post("https://localhost/events/all")
                .header("content-type", "application/x-challenge-response")
                .header("authorization", &fresh)
                .body(Full::new(Bytes::new()))?,
        )
        .await?;
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    // Past the first token's expiry, all three still receive records.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    broker()
        .produce(&topic, "k", Some(b"still here"), &[])
        .await?;
    for stream in &mut streams {
        assert_eq!(next_record(stream).await?.data, "still here");
    }
    Ok(())
}
