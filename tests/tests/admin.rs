//! The admin API over HTTP: configuration with ETag / If-Match, dry run, validation errors,
//! no-ops, rollback, YAML, the token, status, and state across a restart.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use sluice_controlplane::ConfigSource;
use sluice_controlplane::admin::{self};
use sluice_tests::{Reply, Sluice};

use sluice_tests::gateway::{BEARER, Gateway, PORT};

fn with_path(config: &Value, path: &str) -> Value {
    let mut config = config.clone();
    config["bindings"]["http"]["routes"][0]["when"][0]["headers"][":path"] = json!(path);
    config
}

#[tokio::test]
async fn a_put_with_if_match_applies_a_new_revision_live() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (config, etag) = gateway.head().await?;
    assert_eq!(etag, "\"1\"");
    assert_eq!(gateway.data("/one").await?, StatusCode::OK);
    let reply = gateway
        .put(
            &with_path(&config, "/two"),
            &[("if-match", "\"1\""), ("x-sluice-author", "carol")],
        )
        .await?;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.json()?["revision"], 2);
    assert_eq!(reply.headers["etag"], "\"2\"");
    assert_eq!(gateway.data("/two").await?, StatusCode::OK);
    assert_eq!(gateway.data("/one").await?, StatusCode::NOT_FOUND);
    let revisions = gateway
        .admin(Method::GET, "/v1/revisions", &[], "")
        .await?
        .json()?;
    assert_eq!(revisions["revisions"][0]["number"], 2);
    assert_eq!(revisions["revisions"][0]["author"], "carol");
    let status = gateway
        .admin(Method::GET, "/v1/status", &[], "")
        .await?
        .json()?;
    assert_eq!(status["live_revision"], 2);
    gateway.stop().await
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_racing_writers_have_one_winner() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (config, _) = gateway.head().await?;
    let stale = gateway
        .put(&with_path(&config, "/x"), &[("if-match", "\"7\"")])
        .await?;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.headers["etag"], "\"1\"");
    let (to_a, to_b) = (with_path(&config, "/a"), with_path(&config, "/b"));
    let (a, b) = tokio::join!(
        gateway.put(&to_a, &[("if-match", "\"1\"")]),
        gateway.put(&to_b, &[("if-match", "\"1\"")]),
    );
    let mut statuses = vec![a?.status, b?.status];
    statuses.sort();
    assert_eq!(
        statuses,
        vec![StatusCode::OK, StatusCode::PRECONDITION_FAILED]
    );
    gateway.stop().await
}

#[tokio::test]
async fn an_invalid_configuration_lists_every_error_and_changes_nothing() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (config, _) = gateway.head().await?;
    let mut bad = with_path(&config, "/two");
    bad["name"] = json!("no spaces allowed");
    bad["bindings"]["http"]["routes"][0]["exit"] = json!("missing");
    let reply = gateway.put(&bad, &[]).await?;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = reply.json()?["errors"]
        .as_array()
        .context("errors")?
        .clone();
    let pointers: Vec<&str> = errors
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    assert!(pointers.contains(&"/name"), "{errors:?}");
    assert!(
        pointers.contains(&"/bindings/http/routes/0/exit"),
        "{errors:?}"
    );
    assert_eq!(gateway.head().await?.1, "\"1\"", "no revision");
    assert_eq!(
        gateway.data("/one").await?,
        StatusCode::OK,
        "live table unchanged"
    );
    let status = gateway
        .admin(Method::GET, "/v1/status", &[], "")
        .await?
        .json()?;
    assert!(
        status["last_rejected"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("/name"))
    );
    let not_json = gateway
        .admin(Method::PUT, "/v1/config", &[("authorization", BEARER)], "{")
        .await?;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    gateway.stop().await
}

