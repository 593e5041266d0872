//! TLS listeners end to end: ALPN to HTTP/1.1 and HTTP/2, produce over HTTPS, certificate
//! swaps under load (configuration change and in-place reload), and clear refusals of bad
//! certificate files.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use http::StatusCode;
use http_body_util::BodyExt;
use sluice_controlplane::ConfigSource;
use sluice_tests::load::{Load, h1, h2, post};
use sluice_tests::tls::{Issued, TestCa, alpn, with_tls};
use sluice_tests::{Sluice, broker, config};

const PORT: u16 = 8080;

fn routes(topic: &str) -> String {
    format!(
        "      - when: [ {{ method: POST, path: /items }} ]\n        exit: cache\n        with: {{ capability: produce, topic: {topic} }}"
    )
}

#[tokio::test]
async fn https_serves_http1_and_h2_chosen_by_alpn() -> Result<()> {
    let topic = broker().topic("tls-alpn").await?;
    let ca = TestCa::new()?;
    let issued = ca.issue("server")?;
    // The echo route answers only requests made with https, over either version.
    let text = config(PORT, "", &routes(&topic), "").replacen(
        "{ headers: { \":path\": /echo } }",
        "{ headers: { \":scheme\": https, \":path\": /echo } }",
        1,
    );
    assert!(text.contains(":scheme"));
    let sluice = Sluice::with_config(&with_tls(&text, &issued)?).await?;
    let addr = sluice.addr(PORT).await?;

    let (mut sender, certificate) = h2(&ca, addr).await?;
    let echo = sender.send_request(post("/echo", "h2 echo")?).await?;
    assert_eq!(echo.status(), StatusCode::OK);
    assert_eq!(certificate, issued.der);
    let response = sender.send_request(post("/items", "over h2")?).await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.version(), http::Version::HTTP_2);

    let (mut sender, _) = h1(&ca, addr).await?;
    let response = sender
        .send_request(post("/items", "over http/1.1")?)
        .await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.version(), http::Version::HTTP_11);
    let echo = sender.send_request(post("/echo", "echo me")?).await?;
    assert_eq!(echo.status(), StatusCode::OK);
    assert_eq!(echo.into_body().collect().await?.to_bytes(), "echo me");

    let records = broker().read(&topic, 2, Duration::from_secs(20)).await?;
    let values: Vec<_> = records.iter().map(|r| r.value.clone()).collect();
    assert!(values.contains(&Some(b"over h2".to_vec())), "{values:?}");
    assert!(
        values.contains(&Some(b"over http/1.1".to_vec())),
        "{values:?}"
    );

    // The certificate's expiry is a metric, for alerts before it runs out.
    let metrics = sluice.app.render_metrics();
    let expiry: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("sluice_tls_certificate_expiry_timestamp_seconds{binding=\"tls\"} ")
        })
        .context("no expiry series")?
        .parse()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    assert!(expiry > now, "{expiry}");

    // Plain HTTP on the TLS port gets no answer: the handshake fails and the connection closes.
    let plain = sluice
        .send(PORT, http::Method::POST, "/echo", &[], "x")
        .await;
    assert!(plain.is_err(), "{plain:?}");
    // A client that does not trust the authority refuses the certificate.
    let stranger = TestCa::new()?;
    assert!(stranger.connect(addr, &["h2"]).await.is_err());
    Ok(())
}

#[tokio::test]
async fn http1_only_server_offers_only_http1() -> Result<()> {
    let topic = broker().topic("tls-h1").await?;
    let ca = TestCa::new()?;
    let issued = ca.issue("server")?;
    let text = with_tls(
        &config(PORT, "versions: [ http/1.1 ]", &routes(&topic), ""),
        &issued,
    )?;
    let sluice = Sluice::with_config(&text).await?;
    let stream = ca
        .connect(sluice.addr(PORT).await?, &["h2", "http/1.1"])
        .await?;
    assert_eq!(alpn(&stream).as_deref(), Some("http/1.1"));
    Ok(())
}

