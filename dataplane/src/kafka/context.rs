//! The librdkafka client context every shared client uses: errors logged once and kept for
//! readiness, statistics, and whether every broker is down.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sluice_shared::sync::lock;

/// Logs librdkafka's errors through tracing, leaving out the partition-EOF events the shared
/// consumers ask for (they mean "caught up", not trouble); keeps the consumer lag of the
/// last statistics report.
pub(crate) struct QuietContext {
    /// Summed over partitions; -1 until known.
    lag: std::sync::atomic::AtomicI64,
    /// librdkafka reported every broker down since this was last taken.
    brokers_down: std::sync::atomic::AtomicBool,
    /// The last error librdkafka reported, and when.
    last_error: std::sync::Mutex<Option<(std::time::Instant, String)>>,
}

/// How long a client error stays in readiness answers.
const RECENT_ERROR: Duration = Duration::from_secs(60);

impl QuietContext {
    pub(crate) fn new() -> Self {
        Self {
            lag: std::sync::atomic::AtomicI64::new(-1),
            brokers_down: std::sync::atomic::AtomicBool::new(false),
            last_error: std::sync::Mutex::new(None),
        }
    }

    /// The last error librdkafka reported in the last minute (an authentication or TLS
    /// failure, an unreachable broker), for readiness answers.
    pub(crate) fn recent_error(&self) -> Option<String> {
        let last = lock(&self.last_error);
        last.as_ref()
            .filter(|(at, _)| at.elapsed() < RECENT_ERROR)
            .map(|(_, message)| message.clone())
    }

    /// `error` from a probe, with the client's recent error when there is one.
    pub(crate) fn explain(&self, error: &KafkaError) -> String {
        match self.recent_error() {
            Some(recent) => format!("{error}; last client error: {recent}"),
            None => error.to_string(),
        }
    }

    /// Whether librdkafka reported every broker down since the last call.
    pub(crate) fn take_brokers_down(&self) -> bool {
        self.brokers_down
            .swap(false, std::sync::atomic::Ordering::AcqRel)
    }

    /// The consumer lag of the last statistics report.
    pub(crate) fn lag(&self) -> Option<i64> {
        let lag = self.lag.load(std::sync::atomic::Ordering::Relaxed);
        (lag >= 0).then_some(lag)
    }
}

impl ClientContext for QuietContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    /// The bearer token of an `oauthbearer` client: the token its inline guard holds,
    /// which Sluice passes as `sasl.oauthbearer.config`. librdkafka asks again before the
    /// token's `exp` (or an hour when it has none).
    fn generate_oauth_token(
        &self,
        config: Option<&str>,
    ) -> Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
        let token = config
            .filter(|t| !t.is_empty())
            .ok_or("no oauthbearer token")?;
        Ok(super::oauth::token(token, std::time::SystemTime::now()))
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF) {
            return;
        }
        tracing::warn!(error = %error, reason, "kafka client error");
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.brokers_down
                .store(true, std::sync::atomic::Ordering::Release);
        }
        {
            let mut last = lock(&self.last_error);
            // "All brokers are down" follows the error that says why (a refused TLS
            // handshake or SASL exchange): keep that one.
            let summary = error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown);
            let recent = last
                .as_ref()
                .is_some_and(|(at, _)| at.elapsed() < RECENT_ERROR);
            if !(summary && recent) {
                *last = Some((std::time::Instant::now(), reason.to_owned()));
            }
        }
    }

    fn stats(&self, statistics: rdkafka::Statistics) {
        // The shared consumers commit nothing, so librdkafka's own `consumer_lag` (against
        // the committed offset) means nothing here: the lag is the partition end minus the
        // offset after the last record handed to Sluice. Partition -1 is librdkafka's
        // internal "unassigned" partition; negative offsets are unknown.
        let lags = statistics
            .topics
            .values()
            .flat_map(|topic| topic.partitions.values())
            .filter(|p| p.partition >= 0 && p.hi_offset >= 0 && p.app_offset >= 0)
            .map(|p| (p.hi_offset - p.app_offset).max(0));
        let (mut sum, mut known) = (0i64, false);
        for lag in lags {
            sum = sum.saturating_add(lag);
            known = true;
        }
        if known {
            self.lag.store(sum, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl ConsumerContext for QuietContext {}

/// A [`QuietContext`] the client's owner keeps a handle on (producers).
pub(crate) struct SharedContext(pub(crate) Arc<QuietContext>);

impl ClientContext for SharedContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        config: Option<&str>,
    ) -> Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
        self.0.generate_oauth_token(config)
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.0.error(error, reason);
    }
}