#[tokio::test]
async fn a_dry_run_validates_and_diffs_without_applying() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (config, _) = gateway.head().await?;
    let mut changed = with_path(&config, "/two");
    changed["bindings"]["echo2"] = json!({ "type": "echo", "kind": "server" });
    let reply = gateway
        .admin(
            Method::PUT,
            "/v1/config?dry_run=true",
            &[("authorization", BEARER)],
            &changed.to_string(),
        )
        .await?;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let diff = &reply.json()?["diff"];
    assert_eq!(diff["bindings"]["added"], json!(["echo2"]));
    assert_eq!(diff["bindings"]["changed"], json!(["http"]));
    assert_eq!(gateway.head().await?.1, "\"1\"");
    assert_eq!(gateway.data("/two").await?, StatusCode::NOT_FOUND);
    gateway.stop().await
}

#[tokio::test]
async fn a_no_op_makes_no_revision_and_yaml_round_trips() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let yaml = gateway
        .admin(
            Method::GET,
            "/v1/config",
            &[("accept", "application/yaml")],
            "",
        )
        .await?;
    assert_eq!(yaml.headers["content-type"], "application/yaml");
    let text = String::from_utf8(yaml.body.to_vec())?;
    let reply = gateway
        .admin(
            Method::PUT,
            "/v1/config",
            &[
                ("authorization", BEARER),
                ("content-type", "application/yaml"),
            ],
            &text,
        )
        .await?;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.json()?["unchanged"], true);
    assert_eq!(reply.json()?["revision"], 1);
    let revisions = gateway
        .admin(Method::GET, "/v1/revisions", &[], "")
        .await?
        .json()?;
    assert_eq!(revisions["revisions"].as_array().map(Vec::len), Some(1));
    gateway.stop().await
}

#[tokio::test]
async fn rollback_makes_a_new_revision_equal_to_an_old_one() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (config, _) = gateway.head().await?;
    assert_eq!(
        gateway.put(&with_path(&config, "/two"), &[]).await?.status,
        StatusCode::OK
    );
    let auth = BEARER;
    let reply = gateway
        .admin(
            Method::POST,
            "/v1/revisions/1/rollback",
            &[("authorization", auth)],
            "",
        )
        .await?;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.json()?["revision"], 3);
    assert_eq!(gateway.data("/one").await?, StatusCode::OK);
    let old = gateway
        .admin(Method::GET, "/v1/revisions/1", &[], "")
        .await?
        .json()?;
    assert_eq!(gateway.head().await?.0, old);
    let missing = gateway
        .admin(
            Method::POST,
            "/v1/revisions/99/rollback",
            &[("authorization", auth)],
            "",
        )
        .await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    gateway.stop().await
}

#[tokio::test]
async fn mutations_need_the_token() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (config, _) = gateway.head().await?;
    for auth in [None, Some("Bearer wrong"), Some("test-admin-token")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let reply = gateway
            .admin(
                Method::PUT,
                "/v1/config",
                &headers,
                &with_path(&config, "/x").to_string(),
            )
            .await?;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(reply.headers.contains_key("www-authenticate"));
    }
    assert_eq!(gateway.head().await?.1, "\"1\"");
    let health = gateway.admin(Method::GET, "/healthz", &[], "").await?;
    assert_eq!(health.status, StatusCode::OK);
    let ready = gateway.admin(Method::GET, "/readyz", &[], "").await?;
    assert_eq!(ready.json()?["revision"], 1);
    let wrong_method = gateway
        .admin(
            Method::DELETE,
            "/v1/config",
            &[("authorization", BEARER)],
            "",
        )
        .await?;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    gateway.stop().await
}

#[tokio::test]
async fn the_configuration_survives_a_restart() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (config, _) = gateway.head().await?;
    assert_eq!(
        gateway.put(&with_path(&config, "/two"), &[]).await?.status,
        StatusCode::OK
    );
    let dir = gateway.data_dir.clone();
    gateway.stop().await?;
    // Without --config, the stored head runs.
    let again = Gateway::start(dir.clone(), ConfigSource::Quickstart).await?;
    assert_eq!(again.head().await?.1, "\"2\"");
    assert_eq!(again.data("/two").await?, StatusCode::OK);
    again.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test]
