//! Prometheus text helpers: label escaping and the consumer lag series.

use std::fmt::Write as _;

/// Escapes a label value: backslash, double quote and newline.
pub(crate) fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

pub(super) fn render_lags(out: &mut String, lags: &[(&str, &str, i64)]) {
    out.push_str("# HELP sluice_kafka_consumer_lag Records between a shared consumer and the partition ends it last heard of.\n# TYPE sluice_kafka_consumer_lag gauge\n");
    for (purpose, topic, lag) in lags {
        let mut topic_label = String::new();
        escape_into(&mut topic_label, topic);
        let _ = writeln!(
            out,
            "sluice_kafka_consumer_lag{{purpose=\"{purpose}\",topic=\"{topic_label}\"}} {lag}"
        );
    }
}
