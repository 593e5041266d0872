// Scenario tests read top to bottom; the product-code function limit does not apply.
#![allow(clippy::too_many_lines)]

use super::*;
use crate::spec::parse_config_with_env;

fn no_env(_: &str) -> Option<String> {
    None
}

fn compile(text: &str) -> Result<RouteTable, Vec<(String, String)>> {
    let spec = parse_config_with_env(text, &no_env).map_err(|e| {
        e.iter()
            .map(|e| (e.pointer.clone(), e.message.clone()))
            .collect::<Vec<_>>()
    })?;
    RouteTable::compile(&spec, &CompileOptions::default()).map_err(|e| {
        e.iter()
            .map(|e| (e.pointer.clone(), e.message.clone()))
            .collect()
    })
}

fn errors(text: &str) -> Vec<(String, String)> {
    compile(text).expect_err("configuration should be rejected")
}

fn has(errors: &[(String, String)], pointer: &str, needle: &str) -> bool {
    errors
        .iter()
        .any(|(p, m)| p == pointer && m.contains(needle))
}

/// A valid chain with `{ROUTES}` standing for the http-kafka routes.
const CHAIN: &str = r#"
name: test
bindings:
  tcp:
    type: tcp
    kind: server
    options: { host: 127.0.0.1, port: 8080 }
    exit: http
  http:
    type: http
    kind: server
    exit: mapping
  mapping:
    type: http-kafka
    kind: proxy
    routes:
{ROUTES}
  cache:
    type: kafka
    kind: cache_client
    exit: client
  client:
    type: kafka
    kind: client
    options: { servers: [ "localhost:9092" ] }
"#;

fn chain(routes: &str) -> String {
    CHAIN.replace("{ROUTES}", routes)
}

struct Request {
    method: &'static str,
    path: &'static str,
}

impl RequestHead for Request {
    fn method(&self) -> &str {
        self.method
    }
    fn path(&self) -> &str {
        self.path
    }
    fn scheme(&self) -> &str {
        "http"
    }
    fn authority(&self) -> &str {
        "localhost:8080"
    }
    fn header(&self, _: &str) -> Option<&str> {
        None
    }
    fn query(&self) -> Option<&str> {
        None
    }
}

fn resolve<'t>(table: &'t RouteTable, port: u16, request: &Request) -> Resolved<'t> {
    table.resolve(port, request, Caller::Anonymous)
}

#[test]
fn quickstart_compiles() {
    let table = compile(crate::QUICKSTART_CONFIG).expect("quick-start is valid");
    assert_eq!(table.listeners.len(), 1);
    assert_eq!(table.listeners[0].port, 7114);
    assert_eq!(table.clusters.len(), 1);
    assert!(table.clusters[0].servers.is_empty());
    assert_eq!(
        table.clusters[0].topics,
        vec!["events", "items", "orders-requests", "orders-replies"]
    );
}

#[test]
fn routes_resolve_first_match_with_decoded_params() {
    let table = compile(&chain(
        r#"      - when: [ { method: PUT, path: "/items/{id}" } ]
        exit: cache
        with: { capability: produce, topic: items, key: "${params.id}" }
      - when: [ { path: "/items/*" } ]
        exit: cache
        with: { capability: produce, topic: other }"#,
    ))
    .expect("valid");
    let resolved = resolve(
        &table,
        8080,
        &Request {
            method: "put",
            path: "/items/a%20b",
        },
    );
    let Resolved::HttpKafka { route, params, .. } = resolved else {
        panic!("expected a route, got {resolved:?}");
    };
    assert_eq!(route.index, 0);
    assert_eq!(params, vec![("id".to_owned(), "a b".to_owned())]);
    let Resolved::HttpKafka { route, .. } = resolve(
        &table,
        8080,
        &Request {
            method: "POST",
            path: "/items/1",
        },
    ) else {
        panic!("expected the wildcard route");
    };
    assert_eq!(route.index, 1);
    assert!(matches!(
        resolve(
            &table,
            8080,
            &Request {
                method: "GET",
                path: "/nothing"
            }
        ),
        Resolved::NotFound
    ));
    assert!(matches!(
        resolve(
            &table,
            9999,
            &Request {
                method: "PUT",
                path: "/items/1"
            }
        ),
        Resolved::NotFound
    ));
    assert!(matches!(
        resolve(
            &table,
            8080,
            &Request {
                method: "PUT",
                path: "/items/%FF"
            }
        ),
        Resolved::BadParam(_)
    ));
}

#[test]
fn exit_naming_a_missing_binding_is_reported() {
    let found = errors(&chain(
        "      - exit: nowhere\n        with: { capability: produce, topic: t }",
    ));
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/exit",
            "exit 'nowhere' names no binding"
        ),
        "{found:?}"
    );
}

#[test]
fn exit_cycles_are_reported() {
    let text = chain("      - exit: cache\n        with: { capability: produce, topic: t }")
        .replace("exit: client\n", "exit: server_cache\n")
        + "  server_cache:\n    type: kafka\n    kind: cache_server\n    exit: cache\n";
    let found = errors(&text);
    assert!(
        found
            .iter()
            .any(|(_, m)| m.contains("exits form a cycle: cache -> server_cache -> cache")),
        "{found:?}"
    );
}

#[test]
fn malformed_path_templates_are_reported() {
    let found = errors(&chain(
        "      - when: [ { path: \"/items/{id\" } ]\n        exit: cache\n        with: { capability: produce, topic: t }",
    ));
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/when/0/path",
            "unbalanced"
        ),
        "{found:?}"
    );
}

#[test]
fn guarded_naming_a_missing_guard_is_reported() {
    let found = errors(&chain(
        "      - guarded: { jwt0: [ read ] }\n        exit: cache\n        with: { capability: produce, topic: t }",
    ));
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/guarded/jwt0",
            "guard 'jwt0' is not defined"
        ),
        "{found:?}"
    );
}