async fn bindings_and_guards_are_resources_with_their_own_etags() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let auth = BEARER;
    let list = gateway
        .admin(Method::GET, "/v1/bindings", &[], "")
        .await?
        .json()?;
    let names: Vec<&String> = list.as_object().context("map")?.keys().collect();
    assert_eq!(names, vec!["tcp", "http", "echo"]);
    let http = gateway
        .admin(Method::GET, "/v1/bindings/http", &[], "")
        .await?;
    assert_eq!(http.status, StatusCode::OK);
    let http_etag = http.headers["etag"].to_str()?.to_owned();
    let mut routes = http.json()?;
    routes["routes"][0]["when"][0]["headers"][":path"] = json!("/renamed");
    let stale = gateway
        .admin(
            Method::PUT,
            "/v1/bindings/http",
            &[
                ("authorization", auth),
                ("if-match", "\"0000000000000000\""),
            ],
            &routes.to_string(),
        )
        .await?;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let put = gateway
        .admin(
            Method::PUT,
            "/v1/bindings/http",
            &[("authorization", auth), ("if-match", &http_etag)],
            &routes.to_string(),
        )
        .await?;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    assert_eq!(put.json()?["revision"], 2);
    assert_eq!(gateway.data("/renamed").await?, StatusCode::OK);

    let bad = gateway
        .admin(
            Method::PUT,
            "/v1/bindings/broken",
            &[("authorization", auth)],
            r#"{ "type": "nonsense", "kind": "server" }"#,
        )
        .await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.starts_with(b"{"), "{:?}", bad.body);
    let pointers = bad.json()?["errors"].to_string();
    assert!(pointers.contains("/bindings/broken"), "{pointers}");

    let guard = json!({ "type": "jwt", "options": { "issuer": "https://auth.test",
        "keys": [ sluice_tests::jwt::public_jwk(sluice_tests::jwt::RSA1, "k1") ] } });
    let added = gateway
        .admin(
            Method::PUT,
            "/v1/guards/jwt",
            &[("authorization", auth)],
            &guard.to_string(),
        )
        .await?;
    assert_eq!(added.status, StatusCode::OK, "{:?}", added.body);
    let read = gateway
        .admin(Method::GET, "/v1/guards/jwt", &[], "")
        .await?;
    assert_eq!(read.json()?["options"]["issuer"], "https://auth.test");
    let removed = gateway
        .admin(
            Method::DELETE,
            "/v1/guards/jwt",
            &[("authorization", auth)],
            "",
        )
        .await?;
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(removed.json()?["revision"], 4);
    let gone = gateway
        .admin(
            Method::DELETE,
            "/v1/guards/jwt",
            &[("authorization", auth)],
            "",
        )
        .await?;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    // Removing a binding others exit to is refused with the dangling exit's location.
    let dangling = gateway
        .admin(
            Method::DELETE,
            "/v1/bindings/echo",
            &[("authorization", auth)],
            "",
        )
        .await?;
    assert_eq!(dangling.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        dangling.json()?["errors"]
            .to_string()
            .contains("/bindings/http/routes/0/exit")
    );
    gateway.stop().await
}

#[tokio::test]
async fn every_documented_route_is_routed_and_the_document_is_served() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let auth = BEARER;
    for (method, template) in admin::ROUTES {
        let path = template
            .replace("{number}", "1")
            .replace("{name}", "nothing-here");
        let method = Method::from_bytes(method.as_bytes())?;
        let reply = gateway
            .admin(method.clone(), &path, &[("authorization", auth)], "")
            .await?;
        let body = String::from_utf8_lossy(&reply.body);
        assert!(
            !body.contains("no admin route"),
            "{method} {path} is documented but not routed: {body}"
        );
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
    }
    let document = gateway
        .admin(Method::GET, "/openapi.json", &[], "")
        .await?
        .json()?;
    assert_eq!(document["info"]["title"], "Sluice admin API");
    assert!(document["components"]["securitySchemes"]["admin_token"].is_object());
    gateway.stop().await
}

