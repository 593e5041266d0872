//! Write marks: per (cluster, topic), the offset of the newest record this process wrote
//! and Kafka acknowledged, per partition. A fetch waits until the topic cache has read past
//! them, so that a `GET` answered after a `PUT` on the same instance sees that `PUT`
//! (read-your-writes), whatever the broker's fetch latency.
//!
//! The marks are process-wide: every producer records into the same [`WriteMarks`], and
//! every cache is compared against it, across configurations. A cluster is named by its
//! bootstrap servers, so two bindings that reach the same brokers share their marks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sluice_shared::sync::lock;

/// Newest acknowledged offset per partition, per topic.
type TopicMarks = HashMap<String, Vec<(i32, i64)>>;

/// Newest acknowledged offset per partition, per topic, per cluster (its bootstrap servers).
#[derive(Debug, Default)]
pub struct WriteMarks {
    by_cluster: Mutex<HashMap<Vec<String>, TopicMarks>>,
    /// Bumped by every mark that moves: 0 while nothing was written.
    version: AtomicU64,
}

impl WriteMarks {
    /// Records that Kafka acknowledged a record at `offset` of `partition` of `topic` on the
    /// cluster reached through `servers`. Allocates only for a topic not seen before.
    pub fn record(&self, servers: &[String], topic: &str, partition: i32, offset: i64) {
        if partition < 0 || offset < 0 {
            // Nothing to wait for: acks=0 reports no offset.
            return;
        }
        let mut by_cluster = lock(&self.by_cluster);
        let topics = match by_cluster.get_mut(servers) {
            Some(topics) => topics,
            None => by_cluster.entry(servers.to_vec()).or_default(),
        };
        let partitions = match topics.get_mut(topic) {
            Some(partitions) => partitions,
            None => topics.entry(topic.to_owned()).or_default(),
        };
        match partitions.iter_mut().find(|(p, _)| *p == partition) {
            Some((_, newest)) if *newest >= offset => return,
            Some((_, newest)) => *newest = offset,
            None => partitions.push((partition, offset)),
        }
        // Under the lock: a reader that sees this version sees the mark.
        self.version.fetch_add(1, Ordering::Release);
    }

    /// The marks' version: it moves whenever a mark does, and never goes back.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The marks of `topic` on `servers`: (partition, newest acknowledged offset); empty
    /// when this process wrote nothing there.
    pub fn of(&self, servers: &[String], topic: &str) -> Vec<(i32, i64)> {
        lock(&self.by_cluster)
            .get(servers)
            .and_then(|topics| topics.get(topic))
            .cloned()
            .unwrap_or_default()
    }
}

impl WriteMarks {
    /// Whether `positions` (next offset to read, per partition) lie past every mark of
    /// `topic` on `servers`, without copying the marks.
    pub fn passed(&self, servers: &[String], topic: &str, positions: &[(i32, i64)]) -> bool {
        lock(&self.by_cluster)
            .get(servers)
            .and_then(|topics| topics.get(topic))
            .is_none_or(|marks| passed(marks, positions))
    }
}

/// Whether `positions` (next offset to read, per partition) lie past every mark.
pub fn passed(marks: &[(i32, i64)], positions: &[(i32, i64)]) -> bool {
    marks.iter().all(|(partition, offset)| {
        positions
            .iter()
            .any(|(p, next)| p == partition && next > offset)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_offset_per_partition_and_cluster() {
        let a = ["a:9092".to_owned()];
        let b = ["b:9092".to_owned()];
        let marks = WriteMarks::default();
        marks.record(&a, "items", 0, 5);
        marks.record(&a, "items", 0, 3);
        marks.record(&a, "items", 2, 7);
        marks.record(&b, "items", 0, 100);
        marks.record(&a, "items", -1, -1);
        let mut of = marks.of(&a, "items");
        of.sort_unstable();
        assert_eq!(of, vec![(0, 5), (2, 7)]);
        assert_eq!(marks.of(&b, "items"), vec![(0, 100)]);
        assert!(marks.of(&a, "other").is_empty());
    }

    #[test]
    fn passed_needs_every_partition_read_past_its_mark() {
        let marks = [(0, 5), (2, 7)];
        assert!(!passed(&marks, &[(0, 6)]), "partition 2 not read");
        assert!(
            !passed(&marks, &[(0, 5), (2, 8)]),
            "offset 5 itself not read"
        );
        assert!(passed(&marks, &[(0, 6), (1, 0), (2, 8)]));
        assert!(passed(&[], &[]), "no marks: nothing to wait for");
    }

    #[test]
    fn the_marks_of_a_topic_are_checked_in_place() {
        let a = ["a:9092".to_owned()];
        let marks = WriteMarks::default();
        assert!(marks.passed(&a, "items", &[]), "nothing written");
        marks.record(&a, "items", 1, 4);
        assert!(!marks.passed(&a, "items", &[(1, 4)]));
        assert!(marks.passed(&a, "items", &[(0, 0), (1, 5)]));
        assert!(marks.passed(&a, "other", &[]), "another topic");
    }

    #[test]
    fn the_version_moves_only_with_a_mark() {
        let a = ["a:9092".to_owned()];
        let marks = WriteMarks::default();
        assert_eq!(marks.version(), 0, "nothing written");
        marks.record(&a, "items", 0, 4);
        assert_eq!(marks.version(), 1);
        marks.record(&a, "items", 0, 3);
        marks.record(&a, "items", 0, 4);
        marks.record(&a, "items", -1, -1);
        assert_eq!(marks.version(), 1, "no mark moved");
        marks.record(&a, "items", 0, 5);
        marks.record(&a, "other", 0, 0);
        assert_eq!(marks.version(), 3);
    }
}
