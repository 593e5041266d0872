//! Fetch routes: `capability: fetch`, `filters`, `merge`.

use super::{Compiler, check_topic_name};
use crate::error::pointer_token;
use crate::spec::{FilterSpec, HttpKafkaWithSpec};
use crate::table::action::{FetchAction, FetchFilter};
use crate::table::server::RequestCondition;
use crate::template::{Allowed, Template};

/// Default bound on the topics a route with a topic from the path serves at once.
const DEFAULT_MAX_TOPICS: usize = 100;

impl Compiler<'_> {
    pub(super) fn fetch_action(
        &mut self,
        with: &HttpKafkaWithSpec,
        when: &[RequestCondition],
        at: &str,
        cluster: usize,
    ) -> Option<FetchAction> {
        if with.max_topics.is_some() && !with.topic.contains("${") {
            self.errors.push(
                format!("{at}/max-topics"),
                "max-topics applies to a topic from the path (${params...})",
            );
        }
        let produce_only = [
            ("acks", with.acks.is_some()),
            ("key", with.key.is_some()),
            ("overrides", !with.overrides.is_empty()),
            ("reply-to", with.reply_to.is_some()),
            ("correlation-id", with.correlation_id.is_some()),
            ("async", !with.async_headers.is_empty()),
            ("reply-timeout-ms", with.reply_timeout_ms.is_some()),
        ];
        for (field, present) in produce_only {
            if present {
                self.errors.push(
                    format!("{at}/{field}"),
                    format!("'{field}' applies to capability produce only"),
                );
            }
        }
        let topic = self.route_topic(&with.topic, with.max_topics, when, at, "a fetch topic");
        let merge_ok = self.merge(with, at);
        let filters = self.filters(with.filters.as_deref().unwrap_or_default(), when, at);
        let (Some(filters), Some((topic_template, max_topics)), true) = (filters, topic, merge_ok)
        else {
            return None;
        };
        let topics = &mut self.clusters[cluster].topics;
        if topic_template.is_none() && !topics.contains(&with.topic) {
            topics.push(with.topic.clone());
        }
        Some(FetchAction {
            cluster,
            topic: with.topic.clone(),
            topic_template,
            max_topics,
            filters,
            merge: with.merge.is_some(),
            models: Default::default(),
        })
    }

    /// The topic of a fetch or sse route (`what`): one named topic, or a template over the
    /// path's parameters, whose topics are opened on demand, at most `max_topics` at once.
    pub(super) fn route_topic(
        &mut self,
        topic: &str,
        max_topics: Option<u32>,
        when: &[RequestCondition],
        with_at: &str,
        what: &str,
    ) -> Option<(Option<Template>, usize)> {
        let template = if topic.contains("${") {
            let allowed = Allowed {
                params: true,
                ..Allowed::default()
            };
            Some(self.template(topic, allowed, when, &format!("{with_at}/topic"))?)
        } else if self.one_topic(topic, with_at, what) {
            None
        } else {
            return None;
        };
        let max_topics = match max_topics {
            Some(0) => {
                self.errors
                    .push(format!("{with_at}/max-topics"), "must be at least 1");
                return None;
            }
            Some(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
            None => DEFAULT_MAX_TOPICS,
        };
        Some((template, max_topics))
    }

    /// A fetch or sse topic (`what`) names one topic: one shared consumer per topic.
    pub(super) fn one_topic(&mut self, topic: &str, at: &str, what: &str) -> bool {
        if topic.contains("${") {
            self.errors.push(
                format!("{at}/topic"),
                format!("{what} must name one topic: sluice keeps one shared consumer per topic"),
            );
            return false;
        }
        if let Err(message) = check_topic_name(topic) {
            self.errors.push(format!("{at}/topic"), message);
            return false;
        }
        true
    }

    /// `merge`: only the JSON array form.
    fn merge(&mut self, with: &HttpKafkaWithSpec, at: &str) -> bool {
        let Some(merge) = &with.merge else {
            return true;
        };
        let mut valid = true;
        if merge.content_type != "application/json" {
            valid = false;
            self.errors.push(
                format!("{at}/merge/content-type"),
                "merge content-type must be application/json",
            );
        }
        if let Some(patch) = &merge.patch
            && (patch.initial != "[]" || patch.path != "/-")
        {
            valid = false;
            self.errors.push(
                format!("{at}/merge/patch"),
                "merge patch must be { initial: \"[]\", path: \"/-\" }",
            );
        }
        valid
    }

    /// `filters` of a fetch or SSE route: each a key or headers, as templates; `None` when
    /// any is invalid (every error is recorded).
    pub(super) fn filters(
        &mut self,
        specs: &[FilterSpec],
        when: &[RequestCondition],
        at: &str,
    ) -> Option<Vec<FetchFilter>> {
        let allowed = Allowed {
            params: true,
            guarded: true,
            ..Allowed::default()
        };
        let mut valid = true;
        let mut filters = Vec::new();
        for (index, filter) in specs.iter().enumerate() {
            let filter_at = format!("{at}/filters/{index}");
            let key = match &filter.key {
                None => None,
                Some(key) => match self.template(key, allowed, when, &format!("{filter_at}/key")) {
                    Some(key) => Some(key),
                    None => {
                        valid = false;
                        None
                    }
                },
            };
            let mut headers = Vec::with_capacity(filter.headers.len());
            for (name, value) in &filter.headers {
                let header_at = format!("{filter_at}/headers/{}", pointer_token(name));
                match self.template(value, allowed, when, &header_at) {
                    Some(template) => headers.push((name.clone(), template)),
                    None => valid = false,
                }
            }
            if filter.key.is_none() && filter.headers.is_empty() {
                self.errors
                    .push(filter_at, "a filter needs a key or headers");
                valid = false;
            }
            filters.push(FetchFilter { key, headers });
        }
        valid.then_some(filters)
    }
}