/// Route A (`/a`, echo), route B (SSE on `topic`), route C (echo on `c_path`), and a guard
/// whose keys are `keys` guarding SSE route `/events/guarded`.
fn three_routes(topic: &str, c_path: &str, keys: &Value) -> String {
    format!(
        r#"
name: zero-downtime
guards:
  jwt:
    type: jwt
    options: {{ issuer: "https://auth.test", audience: sluice, keys: {keys} }}
bindings:
  tcp: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: {PORT} }}, exit: http }}
  http:
    type: http
    kind: server
    options:
      authorization: {{ jwt: {{ credentials: {{ headers: {{ authorization: "Bearer {{credentials}}" }} }} }} }}
    routes:
      - when: [ {{ headers: {{ ":path": /a }} }} ]
        exit: echo
      - when: [ {{ headers: {{ ":path": "{c_path}" }} }} ]
        exit: echo
      - when: [ {{ headers: {{ ":path": "/events/*" }} }} ]
        exit: sse
  echo: {{ type: echo, kind: server }}
  sse: {{ type: sse, kind: server, options: {{ keepalive-seconds: 1 }}, exit: sse_kafka }}
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ {{ path: /events/b }} ]
        exit: client
        with: {{ topic: {topic}, start: live }}
      - when: [ {{ path: /events/guarded }} ]
        guarded: {{ jwt: [] }}
        exit: client
        with: {{ topic: {topic}, start: live }}
  client: {{ type: kafka, kind: client, options: {{ servers: [ "{servers}" ] }} }}
"#,
        servers = sluice_tests::broker().bootstrap()
    )
}

async fn open_stream(
    gateway: &Gateway,
    path: &str,
    auth: Option<&str>,
) -> Result<sluice_tests::EventStream> {
    let addr = gateway.app.local_addr(PORT).await.context("listener")?;
    let mut request =
        Request::get(format!("http://{addr}{path}")).header("accept", "text/event-stream");
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = Sluice::client()
        .request(request.body(Full::new(Bytes::new()))?)
        .await?;
    anyhow::ensure!(
        response.status() == StatusCode::OK,
        "{path}: {}",
        response.status()
    );
    Ok(sluice_tests::EventStream::new(response.into_body()))
}

