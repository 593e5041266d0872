use super::*;
use proptest::prelude::*;

fn params(template: &str, path: &str) -> Option<Params> {
    PathTemplate::parse(template)
        .expect("valid template")
        .matches(path)
        .map(|r| r.expect("decodes"))
}

fn pairs(list: &[(&str, &str)]) -> Params {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn literal_paths_match_exactly() {
    assert_eq!(params("/items", "/items"), Some(vec![]));
    assert_eq!(params("/items", "/items/"), None);
    assert_eq!(params("/items", "/Items"), None);
}

#[test]
fn param_matches_one_segment_only() {
    assert_eq!(
        params("/items/{id}", "/items/42"),
        Some(pairs(&[("id", "42")]))
    );
    assert_eq!(params("/items/{id}", "/items/a/b"), None);
    assert_eq!(params("/items/{id}", "/items/"), None);
}

#[test]
fn params_are_percent_decoded() {
    assert_eq!(
        params("/items/{id}", "/items/a%2Fb%20c"),
        Some(pairs(&[("id", "a/b c")]))
    );
    let template = PathTemplate::parse("/items/{id}").expect("valid");
    assert_eq!(
        template.matches("/items/%FF"),
        Some(Err(BadParam(
            "id".into(),
            "is not valid percent-encoded UTF-8"
        )))
    );
}

#[test]
fn broken_percent_encoding_and_control_characters_are_refused() {
    let template = PathTemplate::parse("/items/{id}").expect("valid");
    for path in ["/items/%ZZ", "/items/%", "/items/a%A", "/items/%G1x"] {
        assert_eq!(
            template.matches(path),
            Some(Err(BadParam(
                "id".into(),
                "has a '%' that is not followed by two hex digits"
            ))),
            "{path}"
        );
    }
    for path in [
        "/items/a%00b",
        "/items/a%0D%0Ab",
        "/items/%7F",
        "/items/%C2%85",
    ] {
        assert_eq!(
            template.matches(path),
            Some(Err(BadParam("id".into(), "holds a control character"))),
            "{path}"
        );
    }
    assert_eq!(
        params("/items/{id}", "/items/%25%41"),
        Some(pairs(&[("id", "%A")])),
        "an encoded '%' is fine"
    );
}

#[test]
fn mixed_segments_split_on_literals() {
    assert_eq!(
        params("/items/{id};cid={correlationId}", "/items/7;cid=abc-1"),
        Some(pairs(&[("id", "7"), ("correlationId", "abc-1")]))
    );
}

#[test]
fn wildcard_spans_segments() {
    assert_eq!(params("/files/*", "/files/a/b/c"), Some(vec![]));
    assert_eq!(
        params("/t/{tenant}/*", "/t/acme/x/y"),
        Some(pairs(&[("tenant", "acme")]))
    );
}

#[test]
fn malformed_templates_are_rejected() {
    use PathTemplateError::*;
    assert_eq!(PathTemplate::parse("items"), Err(NoLeadingSlash));
    assert_eq!(PathTemplate::parse("/items/{id"), Err(Unbalanced(7)));
    assert_eq!(PathTemplate::parse("/items/id}"), Err(Unbalanced(9)));
    assert_eq!(
        PathTemplate::parse("/items/{}"),
        Err(BadName(String::new()))
    );
    assert_eq!(
        PathTemplate::parse("/items/{a-b}"),
        Err(BadName("a-b".into()))
    );
    assert_eq!(PathTemplate::parse("/{a}/{a}"), Err(Duplicate("a".into())));
    assert_eq!(PathTemplate::parse("/{a}{b}"), Err(Adjacent("{b}".into())));
    assert_eq!(PathTemplate::parse("/items?x=1"), Err(Query));
}

#[test]
fn wildcard_patterns() {
    assert!(wildcard_match("*", "anything"));
    assert!(wildcard_match("/items/*", "/items/1"));
    assert!(!wildcard_match("/items/*", "/other/1"));
    assert!(wildcard_match("a*c*e", "abcde"));
    assert!(!wildcard_match("a*c*e", "abcd"));
    assert!(wildcard_match("http", "http"));
    assert!(!wildcard_match("http", "https"));
    assert!(!wildcard_match("ab*ba", "aba"));
}

proptest! {
    #[test]
    fn any_segment_value_round_trips(value in "[a-zA-Z0-9 /%?#~.-]{1,40}") {
        let encoded: String = percent_encoding::utf8_percent_encode(
            &value,
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        let path = format!("/items/{encoded}/tail");
        prop_assert_eq!(
            params("/items/{id}/tail", &path),
            Some(pairs(&[("id", &value)]))
        );
    }

    #[test]
    fn param_never_captures_a_slash(segments in proptest::collection::vec("[a-z]{1,5}", 1..6)) {
        let path = format!("/items/{}", segments.join("/"));
        let matched = params("/items/{id}", &path);
        prop_assert_eq!(matched.is_some(), segments.len() == 1);
    }

    #[test]
    fn matching_never_panics(template in "[/a-z{}*;=]{0,20}", path in "[/a-z;=%0-9]{0,40}") {
        if let Ok(template) = PathTemplate::parse(&template) {
            let _ = template.matches(&path);
        }
    }

    #[test]
    fn literal_template_matches_only_itself(a in "/[a-z/]{0,20}", b in "/[a-z/]{0,20}") {
        let template = PathTemplate::parse(&a).expect("literal templates are valid");
        prop_assert_eq!(template.matches(&b).is_some(), a == b);
    }
}