#[test]
fn http_binding_without_listener_is_reported() {
    let text = chain("      - exit: cache\n        with: { capability: produce, topic: t }")
        + "  lonely:\n    type: http\n    kind: server\n    exit: mapping\n";
    let found = errors(&text);
    assert!(
        has(&found, "/bindings/lonely", "not the exit of any tcp server"),
        "{found:?}"
    );
}

#[test]
fn duplicate_listener_ports_are_reported() {
    let text = chain("      - exit: cache\n        with: { capability: produce, topic: t }")
        + "  tcp2:\n    type: tcp\n    kind: server\n    options: { port: [ 9000, 8080 ] }\n    exit: http\n";
    let found = errors(&text);
    assert!(
        has(
            &found,
            "/bindings/tcp2/options/port",
            "port 8080 is already used by tcp binding 'tcp'"
        ),
        "{found:?}"
    );
}

#[test]
fn params_must_be_captured_by_every_path() {
    let found = errors(&chain(
        r#"      - when: [ { path: "/a/{id}" }, { path: "/b" } ]
        exit: cache
        with: { capability: produce, topic: t, key: "${params.id}" }"#,
    ));
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/with/key",
            "not captured by every"
        ),
        "{found:?}"
    );
}

#[test]
fn invalid_topics_and_exit_types_are_reported() {
    let found = errors(&chain(
        "      - exit: http\n        with: { capability: produce, topic: \"bad topic\" }",
    ));
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/exit",
            "expected a kafka"
        ),
        "{found:?}"
    );
    let found = errors(&chain(
        "      - exit: cache\n        with: { capability: produce, topic: \"bad topic\" }",
    ));
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/with/topic",
            "not a valid Kafka topic"
        ),
        "{found:?}"
    );
}

#[test]
fn fetch_routes_compile_with_filters_and_merge() {
    let table = compile(&chain(
        r#"      - when: [ { method: GET, path: "/items/{id}" } ]
        exit: cache
        with:
          capability: fetch
          topic: items
          filters: [ { key: "${params.id}", headers: { tenant: acme } } ]
      - when: [ { method: GET, path: "/items" } ]
        exit: cache
        with:
          capability: fetch
          topic: items
          merge: { content-type: application/json, patch: { initial: "[]", path: "/-" } }"#,
    ))
    .expect("valid");
    assert_eq!(table.fetch_topics(), vec![(0, "items")]);
    assert_eq!(table.produce_actions().count(), 0);
}

#[test]
fn fetch_mistakes_are_reported() {
    let found = errors(&chain(
        r#"      - exit: cache
        with: { capability: fetch, topic: t, reply-to: r, key: k }
      - exit: cache
        when: [ { path: "/t/{name}" } ]
        with: { capability: fetch, topic: "t-${params.nope}" }
      - exit: cache
        with: { capability: fetch, topic: t, merge: { content-type: text/plain } }
      - exit: cache
        with: { capability: fetch, topic: t, filters: [ {} ] }
      - exit: cache
        with: { capability: produce, topic: t, filters: [ { key: k } ] }"#,
    ));
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/with/reply-to",
            "produce only"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/with/key",
            "produce only"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/1/with/topic",
            "'${params.nope}' is not captured"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/2/with/merge/content-type",
            "application/json"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/3/with/filters/0",
            "needs a key or headers"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/4/with/filters",
            "fetch only"
        ),
        "{found:?}"
    );
}

const SSE_BINDINGS: &str = r#"
  sse:
    type: sse
    kind: server
    options: { retry: 1000 }
    routes:
      - when: [ { path: "/events/*" } ]
        exit: sse_kafka
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ { path: "/events/{id}" } ]
        exit: cache
        with:
          topic: items
          filters: [ { key: "${params.id}" } ]
          event: { id: '["${base64(key)}","${etag}"]' }
          start: live
"#;

#[test]
fn sse_routes_compile_and_resolve() {
    let text = chain("      - exit: cache\n        with: { capability: produce, topic: t }")
        .replace("    kind: server\n    exit: mapping", "    kind: server\n    routes:\n      - when: [ { headers: { \":path\": \"/events/*\" } } ]\n        exit: sse\n    exit: mapping")
        + SSE_BINDINGS;
    let table = compile(&text).expect("valid");
    assert_eq!(table.stream_topics(), vec![(0, "items")]);
    let resolved = resolve(
        &table,
        8080,
        &Request {
            method: "GET",
            path: "/events/7",
        },
    );
    let Resolved::Sse {
        server,
        route,
        params,
        guarded,
    } = resolved
    else {
        panic!("expected an sse route, got {resolved:?}");
    };
    assert_eq!(server.retry_ms, 1000);
    assert!(route.action.key_in_id);
    assert_eq!(route.action.start, crate::spec::SseStart::Live);
    assert_eq!(params, vec![("id".to_owned(), "7".to_owned())]);
    assert!(!guarded, "no route on the way is guarded");
}

#[test]
fn sse_mistakes_are_reported() {
    let text = chain("      - exit: cache\n        with: { capability: produce, topic: t }")
        + &SSE_BINDINGS
            .replace("topic: items", "topic: \"t-${params.id}\"")
            .replace("start: live", "start: later")
            .replace("exit: sse_kafka", "exit: cache");
    let found = errors(&text);
    assert!(
        has(
            &found,
            "/bindings/sse_kafka/routes/0/with/start",
            "unknown variant"
        ),
        "{found:?}"
    );
    let text = chain("      - exit: cache\n        with: { capability: produce, topic: t }")
        + &SSE_BINDINGS
            .replace("topic: items", "topic: \"t-${params.nope}\"")
            .replace("exit: sse_kafka", "exit: cache")
            .replace("'[\"${base64(key)}\",\"${etag}\"]'", "custom");
    let found = errors(&text);
    assert!(
        has(&found, "/bindings/sse/routes/0/exit", "exits to sse-kafka"),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/sse_kafka/routes/0/with/topic",
            "'${params.nope}' is not captured"
        ),
        "{found:?}"
    );
}

