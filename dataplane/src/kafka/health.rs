//! Health of the shared Kafka clients: which clients were replaced, and why.
//!
//! A librdkafka client can break for good while its process goes on: an idempotent producer
//! fenced or in a fatal idempotence state after a broker pause, a producer whose deliveries
//! keep timing out although the cluster answers again (a broker restarted without its
//! producer state), a consumer that reported a fatal error. The owners of the clients
//! (`producer`, `consumer`) detect these, replace the client with backoff, and count the
//! replacements here for `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use sluice_shared::sync::lock;

/// Replacements so far, by (cluster binding, client kind, reason class).
static REPLACED: Mutex<BTreeMap<(String, &'static str, &'static str), u64>> =
    Mutex::new(BTreeMap::new());

/// The first wait before a client is replaced again after a replacement.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two replacements of one client.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Counts one replacement of a `client` ("producer", "reply", "cache", "feed") of
/// `cluster`, for `reason` ("fatal", "stuck", "disconnected", "topic_gone").
pub(crate) fn count_replacement(cluster: &str, client: &'static str, reason: &'static str) {
    let mut replaced = lock(&REPLACED);
    *replaced
        .entry((cluster.to_owned(), client, reason))
        .or_default() += 1;
}

/// Replacements so far: (cluster, client, reason, count).
pub(crate) fn replacements() -> Vec<(String, &'static str, &'static str, u64)> {
    lock(&REPLACED)
        .iter()
        .map(|((cluster, client, reason), count)| (cluster.clone(), *client, *reason, *count))
        .collect()
}

/// Appends `sluice_kafka_clients_replaced_total` to `out`.
pub(crate) fn render(out: &mut String) {
    use std::fmt::Write as _;
    let replaced = lock(&REPLACED);
    out.push_str("# HELP sluice_kafka_clients_replaced_total Kafka clients replaced because they broke (fatal error, or writes failing while the cluster answers).\n");
    out.push_str("# TYPE sluice_kafka_clients_replaced_total counter\n");
    for ((cluster, client, reason), count) in replaced.iter() {
        out.push_str("sluice_kafka_clients_replaced_total{cluster=\"");
        crate::metrics::escape_into(out, cluster);
        let _ = writeln!(out, "\",client=\"{client}\",reason=\"{reason}\"}} {count}");
    }
}

/// The next backoff after `current`.
pub(crate) fn next_backoff(current: Duration) -> Duration {
    (current * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF)
}
