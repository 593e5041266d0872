use super::*;

fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).expect("request").into_parts().0
}

#[test]
fn correlation_id_ignores_volatile_headers_and_covers_the_body() {
    let a = parts(
        "POST",
        "/items?x=1",
        &[("content-type", "application/json"), ("user-agent", "a")],
    );
    let b = parts(
        "POST",
        "/items?x=1",
        &[("content-type", "application/json"), ("user-agent", "b")],
    );
    let id_a = correlation_id("k", &a, Some("1"), &[], "replies", b"{}");
    assert_eq!(
        id_a,
        correlation_id("k", &b, Some("1"), &[], "replies", b"{}")
    );
    assert_ne!(
        id_a,
        correlation_id("k", &a, Some("1"), &[], "replies", b"{ }")
    );
    assert_ne!(
        id_a,
        correlation_id("k", &a, Some("2"), &[], "replies", b"{}")
    );
    assert!(id_a.starts_with("k-"));
    assert!(check_correlation_id(&id_a).is_ok());
}

#[test]
fn request_headers_forward_safely_and_rewrite_if_match() {
    use rdkafka::message::Headers;
    let request = parts(
        "PUT",
        "http://example.com:7114/items/1?a=b",
        &[
            ("authorization", "Bearer secret"),
            ("cookie", "a=b"),
            ("connection", "keep-alive"),
            ("if-match", "AQIAAg==/\"v7\""),
            ("x-request", "1"),
        ],
    );
    let reply = ReplyAction {
        topic: "replies".to_owned(),
        reply_to_header: "zilla:reply-to".to_owned(),
        request_correlation_header: "requestId".to_owned(),
        reply_correlation_header: "zilla:correlation-id".to_owned(),
        async_headers: Vec::new(),
        locations: Vec::new(),
        timeout_ms: 1,
    };
    let headers = request_headers(&request, &reply, &[("tenant", "acme".to_owned())], "k-1");
    let pairs: Vec<(String, String)> = headers
        .iter()
        .map(|h| {
            (
                h.key.to_owned(),
                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
            )
        })
        .collect();
    // Zilla's order: scheme, method, path, authority, then the request's headers.
    let expected = [
        (":scheme", "http"),
        (":method", "PUT"),
        (":path", "/items/1?a=b"),
        (":authority", "example.com:7114"),
        ("if-match", "\"v7\""),
        ("x-request", "1"),
        ("zilla:reply-to", "replies"),
        ("tenant", "acme"),
        ("requestId", "k-1"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(pairs, expected);
    let bare = parts("PUT", "/x", &[("if-match", "\"v7\"")]);
    let headers = request_headers(&bare, &reply, &[], "k-1");
    assert!(
        headers.iter().all(|h| h.key != "if-match"),
        "a bare if-match is dropped"
    );
}

#[test]
fn malformed_correlation_ids_are_refused() {
    for bad in [
        "",
        "abc",
        "k-123",
        "-0123456789abcdef0123456789abcdef",
        "k-0123456789ABCDEF0123456789abcdef",
    ] {
        assert!(check_correlation_id(bad).is_err(), "{bad}");
    }
}
