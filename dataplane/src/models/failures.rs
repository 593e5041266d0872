//! Payloads and records that did not fit their models: counted by direction, model and
//! where the model is configured, and logged once per model and reason.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Mutex;

use sluice_shared::table::models::ModelBinding;

/// Most distinct reasons remembered for logging once; past it, every failure is logged at
/// debug level only.
const MAX_REMEMBERED: usize = 1024;

/// Counters and the log-once memory, across configurations.
#[derive(Default)]
pub(crate) struct ModelFailures {
    counts: Mutex<HashMap<(&'static str, &'static str, String), u64>>,
    logged: Mutex<HashSet<(String, String)>>,
}

impl ModelFailures {
    /// Counts one failure in `direction` (`in`: to Kafka, `out`: from Kafka).
    pub(crate) fn count(&self, direction: &'static str, binding: &ModelBinding) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *counts
            .entry((direction, binding.kind.as_str(), binding.pointer.clone()))
            .or_default() += 1;
    }

    /// Counts one failure and logs it the first time this model fails for this reason.
    pub(crate) fn note(&self, direction: &'static str, binding: &ModelBinding, reason: &str) {
        self.count(direction, binding);
        let first = {
            let mut logged = self
                .logged
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            logged.len() < MAX_REMEMBERED
                && logged.insert((binding.pointer.clone(), reason.to_owned()))
        };
        let what = if direction == "out" {
            "a record from kafka"
        } else {
            "a payload to kafka"
        };
        if first {
            tracing::warn!(model = binding.kind.as_str(), at = %binding.pointer, reason, "{what} does not fit its model (logged once per model and reason)");
        } else {
            tracing::debug!(model = binding.kind.as_str(), at = %binding.pointer, reason, "{what} does not fit its model");
        }
    }

    /// The counters in the Prometheus text format.
    pub(crate) fn render(&self, out: &mut String) {
        out.push_str("# HELP sluice_model_failures_total Payloads (in) and records (out) that did not fit their model, by where the model is configured.\n# TYPE sluice_model_failures_total counter\n");
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut sorted: Vec<_> = counts.iter().collect();
        sorted.sort();
        for ((direction, model, at), count) in sorted {
            let at = at.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                out,
                "sluice_model_failures_total{{direction=\"{direction}\",model=\"{model}\",at=\"{at}\"}} {count}"
            );
        }
    }
}
