//! Fetch routes: latest value per key, ETags, 304, long-poll, lists, filters, memory bound.

use std::time::{Duration, Instant};

use anyhow::Result;
use http::{Method, StatusCode};
use sluice_tests::{Reply, Sluice, broker, config};

const PORT: u16 = 8080;

fn routes(topic: &str) -> String {
    format!(
        r#"      - when: [ {{ method: GET, path: "/items/{{id}}" }} ]
        exit: cache
        with:
          capability: fetch
          topic: {topic}
          filters: [ {{ key: "${{params.id}}" }} ]
      - when: [ {{ method: GET, path: "/items" }} ]
        exit: cache
        with:
          capability: fetch
          topic: {topic}
          merge: {{ content-type: application/json }}
      - when: [ {{ method: GET, path: "/tenants/{{tenant}}/items" }} ]
        exit: cache
        with:
          capability: fetch
          topic: {topic}
          filters: [ {{ headers: {{ tenant: "${{params.tenant}}" }} }} ]
          merge: {{ content-type: application/json }}"#
    )
}

fn fetch_config(topic: &str, client_options: &str) -> String {
    config(PORT, "", &routes(topic), "")
        .replace(
            "    type: http-kafka\n    kind: proxy",
            "    type: http-kafka\n    kind: proxy\n    options: { max-wait-seconds: 10 }",
        )
        .replace(
            "      properties: {  }",
            &format!("      properties: {{  }}{client_options}"),
        )
}

fn etag(reply: &Reply) -> String {
    reply.headers["etag"]
        .to_str()
        .unwrap_or_default()
        .to_owned()
}

async fn get(sluice: &Sluice, path: &str, headers: &[(&str, &str)]) -> Result<Reply> {
    sluice.send(PORT, Method::GET, path, headers, "").await
}

