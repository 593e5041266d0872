//! Models on proxied exchanges, in the shape of Zilla's http.json.schema example: an http
//! server checks requests, the http client checks the upstream's responses, and a response
//! that does not fit is answered 502 with a problem naming what failed.

use std::convert::Infallible;

use anyhow::Result;
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sluice_tests::Sluice;
use tokio::net::TcpListener;

const PORT: u16 = 8080;

/// Serves the example's files, echoes POST bodies, and answers 404 in text otherwise.
async fn answer(
    request: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (status, content_type, body) = match (method.as_str(), path.as_str()) {
        ("GET", "/valid.json") => (
            200,
            "application/json",
            Bytes::from_static(b"{\n    \"id\": 42,\n    \"status\": \"Active\"\n}\n"),
        ),
        ("GET", "/invalid.json") => (
            200,
            "application/json",
            Bytes::from_static(
                b"{\n    \"id\": 42,\n    \"status\": \"my status\",\n    \"name\": \"test\"\n}\n",
            ),
        ),
        ("GET", "/wrong-type.json") => (200, "text/html", Bytes::from_static(b"<p>hi</p>")),
        ("POST", _) => (200, "application/json", body),
        _ => (404, "text/plain", Bytes::from_static(b"not found")),
    };
    let mut response = http::Response::new(Full::new(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or_default();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    Ok(response)
}

async fn upstream() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(answer))
                    .await;
            });
        }
    });
    Ok(port)
}

fn config(upstream_port: u16) -> String {
    let model = "model: json\n            catalog:\n              my_catalog:\n                - subject: my_subject";
    let responses = format!(
        "          responses:\n            - status: 200\n              content-type: [ application/json ]\n              content:\n                {}\n            - status: [ 401, 404 ]\n              content-type: [ text/plain ]\n              content:\n                model: string",
        model.replace("\n            ", "\n                ")
    );
    format!(
        r#"name: example
catalogs:
  my_catalog:
    type: inline
    options:
      subjects:
        my_subject:
          schema: |
            {{ "type": "object", "properties": {{ "id": {{ "type": "integer" }}, "status": {{ "type": "string" }} }},
              "required": [ "id", "status" ], "additionalProperties": false }}
bindings:
  north_tcp_server:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: {PORT} }}
    exit: north_http_server
  north_http_server:
    type: http
    kind: server
    options:
      access-control:
        policy: cross-origin
      requests:
        - path: /valid.json
          method: GET
          content-type: [ application/json ]
          content:
            {model}
        - path: /items
          method: POST
          content-type: [ application/json ]
          content:
            {model}
    exit: south_http_client
  south_http_client:
    type: http
    kind: client
    options:
      versions: [ http/1.1, h2 ]
      requests:
        - path: /valid.json
          method: GET
          content-type: [ application/json, text/plain ]
{responses}
        - path: /invalid.json
          method: GET
{responses}
        - path: /wrong-type.json
          method: GET
{responses}
        - path: /gone.json
          method: GET
{responses}
    exit: south_tcp_client
  south_tcp_client:
    type: tcp
    kind: client
    options: {{ host: 127.0.0.1, port: {upstream_port} }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_responses_that_do_not_fit_are_answered_502_with_the_reason() -> Result<()> {
    let port = upstream().await?;
    let sluice = Sluice::with_config(&config(port)).await?;
    let valid = sluice
        .send(PORT, Method::GET, "/valid.json", &[], "")
        .await?;
    assert_eq!(valid.status, StatusCode::OK, "{valid:?}");
    assert_eq!(
        valid.json()?,
        serde_json::json!({"id": 42, "status": "Active"})
    );
    // Zilla truncates this transfer; Sluice says what is wrong with it.
    let invalid = sluice
        .send(PORT, Method::GET, "/invalid.json", &[], "")
        .await?;
    assert_eq!(invalid.status, StatusCode::BAD_GATEWAY, "{invalid:?}");
    assert_eq!(invalid.headers["content-type"], "application/problem+json");
    let problem = invalid.json()?;
    assert_eq!(problem["code"], "upstream_invalid");
    assert!(
        problem["rule"]
            .as_str()
            .unwrap_or_default()
            .contains("additionalProperties"),
        "{problem}"
    );
    assert_eq!(problem["schema"]["subject"], "my_subject");
    let html = sluice
        .send(PORT, Method::GET, "/wrong-type.json", &[], "")
        .await?;
    assert_eq!(html.status, StatusCode::BAD_GATEWAY, "{html:?}");
    assert!(
        html.json()?["message"]
            .as_str()
            .unwrap_or_default()
            .contains("text/html")
    );
    // A 404 in text fits its own model and passes.
    let missing = sluice
        .send(PORT, Method::GET, "/gone.json", &[], "")
        .await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
    assert_eq!(&missing.body[..], b"not found");
    // Request bodies are checked before they are sent.
    let json = [("content-type", "application/json")];
    let posted = sluice
        .send(
            PORT,
            Method::POST,
            "/items",
            &json,
            r#"{"id": 1, "status": "new"}"#,
        )
        .await?;
    assert_eq!(posted.status, StatusCode::OK, "{posted:?}");
    let refused = sluice
        .send(
            PORT,
            Method::POST,
            "/items",
            &json,
            r#"{"id": "1", "status": "new"}"#,
        )
        .await?;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{refused:?}");
    assert_eq!(refused.json()?["pointer"], "/id");
    // A cross-origin client reads the problem too.
    let cors = sluice
        .send(
            PORT,
            Method::POST,
            "/items",
            &[
                ("content-type", "application/json"),
                ("origin", "http://app.example"),
            ],
            "{}",
        )
        .await?;
    assert_eq!(cors.status, StatusCode::BAD_REQUEST);
    assert!(
        cors.headers.contains_key("access-control-allow-origin"),
        "{cors:?}"
    );
    Ok(())
}
