//! Catalogs and models in configurations: what compiles, and where errors point.

// Scenario tests read top to bottom; the product-code function limit does not apply.
#![allow(clippy::too_many_lines)]

use super::models::{CatalogSource, SchemaRef, Selector};
use super::*;
use crate::spec::parse_config_with_env;

fn compile(
    text: &str,
    base: Option<&std::path::Path>,
) -> Result<RouteTable, Vec<(String, String)>> {
    let spec = parse_config_with_env(text, &|_| None).map_err(|e| {
        e.iter()
            .map(|e| (e.pointer.clone(), e.message.clone()))
            .collect::<Vec<_>>()
    })?;
    let options = CompileOptions {
        base_dir: base.map(std::path::Path::to_path_buf),
        ..CompileOptions::default()
    };
    RouteTable::compile(&spec, &options).map_err(|e| {
        e.iter()
            .map(|e| (e.pointer.clone(), e.message.clone()))
            .collect()
    })
}

fn assert_error(errors: &[(String, String)], pointer: &str, needle: &str) {
    assert!(
        errors
            .iter()
            .any(|(p, m)| p == pointer && m.contains(needle)),
        "no error at {pointer} containing {needle:?} in {errors:#?}"
    );
}

/// http server with `{REQUESTS}` -> http-kafka -> cache_client (`{TOPICS}`) -> client.
const CONFIG: &str = r#"
name: test
catalogs:
  inline:
    type: inline
    options:
      subjects:
        item:
          schema: '{"type": "object", "required": ["id"]}'
        event:
          schema: '{"type":"record","name":"Event","fields":[{"name":"id","type":"string"}]}'
  registry:
    type: schema-registry
    options:
      url: http://127.0.0.1:8081/
      credentials: { headers: { authorization: Basic c2VjcmV0 } }
bindings:
  tcp:
    type: tcp
    kind: server
    options: { host: 127.0.0.1, port: 8080 }
    exit: http
  http:
    type: http
    kind: server
    options:
      requests: {REQUESTS}
    exit: mapping
  mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ { method: POST, path: /items } ]
        exit: cache
        with: { capability: produce, topic: items }
      - when: [ { method: GET, path: /items } ]
        exit: cache
        with: { capability: fetch, topic: items }
  cache:
    type: kafka
    kind: cache_client
    options:
      topics: {TOPICS}
    exit: server
  server:
    type: kafka
    kind: cache_server
    options:
      topics:
        - name: items
          value: { model: avro, catalog: { inline: [ { subject: event } ] } }
        - name: other
          key: int32
    exit: client
  client:
    type: kafka
    kind: client
    options: { servers: [ "localhost:9092" ] }
"#;

fn config(requests: &str, topics: &str) -> String {
    CONFIG
        .replace("{REQUESTS}", requests)
        .replace("{TOPICS}", topics)
}

const REQUESTS: &str = r#"
        - path: /items/{id}
          method: PUT
          content-type: [ "application/json" ]
          headers: { x-count: { model: int32, range: "[1,10]" } }
          params: { path: { id: { model: string, pattern: "[a-z]+" } }, query: { page: int64 } }
          content: { model: json, catalog: { inline: [ { subject: item } ] } }"#;

const TOPICS: &str = r#"
        - name: items
          value: { model: avro, view: json, catalog: { registry: [ { strategy: topic } ] } }"#;

