//! Hot swap of the configuration: new routes and listeners appear, bad files are refused
//! and the running configuration stays.

use std::time::Duration;

use anyhow::Result;
use http::{Method, StatusCode};
use sluice_controlplane::ConfigSource;
use sluice_tests::{Sluice, broker, config};

const PORT: u16 = 8080;

fn route(path: &str, topic: &str) -> String {
    format!(
        "      - when: [ {{ method: POST, path: \"{path}\" }} ]\n        exit: cache\n        with: {{ capability: produce, topic: {topic} }}"
    )
}

struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(text: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "sluice-reload-{}.yaml",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&path, text)?;
        Ok(Self(path))
    }

    fn write(&self, text: &str) -> Result<()> {
        Ok(std::fs::write(&self.0, text)?)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn reload_swaps_routes_and_keeps_the_old_table_on_a_bad_file() -> Result<()> {
    let topic = broker().topic("reload").await?;
    let file = TempFile::new(&config(PORT, "", &route("/v1", &topic), ""))?;
    let sluice = Sluice::start(ConfigSource::File(file.0.clone())).await?;
    assert_eq!(
        sluice
            .send(PORT, Method::POST, "/v1", &[], "one")
            .await?
            .status,
        StatusCode::NO_CONTENT
    );

    file.write(&config(PORT, "", &route("/v2", &topic), ""))?;
    sluice.app.reload().await?;
    assert_eq!(
        sluice
            .send(PORT, Method::POST, "/v2", &[], "two")
            .await?
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sluice
            .send(PORT, Method::POST, "/v1", &[], "gone")
            .await?
            .status,
        StatusCode::NOT_FOUND
    );

    file.write(&config(PORT, "", &route("/v3/{broken", &topic), ""))?;
    let refused = sluice
        .app
        .reload()
        .await
        .expect_err("a bad file must be refused");
    assert!(
        refused
            .to_string()
            .contains("/bindings/mapping/routes/0/when/0/path"),
        "{refused}"
    );
    assert_eq!(
        sluice
            .send(PORT, Method::POST, "/v2", &[], "three")
            .await?
            .status,
        StatusCode::NO_CONTENT,
        "the previous configuration keeps serving"
    );

    let records = broker().read(&topic, 3, Duration::from_secs(20)).await?;
    let values: Vec<&[u8]> = records.iter().filter_map(|r| r.value.as_deref()).collect();
    assert_eq!(values, vec![&b"one"[..], b"two", b"three"]);
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn reload_binds_added_listeners_and_closes_removed_ones() -> Result<()> {
    let topic = broker().topic("listeners").await?;
    let file = TempFile::new(&config(PORT, "", &route("/a", &topic), ""))?;
    let sluice = Sluice::start(ConfigSource::File(file.0.clone())).await?;
    let old_addr = sluice.addr(PORT).await?;

    file.write(&config(9090, "", &route("/a", &topic), ""))?;
    sluice.app.reload().await?;
    assert_eq!(
        sluice
            .send(9090, Method::POST, "/a", &[], "x")
            .await?
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(
        sluice.addr(PORT).await.is_err(),
        "listener 8080 should be gone"
    );
    // The old socket no longer accepts new connections.
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(old_addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        refused,
        "removed listener {old_addr} still accepts connections"
    );
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn requests_in_flight_finish_during_graceful_shutdown() -> Result<()> {
    // A produce to an unreachable broker takes the whole message timeout: a request that is
    // surely still in flight when shutdown starts.
    let closed = sluice_tests::closed_port()?;
    let text = config(
        PORT,
        "",
        &route("/slow", "slow"),
        r#""message.timeout.ms": "1000""#,
    )
    .replace(broker().bootstrap(), &format!("127.0.0.1:{closed}"));
    let sluice = Sluice::with_config(&text).await?;
    let addr = sluice.addr(PORT).await?;
    let Sluice { app, .. } = sluice;
    let client = Sluice::client();
    let in_flight = tokio::spawn(async move {
        let request = http::Request::post(format!("http://{addr}/slow"))
            .body(http_body_util::Full::new(bytes::Bytes::from("x")))?;
        anyhow::Ok(client.request(request).await?.status())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.shutdown(Duration::from_secs(5)).await;
    let status = in_flight.await??;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the in-flight request must get its answer"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no new connections after shutdown"
    );
    Ok(())
}

#[tokio::test]
async fn h2c_prior_knowledge_requests_are_served() -> Result<()> {
    let topic = broker().topic("h2c").await?;
    let sluice = Sluice::with_config(&config(PORT, "", &route("/h2", &topic), "")).await?;
    let addr = sluice.addr(PORT).await?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let request = http::Request::post(format!("http://{addr}/h2"))
        .body(http_body_util::Full::new(bytes::Bytes::from("over h2")))?;
    let response = client.request(request).await?;
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let records = broker().read(&topic, 1, Duration::from_secs(20)).await?;
    assert_eq!(records[0].value.as_deref(), Some(&b"over h2"[..]));
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
