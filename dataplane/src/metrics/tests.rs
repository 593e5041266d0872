use super::*;

#[test]
fn a_route_counts_statuses_and_cumulative_buckets() {
    let stats = RouteStats::new(
        labels("items", Some(0), "fetch"),
        RouteName::new("items", Some(0), "fetch"),
    );
    stats.observe(200, Duration::from_micros(500));
    stats.observe(200, Duration::from_millis(30));
    stats.observe(599, Duration::from_secs(400));
    let metrics = Metrics::default();
    metrics
        .routes
        .lock()
        .unwrap()
        .insert(stats.labels.clone(), Arc::new(stats));
    let mut out = String::new();
    metrics.render(&mut out, &[("cache", "t\"1", 3)], 2);
    let line = |prefix: &str| {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix} in\n{out}"))
            .to_owned()
    };
    let labels = r#"binding="items",route="0",kind="fetch""#;
    assert!(
        line(&format!(
            "sluice_http_requests_total{{{labels},status=\"200\"}}"
        ))
        .ends_with(" 2")
    );
    assert!(
        line(&format!(
            "sluice_http_requests_total{{{labels},status=\"other\"}}"
        ))
        .ends_with(" 1")
    );
    let bucket = |le: &str| {
        line(&format!(
            "sluice_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}}"
        ))
    };
    assert!(bucket("0.001").ends_with(" 1"));
    assert!(bucket("0.025").ends_with(" 1"));
    assert!(bucket("0.05").ends_with(" 2"));
    assert!(
        bucket("300").ends_with(" 2"),
        "400 s is beyond the last bound"
    );
    assert!(bucket("+Inf").ends_with(" 3"));
    assert!(line("sluice_reply_waiters ").ends_with(" 2"));
    assert!(line("sluice_kafka_consumer_lag{").contains(r#"topic="t\"1""#));
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(
        labels("a\"b\\c\nd", None, "unrouted"),
        r#"binding="a\"b\\c\nd",route="",kind="unrouted""#
    );
}
