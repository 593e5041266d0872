//! Catalogs and models end to end, in the shapes of Zilla's public schema examples:
//! Avro over HTTP as JSON with a schema registry (http.kafka.avro.json,
//! http.kafka.schema.registry), Protobuf as JSON and as binary from a filesystem catalog
//! (http.kafka.proto.json, http.kafka.proto.oneway), JSON Schema on requests.

use std::time::Duration;

use anyhow::Result;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice_tests::gateway::Gateway;
use sluice_tests::registry::TestRegistry;
use sluice_tests::{Sluice, broker};

const PORT: u16 = 8080;
const WAIT: Duration = Duration::from_secs(20);

/// The Avro schema of the http.kafka.avro.json example.
const EVENT_SCHEMA: &str = r#"{"fields":[{"name":"id","type":"string"},{"name":"status","type":"string"}],"name":"Event","namespace":"io.aklivity.example","type":"record"}"#;

/// tcp -> http (request models) -> http-kafka -> cache_client (topic models) -> client, plus
/// an sse route on `/stream`.
fn config(catalogs: &str, requests: &str, routes: &str, topics: &str, sse_topic: &str) -> String {
    format!(
        r#"
name: test
catalogs:
{catalogs}
bindings:
  tcp:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: {PORT} }}
    exit: http
  http:
    type: http
    kind: server
    options:
      requests:
{requests}
    routes:
      - when: [ {{ headers: {{ ":path": /stream }} }} ]
        exit: sse
    exit: mapping
  sse:
    type: sse
    kind: server
    exit: sse_kafka
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ {{ path: /stream }} ]
        exit: cache
        with: {{ topic: {sse_topic} }}
  mapping:
    type: http-kafka
    kind: proxy
    routes:
{routes}
  cache:
    type: kafka
    kind: cache_client
    options:
      topics:
{topics}
    exit: client
  client:
    type: kafka
    kind: client
    options:
      servers: [ "{servers}" ]
"#,
        servers = broker().bootstrap(),
    )
}

async fn send(
    sluice: &Sluice,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<bytes::Bytes>,
) -> Result<sluice_tests::Reply> {
    sluice.send(PORT, method, path, headers, body).await
}

/// A refused request: path, headers, body, the place named and the pointer.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str, &'a str);

const JSON: [(&str, &str); 1] = [("content-type", "application/json")];