#[tokio::test]
async fn items_answer_the_latest_value_with_etags_304_and_404_after_a_tombstone() -> Result<()> {
    let topic = broker().topic("items").await?;
    let json = [("content-type", "application/json")];
    broker()
        .produce(&topic, "k1", Some(br#"{"v":1}"#), &json)
        .await?;
    broker()
        .produce(&topic, "k1", Some(br#"{"v":2}"#), &json)
        .await?;
    broker().produce(&topic, "k2", Some(b"other"), &[]).await?;
    broker().produce(&topic, "empty", Some(b""), &[]).await?;
    // Started after the records were written: the first request must already see them.
    let sluice = Sluice::with_config(&fetch_config(&topic, "")).await?;
    let first = get(&sluice, "/items/k1", &[]).await?;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(&first.body[..], br#"{"v":2}"#);
    assert_eq!(first.headers["content-type"], "application/json");
    let tag = etag(&first);
    assert!(
        tag.starts_with('"') && tag.ends_with('"'),
        "quoted etag: {tag}"
    );

    let same = get(&sluice, "/items/k1", &[("if-none-match", &tag)]).await?;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED, "{same:?}");
    assert_eq!(etag(&same), tag);
    let bare = tag.trim_matches('"').to_owned();
    let weak = format!("W/{tag}");
    for form in [bare.as_str(), weak.as_str(), &format!("\"nope\", {tag}")] {
        let reply = get(&sluice, "/items/k1", &[("if-none-match", form)]).await?;
        assert_eq!(
            reply.status,
            StatusCode::NOT_MODIFIED,
            "form {form}: {reply:?}"
        );
    }

    broker()
        .produce(&topic, "k1", Some(br#"{"v":3}"#), &json)
        .await?;
    let updated = get(
        &sluice,
        "/items/k1",
        &[("if-none-match", &tag), ("prefer", "wait=5")],
    )
    .await?;
    assert_eq!(updated.status, StatusCode::OK, "{updated:?}");
    assert_eq!(&updated.body[..], br#"{"v":3}"#);
    assert_ne!(etag(&updated), tag);

    broker().produce(&topic, "k1", None, &[]).await?;
    let deleted = get(
        &sluice,
        "/items/k1",
        &[("if-none-match", &etag(&updated)), ("prefer", "wait=5")],
    )
    .await?;
    assert_eq!(deleted.status, StatusCode::NOT_FOUND, "{deleted:?}");
    assert_eq!(
        get(&sluice, "/items/k1", &[]).await?.status,
        StatusCode::NOT_FOUND
    );

    let empty = get(&sluice, "/items/empty", &[]).await?;
    assert_eq!(empty.status, StatusCode::NO_CONTENT, "{empty:?}");
    assert!(empty.headers.contains_key("etag"));

    let started = Instant::now();
    let unknown = get(&sluice, "/items/never", &[]).await?;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(started.elapsed() < Duration::from_secs(2));
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn lists_leave_out_deleted_keys_and_are_always_json() -> Result<()> {
    let topic = broker().topic("list").await?;
    // An empty list has the ETag Zilla's http.kafka.cache example shows, quoted, and takes
    // it back bare as the example's curl sends it.
    {
        let sluice = Sluice::with_config(&fetch_config(&topic, "")).await?;
        let empty = get(&sluice, "/items", &[]).await?;
        assert_eq!(empty.status, StatusCode::OK, "{empty:?}");
        assert_eq!(empty.body, "[]");
        assert_eq!(empty.headers["etag"], "\"AQIAAQ==\"");
        let again = get(&sluice, "/items", &[("if-none-match", "AQIAAQ==")]).await?;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    }
    broker()
        .produce(&topic, "a", Some(br#"{"n":1}"#), &[])
        .await?;
    broker()
        .produce(&topic, "b", Some(b"plain \"text\""), &[])
        .await?;
    broker()
        .produce(&topic, "c", Some(br#"{"n":3}"#), &[])
        .await?;
    broker().produce(&topic, "c", None, &[]).await?;
    broker()
        .produce(&topic, "a", Some(br#"{"n":11}"#), &[])
        .await?;
    let sluice = Sluice::with_config(&fetch_config(&topic, "")).await?;
    let list = get(&sluice, "/items", &[]).await?;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.headers["content-type"], "application/json");
    assert_eq!(
        list.json()?,
        serde_json::json!(["plain \"text\"", {"n": 11}])
    );
    let tag = etag(&list);
    let same = get(&sluice, "/items", &[("if-none-match", &tag)]).await?;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);

    // List long-poll: held until the list changes.
    let waiting = {
        let tag = tag.clone();
        let started = Instant::now();
        let sluice_addr = sluice.addr(PORT).await?;
        tokio::spawn(async move {
            let client = Sluice::client();
            let request = http::Request::get(format!("http://{sluice_addr}/items"))
                .header("if-none-match", tag)
                .header("prefer", "wait=8")
                .body(http_body_util::Full::new(bytes::Bytes::new()))?;
            let response = client.request(request).await?;
            anyhow::Ok((response.status(), started.elapsed()))
        })
    };
    // The long-poll is parked once the gauge counts it.
    sluice.gauge_at_least("sluice_fetch_waiters", 1.0).await?;
    let produced = Instant::now();
    broker()
        .produce(&topic, "d", Some(br#"{"n":4}"#), &[])
        .await?;
    let (status, _) = waiting.await??;
    assert_eq!(status, StatusCode::OK);
    assert!(
        produced.elapsed() < Duration::from_secs(2),
        "list long-poll woke {:?} after the produce",
        produced.elapsed()
    );
    let list = get(&sluice, "/items", &[]).await?;
    assert_eq!(
        list.json()?,
        serde_json::json!(["plain \"text\"", {"n": 11}, {"n": 4}])
    );
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn header_filters_take_values_from_path_params() -> Result<()> {
    let topic = broker().topic("tenants").await?;
    broker()
        .produce(&topic, "1", Some(b"\"acme-1\""), &[("tenant", "acme")])
        .await?;
    broker()
        .produce(&topic, "2", Some(b"\"globex-2\""), &[("tenant", "globex")])
        .await?;
    broker()
        .produce(&topic, "3", Some(b"\"acme-3\""), &[("tenant", "acme")])
        .await?;
    let sluice = Sluice::with_config(&fetch_config(&topic, "")).await?;
    let acme = get(&sluice, "/tenants/acme/items", &[]).await?;
    assert_eq!(acme.json()?, serde_json::json!(["acme-1", "acme-3"]));
    let globex = get(&sluice, "/tenants/globex/items", &[]).await?;
    assert_eq!(globex.json()?, serde_json::json!(["globex-2"]));
    let nobody = get(&sluice, "/tenants/nobody/items", &[]).await?;
    assert_eq!(nobody.json()?, serde_json::json!([]));
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn long_poll_wakes_within_a_second_of_the_produce_or_304s_after_the_wait() -> Result<()> {
    let topic = broker().topic("poll").await?;
    broker().produce(&topic, "k", Some(b"v1"), &[]).await?;
    let sluice = Sluice::with_config(&fetch_config(&topic, "")).await?;
    let tag = etag(&get(&sluice, "/items/k", &[]).await?);

    let started = Instant::now();
    let unchanged = get(
        &sluice,
        "/items/k",
        &[("if-none-match", &tag), ("prefer", "wait=1")],
    )
    .await?;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED, "{unchanged:?}");
    assert_eq!(unchanged.headers["preference-applied"], "wait=1");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    let addr = sluice.addr(PORT).await?;
    let waiter = tokio::spawn({
        let tag = tag.clone();
        async move {
            let request = http::Request::get(format!("http://{addr}/items/k"))
                .header("if-none-match", tag)
                .header("prefer", "wait=10")
                .body(http_body_util::Full::new(bytes::Bytes::new()))?;
            let response = Sluice::client().request(request).await?;
            anyhow::Ok((response.status(), Instant::now()))
        }
    });
    sluice.gauge_at_least("sluice_fetch_waiters", 1.0).await?;
    broker().produce(&topic, "k", Some(b"v2"), &[]).await?;
    let acked = Instant::now();
    let (status, answered) = waiter.await??;
    assert_eq!(status, StatusCode::OK);
    let delay = answered.saturating_duration_since(acked);
    assert!(
        delay < Duration::from_secs(1),
        "answered {delay:?} after the produce"
    );

    // A missing item with a wait is answered when it appears.
    let waiter = tokio::spawn(async move {
        let request = http::Request::get(format!("http://{addr}/items/late"))
            .header("prefer", "wait=10")
            .body(http_body_util::Full::new(bytes::Bytes::new()))?;
        anyhow::Ok(Sluice::client().request(request).await?.status())
    });
    sluice.gauge_at_least("sluice_fetch_waiters", 1.0).await?;
    broker().produce(&topic, "late", Some(b"here"), &[]).await?;
    assert_eq!(waiter.await??, StatusCode::OK);
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn bad_conditional_input_gets_clear_statuses() -> Result<()> {
    let topic = broker().topic("bad").await?;
    broker().produce(&topic, "k", Some(b"v"), &[]).await?;
    let sluice = Sluice::with_config(&fetch_config(&topic, "")).await?;
    let garbage = get(&sluice, "/items/k", &[("if-none-match", "\"unterminated")]).await?;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST, "{garbage:?}");
    assert_eq!(garbage.json()?["code"], "bad_request");
    let over = get(&sluice, "/items/k", &[("prefer", "wait=11")]).await?;
    assert_eq!(over.status, StatusCode::BAD_REQUEST, "{over:?}");
    let malformed = get(&sluice, "/items/k", &[("prefer", "wait=later")]).await?;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let foreign = get(
        &sluice,
        "/items/k",
        &[("if-none-match", "\"someone-elses-etag\"")],
    )
    .await?;
    assert_eq!(
        foreign.status,
        StatusCode::OK,
        "an etag that is not current is a plain GET"
    );
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn at_the_memory_bound_evicted_items_answer_503_not_a_wrong_404() -> Result<()> {
    let topic = broker().topic("bounded").await?;
    let value = vec![b'x'; 2048];
    for i in 0..1000 {
        broker()
            .produce(&topic, &format!("k{i}"), Some(&value), &[])
            .await?;
    }
    let sluice =
        Sluice::with_config(&fetch_config(&topic, "\n      cache-max-bytes: 1048576")).await?;
    let newest = get(&sluice, "/items/k999", &[]).await?;
    assert_eq!(newest.status, StatusCode::OK, "{newest:?}");
    let oldest = get(&sluice, "/items/k0", &[]).await?;
    assert_eq!(oldest.status, StatusCode::SERVICE_UNAVAILABLE, "{oldest:?}");
    assert_eq!(oldest.json()?["code"], "cache_evicted");
    let list = get(&sluice, "/items", &[]).await?;
    assert_eq!(
        list.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a partial list is never served"
    );
    assert_eq!(
        get(&sluice, "/items/unknown", &[]).await?.status,
        StatusCode::NOT_FOUND
    );
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

/// Read-your-writes: a `GET` right after a `PUT` or `DELETE` this instance acknowledged
/// answers what was written, every time, although the topic cache reads the topic through
/// the broker's fetch (up to `fetch.wait.max.ms` later).
#[tokio::test]
async fn a_get_after_an_acknowledged_put_or_delete_sees_it_every_time() -> Result<()> {
    let topic = broker().topic("ryw").await?;
    let writes = format!(
        r#"      - when:
          - {{ method: PUT, path: "/items/{{id}}" }}
          - {{ method: DELETE, path: "/items/{{id}}" }}
        exit: cache
        with:
          capability: produce
          topic: {topic}
          key: "${{params.id}}"
"#
    );
    let config = fetch_config(&topic, "").replacen(
        "      - when: [ { method: GET, path: \"/items/{id}\" } ]",
        &format!("{writes}      - when: [ {{ method: GET, path: \"/items/{{id}}\" }} ]"),
        1,
    );
    let sluice = Sluice::with_config(&config).await?;
    let json = [("content-type", "application/json")];
    let mut stale = Vec::new();
    for i in 0..60 {
        let key = format!("k{}", i % 3);
        let path = format!("/items/{key}");
        let body = format!(r#"{{"v":{i}}}"#);
        let put = sluice
            .send(PORT, Method::PUT, &path, &json, body.clone())
            .await?;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{put:?}");
        let item = get(&sluice, &path, &[]).await?;
        if item.status != StatusCode::OK || item.body != body.as_bytes() {
            stale.push(format!("item {i}: {} {:?}", item.status, item.body));
        }
        let list = get(&sluice, "/items", &[]).await?;
        if !String::from_utf8_lossy(&list.body).contains(&body) {
            stale.push(format!("list {i}: {:?}", list.body));
        }
        if i % 10 == 9 {
            let delete = sluice.send(PORT, Method::DELETE, &path, &[], "").await?;
            assert_eq!(delete.status, StatusCode::NO_CONTENT, "{delete:?}");
            let gone = get(&sluice, &path, &[]).await?;
            if gone.status != StatusCode::NOT_FOUND {
                stale.push(format!("delete {i}: {} {:?}", gone.status, gone.body));
            }
        }
    }
    assert!(stale.is_empty(), "stale reads: {stale:#?}");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
