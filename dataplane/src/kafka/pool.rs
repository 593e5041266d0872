//! The producers of a configuration, shared across configurations with the same cluster
//! settings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sluice_shared::spec::Acks;
use sluice_shared::sync::lock;
use sluice_shared::table::KafkaCluster;

use super::client::ClientError;
use super::client::{ClientIdentity, producer_identity};
use super::marks::WriteMarks;
use super::producer::{self, Producer};

#[derive(Clone, PartialEq, Eq, Hash)]
struct ProducerKey {
    cluster: ClientIdentity,
    acks: Acks,
}

/// The producers of one applied configuration, by cluster index and acks level.
#[derive(Debug, Default)]
pub struct Producers {
    by_cluster: Vec<[Option<Arc<Producer>>; 3]>,
    marks: Arc<WriteMarks>,
}

fn acks_slot(acks: Acks) -> usize {
    match acks {
        Acks::None => 0,
        Acks::LeaderOnly => 1,
        Acks::InSyncReplicas => 2,
    }
}

impl Producers {
    /// The producer for `cluster` and `acks`, if the configuration needs one.
    pub fn get(&self, cluster: usize, acks: Acks) -> Option<&Arc<Producer>> {
        self.by_cluster.get(cluster)?[acks_slot(acks)].as_ref()
    }

    /// The producer of `cluster` in acks slot `slot` (0 to 2), if any.
    pub(crate) fn by_slot(&self, cluster: usize, slot: usize) -> Option<&Arc<Producer>> {
        self.by_cluster.get(cluster)?.get(slot)?.as_ref()
    }

    /// The writes every producer of this process had acknowledged.
    pub fn marks(&self) -> &WriteMarks {
        &self.marks
    }

    /// Any producer of `cluster`.
    pub fn any(&self, cluster: usize) -> Option<&Arc<Producer>> {
        self.by_cluster.get(cluster)?.iter().flatten().next()
    }
}

/// Creates producers and keeps them across configurations with the same cluster settings.
#[derive(Default)]
pub struct ProducerPool {
    live: Mutex<HashMap<ProducerKey, Arc<Producer>>>,
    marks: Arc<WriteMarks>,
}

impl ProducerPool {
    /// The producers `uses` asks for (cluster index, acks), reusing existing ones. Producers
    /// no longer asked for are released once the last request holding them ends.
    pub fn attach(
        &self,
        clusters: &[KafkaCluster],
        uses: impl IntoIterator<Item = (usize, Acks)>,
    ) -> Result<Producers, ClientError> {
        let mut live = lock(&self.live);
        let mut next: HashMap<ProducerKey, Arc<Producer>> = HashMap::new();
        let mut producers = Producers {
            by_cluster: vec![Default::default(); clusters.len()],
            marks: self.marks.clone(),
        };
        for (index, acks) in uses {
            let cluster = clusters.get(index).ok_or(ClientError::UnknownCluster)?;
            let key = ProducerKey {
                cluster: producer_identity(cluster),
                acks,
            };
            let producer = match next.get(&key).or_else(|| live.get(&key)) {
                Some(existing) => existing.clone(),
                None => Arc::new(producer::create(cluster, acks, self.marks.clone())?),
            };
            next.insert(key, producer.clone());
            producers.by_cluster[index][acks_slot(acks)] = Some(producer);
        }
        *live = next;
        Ok(producers)
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;

    #[test]
    fn bad_properties_are_refused_with_the_binding_name() {
        let cluster = KafkaCluster {
            binding: "south".to_owned(),
            servers: vec!["127.0.0.1:1".to_owned()],
            properties: [("no.such.property".to_owned(), "1".to_owned())]
                .into_iter()
                .collect(),
            topics: Vec::new(),
            cache_max_bytes: sluice_shared::table::DEFAULT_CACHE_MAX_BYTES,
            security: Default::default(),
        };
        let error = ProducerPool::default()
            .attach(std::slice::from_ref(&cluster), [(0, Acks::LeaderOnly)])
            .expect_err("unknown property")
            .to_string();
        assert!(error.contains("kafka client 'south'"), "{error}");
        assert!(error.contains("no.such.property"), "{error}");
    }

    #[test]
    fn producers_are_shared_across_configurations_with_the_same_cluster() {
        let cluster = KafkaCluster {
            binding: "south".to_owned(),
            servers: vec!["127.0.0.1:1".to_owned()],
            properties: IndexMap::new(),
            topics: Vec::new(),
            cache_max_bytes: sluice_shared::table::DEFAULT_CACHE_MAX_BYTES,
            security: Default::default(),
        };
        let pool = ProducerPool::default();
        let first = pool
            .attach(std::slice::from_ref(&cluster), [(0, Acks::LeaderOnly)])
            .expect("attach");
        let second = pool
            .attach(
                std::slice::from_ref(&cluster),
                [(0, Acks::LeaderOnly), (0, Acks::LeaderOnly)],
            )
            .expect("attach");
        let (a, b) = (
            first.get(0, Acks::LeaderOnly).expect("a"),
            second.get(0, Acks::LeaderOnly).expect("b"),
        );
        assert!(Arc::ptr_eq(a, b), "the same producer must be reused");
        assert!(second.get(0, Acks::None).is_none());
    }
}