const ASYNC_ROUTE: &str = r#"      - when:
          - { method: PUT, path: "/items/{id}" }
          - { method: GET, path: "/items/{id};cid={correlationId}" }
        exit: cache
        with:
          capability: produce
          topic: items-requests
          key: "${params.id}"
          reply-to: items-replies
          reply-timeout-ms: 2000
          async:
            location: "/items/${params.id};cid=${correlationId}""#;

#[test]
fn request_response_routes_compile_with_their_polling_paths() {
    let table = compile(&chain(ASYNC_ROUTE)).expect("valid");
    let action = table.produce_actions().next().expect("one route");
    let reply = action.reply.as_ref().expect("reply-to configured");
    assert_eq!(reply.topic, "items-replies");
    assert_eq!(reply.timeout_ms, 2000);
    assert_eq!(reply.request_correlation_header, "zilla:correlation-id");
    assert_eq!(reply.reply_to_header, "zilla:reply-to");
    assert_eq!(
        reply.correlation_id_in("/items/7;cid=abc-0123"),
        Some("abc-0123".to_owned())
    );
    assert_eq!(reply.correlation_id_in("/items/7"), None);
    assert_eq!(
        table.reply_topics(),
        vec![(0, "items-replies", "zilla:correlation-id")]
    );
    assert!(
        table.clusters[0]
            .topics
            .contains(&"items-replies".to_owned())
    );
}

#[test]
fn correlation_mistakes_are_reported() {
    let found = errors(&chain(
        r#"      - exit: cache
        with: { capability: produce, topic: t, async: { location: "/x" } }
      - exit: cache
        when: [ { path: "/r/{id}" } ]
        with: { capability: produce, topic: t, reply-to: "r-${params.id}" }
      - exit: cache
        with: { capability: produce, topic: t, reply-to: r, async: { location: "/no-id" } }
      - exit: cache
        with: { capability: produce, topic: t, reply-to: r, reply-timeout-ms: 0 }"#,
    ));
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/with/async",
            "needs 'reply-to'"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/1/with/reply-to",
            "one topic"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/2/with/async",
            "could never be polled"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/3/with/reply-timeout-ms",
            "outside"
        ),
        "{found:?}"
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let text = chain(
        r#"      - when: [ { path: "/items/{id" } ]
        exit: nowhere
        with: { capability: produce, topic: t }
      - guarded: { missing: [] }
        exit: cache
        with: { capability: produce, topic: t }"#,
    )
    .replace("name: test", "name: 9bad")
        + "  lonely:\n    type: http\n    kind: server\n    exit: mapping\n";
    let found = errors(&text);
    assert!(
        has(&found, "/name", "must start with a letter"),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/exit",
            "names no binding"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/when/0/path",
            "unbalanced"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/1/guarded/missing",
            "not defined"
        ),
        "{found:?}"
    );
    assert!(has(&found, "/bindings/lonely", "no listener"), "{found:?}");
}

#[test]
fn reserved_kafka_properties_and_bad_limits_are_rejected() {
    let text = chain("      - exit: cache\n        with: { capability: produce, topic: t }")
        .replace(
            "options: { servers: [ \"localhost:9092\" ] }",
            "options: { servers: [ \"nohost\" ], properties: { acks: \"1\" } }",
        )
        .replace(
            "    kind: server\n    exit: mapping",
            "    kind: server\n    options: { limits: { max-header-bytes: 10 } }\n    exit: mapping",
        );
    let found = errors(&text);
    assert!(
        has(
            &found,
            "/bindings/client/options/servers/0",
            "not host:port"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/client/options/properties/acks",
            "set by sluice"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/http/options/limits/max-header-bytes",
            "outside"
        ),
        "{found:?}"
    );
}

