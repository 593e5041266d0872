//! Request-response routes: `reply-to`, `correlation-id`, `async`.

use super::{Compiler, check_topic_name, http_names};
use crate::error::pointer_token;
use crate::path::PathTemplate;
use crate::spec::{CorrelationSpec, HttpKafkaWithSpec};
use crate::table::action::{
    DEFAULT_CORRELATION_HEADER, DEFAULT_REPLY_TIMEOUT_MS, DEFAULT_REPLY_TO_HEADER, ReplyAction,
};
use crate::table::server::RequestCondition;
use crate::template::{Allowed, Part, Template};

/// Kafka header names of one `http-kafka` binding.
#[derive(Debug, Clone)]
pub(crate) struct CorrelationHeaders {
    reply_to: String,
    correlation_id: String,
}

impl Default for CorrelationHeaders {
    fn default() -> Self {
        Self {
            reply_to: DEFAULT_REPLY_TO_HEADER.to_owned(),
            correlation_id: DEFAULT_CORRELATION_HEADER.to_owned(),
        }
    }
}

/// Longest sync wait a route may configure: ten minutes.
const MAX_REPLY_TIMEOUT_MS: u64 = 600_000;

impl Compiler<'_> {
    pub(super) fn correlation_headers(
        &mut self,
        spec: &CorrelationSpec,
        at: &str,
    ) -> CorrelationHeaders {
        let mut headers = CorrelationHeaders::default();
        let fields = [
            ("reply-to", &spec.headers.reply_to, &mut headers.reply_to),
            (
                "correlation-id",
                &spec.headers.correlation_id,
                &mut headers.correlation_id,
            ),
        ];
        for (field, value, target) in fields {
            if let Some(value) = value {
                if value.is_empty() {
                    self.errors.push(
                        format!("{at}/{field}"),
                        "a Kafka header name must not be empty",
                    );
                } else {
                    *target = value.clone();
                }
            }
        }
        headers
    }

    /// The request-response part of a produce route, or `None` for one-way produce.
    pub(super) fn reply_action(
        &mut self,
        with: &HttpKafkaWithSpec,
        when: &[RequestCondition],
        at: &str,
        cluster: usize,
        headers: &CorrelationHeaders,
    ) -> Option<ReplyAction> {
        let Some(topic) = &with.reply_to else {
            for (field, present) in [
                ("async", !with.async_headers.is_empty()),
                ("correlation-id", with.correlation_id.is_some()),
                ("reply-timeout-ms", with.reply_timeout_ms.is_some()),
            ] {
                if present {
                    self.errors.push(
                        format!("{at}/{field}"),
                        format!("'{field}' needs 'reply-to'"),
                    );
                }
            }
            return None;
        };
        if topic.contains("${") {
            self.errors.push(
                format!("{at}/reply-to"),
                "reply-to must name one topic: sluice keeps one shared consumer per reply topic",
            );
        } else if let Err(message) = check_topic_name(topic) {
            self.errors.push(format!("{at}/reply-to"), message);
        }
        let timeout_ms = self.bounded(
            &format!("{at}/reply-timeout-ms"),
            with.reply_timeout_ms,
            DEFAULT_REPLY_TIMEOUT_MS,
            1..=MAX_REPLY_TIMEOUT_MS,
        );
        let request_correlation_header = match &with.correlation_id {
            Some(name) if name.is_empty() => {
                self.errors.push(
                    format!("{at}/correlation-id"),
                    "a Kafka header name must not be empty",
                );
                headers.correlation_id.clone()
            }
            Some(name) => name.clone(),
            None => headers.correlation_id.clone(),
        };
        let (async_headers, locations) = self.async_headers(with, when, at);
        let topic_name = topic.clone();
        let cluster_topics = &mut self.clusters[cluster].topics;
        if !cluster_topics.contains(&topic_name) {
            cluster_topics.push(topic_name.clone());
        }
        Some(ReplyAction {
            topic: topic_name,
            reply_to_header: headers.reply_to.clone(),
            request_correlation_header,
            reply_correlation_header: headers.correlation_id.clone(),
            async_headers,
            locations,
            timeout_ms,
        })
    }

    /// `async` headers of a request-response route, and the polling paths among them (a
    /// path holding `${correlationId}`).
    fn async_headers(
        &mut self,
        with: &HttpKafkaWithSpec,
        when: &[RequestCondition],
        at: &str,
    ) -> (Vec<(String, Template)>, Vec<PathTemplate>) {
        let allowed = Allowed {
            params: true,
            correlation_id: true,
            ..Allowed::default()
        };
        let mut async_headers = Vec::with_capacity(with.async_headers.len());
        let mut locations = Vec::new();
        for (name, value) in &with.async_headers {
            let header_at = format!("{at}/async/{}", pointer_token(name));
            let name = name.to_ascii_lowercase();
            if http_names::is_bad_header_name(&name) {
                self.errors.push(
                    header_at.clone(),
                    format!("'{name}' is not a valid HTTP header name"),
                );
                continue;
            }
            let Some(template) = self.template(value, allowed, when, &header_at) else {
                continue;
            };
            if template.parts().contains(&Part::CorrelationId) && value.starts_with('/') {
                match PathTemplate::parse(&location_pattern(&template)) {
                    Ok(location) => locations.push(location),
                    Err(error) => self.errors.push(
                        header_at.clone(),
                        format!("cannot be matched as a polling path: {error}"),
                    ),
                }
            }
            async_headers.push((name, template));
        }
        if !async_headers.is_empty() && locations.is_empty() {
            self.errors.push(
                format!("{at}/async"),
                "no async value is a path holding ${correlationId}, so the reply could never be polled",
            );
        }
        (async_headers, locations)
    }
}

/// `/items/${params.id};cid=${correlationId}` -> `/items/{id};cid={correlationId}`.
fn location_pattern(template: &Template) -> String {
    let mut pattern = String::new();
    for part in template.parts() {
        match part {
            Part::Literal(text) => pattern.push_str(text),
            Part::Param(name) => {
                pattern.push('{');
                pattern.push_str(name);
                pattern.push('}');
            }
            Part::CorrelationId => pattern.push_str("{correlationId}"),
            Part::IdempotencyKey | Part::GuardIdentity(_) | Part::GuardAttribute(..) => {
                pattern.push('*')
            }
        }
    }
    pattern
}
