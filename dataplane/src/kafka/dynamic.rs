//! Feeds and caches of topics named by the request (`sse-kafka` and fetch routes with
//! `topic: ${params.topic}`): opened on the first request for a topic, shared by every
//! request for it, and retired once none has used it for a while. Each route may have at
//! most its `max-topics` open.
//!
//! A topic the cluster does not have is refused (the caller answers 404) without being
//! created: the feed's consumer reads metadata without asking for automatic creation.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_shared::sync::lock;
use sluice_shared::table::KafkaCluster;
use tokio::sync::OnceCell;
use tracing::info;

use super::cache::TopicCache;
use super::client::{ClientError, ClientIdentity, consumer_identity};
use super::feed::TopicFeed;

/// How often idle feeds are looked for by default; a feed unused for two sweeps in a row
/// is retired.
pub(crate) const SWEEP: Duration = Duration::from_secs(30);

type Key = (ClientIdentity, String);

/// The feeds (SSE) and caches (fetch) of topics named by requests.
pub(crate) struct Dynamic {
    pub feeds: Arc<DynamicTopics<TopicFeed>>,
    pub caches: Arc<DynamicTopics<TopicCache>>,
}

impl Dynamic {
    /// Both sets, swept every `sweep`.
    pub(crate) fn start(sweep: Duration) -> Arc<Self> {
        Arc::new(Self {
            feeds: DynamicTopics::start(sweep),
            caches: DynamicTopics::start(sweep),
        })
    }

    /// How many feeds and caches are open.
    pub(crate) fn len(&self) -> usize {
        self.feeds.len() + self.caches.len()
    }
}

/// One topic's view, started once.
struct Entry<T> {
    feed: Arc<OnceCell<Arc<T>>>,
    /// Unused at the last sweep.
    idle: bool,
}

/// The views (feeds or caches) opened on demand, across configurations.
pub(crate) struct DynamicTopics<T> {
    entries: Mutex<HashMap<Key, Entry<T>>>,
    /// The topics each route (by fingerprint) has open.
    by_route: Mutex<HashMap<u64, HashSet<Key>>>,
}

/// Why a feed could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// The route already streams `limit` topics.
    #[error("this route already streams {limit} topics (its max-topics)")]
    TooMany {
        /// The route's bound.
        limit: usize,
    },
    /// The topic does not exist.
    #[error("no topic '{0}' on the kafka cluster")]
    NoTopic(String),
    /// The feed could not start.
    #[error(transparent)]
    Client(ClientError),
}

impl OpenError {
    /// What the HTTP client is told: 404 for a topic the cluster lacks, 503 past the
    /// route's bound or while the topic cannot be read.
    pub(crate) fn into_error(self, topic: &str) -> crate::error::DataPlaneError {
        use crate::error::DataPlaneError;
        match self {
            Self::NoTopic(topic) => DataPlaneError::NoTopic(topic),
            Self::TooMany { limit } => DataPlaneError::TooManyTopics { limit },
            Self::Client(error) => DataPlaneError::CacheLoading {
                topic: format!("{topic} ({error})"),
            },
        }
    }
}

impl<T: Send + Sync + 'static> DynamicTopics<T> {
    /// An empty set, and the task that looks for idle views every `sweep` while the set is
    /// alive.
    pub(crate) fn start(sweep: Duration) -> Arc<Self> {
        let feeds = Arc::new(Self {
            entries: Mutex::new(HashMap::new()),
            by_route: Mutex::new(HashMap::new()),
        });
        let weak = Arc::downgrade(&feeds);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(sweep).await;
                let Some(feeds) = weak.upgrade() else { break };
                feeds.sweep();
            }
        });
        feeds
    }

    /// The view of `topic` on `cluster` for the route `route` (a stable key), started with
    /// `start` when new; the route may have at most `limit` topics open.
    pub(crate) async fn open(
        &self,
        cluster: &KafkaCluster,
        topic: &str,
        route: u64,
        limit: usize,
        start: impl AsyncFn(&KafkaCluster, &str) -> Result<T, ClientError>,
    ) -> Result<Arc<T>, OpenError> {
        let key: Key = (consumer_identity(cluster), topic.to_owned());
        {
            let mut by_route = lock(&self.by_route);
            let open = by_route.entry(route).or_default();
            if !open.contains(&key) && open.len() >= limit {
                return Err(OpenError::TooMany { limit });
            }
            open.insert(key.clone());
        }
        let cell = {
            let mut entries = lock(&self.entries);
            let entry = entries.entry(key.clone()).or_insert_with(|| Entry {
                feed: Arc::new(OnceCell::new()),
                idle: false,
            });
            entry.idle = false;
            entry.feed.clone()
        };
        let started = cell
            .get_or_try_init(|| async {
                let view = start(cluster, topic).await?;
                info!(topic, "topic opened on demand");
                Ok::<_, ClientError>(Arc::new(view))
            })
            .await;
        match started {
            Ok(feed) => Ok(feed.clone()),
            Err(error) => {
                self.forget(&key);
                if error.is_no_topic() {
                    Err(OpenError::NoTopic(topic.to_owned()))
                } else {
                    Err(OpenError::Client(error))
                }
            }
        }
    }

    /// Retires feeds no stream held at this sweep and the last one.
    fn sweep(&self) {
        let mut retired = Vec::new();
        {
            let mut entries = lock(&self.entries);
            entries.retain(|key, entry| {
                // Held only by this set: no stream reads it.
                let unused = entry
                    .feed
                    .get()
                    .is_none_or(|feed| Arc::strong_count(feed) == 1);
                if !unused {
                    entry.idle = false;
                    return true;
                }
                if entry.idle {
                    retired.push(key.clone());
                    return false;
                }
                entry.idle = true;
                true
            });
        }
        for key in &retired {
            info!(topic = %key.1, "idle topic retired");
        }
        let mut by_route = lock(&self.by_route);
        for open in by_route.values_mut() {
            open.retain(|key| !retired.contains(key));
        }
        by_route.retain(|_, open| !open.is_empty());
    }

    fn forget(&self, key: &Key) {
        lock(&self.entries).remove(key);
        for open in lock(&self.by_route).values_mut() {
            open.remove(key);
        }
    }

    /// How many feeds are open.
    pub(crate) fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}