#[test]
fn kafka_override_replaces_servers() {
    let spec = parse_config_with_env(crate::QUICKSTART_CONFIG, &no_env).expect("valid");
    let options = CompileOptions {
        kafka_servers: Some(vec!["127.0.0.1:19092".to_owned()]),
        ..CompileOptions::default()
    };
    let table = RouteTable::compile(&spec, &options).expect("valid");
    assert_eq!(table.clusters[0].servers, vec!["127.0.0.1:19092"]);
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            (0u32..70000).prop_map(|n| serde_json::json!(n)),
            prop::sample::select(vec![
                "tcp",
                "http",
                "http-kafka",
                "kafka",
                "echo",
                "server",
                "proxy",
                "client",
                "cache_client",
                "/items/{id}",
                "${params.id}",
                "produce",
                "fetch",
                "a",
                "b",
            ])
            .prop_map(|s| serde_json::Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "type",
                            "kind",
                            "options",
                            "routes",
                            "exit",
                            "when",
                            "with",
                            "path",
                            "method",
                            "topic",
                            "capability",
                            "port",
                            "headers",
                            "a",
                            "b",
                        ]),
                        inner
                    ),
                    0..5
                )
                .prop_map(|pairs| serde_json::Value::Object(
                    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    proptest! {
        #[test]
        fn compiling_arbitrary_documents_never_panics(bindings in prop::collection::vec(value(), 0..5)) {
            let names = ["a", "b", "c", "d", "e"];
            let document = serde_json::json!({
                "name": "fuzz",
                "bindings": names.iter().zip(bindings).map(|(n, v)| ((*n).to_owned(), v)).collect::<serde_json::Map<_, _>>(),
            });
            let _ = compile(&document.to_string());
        }
    }
}

/// `CHAIN` with a `jwt` guard (`guard_options` YAML lines at 6 spaces), http options and
/// http-kafka routes.
fn guarded_chain(guard_options: &str, http_options: &str, routes: &str) -> String {
    chain(routes)
        .replacen(
            "name: test\n",
            &format!("name: test\nguards:\n  jwt:\n    type: jwt\n    options:\n{guard_options}"),
            1,
        )
        .replacen(
            "    kind: server\n    exit: mapping",
            &format!("    kind: server\n    options: {{ {http_options} }}\n    exit: mapping"),
            1,
        )
}

const KEY: &str = r#"      keys: [ { kty: EC, crv: P-256, x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" } ]
      attributes: { tenant: org.id }
"#;
const AUTH: &str = r#"authorization: { jwt: { credentials: { headers: { authorization: "Bearer {credentials}" } } } }"#;

#[test]
fn a_guarded_chain_compiles_with_identity_templates() {
    let table = compile(&guarded_chain(
        KEY,
        AUTH,
        "      - guarded: { jwt: [ w ] }\n        exit: cache\n        with: { capability: produce, topic: \"t-${guarded['jwt'].attributes.tenant}\", key: \"${guarded['jwt'].identity}\" }",
    ))
    .expect("valid");
    assert_eq!(table.guards.len(), 1);
    assert_eq!(
        table.guards[0].leeway_seconds, 0,
        "no clock skew by default, as in Zilla"
    );
    let server = table.server_for_port(8080).expect("server");
    assert_eq!(server.authorization.as_ref().map(|a| a.guard), Some(0));
    assert!(server.cors.is_none());
}

#[test]
fn guard_mistakes_are_located() {
    let found = errors(&guarded_chain(
        "      keys: [ { kty: oct, k: c2VjcmV0 } ]\n      leeway-seconds: 900\n      challenge: 0\n",
        AUTH,
        "      - exit: cache\n        with: { capability: produce, topic: t, key: \"${guarded['jwt'].identity}\" }",
    ));
    for (pointer, needle) in [
        ("/guards/jwt/options/keys/0/kty", "symmetric"),
        ("/guards/jwt/options/keys", "no usable key"),
        ("/guards/jwt/options/leeway-seconds", "more than 300"),
        ("/guards/jwt/options/challenge", "at least 1"),
        (
            "/bindings/mapping/routes/0/with/key",
            "needs this route to be guarded",
        ),
    ] {
        assert!(has(&found, pointer, needle), "{pointer}: {found:?}");
    }
    let found = errors(&guarded_chain(
        "      audience: a\n",
        AUTH,
        "      - guarded: { jwt: [] }\n        exit: cache\n        with: { capability: produce, topic: t, key: \"${guarded['jwt'].attributes.nope}\" }",
    ));
    assert!(
        has(&found, "/guards/jwt/options", "needs 'keys'"),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/with/key",
            "no attribute 'nope'"
        ),
        "{found:?}"
    );
    let found = errors(&guarded_chain(
        "      keys: ftp://idp.example/jwks\n",
        AUTH,
        "      - exit: cache\n        with: { capability: produce, topic: t }",
    ));
    assert!(
        has(
            &found,
            "/guards/jwt/options/keys",
            "not an http:// or https:// URL"
        ),
        "{found:?}"
    );
}

#[test]
fn authorization_and_guarded_routes_must_agree() {
    let found = errors(&guarded_chain(
        KEY,
        "",
        "      - guarded: { jwt: [ w ] }\n        exit: cache\n        with: { capability: produce, topic: t }",
    ));
    assert!(
        has(
            &found,
            "/bindings/mapping/routes/0/guarded/jwt",
            "no options.authorization"
        ),
        "{found:?}"
    );
    let found = errors(&guarded_chain(
        KEY,
        r#"authorization: { other: { credentials: { headers: { authorization: "Bearer" } } } }"#,
        "      - exit: cache\n        with: { capability: produce, topic: t }",
    ));
    assert!(
        has(
            &found,
            "/bindings/http/options/authorization/other",
            "not defined"
        ),
        "{found:?}"
    );
    let found = errors(&guarded_chain(
        KEY,
        r#"authorization: { jwt: { credentials: { headers: { authorization: "Basic {username}:{password}" }, query: { t: "x" } } } }"#,
        "      - exit: cache\n        with: { capability: produce, topic: t }",
    ));
    assert!(
        has(
            &found,
            "/bindings/http/options/authorization/jwt/credentials/headers/authorization",
            "only '{credentials}'"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "/bindings/http/options/authorization/jwt/credentials/query/t",
            "no '{credentials}'"
        ),
        "{found:?}"
    );
}

#[test]
fn cors_mistakes_are_located() {
    let found = errors(&guarded_chain(
        KEY,
        r#"access-control: { allow: { origins: [ "*", "ftp://x" ], methods: [ "GE T" ], headers: [ "bad header" ] }, max-age: 100000 }"#,
        "      - exit: cache\n        with: { capability: produce, topic: t }",
    ));
    for (pointer, needle) in [
        (
            "/bindings/http/options/access-control/allow",
            "cross-origin only",
        ),
        (
            "/bindings/http/options/access-control/allow/origins/0",
            "not an origin",
        ),
        (
            "/bindings/http/options/access-control/allow/origins/1",
            "not an origin",
        ),
        (
            "/bindings/http/options/access-control/allow/methods/0",
            "not an HTTP method",
        ),
        (
            "/bindings/http/options/access-control/allow/headers/0",
            "not a header name",
        ),
        (
            "/bindings/http/options/access-control/max-age",
            "at most 86400",
        ),
    ] {
        assert!(has(&found, pointer, needle), "{pointer}: {found:?}");
    }
}