#[tokio::test]
async fn changes_to_other_routes_drop_nothing_and_a_changed_route_ends_its_streams() -> Result<()> {
    use sluice_tests::jwt::{RSA1, RSA2, claims, public_jwk, token};
    let topic = sluice_tests::broker().topic("zero-downtime").await?;
    let keys = json!([public_jwk(RSA1, "k1"), public_jwk(RSA2, "k2")]);
    let dir = std::env::temp_dir().join(format!("sluice-admin-{}", uuid::Uuid::new_v4()));
    let gateway = Arc::new(
        Gateway::start(
            dir.clone(),
            ConfigSource::Text(three_routes(&topic, "/c0", &keys)),
        )
        .await?,
    );
    let mut streams = Vec::new();
    for _ in 0..100 {
        streams.push(open_stream(&gateway, "/events/b", None).await?);
    }
    // Steady requests on route A while 30 changes touch only route C.
    let load = {
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
            while tokio::time::Instant::now() < deadline {
                match gateway.data("/a").await {
                    Ok(StatusCode::OK) => ok += 1,
                    _ => failed += 1,
                }
            }
            (ok, failed)
        })
    };
    let mut config = gateway.head().await?.0;
    for change in 1..=30 {
        config["bindings"]["http"]["routes"][1]["when"][0]["headers"][":path"] =
            json!(format!("/c{change}"));
        let reply = gateway.put(&config, &[]).await?;
        anyhow::ensure!(
            reply.status == StatusCode::OK,
            "change {change}: {:?}",
            reply.body
        );
    }
    let (ok, failed) = load.await?;
    sluice_tests::broker()
        .produce(&topic, "k", Some(b"after 30 changes"), &[])
        .await?;
    let mut delivered = 0;
    for stream in &mut streams {
        if stream.next(Duration::from_secs(20)).await?.data == "after 30 changes" {
            delivered += 1;
        }
    }
    println!(
        "reload under load: {ok} requests on A ok, {failed} failed; {delivered}/100 streams on B kept every event"
    );
    assert_eq!(failed, 0);
    assert!(ok > 0);
    assert_eq!(delivered, 100, "no stream on B was dropped");
    assert_eq!(gateway.data("/c30").await?, StatusCode::OK);

    // Changing route B ends its streams cleanly; a reconnect gets the new route.
    let mut changed = gateway.head().await?.0;
    changed["bindings"]["sse_kafka"]["routes"][0]["with"]["start"] = json!("historical");
    assert_eq!(gateway.put(&changed, &[]).await?.status, StatusCode::OK);
    let mut ended = 0;
    for stream in &mut streams {
        if stream.next(Duration::from_secs(10)).await.is_err() {
            ended += 1;
        }
    }
    println!("route B changed: {ended}/100 streams ended");
    assert_eq!(ended, 100);
    let mut again = open_stream(&gateway, "/events/b", None).await?;
    assert_eq!(
        again.next(Duration::from_secs(20)).await?.data,
        "after 30 changes",
        "historical now"
    );

    // Removing a guard key ends the streams that key authorized, and only those.
    let by_k1 = format!("Bearer {}", token(RSA1, "k1", &claims("a", "", 600)));
    let by_k2 = format!("Bearer {}", token(RSA2, "k2", &claims("b", "", 600)));
    let mut revoked = open_stream(&gateway, "/events/guarded", Some(&by_k1)).await?;
    let mut kept = open_stream(&gateway, "/events/guarded", Some(&by_k2)).await?;
    let mut rotated = gateway.head().await?.0;
    rotated["guards"]["jwt"]["options"]["keys"] = json!([public_jwk(RSA2, "k2")]);
    assert_eq!(gateway.put(&rotated, &[]).await?.status, StatusCode::OK);
    let started = tokio::time::Instant::now();
    loop {
        match revoked.next(Duration::from_secs(5)).await {
            Ok(event) if event.event.is_none() && event.data.is_empty() => continue,
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the revoked stream ended within seconds"
    );
    sluice_tests::broker()
        .produce(&topic, "k", Some(b"after rotation"), &[])
        .await?;
    assert_eq!(
        kept.next(Duration::from_secs(20)).await?.data,
        "after rotation"
    );
    drop((streams, again, kept));
    match Arc::try_unwrap(gateway) {
        Ok(gateway) => gateway.stop().await?,
        Err(_) => anyhow::bail!("gateway still shared"),
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test]
async fn config_long_polls_wake_on_the_next_revision_and_record_data_planes() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (config, etag) = gateway.head().await?;
    // The current revision: 304 at once without a wait.
    let same = gateway
        .admin(Method::GET, "/v1/config", &[("if-none-match", &etag)], "")
        .await?;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    assert_eq!(same.headers["etag"], etag);
    // An older one: the head at once.
    let older = gateway
        .admin(Method::GET, "/v1/config", &[("if-none-match", "\"0\"")], "")
        .await?;
    assert_eq!(older.status, StatusCode::OK);
    // A wait ends with 304 when nothing changes.
    let started = std::time::Instant::now();
    let waited = gateway
        .admin(
            Method::GET,
            "/v1/config",
            &[("if-none-match", &etag), ("prefer", "wait=1")],
            "",
        )
        .await?;
    assert_eq!(waited.status, StatusCode::NOT_MODIFIED);
    assert!(started.elapsed() >= Duration::from_millis(900));
    // A wait is answered by the next applied revision, and records the data plane.
    let following = [
        ("if-none-match", etag.as_str()),
        ("prefer", "wait=30"),
        ("sluice-data-plane", "edge-7"),
        ("sluice-applied-revision", "1"),
    ];
    let poll = gateway.admin(Method::GET, "/v1/config", &following, "");
    let change = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        gateway.put(&with_path(&config, "/two"), &[]).await
    };
    let started = std::time::Instant::now();
    let (poll, change) = tokio::join!(poll, change);
    assert_eq!(change?.status, StatusCode::OK);
    let poll = poll?;
    assert_eq!(poll.status, StatusCode::OK);
    assert_eq!(poll.headers["etag"], "\"2\"");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken, not timed out"
    );
    let status = gateway
        .admin(Method::GET, "/v1/status", &[], "")
        .await?
        .json()?;
    assert_eq!(status["data_planes"][0]["id"], "edge-7");
    assert_eq!(status["data_planes"][0]["applied_revision"], 1);
    assert_eq!(status["data_planes"][0]["connected"], true);
    // Bad input: clear 400s.
    for (name, value) in [
        ("sluice-data-plane", "no spaces allowed"),
        ("sluice-applied-revision", "seven"),
        ("prefer", "wait=100000"),
        ("if-none-match", "\"unterminated"),
    ] {
        let headers = if name == "sluice-applied-revision" {
            vec![("sluice-data-plane", "edge-7"), (name, value)]
        } else {
            vec![(name, value)]
        };
        let reply = gateway
            .admin(Method::GET, "/v1/config", &headers, "")
            .await?;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}: {value}");
        assert_eq!(reply.json()?["code"], "bad_request");
    }
    gateway.stop().await
}