#[test]
fn models_bind_to_requests_and_to_the_topics_of_a_chain() {
    let table = compile(&config(REQUESTS, TOPICS), None).unwrap();
    let requests = &table.servers[0].requests;
    assert_eq!(requests.len(), 1);
    assert!(requests[0].applies(&http::Method::PUT, "/items/abc"));
    assert!(!requests[0].applies(&http::Method::POST, "/items/abc"));
    assert_eq!(requests[0].headers[0].0.as_str(), "x-count");
    assert_eq!(requests[0].content_types, ["application/json"]);
    assert!(requests[0].content.is_some());
    let (_, route) = table.http_kafka_routes().next().unwrap();
    let Action::Produce(produce) = &route.action else {
        panic!("produce")
    };
    // The cache_client's declaration of `items` wins over the cache_server's.
    let value = produce.models["items"].value.as_ref().unwrap();
    assert!(value.json_view);
    let SchemaRef::Registry { selector, .. } = &value.schema else {
        panic!("registry")
    };
    assert_eq!(
        selector,
        &Selector::Subject {
            subject: "items-value".into(),
            version: "latest".into()
        }
    );
    // Topics only the cache_server lists still apply.
    assert!(produce.models["other"].key.is_some());
    let CatalogSource::Registry(registry) = &table.catalogs[1].source else {
        panic!("registry")
    };
    assert_eq!(registry.url, "http://127.0.0.1:8081");
    assert_eq!(registry.authorization.as_deref(), Some("Basic c2VjcmV0"));
}

#[test]
fn model_errors_point_at_what_is_wrong() {
    let requests = r#"
        - path: /a/{id}
          params: { path: { nope: string } }
          content: { model: jsonx }
        - path: /b
          content: { model: avro, catalog: { missing: [ { subject: x } ] } }
        - path: /c
          content: { model: avro, catalog: { inline: [ { strategy: topic } ] } }
        - path: /d
          content: { model: json, view: json, catalog: { inline: [ { subject: nope } ] } }
        - path: /e
          content: { model: protobuf, catalog: { inline: [ { subject: item } ] } }
        - path: /f
          content: { model: avro, range: "[1,2]", catalog: { inline: [ { subject: item } ] } }
        - path: /g
          content: { model: int32, range: "1..2" }
          responses: [ { status: 200, content: string } ]"#;
    let errors = compile(&config(requests, TOPICS), None).unwrap_err();
    let at = "/bindings/http/options/requests";
    assert_error(
        &errors,
        &format!("{at}/0/params/path/nope"),
        "has no parameter 'nope'",
    );
    assert_error(
        &errors,
        &format!("{at}/0/content/model"),
        "unknown model 'jsonx'",
    );
    assert_error(
        &errors,
        &format!("{at}/1/content/catalog/missing"),
        "not defined under /catalogs",
    );
    assert_error(
        &errors,
        &format!("{at}/2/content/catalog/inline/0/strategy"),
        "applies to kafka topics",
    );
    assert_error(
        &errors,
        &format!("{at}/3/content/view"),
        "does not apply to json",
    );
    assert_error(
        &errors,
        &format!("{at}/3/content/catalog/inline/0"),
        "has no subject 'nope'",
    );
    assert_error(
        &errors,
        &format!("{at}/4/content/catalog/inline/0"),
        "names its message in 'record'",
    );
    assert_error(
        &errors,
        &format!("{at}/5/content/range"),
        "applies to string and number models",
    );
    // The schema that does not compile as avro is reported at the subject.
    assert_error(
        &errors,
        "/catalogs/inline/options/subjects/item",
        "is not a avro schema",
    );
    assert_error(&errors, &format!("{at}/6/content"), "range '1..2'");
    assert_error(
        &errors,
        &format!("{at}/6/responses"),
        "checked by the http client binding",
    );
}

#[test]
fn catalog_errors_point_at_their_options() {
    let text = r#"
name: test
catalogs:
  files:
    type: filesystem
    options: { subjects: { a: { path: missing.proto } } }
  bad_url:
    type: karapace
    options: { url: "ftp://x", max-age: 0 }
  plain_tls:
    type: schema-registry
    options: { url: "http://x", tls: { trustcacerts: true } }
  apicurio:
    type: apicurio-registry
    options: { url: "http://x", id-encoding: weird }
bindings: {}
"#;
    let errors = compile(text, Some(std::path::Path::new("/nonexistent"))).unwrap_err();
    assert_error(
        &errors,
        "/catalogs/files/options/subjects/a/path",
        "cannot read schema file '/nonexistent/missing.proto'",
    );
    assert_error(
        &errors,
        "/catalogs/bad_url/options/url",
        "not an http:// or https:// URL",
    );
    assert_error(
        &errors,
        "/catalogs/plain_tls/options/tls",
        "applies to an https:// location",
    );
    assert_error(
        &errors,
        "/catalogs/apicurio/options/id-encoding",
        "unknown id-encoding 'weird'",
    );
}