#[test]
fn origins_normalise_default_ports() {
    assert_eq!(
        normalize_origin("HTTPS://App.Example").as_deref(),
        Some("https://app.example:443")
    );
    assert_eq!(
        normalize_origin("http://x:80").as_deref(),
        Some("http://x:80")
    );
    assert_eq!(normalize_origin("http://x").as_deref(), Some("http://x:80"));
    assert_eq!(
        normalize_origin("http://[::1]:8080").as_deref(),
        Some("http://[::1]:8080")
    );
    assert_eq!(
        normalize_origin("http://[::1]").as_deref(),
        Some("http://[::1]:80")
    );
    for bad in [
        "null",
        "x",
        "http://",
        "http://x/path",
        "ftp://x",
        "http://x:99999",
        "http://a:b:c",
    ] {
        assert_eq!(normalize_origin(bad), None, "{bad}");
    }
}

fn with_tls(options: &str, http_options: &str) -> String {
    chain("      - when: [ { method: POST, path: /a } ]\n        exit: cache\n        with: { capability: produce, topic: a }")
        .replace(
            "    options: { host: 127.0.0.1, port: 8080 }\n    exit: http\n",
            &format!(
                "    options: {{ host: 127.0.0.1, port: 8080 }}\n    exit: tls\n  tls:\n    type: tls\n    kind: server\n    options: {options}\n    exit: http\n"
            ),
        )
        .replace(
            "  http:\n    type: http\n    kind: server\n",
            &format!("  http:\n    type: http\n    kind: server\n    options: {{ {http_options} }}\n"),
        )
}

#[test]
fn tls_listener_takes_pem_files_and_alpn_from_the_http_versions() {
    let table = compile(&with_tls("{ certificate: c.pem, key: k.pem }", ""))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let tls = table.listeners[0]
        .tls
        .clone()
        .unwrap_or_else(|| panic!("no tls"));
    assert_eq!(
        tls.identity,
        TlsIdentity::Pem {
            certificate: "c.pem".to_owned(),
            key: "k.pem".to_owned()
        }
    );
    assert_eq!(tls.alpn, vec!["h2", "http/1.1"]);
    let table = compile(&with_tls(
        "{ certificate: c.pem, key: k.pem }",
        "versions: [ http/1.1 ]",
    ))
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        table.listeners[0].tls.as_ref().map(|t| t.alpn.clone()),
        Some(vec!["http/1.1".to_owned()])
    );
    let table = compile(&with_tls(
        "{ certificate: c.pem, key: k.pem, alpn: [ http/1.1, h2 ] }",
        "",
    ))
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        table.listeners[0].tls.as_ref().map(|t| t.alpn.clone()),
        Some(vec!["http/1.1".to_owned(), "h2".to_owned()])
    );
}

#[test]
fn tls_mistakes_are_named_where_they_are() {
    let e = errors(&with_tls("{ key: k.pem }", ""));
    assert!(
        has(&e, "/bindings/tls/options", "options.certificate"),
        "{e:?}"
    );
    let e = errors(&with_tls(
        "{ certificate: c.pem, key: k.pem, alpn: [ h3 ] }",
        "",
    ));
    assert!(
        has(&e, "/bindings/tls/options/alpn/0", "unknown protocol 'h3'"),
        "{e:?}"
    );
    let e = errors(&with_tls(
        "{ certificate: c.pem, key: k.pem, alpn: [ h2 ] }",
        "versions: [ http/1.1 ]",
    ));
    assert!(
        has(
            &e,
            "/bindings/tls/options/alpn/0",
            "not one of the versions"
        ),
        "{e:?}"
    );
    let e = errors(&with_tls("{ keys: [ localhost ] }", ""));
    assert!(has(&e, "/bindings/tls/options/keys", "vault"), "{e:?}");
    let e = errors(&with_tls(
        "{ certificate: c.pem, key: k.pem, ciphers: all }",
        "",
    ));
    assert!(
        e.iter()
            .any(|(p, m)| p.starts_with("/bindings/tls/options") && m.contains("ciphers")),
        "{e:?}"
    );
    // A tls binding no tcp binding leads to.
    let orphan = chain("      - when: [ { method: POST, path: /a } ]\n        exit: cache\n        with: { capability: produce, topic: a }")
        .replace("bindings:\n", "bindings:\n  lonely: { type: tls, kind: server, options: { certificate: c, key: k }, exit: http }\n");
    let e = errors(&orphan);
    assert!(
        has(&e, "/bindings/lonely", "not the exit of any tcp server"),
        "{e:?}"
    );
    // tls in front of something that is not an http server.
    let e = errors(&with_tls("{ certificate: c.pem, key: k.pem }", "").replace(
        "    options: { certificate: c.pem, key: k.pem }\n    exit: http\n",
        "    options: { certificate: c.pem, key: k.pem }\n    exit: mapping\n",
    ));
    assert!(
        has(&e, "/bindings/tls/exit", "expected a http server binding"),
        "{e:?}"
    );
}

fn kafka_options(options: &str) -> String {
    chain("      - when: [ { method: POST, path: /a } ]\n        exit: cache\n        with: { capability: produce, topic: a }")
        .replace(
            "    options: { servers: [ \"localhost:9092\" ] }\n",
            &format!("    options:\n      servers: [ \"localhost:9092\" ]\n{options}"),
        )
}