#[tokio::test]
async fn metrics_are_served_in_the_prometheus_format_with_the_live_revision() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (config, _) = gateway.head().await?;
    assert_eq!(gateway.data("/one").await?, StatusCode::OK);
    assert_eq!(
        gateway.put(&with_path(&config, "/two"), &[]).await?.status,
        StatusCode::OK
    );
    let mut broken = config.clone();
    broken["bindings"]["tcp"]["options"]["port"] = json!("not a port");
    assert_eq!(
        gateway.put(&broken, &[]).await?.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let reply = gateway.admin(Method::GET, "/metrics", &[], "").await?;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers["content-type"]
            .to_str()?
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(reply.body.to_vec())?;
    for line in [
        "sluice_config_revision 2",
        "sluice_config_applies_total 1",
        "sluice_config_rejected_total 1",
        r#"sluice_http_requests_total{binding="http",route="",kind="unrouted",status="200"} 1"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line} in:\n{text}"
        );
    }
    // Every sample line is `name{labels} value` with a number, and every family is typed.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').context("a sample line")?;
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let name = series.split('{').next().unwrap_or_default();
        let family = name
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} has no TYPE line"
        );
    }
    gateway.stop().await
}

/// A change naming certificate files that do not load is refused (422 `not_applied`) by a
/// dry run and by an apply, with the file and its problem; the running table stays.
#[tokio::test]
async fn a_change_with_a_bad_certificate_is_refused_with_the_reason() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (config, _) = gateway.head().await?;
    let ca = sluice_tests::tls::TestCa::new()?;
    let issued = ca.issue("server")?;
    let mut tls = config.clone();
    tls["bindings"]["tcp"]["exit"] = json!("tls");
    tls["bindings"]["tls"] = json!({
        "type": "tls", "kind": "server", "exit": "http",
        "options": { "certificate": issued.certificate, "key": ca.path("missing-key.pem") }
    });
    for path in ["/v1/config?dry_run=true", "/v1/config"] {
        let reply = gateway
            .admin(
                Method::PUT,
                path,
                &[("authorization", BEARER)],
                &tls.to_string(),
            )
            .await?;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {:?}",
            reply.body
        );
        let body = reply.json()?;
        assert_eq!(body["code"], "not_applied");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("/bindings/tls/options/key") && message.contains("missing-key.pem"),
            "{message}"
        );
    }
    assert_eq!(gateway.data("/one").await?, StatusCode::OK);
    // With the key's real path, the same change applies.
    tls["bindings"]["tls"]["options"]["key"] = json!(issued.key);
    let reply = gateway
        .admin(
            Method::PUT,
            "/v1/config?dry_run=true",
            &[("authorization", BEARER)],
            &tls.to_string(),
        )
        .await?;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    gateway.stop().await
}