/// The first `Some` that `probe` gives within `within`, asking every 20 ms.
async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(found) = probe().await {
            return Ok(found);
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn avro_over_http_as_json_with_a_schema_registry() -> Result<()> {
    let items = broker().topic("avro-items").await?;
    let events = broker().topic("avro-events").await?;
    let registry = TestRegistry::start(Some("Basic dGVzdDp0ZXN0")).await?;
    let id = registry.register(&format!("{items}-value"), EVENT_SCHEMA, "AVRO");
    let event_id = registry.register("events-value", EVENT_SCHEMA, "AVRO");
    assert_eq!(id, event_id, "the same schema text has one id");
    let catalogs = format!(
        "  my_catalog:\n    type: schema-registry\n    options:\n      url: {}\n      context: default\n      credentials: {{ headers: {{ authorization: Basic dGVzdDp0ZXN0 }} }}",
        registry.url
    );
    let requests = "        - path: /events\n          method: POST\n          content-type: [ application/avro-binary ]\n          content: { model: avro, catalog: { my_catalog: [ { strategy: encoded } ] } }";
    let routes = format!(
        "      - when: [ {{ method: PUT, path: \"/items/{{id}}\" }} ]\n        exit: cache\n        with: {{ capability: produce, topic: {items}, key: \"${{params.id}}\" }}\n\
         \x20     - when: [ {{ method: GET, path: \"/items/{{id}}\" }} ]\n        exit: cache\n        with: {{ capability: fetch, topic: {items}, filters: [ {{ key: \"${{params.id}}\" }} ] }}\n\
         \x20     - when: [ {{ method: GET, path: /items }} ]\n        exit: cache\n        with: {{ capability: fetch, topic: {items}, merge: {{ content-type: application/json }} }}\n\
         \x20     - when: [ {{ method: POST, path: /events }} ]\n        exit: cache\n        with: {{ capability: produce, topic: {events} }}"
    );
    let topics = format!(
        "        - name: {items}\n          value: {{ model: avro, view: json, catalog: {{ my_catalog: [ {{ strategy: topic, version: latest }} ] }} }}"
    );
    let sluice =
        Sluice::with_config(&config(&catalogs, requests, &routes, &topics, &items)).await?;

    // A valid item goes to Kafka as Avro with the registry's frame, and reads back as JSON.
    let put = send(
        &sluice,
        Method::PUT,
        "/items/1",
        &JSON,
        r#"{"id": "123", "status": "OK"}"#,
    )
    .await?;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{put:?}");
    let records = broker().read(&items, 1, WAIT).await?;
    let mut expected = vec![0u8];
    expected.extend_from_slice(&(id as i32).to_be_bytes());
    expected.extend_from_slice(b"\x06123\x04OK");
    assert_eq!(records[0].value.as_deref(), Some(&expected[..]));
    assert_eq!(
        records[0].header("content-type"),
        None,
        "the JSON content type is not copied to an Avro record"
    );
    let item = eventually(WAIT, "the item", || async {
        send(&sluice, Method::GET, "/items/1", &[], "")
            .await
            .ok()
            .filter(|r| r.status == StatusCode::OK)
    })
    .await?;
    assert_eq!(item.json()?, json!({"id": "123", "status": "OK"}));
    assert_eq!(item.headers["content-type"], "application/json");

    // The README's invalid event: 400 naming the field, the rule and the schema; nothing written.
    let bad = send(
        &sluice,
        Method::PUT,
        "/items/2",
        &JSON,
        r#"{"id": 123,"status": "OK"}"#,
    )
    .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{bad:?}");
    assert_eq!(bad.headers["content-type"], "application/problem+json");
    let problem = bad.json()?;
    assert_eq!(problem["code"], "invalid_payload");
    assert_eq!(problem["in"], "body");
    assert_eq!(problem["pointer"], "/id");
    assert_eq!(problem["rule"], "expected a string, found an integer");
    assert_eq!(problem["model"], "avro");
    assert_eq!(problem["schema"]["subject"], format!("{items}-value"));
    assert_eq!(problem["schema"]["id"], id);
    assert_eq!(problem["status"], 400);
    let missing = send(&sluice, Method::GET, "/items/2", &[], "").await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Avro binary in the registry's wire format, checked against the id it carries
    // (the example's event.bin and invalid_event.bin with this registry's id).
    let mut event = vec![0u8];
    event.extend_from_slice(&(id as i32).to_be_bytes());
    event.extend_from_slice(b"\x06123\x04OK");
    let avro = [("content-type", "application/avro-binary")];
    let posted = send(&sluice, Method::POST, "/events", &avro, event.clone()).await?;
    assert_eq!(posted.status, StatusCode::NO_CONTENT, "{posted:?}");
    let cut = send(
        &sluice,
        Method::POST,
        "/events",
        &avro,
        event[..event.len() - 3].to_vec(),
    )
    .await?;
    assert_eq!(cut.status, StatusCode::BAD_REQUEST, "{cut:?}");
    assert_eq!(cut.json()?["pointer"], "/status");
    let unknown_id = send(
        &sluice,
        Method::POST,
        "/events",
        &avro,
        b"\0\0\0\0\x63\x06123\x04OK".to_vec(),
    )
    .await?;
    assert_eq!(unknown_id.status, StatusCode::BAD_REQUEST, "{unknown_id:?}");
    assert!(
        unknown_id.json()?["rule"]
            .as_str()
            .unwrap_or_default()
            .contains("schema id 99")
    );
    let wrong_type = send(&sluice, Method::POST, "/events", &JSON, event.clone()).await?;
    assert_eq!(
        wrong_type.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{wrong_type:?}"
    );
    assert_eq!(
        broker().read(&events, 1, WAIT).await?[0].value.as_deref(),
        Some(&event[..])
    );

    // After warm-up, writing asks the registry nothing.
    let before = registry.requests();
    for n in 0..20 {
        let body = format!(r#"{{"id": "{n}", "status": "OK"}}"#);
        let put = send(&sluice, Method::PUT, &format!("/items/{n}"), &JSON, body).await?;
        assert_eq!(put.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(
        registry.requests(),
        before,
        "no registry lookup per produce"
    );

    // A record another producer wrote that does not fit is skipped on the way out, and
    // counted; SSE shows the items as JSON.
    let mut garbage = vec![0u8];
    garbage.extend_from_slice(&(id as i32).to_be_bytes());
    garbage.extend_from_slice(b"\x7f");
    broker().produce(&items, "bad", Some(&garbage), &[]).await?;
    // The skip is counted when a fetch renders the record, so keep fetching until the
    // cache holds it: the list stays at 20 items that all fit.
    let failures = "sluice_model_failures_total{direction=\"out\",model=\"avro\",at=\"/bindings/cache/options/topics/0/value\"}";
    let list = eventually(
        WAIT,
        "the list with 20 items and the bad record skipped",
        || async {
            let list = send(&sluice, Method::GET, "/items", &[], "").await.ok()?;
            let value = list.json().ok()?;
            let skipped = sluice.metric(failures).is_some_and(|n| n >= 1.0);
            (skipped && value.as_array()?.len() == 20).then_some(value)
        },
    )
    .await?;
    assert!(
        list.as_array()
            .into_iter()
            .flatten()
            .all(|item| item["status"] == "OK"),
        "{list}"
    );
    let (status, _, mut stream) = sluice.stream(PORT, "/stream", &[]).await?;
    assert_eq!(status, StatusCode::OK);
    let first = stream.next(WAIT).await?;
    assert_eq!(
        serde_json::from_str::<Value>(&first.data)?,
        json!({"id": "123", "status": "OK"})
    );
    Ok(())
}

#[tokio::test]
async fn a_registry_outage_keeps_the_cached_schemas_and_an_unknown_one_fails_clearly() -> Result<()>
{
    let items = broker().topic("avro-outage").await?;
    let registry = TestRegistry::start(None).await?;
    let id = registry.register(&format!("{items}-value"), EVENT_SCHEMA, "AVRO");
    let catalogs = format!(
        "  registry:\n    type: karapace-schema-registry\n    options: {{ url: {}, max-age: 1 }}",
        registry.url
    );
    let routes = format!(
        "      - when: [ {{ method: PUT, path: \"/items/{{id}}\" }} ]\n        exit: cache\n        with: {{ capability: produce, topic: {items}, key: \"${{params.id}}\" }}\n\
         \x20     - when: [ {{ method: GET, path: \"/items/{{id}}\" }} ]\n        exit: cache\n        with: {{ capability: fetch, topic: {items}, filters: [ {{ key: \"${{params.id}}\" }} ] }}"
    );
    let topics = format!(
        "        - name: {items}\n          value: {{ model: avro, view: json, catalog: {{ registry: [ {{ strategy: topic }} ] }} }}"
    );
    let text = config(
        &catalogs,
        "        - path: /unused\n          content: string",
        &routes,
        &topics,
        &items,
    );
    let sluice = Sluice::with_config(&text).await?;
    registry.set_down(true);
    // Past max-age: the refresh fails in the background and the cached schema still serves.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for n in 0..3 {
        let put = send(
            &sluice,
            Method::PUT,
            &format!("/items/{n}"),
            &JSON,
            r#"{"id": "1", "status": "OK"}"#,
        )
        .await?;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{put:?}");
    }
    // A record framed with an id never seen cannot be shown while the registry is down.
    let mut other = vec![0u8];
    other.extend_from_slice(&(id as i32 + 1).to_be_bytes());
    broker().produce(&items, "other", Some(&other), &[]).await?;
    let shown = eventually(WAIT, "item 2", || async {
        send(&sluice, Method::GET, "/items/2", &[], "")
            .await
            .ok()
            .filter(|r| r.status == StatusCode::OK)
    })
    .await?;
    assert_eq!(shown.json()?, json!({"id": "1", "status": "OK"}));
    let hidden = send(&sluice, Method::GET, "/items/other", &[], "").await?;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{hidden:?}");
    // A configuration naming a subject the registry cannot give now is not applied.
    let failed = Sluice::with_config(&text.replace("strategy: topic", "subject: never-seen")).await;
    let message = format!(
        "{:#}",
        failed
            .err()
            .expect("start fails while the registry is down")
    );
    assert!(
        message.contains(&registry.url) && message.contains("503"),
        "{message}"
    );
    Ok(())
}

/// The proto of the http.kafka.proto.* examples, in a catalog directory of the test's own.
fn proto_catalog() -> Result<String> {
    let dir = std::env::temp_dir().join(format!("sluice-proto-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("request.proto");
    std::fs::write(
        &path,
        "syntax = \"proto3\";\n\nmessage Request {\n  string message = 1;\n  int32 count = 2;\n}\n",
    )?;
    Ok(format!(
        "  host_filesystem:\n    type: filesystem\n    options:\n      subjects:\n        my_proto_subject:\n          path: {}",
        path.display()
    ))
}

#[tokio::test]
async fn protobuf_as_json_and_as_binary_from_a_filesystem_catalog() -> Result<()> {
    let json_topic = broker().topic("proto-json").await?;
    let binary_topic = broker().topic("proto-binary").await?;
    let routes = format!(
        "      - when: [ {{ method: POST, path: /requests }} ]\n        exit: cache\n        with: {{ capability: produce, topic: {json_topic} }}\n\
         \x20     - when: [ {{ method: POST, path: /binary }} ]\n        exit: cache\n        with: {{ capability: produce, topic: {binary_topic} }}"
    );
    let model = "catalog: { host_filesystem: [ { subject: my_proto_subject, record: Request } ] }";
    let topics = format!(
        "        - name: {json_topic}\n          value: {{ model: protobuf, view: json, {model} }}\n        - name: {binary_topic}\n          value: {{ model: protobuf, {model} }}"
    );
    let sluice = Sluice::with_config(&config(
        &proto_catalog()?,
        "        - path: /unused\n          content: string",
        &routes,
        &topics,
        &json_topic,
    ))
    .await?;

    // http.kafka.proto.json: JSON in, Protobuf on Kafka.
    let ok = send(
        &sluice,
        Method::POST,
        "/requests",
        &JSON,
        r#"{"message": "hello message", "count": 10}"#,
    )
    .await?;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{ok:?}");
    assert_eq!(
        broker().read(&json_topic, 1, WAIT).await?[0]
            .value
            .as_deref(),
        Some(&b"\x0a\x0dhello message\x10\x0a"[..])
    );
    let bad = send(
        &sluice,
        Method::POST,
        "/requests",
        &JSON,
        r#"{"message": "hello world", "count": 10, "invalid": "field"}"#,
    )
    .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{bad:?}");
    let problem = bad.json()?;
    assert!(
        problem["rule"]
            .as_str()
            .unwrap_or_default()
            .contains("unrecognized field name 'invalid'"),
        "{problem}"
    );
    assert_eq!(problem["schema"]["subject"], "my_proto_subject");
    assert_eq!(problem["model"], "protobuf");

    // http.kafka.proto.oneway: the example's encoded_input.bin passes unchanged; the
    // messages of its wrong schemas are refused.
    let encoded = b"\x0a\x0cHello, world\x10\x0a".to_vec();
    let proto = [("content-type", "application/protobuf")];
    let ok = send(&sluice, Method::POST, "/binary", &proto, encoded.clone()).await?;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{ok:?}");
    assert_eq!(
        broker().read(&binary_topic, 1, WAIT).await?[0]
            .value
            .as_deref(),
        Some(&encoded[..])
    );
    let extra = send(
        &sluice,
        Method::POST,
        "/binary",
        &proto,
        b"\x0a\x01x\x10\x0a\x1a\x05field".to_vec(),
    )
    .await?;
    assert_eq!(extra.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        extra.json()?["rule"],
        "field number 3 is not in the schema of Request"
    );
    let bad_type = send(
        &sluice,
        Method::POST,
        "/binary",
        &proto,
        b"\x0a\x0ehello bad type\x12\x03ten".to_vec(),
    )
    .await?;
    assert_eq!(bad_type.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_type.json()?["rule"]
            .as_str()
            .unwrap_or_default()
            .starts_with("not a valid Request message")
    );
    Ok(())
}

#[tokio::test]
async fn request_headers_parameters_and_bodies_are_checked_before_routing() -> Result<()> {
    let topic = broker().topic("json-schema").await?;
    let catalogs = "  my_catalog:\n    type: inline\n    options:\n      subjects:\n        my_subject:\n          schema: |\n            {\"type\": \"object\", \"properties\": {\"id\": {\"type\": \"integer\"}, \"status\": {\"type\": \"string\"}}, \"required\": [\"id\", \"status\"], \"additionalProperties\": false}";
    let requests = "        - path: /items/{id}\n          method: PUT\n          content-type: [ application/json ]\n          headers: { x-priority: { model: int32, range: \"[1,5]\" } }\n          params: { path: { id: { model: string, pattern: \"[a-z0-9-]+\", maxLength: 12 } }, query: { version: int64 } }\n          content: { model: json, catalog: { my_catalog: [ { subject: my_subject } ] } }";
    let routes = format!(
        "      - when: [ {{ method: PUT, path: \"/items/{{id}}\" }} ]\n        exit: cache\n        with: {{ capability: produce, topic: {topic}, key: \"${{params.id}}\" }}"
    );
    let topics =
        format!("        - name: {topic}\n          key: {{ model: string, maxLength: 12 }}");
    let sluice = Sluice::with_config(&config(catalogs, requests, &routes, &topics, &topic)).await?;
    let valid = r#"{"id": 42, "status": "Active"}"#;
    let ok = send(
        &sluice,
        Method::PUT,
        "/items/a-1?version=3",
        &[("content-type", "application/json"), ("x-priority", "2")],
        valid,
    )
    .await?;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{ok:?}");
    let cases: [Case; 5] = [
        (
            "/items/a-1",
            &[("content-type", "application/json")],
            r#"{"id": "42", "status": "x"}"#,
            "body",
            "/id",
        ),
        (
            "/items/a-1",
            &[("content-type", "application/json"), ("x-priority", "9")],
            valid,
            "header",
            "",
        ),
        (
            "/items/UPPER",
            &[("content-type", "application/json")],
            valid,
            "path",
            "",
        ),
        (
            "/items/a-1?version=x",
            &[("content-type", "application/json")],
            valid,
            "query",
            "",
        ),
        (
            "/items/a-1",
            &[("content-type", "application/json")],
            "{\"id\": 1,",
            "body",
            "",
        ),
    ];
    for (path, headers, body, place, pointer) in cases {
        let refused = send(&sluice, Method::PUT, path, headers, body).await?;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{path} {refused:?}"
        );
        let problem = refused.json()?;
        assert_eq!(problem["in"], place, "{problem}");
        if !pointer.is_empty() {
            assert_eq!(problem["pointer"], pointer, "{problem}");
        }
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| !d.is_empty() && d.len() < 600),
            "{problem}"
        );
    }
    let header = send(
        &sluice,
        Method::PUT,
        "/items/a-1",
        &[("content-type", "application/json"), ("x-priority", "9")],
        valid,
    )
    .await?;
    assert_eq!(header.json()?["name"], "x-priority");
    let text = send(
        &sluice,
        Method::PUT,
        "/items/a-1",
        &[("content-type", "text/plain")],
        valid,
    )
    .await?;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(text.json()?["code"], "unsupported_media_type");
    // Only the valid request was written.
    let records = broker().read(&topic, 1, WAIT).await?;
    assert_eq!(records[0].key.as_deref(), Some(&b"a-1"[..]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        broker()
            .read(&topic, 2, Duration::from_secs(1))
            .await
            .map(|r| r.len())
            .unwrap_or(1),
        1
    );
    Ok(())
}

/// Through the admin API: a change naming a schema its registry cannot give is refused
/// (422 `not_applied`, naming the registry and why) and the running configuration stays; once
/// the registry is back the same change applies and request bodies are checked.
#[tokio::test]
async fn a_change_naming_a_schema_the_registry_cannot_give_is_not_applied() -> Result<()> {
    let registry = TestRegistry::start(None).await?;
    registry.register("events-value", EVENT_SCHEMA, "AVRO");
    let gateway = Gateway::fresh("/one").await?;
    let (config, _) = gateway.head().await?;
    let mut changed = config.clone();
    changed["catalogs"] =
        json!({"reg": {"type": "schema-registry", "options": {"url": registry.url}}});
    changed["bindings"]["http"]["options"] = json!({"requests": [
        {"path": "/one", "content": {"model": "avro", "catalog": {"reg": [{"subject": "events-value"}]}}}
    ]});
    registry.set_down(true);
    let refused = gateway.put(&changed, &[]).await?;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{refused:?}"
    );
    let body = refused.json()?;
    assert_eq!(body["code"], "not_applied");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&registry.url) && message.contains("503"),
        "{message}"
    );
    // The running configuration echoes anything.
    assert_eq!(gateway.data("/one").await?, StatusCode::OK);
    registry.set_down(false);
    let applied = gateway.put(&changed, &[]).await?;
    assert!(applied.status.is_success(), "{applied:?}");
    // `x` is not an Avro record of the schema.
    assert_eq!(gateway.data("/one").await?, StatusCode::BAD_REQUEST);
    gateway.stop().await
}