fn security(table: &RouteTable) -> Vec<(String, String)> {
    table.clusters[0]
        .security
        .properties()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn kafka_sasl_and_tls_become_client_properties() {
    let table = compile(&kafka_options(
        "      sasl: { mechanism: SCRAM-SHA-512, username: u, password: p }\n      tls: { ca: ca.pem, certificate: c.pem, key: k.pem, key-password: kp }\n",
    ))
    .unwrap_or_else(|e| panic!("{e:?}"));
    let properties = security(&table);
    let get = |key: &str| {
        properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("security.protocol"), Some("SASL_SSL"));
    assert_eq!(get("sasl.mechanism"), Some("SCRAM-SHA-512"));
    assert_eq!(get("sasl.username"), Some("u"));
    assert_eq!(get("sasl.password"), Some("p"));
    assert_eq!(get("ssl.ca.location"), Some("ca.pem"));
    assert_eq!(get("ssl.certificate.location"), Some("c.pem"));
    assert_eq!(get("ssl.key.location"), Some("k.pem"));
    assert_eq!(get("ssl.key.password"), Some("kp"));
    assert_eq!(get("ssl.endpoint.identification.algorithm"), Some("https"));
    assert_eq!(table.clusters[0].security.files().len(), 3);
    // The debug form, which logs could print, hides the secrets.
    let shown = format!("{:?}", table.clusters[0]);
    assert!(
        !shown.contains("\"p\"") && !shown.contains("\"kp\""),
        "{shown}"
    );

    let plain = compile(&kafka_options(
        "      sasl: { mechanism: plain, username: u, password: p }\n",
    ))
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        security(&plain).contains(&("security.protocol".to_owned(), "SASL_PLAINTEXT".to_owned()))
    );
    assert!(security(&plain).contains(&("sasl.mechanism".to_owned(), "PLAIN".to_owned())));
    let tls = compile(&kafka_options("      tls: { verify-hostname: false }\n"))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        security(&tls),
        vec![
            ("security.protocol".to_owned(), "SSL".to_owned()),
            (
                "ssl.endpoint.identification.algorithm".to_owned(),
                "none".to_owned()
            )
        ]
    );
    let none = compile(&kafka_options("")).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(security(&none).is_empty());
}

#[test]
fn kafka_security_mistakes_are_named_where_they_are() {
    let e = errors(&kafka_options(
        "      sasl: { mechanism: gssapi, username: u, password: p }\n",
    ));
    assert!(
        has(
            &e,
            "/bindings/client/options/sasl/mechanism",
            "unknown mechanism 'gssapi'"
        ),
        "{e:?}"
    );
    let e = errors(&kafka_options(
        "      sasl: { mechanism: scram-sha-1, username: u, password: p }\n",
    ));
    assert!(
        has(
            &e,
            "/bindings/client/options/sasl/mechanism",
            "scram-sha-256"
        ),
        "{e:?}"
    );
    let e = errors(&kafka_options(
        "      sasl: { mechanism: plain, username: \"\", password: p }\n",
    ));
    assert!(
        has(
            &e,
            "/bindings/client/options/sasl/username",
            "must not be empty"
        ),
        "{e:?}"
    );
    let e = errors(&kafka_options(
        "      sasl: { mechanism: plain, username: u }\n",
    ));
    assert!(
        e.iter()
            .any(|(p, m)| p.starts_with("/bindings/client/options/sasl") && m.contains("password")),
        "{e:?}"
    );
    let e = errors(&kafka_options("      tls: { certificate: c.pem }\n"));
    assert!(
        has(
            &e,
            "/bindings/client/options/tls",
            "both 'certificate' and 'key'"
        ),
        "{e:?}"
    );
    let e = errors(&kafka_options("      tls: { key-password: x }\n"));
    assert!(
        has(
            &e,
            "/bindings/client/options/tls/key-password",
            "needs 'key'"
        ),
        "{e:?}"
    );
    let e = errors(&kafka_options(
        "      properties: { sasl.password: x, security.protocol: SSL }\n",
    ));
    assert!(
        has(
            &e,
            "/bindings/client/options/properties/sasl.password",
            "use options.sasl and options.tls"
        ),
        "{e:?}"
    );
    let e = errors(&kafka_options(
        "      authorization: { jwt: { credentials: { mechanism: plain } } }\n",
    ));
    assert!(
        has(
            &e,
            "/bindings/client/options/authorization/jwt",
            "not defined under /guards"
        ),
        "{e:?}"
    );
}

/// Zilla's form: keys by alias in the binding's vault, SNI, ALPN routes, mutual TLS.
#[test]
fn tls_listener_takes_keys_from_its_vault() {
    let vault = "vaults:\n  certs:\n    type: filesystem\n    options:\n      keys: { store: tls/server.p12, password: pw }\n      trust: { store: /abs/trust.jks, type: jks, password: tpw }\nbindings:\n";
    let text = with_tls(
        "{ keys: [ localhost ], sni: [ localhost ], trust: [ ca ], alpn: [ h2 ] }",
        "",
    )
    .replacen("bindings:\n", vault, 1)
    .replace(
        "    kind: server\n    options: { keys",
        "    kind: server\n    vault: certs\n    routes:\n      - when: [ { alpn: h2 } ]\n        exit: http\n    options: { keys",
    );
    let spec = parse_config_with_env(&text, &no_env).unwrap_or_else(|e| panic!("{e:?}"));
    let options = CompileOptions {
        base_dir: Some("/etc/zilla".into()),
        ..CompileOptions::default()
    };
    let table = RouteTable::compile(&spec, &options).unwrap_or_else(|e| panic!("{e:?}"));
    let tls = table.listeners[0]
        .tls
        .clone()
        .unwrap_or_else(|| panic!("no tls"));
    let TlsIdentity::Store { store, aliases } = &tls.identity else {
        panic!("{:?}", tls.identity);
    };
    assert_eq!(
        store.path, "/etc/zilla/tls/server.p12",
        "relative to the configuration"
    );
    assert_eq!(store.format, StoreFormat::Pkcs12);
    assert_eq!(aliases, &vec!["localhost".to_owned()]);
    assert_eq!(tls.sni, vec!["localhost"]);
    let clients = tls
        .clients
        .unwrap_or_else(|| panic!("trust means mutual: required"));
    assert!(clients.required);
    assert_eq!(clients.store.path, "/abs/trust.jks");
    assert_eq!(clients.store.format, StoreFormat::Jks);
    assert!(
        !format!("{:?}", clients.store).contains("tpw"),
        "passwords stay out of Debug"
    );

    // A vault that does not exist, a store the vault lacks, an x509 guard.
    let e = errors(&text.replace("vault: certs", "vault: nothing"));
    assert!(
        has(
            &e,
            "/bindings/tls/vault",
            "'nothing' is not defined under /vaults"
        ),
        "{e:?}"
    );
    let e = errors(&text.replace(
        "      trust: { store: /abs/trust.jks, type: jks, password: tpw }\n",
        "",
    ));
    assert!(
        has(&e, "/bindings/tls/options/trust", "has no 'trust' store"),
        "{e:?}"
    );
    let e = errors(&text.replace("alpn: [ h2 ] }", "alpn: [ h2 ], authorization: { x: {} } }"));
    assert!(
        has(&e, "/bindings/tls/options/authorization", "x509 guard"),
        "{e:?}"
    );
    let e = errors(&text.replace(
        "keys: { store: tls/server.p12, password: pw }",
        "keys: { store: tls/server.p12 }",
    ));
    assert!(
        has(
            &e,
            "/vaults/certs/options/keys/password",
            "needs its password"
        ),
        "{e:?}"
    );
}