/// Every secret field reads `***` in whatever the admin API returns (configuration,
/// resources, revisions, YAML); `?secrets=true` is how a data plane gets them. A resource
/// read, edited and put back with `***` keeps its stored secret.
#[tokio::test]
async fn secrets_are_redacted_everywhere_and_kept_when_sent_back() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let (mut config, etag) = gateway.head().await?;
    let ca = sluice_tests::tls::TestCa::new()?;
    let client = ca.issue("client")?;
    let (password, key_password) = ("hunter2-sasl-secret", "hunter2-key-secret");
    // A kafka client no route uses yet: nothing connects, but its settings are stored.
    config["bindings"]["kafka_client"] = json!({
        "type": "kafka", "kind": "client",
        "options": {
            "servers": ["127.0.0.1:9"],
            "sasl": { "mechanism": "scram-sha-512", "username": "alice", "password": password },
            "tls": { "ca": ca.ca_file(), "certificate": client.certificate, "key": client.key, "key-password": key_password }
        }
    });
    let reply = gateway.put(&config, &[("if-match", etag.as_str())]).await?;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let revision = reply.json()?["revision"].as_u64().context("revision")?;

    let leaks = |reply: &Reply| {
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        text.contains(password) || text.contains(key_password)
    };
    for (path, accept) in [
        ("/v1/config", "application/json"),
        ("/v1/config", "application/yaml"),
        ("/v1/bindings", "application/json"),
        ("/v1/bindings/kafka_client", "application/json"),
        ("/v1/bindings/kafka_client", "application/yaml"),
        (
            &format!("/v1/revisions/{revision}") as &str,
            "application/json",
        ),
        ("/v1/revisions", "application/json"),
        ("/v1/status", "application/json"),
        ("/metrics", "text/plain"),
    ] {
        let reply = gateway
            .admin(
                Method::GET,
                path,
                &[("authorization", BEARER), ("accept", accept)],
                "",
            )
            .await?;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(
            !leaks(&reply),
            "{path} ({accept}) shows a secret: {:?}",
            reply.body
        );
    }
    let (shown, etag) = gateway.head().await?;
    let options = &shown["bindings"]["kafka_client"]["options"];
    assert_eq!(options["sasl"]["password"], "***");
    assert_eq!(options["tls"]["key-password"], "***");
    assert_eq!(options["sasl"]["username"], "alice");

    // A data plane asks for the secrets, with the token even on loopback.
    let open = gateway
        .admin(Method::GET, "/v1/config?secrets=true", &[], "")
        .await?;
    assert_eq!(open.status, StatusCode::UNAUTHORIZED);
    assert!(!leaks(&open));
    let full = gateway
        .admin(
            Method::GET,
            "/v1/config?secrets=true",
            &[("authorization", BEARER)],
            "",
        )
        .await?;
    assert_eq!(
        full.json()?["bindings"]["kafka_client"]["options"]["sasl"]["password"],
        password
    );

    // Read, edit another field, put back with '***': the secrets stay.
    let mut edited = shown["bindings"]["kafka_client"].clone();
    edited["options"]["sasl"]["username"] = json!("bob");
    let reply = gateway
        .admin(
            Method::PUT,
            "/v1/bindings/kafka_client",
            &[
                ("authorization", BEARER),
                ("content-type", "application/json"),
            ],
            &edited.to_string(),
        )
        .await?;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert!(!leaks(&reply));
    let full = gateway
        .admin(
            Method::GET,
            "/v1/config?secrets=true",
            &[("authorization", BEARER)],
            "",
        )
        .await?
        .json()?;
    let options = &full["bindings"]["kafka_client"]["options"];
    assert_eq!(options["sasl"]["username"], "bob");
    assert_eq!(options["sasl"]["password"], password);
    assert_eq!(options["tls"]["key-password"], key_password);

    // '***' where no secret is stored is refused where it is.
    let mut orphan = shown.clone();
    orphan["bindings"]["other_client"] = shown["bindings"]["kafka_client"].clone();
    let reply = gateway.put(&orphan, &[("if-match", "*")]).await?;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );
    let errors = reply.json()?["errors"].clone();
    assert!(
        errors
            .to_string()
            .contains("/bindings/other_client/options/sasl/password"),
        "{errors}"
    );
    let _ = etag;
    gateway.stop().await
}

