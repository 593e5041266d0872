//! Events written on standard output when the configuration has a `stdout` exporter, one
//! line each, in the shape of Zilla's stdout exporter (and sent as OTLP log records when an
//! `otlp` exporter sends logs):
//!
//! ```text
//! <namespace>:<binding> [03/Dec/2026:16:02:11 +0000] <EVENT_NAME> <message>
//! ```
//!
//! Events: `HTTP_REQUEST_ACCEPTED` (every answered request: identity, method, URL and
//! status), `JWT_AUTHORIZATION_FAILED` (a token a guard refused, and why), and
//! `KAFKA_PRODUCE_FAILED` (a record Kafka did not take). The request path never waits for
//! standard output: lines go through a bounded queue to a writer task, and a line that
//! finds the queue full is dropped and counted (`sluice_events_dropped_total`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry_sdk::logs::SdkLogger;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;

/// Lines queued for standard output before new ones are dropped.
const QUEUE: usize = 4096;

/// Events dropped because standard output did not keep up, across configurations.
pub(crate) static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Where a configuration's events go; does nothing when it has neither a `stdout` nor an
/// `otlp` exporter with logs.
#[derive(Clone, Default)]
pub(crate) struct Events {
    out: Option<Arc<Out>>,
}

struct Out {
    namespace: Box<str>,
    lines: Option<mpsc::Sender<String>>,
    loggers: Vec<SdkLogger>,
    /// Keeps the OTLP exporters running while this configuration is live.
    _otlp: Arc<dyn std::any::Any + Send + Sync>,
}

impl Events {
    /// Events of the namespace `namespace`, written to standard output when `stdout`, and
    /// sent as log records to `loggers`; `otlp` (their exporters) is kept running as long as
    /// these events are.
    pub(crate) fn new(
        namespace: &str,
        stdout: bool,
        loggers: Vec<SdkLogger>,
        otlp: Arc<dyn std::any::Any + Send + Sync>,
    ) -> Self {
        if !stdout && loggers.is_empty() {
            return Self::default();
        }
        let lines = stdout.then(|| {
            let (lines, mut queued) = mpsc::channel::<String>(QUEUE);
            tokio::spawn(async move {
                let mut stdout = tokio::io::stdout();
                while let Some(line) = queued.recv().await {
                    if stdout.write_all(line.as_bytes()).await.is_err() {
                        break;
                    }
                    let _ = stdout.flush().await;
                }
            });
            lines
        });
        Self {
            out: Some(Arc::new(Out {
                namespace: namespace.into(),
                lines,
                loggers,
                _otlp: otlp,
            })),
        }
    }

    /// Whether events are written; callers skip building a message when not.
    pub(crate) fn enabled(&self) -> bool {
        self.out.is_some()
    }

    /// Writes one event of `binding`.
    pub(crate) fn emit(&self, binding: &str, name: &'static str, message: std::fmt::Arguments<'_>) {
        let Some(out) = &self.out else {
            return;
        };
        let now = SystemTime::now();
        if let Some(lines) = &out.lines {
            let mut line = String::with_capacity(128);
            let _ = write!(line, "{}:{binding} [", out.namespace);
            clf_time(&mut line, now);
            let _ = writeln!(line, "] {name} {message}");
            if lines.try_send(line).is_err() {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
        for logger in &out.loggers {
            let mut record = logger.create_log_record();
            record.set_event_name(name);
            record.set_timestamp(now);
            record.set_severity_number(Severity::Info);
            record.set_body(AnyValue::from(message.to_string()));
            record.add_attribute("binding", binding.to_owned());
            record.add_attribute("namespace", out.namespace.to_string());
            logger.emit(record);
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `dd/Mon/yyyy:HH:MM:SS +0000`, the common log format's time, in UTC.
fn clf_time(out: &mut String, at: SystemTime) {
    let seconds = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let (year, month, day) = civil_from_days(days);
    let of_day = seconds % 86_400;
    let _ = write!(
        out,
        "{day:02}/{}/{year:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[usize::try_from(month - 1).unwrap_or(0)],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
}

/// Year, month (1-12) and day of the month of `days` since 1970-01-01 (proleptic
/// Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn times_are_written_in_the_common_log_format() {
        let mut out = String::new();
        // 2026-12-03T16:02:11Z
        clf_time(&mut out, UNIX_EPOCH + Duration::from_secs(1_796_313_731));
        assert_eq!(out, "03/Dec/2026:16:02:11 +0000");
        out.clear();
        // 2024-02-29T00:00:00Z, a leap day
        clf_time(&mut out, UNIX_EPOCH + Duration::from_secs(1_709_164_800));
        assert_eq!(out, "29/Feb/2024:00:00:00 +0000");
        out.clear();
        clf_time(&mut out, UNIX_EPOCH);
        assert_eq!(out, "01/Jan/1970:00:00:00 +0000");
    }
}