/// http-filesystem routes serve files read-only, from a filesystem server's location.
#[test]
fn file_routes_are_checked() {
    let base = "name: t\nbindings:\n  tcp: { type: tcp, kind: server, options: { port: 8080 }, exit: http }\n  http: { type: http, kind: server, exit: files }\n  files:\n    type: http-filesystem\n    kind: proxy\n    routes:\n      - when: [ { path: \"/{path}\" } ]\n        exit: disk\n        with: { path: \"${params.path}\" }\n  disk: { type: filesystem, kind: server, options: { location: /var/www } }\n";
    compile(base).unwrap_or_else(|e| panic!("{e:?}"));
    let e = errors(&base.replace(
        "[ { path: \"/{path}\" } ]",
        "[ { method: PUT, path: \"/{path}\" } ]",
    ));
    assert!(
        has(&e, "/bindings/files/routes/0/when/0/method", "read-only"),
        "{e:?}"
    );
    let e = errors(&base.replace(
        "with: { path: \"${params.path}\" }",
        "with: { directory: \"${params.path}\" }",
    ));
    assert!(
        has(
            &e,
            "/bindings/files/routes/0/with/directory",
            "not supported"
        ),
        "{e:?}"
    );
    let e = errors(&base.replace(
        "with: { path: \"${params.path}\" }",
        "with: { path: \"${params.file}\" }",
    ));
    assert!(
        has(&e, "/bindings/files/routes/0/with/path", "not captured"),
        "{e:?}"
    );
    let e = errors(&base.replace("exit: disk", "exit: http"));
    assert!(
        has(
            &e,
            "/bindings/files/routes/0/exit",
            "expected a filesystem server binding"
        ),
        "{e:?}"
    );
    let e = errors(&base.replace(
        "options: { location: /var/www }",
        "options: { location: \"\" }",
    ));
    assert!(
        has(&e, "/bindings/disk/options/location", "directory"),
        "{e:?}"
    );
    let table = compile(base).unwrap_or_else(|e| panic!("{e:?}"));
    let request = Request {
        method: "GET",
        path: "/index.html",
    };
    let found = resolve(&table, 8080, &request);
    let Resolved::File { route, params } = found else {
        panic!("{found:?}");
    };
    assert_eq!(route.root, "/var/www");
    assert_eq!(params, vec![("path".to_owned(), "index.html".to_owned())]);
    // A guarded file route refuses a caller without credentials.
    let guarded = format!(
        "guards:\n  jwt:\n    type: jwt\n    options: {{ issuer: https://i }}\n{}",
        base.replace("        exit: disk\n", "        exit: disk\n        guarded: { jwt: [ read ] }\n")
            .replace(
                "  http: { type: http, kind: server, exit: files }",
                "  http: { type: http, kind: server, exit: files, options: { authorization: { jwt: { credentials: { headers: { authorization: \"Bearer {credentials}\" } } } } } }"
            )
    );
    let table = compile(&guarded.replacen("name: t\n", "", 1).replacen(
        "guards:",
        "name: t\nguards:",
        1,
    ))
    .unwrap_or_else(|e| panic!("{e:?}"));
    let found = resolve(&table, 8080, &request);
    assert!(matches!(found, Resolved::Denied(_)), "{found:?}");
}