#[tokio::test]
async fn one_rule_for_conditions_flags_and_methods_on_every_endpoint() -> Result<()> {
    let gateway = Gateway::fresh("/rules").await?;
    let auth = ("authorization", BEARER);
    let (config, _) = gateway.head().await?;
    let binding = config["bindings"]["echo"].to_string();
    // An empty or malformed If-Match is a 400 everywhere, never an unconditional write.
    for if_match in ["", "abc", "\"3"] {
        let headers = [auth, ("if-match", if_match)];
        let reply = gateway.put(&config, &headers[1..]).await?;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "config, If-Match {if_match:?}"
        );
        for (method, path, body) in [
            (Method::PUT, "/v1/bindings/echo", binding.as_str()),
            (Method::DELETE, "/v1/bindings/echo", ""),
            (Method::POST, "/v1/revisions/1/rollback", ""),
        ] {
            let reply = gateway.admin(method.clone(), path, &headers, body).await?;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{method} {path}, If-Match {if_match:?}"
            );
        }
    }
    // A boolean query parameter is true or false.
    let reply = gateway
        .admin(
            Method::PUT,
            "/v1/config?dry_run=null",
            &[auth],
            &config.to_string(),
        )
        .await?;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // A body the schema refuses is a 400 before the precondition is looked at.
    let reply = gateway
        .admin(
            Method::PUT,
            "/v1/bindings/echo",
            &[auth, ("if-match", "\"nope\"")],
            "[]",
        )
        .await?;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // A method a path does not take: 405 with Allow, before any token check.
    let reply = gateway.admin(Method::PUT, "/v1/status", &[], "").await?;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "GET");
    let reply = gateway
        .admin(Method::TRACE, "/v1/bindings/echo", &[], "")
        .await?;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    gateway.stop().await
}

/// A binding PUT alone may carry every field a binding has: `vault` and `telemetry` too.
#[tokio::test]
async fn a_binding_with_telemetry_and_vault_fields_is_accepted_as_a_resource() -> Result<()> {
    let gateway = Gateway::fresh("/one").await?;
    let mut http = gateway
        .admin(Method::GET, "/v1/bindings/http", &[], "")
        .await?
        .json()?;
    http["telemetry"] = json!({ "metrics": ["http.*"] });
    let put = gateway
        .admin(
            Method::PUT,
            "/v1/bindings/http?dry_run=true",
            &[("authorization", BEARER)],
            &http.to_string(),
        )
        .await?;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    // `vault` reaches the configuration's own check, which names what is wrong with it.
    http["vault"] = json!("none");
    let put = gateway
        .admin(
            Method::PUT,
            "/v1/bindings/http?dry_run=true",
            &[("authorization", BEARER)],
            &http.to_string(),
        )
        .await?;
    assert_eq!(
        put.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        put.body
    );
    assert!(
        put.json()?["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("only tls bindings read a vault")),
        "{:?}",
        put.body
    );
    gateway.stop().await
}
