//! Readiness: whether the Kafka clusters the live routes need can take writes and answer.
//!
//! Asked through clients Sluice already has (a cluster no route uses is not asked); the
//! answer is kept for [`PROBE_TIMEOUT`], so that probes cannot flood a cluster.

use sluice_shared::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_shared::table::KafkaCluster;

use crate::kafka::ClientError;
use crate::snapshot::Snapshot;

/// How long a probe waits for a cluster, and how long its answer is kept.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the data plane is not ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// A producer of the cluster is broken or has only failed writes since its last delivery.
    #[error("kafka cluster '{cluster}' ({servers}) cannot take writes: {reason}")]
    CannotWrite {
        /// The kafka binding.
        cluster: String,
        /// Its bootstrap servers.
        servers: String,
        /// The producer's last error.
        reason: ClientError,
    },
    /// The cluster did not answer a metadata request in time.
    #[error("kafka cluster '{cluster}' ({servers}) does not answer: {reason}")]
    NoAnswer {
        /// The kafka binding.
        cluster: String,
        /// Its bootstrap servers.
        servers: String,
        /// What the client said.
        reason: ClientError,
    },
}

type Probe = Box<dyn FnOnce() -> Result<(), ClientError> + Send>;

/// The last probe's time and answer.
#[derive(Default)]
pub(crate) struct KafkaProbe {
    last: Mutex<Option<(Instant, Result<(), NotReady>)>>,
}

impl KafkaProbe {
    /// Whether every cluster `snapshot` uses can take writes and answers within
    /// [`PROBE_TIMEOUT`]; a recent answer is reused.
    pub(crate) async fn check(&self, snapshot: Arc<Snapshot>) -> Result<(), NotReady> {
        if let Some((at, result)) = lock(&self.last).as_ref()
            && at.elapsed() < PROBE_TIMEOUT
        {
            return result.clone();
        }
        let result = check_clusters(&snapshot).await;
        {
            let mut last = lock(&self.last);
            *last = Some((Instant::now(), result.clone()));
        }
        result
    }
}

async fn check_clusters(snapshot: &Snapshot) -> Result<(), NotReady> {
    for (index, cluster) in snapshot.table.clusters.iter().enumerate() {
        // Writes failing now say more than a metadata answer: a broker can answer metadata
        // while refusing or timing out every record.
        let writes = (0..3)
            .filter_map(|slot| snapshot.producers.by_slot(index, slot))
            .try_for_each(|producer| producer.writable());
        if let Err(reason) = writes {
            return Err(NotReady::CannotWrite {
                cluster: cluster.binding.clone(),
                servers: servers(cluster),
                reason,
            });
        }
        let Some(probe) = probe_for(snapshot, index) else {
            continue;
        };
        let answer = tokio::task::spawn_blocking(probe)
            .await
            .unwrap_or_else(|e| Err(ClientError::Task(e.to_string())));
        if let Err(reason) = answer {
            return Err(NotReady::NoAnswer {
                cluster: cluster.binding.clone(),
                servers: servers(cluster),
                reason,
            });
        }
    }
    Ok(())
}

/// A metadata request through any client of cluster `index`: a producer, else a cache or
/// feed consumer.
fn probe_for(snapshot: &Snapshot, index: usize) -> Option<Probe> {
    if let Some(producer) = snapshot.producers.any(index) {
        let producer = producer.clone();
        return Some(Box::new(move || producer.probe(PROBE_TIMEOUT)));
    }
    if let Some((_, _, cache)) = snapshot.caches.iter().find(|(c, _, _)| *c == index) {
        let cache = cache.clone();
        return Some(Box::new(move || cache.probe(PROBE_TIMEOUT)));
    }
    if let Some((_, _, feed)) = snapshot.feeds.iter().find(|(c, _, _)| *c == index) {
        let feed = feed.clone();
        return Some(Box::new(move || feed.probe(PROBE_TIMEOUT)));
    }
    None
}

fn servers(cluster: &KafkaCluster) -> String {
    cluster.servers.join(",")
}