/// Zilla 2.x kafka client security: an inline guard's credentials through
/// `options.authorization`, and a tls client binding with a vault.
#[test]
fn kafka_credentials_come_from_an_inline_guard_and_tls_from_a_tls_client() {
    let text = "name: t\nvaults:\n  clients:\n    type: filesystem\n    options:\n      trust: { store: trust.jks, type: jks, password: pw }\nguards:\n  creds:\n    type: inline\n    options: { identity: alice, credentials: s3cret }\nbindings:\n  tcp: { type: tcp, kind: server, options: { port: 8080 }, exit: http }\n  http: { type: http, kind: server, exit: mapping }\n  mapping:\n    type: http-kafka\n    kind: proxy\n    routes:\n      - exit: client\n        with: { capability: produce, topic: t }\n  client:\n    type: kafka\n    kind: client\n    options:\n      servers: [ \"k:9093\" ]\n      authorization:\n        creds:\n          credentials: { mechanism: scram-sha-512, username: \"{identity}\", password: \"{credentials}\" }\n    exit: tls_client\n  tls_client:\n    type: tls\n    kind: client\n    vault: clients\n    options: { trust: [ kafka ], sni: [ kafka ] }\n    exit: tcp_client\n  tcp_client: { type: tcp, kind: client }\n";
    let table = compile(text).unwrap_or_else(|e| panic!("{e:?}"));
    let security = &table.clusters[0].security;
    let properties: Vec<(&str, &str)> = security.properties().collect();
    for expected in [
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        ("sasl.username", "alice"),
        ("sasl.password", "s3cret"),
    ] {
        assert!(
            properties.contains(&expected),
            "{expected:?} in {properties:?}"
        );
    }
    assert_eq!(security.stores.len(), 1);
    assert!(
        !format!("{security:?}").contains("s3cret"),
        "secrets stay out of Debug"
    );

    let oauth = text.replace(
        "{ mechanism: scram-sha-512, username: \"{identity}\", password: \"{credentials}\" }",
        "{ mechanism: oauthbearer, token: \"{credentials}\" }",
    );
    let table = compile(&oauth).unwrap_or_else(|e| panic!("{e:?}"));
    let properties: Vec<(&str, &str)> = table.clusters[0].security.properties().collect();
    assert!(properties.contains(&("sasl.mechanism", "OAUTHBEARER")));
    assert!(properties.contains(&("sasl.oauthbearer.config", "s3cret")));

    let e = errors(&text.replace(
        "    type: inline\n    options: { identity: alice, credentials: s3cret }",
        "    type: jwt\n    options: { issuer: https://i }",
    ));
    assert!(
        has(
            &e,
            "/bindings/client/options/authorization/creds",
            "jwt guard"
        ),
        "{e:?}"
    );
    let e = errors(&text.replace("        creds:\n", "        nobody:\n"));
    assert!(
        has(
            &e,
            "/bindings/client/options/authorization/nobody",
            "not defined"
        ),
        "{e:?}"
    );
    let e = errors(&text.replace(
        "with: { capability: produce, topic: t }",
        "with: { capability: produce, topic: t }\n        guarded: { creds: [ r ] }",
    ));
    assert!(
        has(
            &e,
            "/bindings/mapping/routes/0/guarded/creds",
            "inline guard"
        ),
        "{e:?}"
    );
    let e = errors(&text.replace("mechanism: scram-sha-512", "mechanism: gssapi"));
    assert!(
        has(
            &e,
            "/bindings/client/options/authorization/creds/credentials/mechanism",
            "unknown mechanism"
        ),
        "{e:?}"
    );
}

/// An http server's route to an http client: proxied to the tcp client's host and port,
/// through a tls client with the vault's trust.
#[test]
fn http_clients_proxy_to_their_tcp_client() {
    let text = "name: t\nvaults:\n  clients:\n    type: filesystem\n    options:\n      trust: { store: trust.jks, type: jks, password: pw }\nbindings:\n  tcp: { type: tcp, kind: server, options: { port: 8080 }, exit: http }\n  http:\n    type: http\n    kind: server\n    routes:\n      - when: [ { headers: { \":path\": \"/*\" } } ]\n        exit: client\n  client: { type: http, kind: client, options: { versions: [ h2 ] }, exit: tls_client }\n  tls_client:\n    type: tls\n    kind: client\n    vault: clients\n    options: { trust: [ nginx ], sni: [ nginx ], alpn: [ h2 ] }\n    exit: tcp_client\n  tcp_client: { type: tcp, kind: client, options: { host: nginx, port: 443 } }\n";
    let table = compile(text).unwrap_or_else(|e| panic!("{e:?}"));
    let upstream = &table.upstreams[0];
    assert_eq!((upstream.host.as_str(), upstream.port), ("nginx", 443));
    assert!(upstream.h2 && !upstream.http1);
    let tls = upstream.tls.as_ref().unwrap_or_else(|| panic!("tls"));
    assert_eq!(tls.sni.as_deref(), Some("nginx"));
    assert!(!tls.system_authorities, "trust without trustcacerts");
    let found = resolve(
        &table,
        8080,
        &Request {
            method: "GET",
            path: "/demo.html",
        },
    );
    assert!(matches!(found, Resolved::Upstream(0)), "{found:?}");

    let e = errors(&text.replace(
        "options: { host: nginx, port: 443 }",
        "options: { host: nginx }",
    ));
    assert!(
        has(&e, "/bindings/tcp_client/options", "host and one port"),
        "{e:?}"
    );
    let e = errors(&text.replace("alpn: [ h2 ]", "alpn: [ echo ]"));
    assert!(
        has(&e, "/bindings/tls_client/options/alpn", "h2 or http/1.1"),
        "{e:?}"
    );
    let e = errors(&text.replace(
        "  client: { type: http, kind: client, options: { versions: [ h2 ] }, exit: tls_client }",
        "  client: { type: http, kind: client, options: { versions: [ h2 ], limits: { max-body-bytes: 10 } }, exit: tls_client }",
    ));
    assert!(
        has(
            &e,
            "/bindings/client/options/limits",
            "applies to http servers"
        ),
        "{e:?}"
    );
}

/// An sse server's route to an sse client, which exits to an http client.
#[test]
fn sse_clients_relay_an_upstream_stream() {
    let text = "name: t\nbindings:\n  tcp: { type: tcp, kind: server, options: { port: 8080 }, exit: http }\n  http: { type: http, kind: server, exit: sse }\n  sse: { type: sse, kind: server, exit: sse_client }\n  sse_client: { type: sse, kind: client, exit: http_client }\n  http_client: { type: http, kind: client, exit: tcp_client }\n  tcp_client: { type: tcp, kind: client, options: { host: events, port: 8001 } }\n";
    let table = compile(text).unwrap_or_else(|e| panic!("{e:?}"));
    let found = resolve(
        &table,
        8080,
        &Request {
            method: "GET",
            path: "/events",
        },
    );
    assert!(
        matches!(
            found,
            Resolved::SseUpstream {
                upstream: 0,
                guarded: false,
                ..
            }
        ),
        "{found:?}"
    );
    let e = errors(&text.replace("exit: http_client }", "exit: tcp_client }"));
    assert!(
        has(
            &e,
            "/bindings/sse_client/exit",
            "expected a http client binding"
        ),
        "{e:?}"
    );
}
