use super::*;
use crate::spec::OptionsSpec;

fn env(name: &str) -> Option<String> {
    (name == "KAFKA").then(|| "broker:9092".to_owned())
}

fn errors(text: &str) -> Vec<(String, String)> {
    parse_config_with_env(text, &env)
        .expect_err("document should be rejected")
        .iter()
        .map(|e| (e.pointer.clone(), e.message.clone()))
        .collect()
}

#[test]
fn quickstart_parses_and_round_trips_through_json() {
    let spec = parse_config_with_env(crate::QUICKSTART_CONFIG, &env).expect("valid");
    assert_eq!(spec.name, "quickstart");
    let json = serde_json::to_string(&spec).expect("serializes");
    let again = parse_config_with_env(&json, &env).expect("JSON form parses");
    assert_eq!(spec, again);
}

#[test]
fn env_expressions_are_substituted() {
    let text = r#"
name: t
bindings:
  k:
    type: kafka
    kind: client
    options:
      servers: [ "${{env.KAFKA}}" ]
"#;
    let spec = parse_config_with_env(text, &env).expect("valid");
    let Some(OptionsSpec::Kafka(options)) = &spec.bindings["k"].options else {
        panic!("kafka options expected");
    };
    assert_eq!(options.servers, Some(vec!["broker:9092".to_owned()]));
}

#[test]
fn missing_env_variable_is_reported_at_its_location() {
    let found = errors(
        "name: t\nbindings:\n  k:\n    type: kafka\n    kind: client\n    options:\n      servers: [ \"${{env.NOPE}}\" ]\n",
    );
    assert_eq!(
        found,
        vec![(
            "/bindings/k/options/servers/0".to_owned(),
            "environment variable 'NOPE' is not set".to_owned()
        )]
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let found = errors("name: t\nbindings: [\n");
    assert_eq!(found.len(), 1);
    assert!(found[0].1.contains("invalid YAML"), "{found:?}");
    assert!(found[0].1.contains("line"), "{found:?}");
    let found = errors("{\"name\": ");
    assert!(found[0].1.contains("invalid JSON"), "{found:?}");
}

#[test]
fn unknown_binding_type_and_kind_are_reported() {
    let found = errors(
        "name: t\nbindings:\n  a:\n    type: grpc\n    kind: server\n  b:\n    type: http\n    kind: sideways\n  c:\n    type: gopher\n    kind: server\n",
    );
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].0, "/bindings/a/type");
    assert!(
        found[0]
            .1
            .contains("'grpc' is a Zilla binding type that sluice does not implement"),
        "{found:?}"
    );
    assert_eq!(found[2].0, "/bindings/c/type");
    assert!(found[2].1.contains("unknown variant `gopher`"), "{found:?}");
    assert_eq!(found[1].0, "/bindings/b/kind");
    assert!(
        found[1].1.contains("unknown variant `sideways`"),
        "{found:?}"
    );
}

#[test]
fn unknown_fields_are_reported_everywhere_at_once() {
    let found = errors(
        r#"
name: t
colour: blue
bindings:
  a:
    type: http
    kind: server
    flavour: mint
  b:
    type: http-kafka
    kind: proxy
    routes:
      - exit: k
        with: { capability: produce, topic: x, tpoic: y }
      - exit: k
        when: [ { method: GET, pth: /x } ]
        with: { capability: produce, topic: x }
"#,
    );
    let pointers: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pointers,
        vec![
            "/colour",
            "/bindings/a/flavour",
            "/bindings/b/routes/0/with/tpoic",
            "/bindings/b/routes/1/when/0/pth"
        ],
        "{found:?}"
    );
    assert!(found[1].1.contains("unknown field `flavour`"));
    assert!(found[2].1.contains("unknown field `tpoic`"));
    assert!(found[3].1.contains("unknown field `pth`"));
}

#[test]
fn missing_topic_is_reported_at_with() {
    let found = errors(
        "name: t\nbindings:\n  b:\n    type: http-kafka\n    kind: proxy\n    routes:\n      - exit: k\n        with: { capability: produce }\n",
    );
    assert_eq!(
        found,
        vec![(
            "/bindings/b/routes/0/with".to_owned(),
            "missing field `topic`".to_owned()
        )]
    );
}

#[test]
fn unsupported_top_level_sections_are_rejected_not_ignored() {
    let found = errors("name: t\nstores: {}\nbindings: {}\n");
    assert_eq!(found[0].0, "/stores");
    assert!(found[0].1.contains("not supported"));
}

#[test]
fn bad_ports_are_reported() {
    let found = errors(
        "name: t\nbindings:\n  a:\n    type: tcp\n    kind: server\n    options: { port: 70000 }\n",
    );
    assert_eq!(found[0].0, "/bindings/a/options/port");
    assert!(found[0].1.contains("not in 1..=65535"));
}

#[test]
fn documents_that_are_not_maps_are_rejected() {
    assert_eq!(errors("- a\n- b\n")[0].0, "");
    assert_eq!(errors("")[0].0, "");
}

#[test]
fn kafka_properties_take_numbers_and_booleans_as_text() {
    let text = "name: t\nbindings:\n  k:\n    type: kafka\n    kind: client\n    options:\n      properties: { linger.ms: 5, enable.idempotence: true, client.id: app }\n";
    let spec = parse_config_with_env(text, &env).expect("valid");
    let Some(OptionsSpec::Kafka(options)) = &spec.bindings["k"].options else {
        panic!("kafka options expected");
    };
    let properties = &options.properties;
    assert_eq!(properties["linger.ms"], "5");
    assert_eq!(properties["enable.idempotence"], "true");
    assert_eq!(properties["client.id"], "app");
    let found = errors(
        "name: t\nbindings:\n  k:\n    type: kafka\n    kind: client\n    options:\n      properties: { linger.ms: [ 5 ] }\n",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].1.contains("'linger.ms' must be a string"),
        "{found:?}"
    );
}

#[test]
fn an_unsupported_section_says_what_to_do_instead() {
    let text = "name: x\nbindings: {}\nstores: {}\ncatalogs: {}\n";
    let found = errors(text);
    let stores = found
        .iter()
        .find(|(p, _)| p == "/stores")
        .map(|(_, m)| m.clone());
    assert!(
        stores.is_some_and(|m| m.contains("its own store")),
        "{found:?}"
    );
    // Catalogs are read now.
    assert!(!found.iter().any(|(p, _)| p == "/catalogs"), "{found:?}");
}

#[test]
fn a_zilla_guard_type_sluice_lacks_is_named() {
    let found =
        errors("name: t\nguards:\n  clients:\n    type: x509\n    options: {}\nbindings: {}\n");
    assert_eq!(found[0].0, "/guards/clients/type");
    assert!(
        found[0].1.contains("'x509' is a Zilla guard type"),
        "{found:?}"
    );
}