/// Waits until fresh connections have seen `der` (or gives up after 10 s).
async fn until_seen(load: &Load, der: &[u8]) -> Result<()> {
    for _ in 0..100 {
        if load
            .certificates_seen()
            .iter()
            .rev()
            .take(5)
            .any(|c| c == der)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("new connections never presented the new certificate")
}

#[tokio::test]
async fn certificate_swaps_under_load_drop_no_request() -> Result<()> {
    let topic = broker().topic("tls-swap").await?;
    let ca = Arc::new(TestCa::new()?);
    let first = ca.issue("first")?;
    let second = ca.issue("second")?;
    let plain = config(PORT, "", &routes(&topic), "");
    let file = ca.path("sluice.yaml");
    std::fs::write(&file, with_tls(&plain, &first)?)?;
    let sluice = Sluice::start(ConfigSource::File(file.clone().into())).await?;
    let addr = sluice.addr(PORT).await?;
    let load = Load::start(&ca, addr, 4, 4);
    tokio::time::sleep(Duration::from_millis(700)).await;

    // 1. A configuration change names other files.
    std::fs::write(&file, with_tls(&plain, &second)?)?;
    sluice.app.reload().await?;
    until_seen(&load, &second.der).await?;

    // 2. The files are replaced in place (a renewal) and re-read (what SIGHUP does).
    let third = ca.issue("third")?;
    std::fs::copy(&third.certificate, &second.certificate)?;
    std::fs::copy(&third.key, &second.key)?;
    assert_eq!(sluice.app.reload_certificates(), Ok(1));
    until_seen(&load, &third.der).await?;

    // 3. A reload with a broken file changes nothing and says why.
    std::fs::write(&second.key, "not a key")?;
    let error = sluice
        .app
        .reload_certificates()
        .err()
        .context("a broken key reloaded")?
        .to_string();
    assert!(
        error.contains("holds no unencrypted private key"),
        "{error}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    let seen = load.certificates_seen();
    let (ok, failed) = load.stop().await;
    assert_eq!(
        failed, 0,
        "{failed} requests failed during the swaps ({ok} succeeded)"
    );
    assert!(ok > 100, "only {ok} requests ran");
    assert_eq!(
        seen.last(),
        Some(&third.der),
        "the broken reload replaced the certificate"
    );
    assert!(seen.contains(&first.der));
    Ok(())
}

#[tokio::test]
async fn bad_certificate_files_are_refused_with_their_reason() -> Result<()> {
    let topic = broker().topic("tls-bad").await?;
    let ca = TestCa::new()?;
    let good = ca.issue("good")?;
    let other = ca.issue("other")?;
    let plain = config(PORT, "", &routes(&topic), "");
    let missing = Issued {
        certificate: ca.path("missing.pem"),
        ..good.clone()
    };
    let mismatched = Issued {
        key: other.key.clone(),
        ..good.clone()
    };
    for (issued, reason) in [
        (&missing, "cannot read"),
        (&mismatched, "does not belong to the certificate"),
    ] {
        let error = Sluice::with_config(&with_tls(&plain, issued)?)
            .await
            .err()
            .context("sluice started with a bad certificate")?;
        let text = format!("{error:#}");
        assert!(
            text.contains(reason) && text.contains("/bindings/tls/options/"),
            "{text}"
        );
    }

    // A running Sluice keeps its listener and certificate when a change names a bad file.
    let file = ca.path("sluice.yaml");
    std::fs::write(&file, with_tls(&plain, &good)?)?;
    let sluice = Sluice::start(ConfigSource::File(file.clone().into())).await?;
    std::fs::write(&file, with_tls(&plain, &mismatched)?)?;
    let error = sluice
        .app
        .reload()
        .await
        .err()
        .context("bad change applied")?;
    assert!(error.to_string().contains("does not belong"), "{error}");
    let (mut sender, certificate) = h2(&ca, sluice.addr(PORT).await?).await?;
    assert_eq!(certificate, good.der);
    assert_eq!(
        sender
            .send_request(post("/items", "still served")?)
            .await?
            .status(),
        StatusCode::NO_CONTENT
    );
    Ok(())
}