#[test]
fn filesystem_schemas_are_read_from_the_configuration_directory() {
    let dir = std::env::temp_dir().join(format!("sluice-models-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("protos")).unwrap();
    std::fs::write(
        dir.join("protos/request.proto"),
        "syntax = \"proto3\";\nmessage Request { string message = 1; int32 count = 2; }\n",
    )
    .unwrap();
    let text = r#"
name: test
catalogs:
  host_filesystem:
    type: filesystem
    options: { subjects: { my_proto_subject: { path: protos/request.proto } } }
bindings:
  tcp: { type: tcp, kind: server, options: { host: 127.0.0.1, port: 8080 }, exit: http }
  http: { type: http, kind: server, exit: mapping }
  mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ { method: POST, path: /requests } ]
        exit: cache
        with: { capability: produce, topic: my-requests }
  cache:
    type: kafka
    kind: cache_client
    options:
      topics:
        - name: my-requests
          value:
            model: protobuf
            view: json
            catalog: { host_filesystem: [ { subject: my_proto_subject, record: Request } ] }
    exit: client
  client: { type: kafka, kind: client, options: { servers: [ "localhost:9092" ] } }
"#;
    let table = compile(text, Some(&dir)).unwrap();
    let (_, route) = table.http_kafka_routes().next().unwrap();
    let Action::Produce(produce) = &route.action else {
        panic!("produce")
    };
    let value = produce.models["my-requests"].value.as_ref().unwrap();
    let SchemaRef::Ready { codec, identity } = &value.schema else {
        panic!("ready")
    };
    assert_eq!(identity.subject.as_deref(), Some("my_proto_subject"));
    let mut out = Vec::new();
    codec
        .admit(br#"{"message": "hi", "count": 2}"#, true, &mut out)
        .unwrap();
    assert_eq!(out, b"\x0a\x02hi\x10\x02");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn registry_credentials_are_secrets() {
    let mut value: serde_json::Value = serde_yaml::from_str(&config(REQUESTS, TOPICS)).unwrap();
    crate::secrets::redact(&mut value);
    assert_eq!(
        value.pointer("/catalogs/registry/options/credentials/headers/authorization"),
        Some(&serde_json::json!(crate::secrets::REDACTED))
    );
}

#[test]
fn registries_speak_confluents_api_with_their_frame_width_and_tls() {
    let text = r#"
name: test
catalogs:
  apicurio:
    type: apicurio
    options: { url: "http://registry:8080/" }
  legacy:
    type: apicurio-registry
    options: { url: "http://registry:8080/apis/ccompat/v7", id-encoding: legacy }
  secure:
    type: schema-registry
    options: { url: "https://registry:8081", context: tenant }
bindings: {}
"#;
    let table = compile(text, None).unwrap();
    let registry = |index: usize| match &table.catalogs[index].source {
        CatalogSource::Registry(registry) => registry.clone(),
        CatalogSource::Local(_) => panic!("a registry"),
    };
    let apicurio = registry(0);
    assert_eq!(apicurio.url, "http://registry:8080/apis/ccompat/v7");
    assert_eq!(apicurio.id_width, sluice_schema::wire::IdWidth::Eight);
    assert!(apicurio.tls.is_none());
    let legacy = registry(1);
    assert_eq!(legacy.url, "http://registry:8080/apis/ccompat/v7");
    assert_eq!(legacy.id_width, sluice_schema::wire::IdWidth::Four);
    let secure = registry(2);
    assert_eq!(secure.context.as_deref(), Some("tenant"));
    let tls = secure.tls.expect("https is verified");
    assert!(tls.system_authorities && tls.trust.is_none() && tls.key.is_none());
    let errors = compile(
        &text.replace(
            "url: \"http://registry:8080/\" }",
            "url: \"http://registry:8080/\", group-id: team }",
        ),
        None,
    )
    .unwrap_err();
    assert_error(
        &errors,
        "/catalogs/apicurio/options/group-id",
        "default group",
    );
}
