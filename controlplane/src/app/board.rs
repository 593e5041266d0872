//! The control plane's record of what runs: the live revision and when it was applied, the
//! last refused change, the separate data planes that follow, and the counts of applies and
//! refusals. `GET /v1/status` and `/metrics` read it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sluice_shared::sync::lock;

/// What the admin API reports in `/v1/status`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    /// The revision the data plane serves.
    pub live_revision: Option<u64>,
    /// When it was applied, milliseconds since the epoch.
    pub applied_ms: Option<u64>,
    /// The last refused change: when and why.
    pub last_rejected: Option<Rejected>,
    /// Separate data planes (`sluice dataplane`) following this control plane.
    pub data_planes: Vec<DataPlaneReport>,
}

/// What a separate data plane last said about itself when it polled for revisions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DataPlaneReport {
    /// Its `--id`.
    pub id: String,
    /// The revision it serves, if any.
    pub applied_revision: Option<u64>,
    /// Why the last revision it received did not apply there, if it did not.
    pub last_error: Option<String>,
    /// When it last polled, milliseconds since the epoch.
    pub last_seen_ms: u64,
    /// Whether it polled within the last 90 seconds (a poll waits at most 60).
    pub connected: bool,
}

/// A refused change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rejected {
    /// When, milliseconds since the epoch.
    pub time_ms: u64,
    /// Why.
    pub reason: String,
}

/// Data planes remembered at most; the longest silent is forgotten first.
const MAX_DATA_PLANES: usize = 1_000;
/// A data plane is shown as connected when it polled within this time.
const CONNECTED_WITHIN_MS: u64 = 90_000;

/// The status of one control plane, updated by changes and by data planes' polls.
pub(crate) struct StatusBoard {
    status: Mutex<Status>,
    data_planes: Mutex<BTreeMap<String, DataPlaneReport>>,
    /// Changes applied since start.
    applies: AtomicU64,
    /// Changes refused since start: invalid, or not applicable to the data plane.
    refusals: AtomicU64,
}

impl StatusBoard {
    /// A board whose live revision, applied now, is `live_revision`.
    pub(crate) fn new(live_revision: Option<u64>) -> Self {
        Self {
            status: Mutex::new(Status {
                live_revision,
                applied_ms: Some(now_ms()),
                last_rejected: None,
                data_planes: Vec::new(),
            }),
            data_planes: Mutex::default(),
            applies: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
        }
    }

    /// Live revision, when applied, last refusal, data planes.
    pub(crate) fn status(&self) -> Status {
        let mut status = lock(&self.status).clone();
        let now = now_ms();
        status.data_planes = lock(&self.data_planes)
            .values()
            .map(|report| DataPlaneReport {
                connected: now.saturating_sub(report.last_seen_ms) < CONNECTED_WITHIN_MS,
                ..report.clone()
            })
            .collect();
        status
    }

    /// Records what a separate data plane says about itself.
    pub(crate) fn report_data_plane(
        &self,
        id: String,
        applied_revision: Option<u64>,
        last_error: Option<String>,
    ) {
        let mut planes = lock(&self.data_planes);
        if !planes.contains_key(&id)
            && planes.len() >= MAX_DATA_PLANES
            && let Some(oldest) = planes
                .values()
                .min_by_key(|report| report.last_seen_ms)
                .map(|report| report.id.clone())
        {
            planes.remove(&oldest);
        }
        planes.insert(
            id.clone(),
            DataPlaneReport {
                id,
                applied_revision,
                last_error,
                last_seen_ms: now_ms(),
                connected: true,
            },
        );
    }

    /// Records a refused change.
    pub(crate) fn rejected(&self, reason: String) {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        lock(&self.status).last_rejected = Some(Rejected {
            time_ms: now_ms(),
            reason,
        });
    }

    /// Records that revision `number` now runs.
    pub(crate) fn applied(&self, number: u64) {
        self.applies.fetch_add(1, Ordering::Relaxed);
        let mut status = lock(&self.status);
        status.live_revision = Some(number);
        status.applied_ms = Some(now_ms());
    }

    /// Appends the configuration's series to `out`.
    pub(crate) fn render(&self, out: &mut String) {
        render_config_metrics(
            out,
            &self.status(),
            self.applies.load(Ordering::Relaxed),
            self.refusals.load(Ordering::Relaxed),
        );
    }
}

/// Appends the configuration's series: live revision, when applied, applies and refusals.
pub(crate) fn render_config_metrics(
    out: &mut String,
    status: &Status,
    applies: u64,
    refusals: u64,
) {
    use std::fmt::Write as _;
    let revision = status
        .live_revision
        .map_or(-1, |r| i64::try_from(r).unwrap_or(i64::MAX));
    let applied = status.applied_ms.map_or(0.0, |ms| ms as f64 / 1000.0);
    let _ = writeln!(
        out,
        "# HELP sluice_config_revision The revision the data plane serves (-1: none stored).\n# TYPE sluice_config_revision gauge\nsluice_config_revision {revision}\n# HELP sluice_config_applied_timestamp_seconds When the live configuration was applied.\n# TYPE sluice_config_applied_timestamp_seconds gauge\nsluice_config_applied_timestamp_seconds {applied}\n# HELP sluice_config_applies_total Configuration changes applied since start.\n# TYPE sluice_config_applies_total counter\nsluice_config_applies_total {applies}\n# HELP sluice_config_rejected_total Configuration changes refused since start (invalid, or not applicable).\n# TYPE sluice_config_rejected_total counter\nsluice_config_rejected_total {refusals}"
    );
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
