//! Fetch routes: `capability: fetch`, `filters`, `merge`.

use super::{Compiler, check_topic_name};
use crate::error::pointer_token;
use crate::spec::HttpKafkaWithSpec;
use crate::table::action::{FetchAction, FetchFilter};
use crate::table::server::RequestCondition;
use crate::template::Allowed;

impl Compiler<'_> {
    pub(super) fn fetch_action(
        &mut self,
        with: &HttpKafkaWithSpec,
        when: &[RequestCondition],
        at: &str,
        cluster: usize,
    ) -> Option<FetchAction> {
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
        let mut valid = true;
        if with.topic.contains("${") {
            valid = false;
            self.errors.push(
                format!("{at}/topic"),
                "a fetch topic must name one topic: sluice keeps one shared consumer per topic",
            );
        } else if let Err(message) = check_topic_name(&with.topic) {
            valid = false;
            self.errors.push(format!("{at}/topic"), message);
        }
        if let Some(merge) = &with.merge {
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
        }
        let allowed = Allowed {
            params: true,
            guarded: true,
            ..Allowed::default()
        };
        let mut filters = Vec::new();
        for (index, filter) in with.filters.iter().flatten().enumerate() {
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
            if key.is_none() && headers.is_empty() && filter.key.is_none() {
                self.errors
                    .push(filter_at, "a filter needs a key or headers");
                valid = false;
            }
            filters.push(FetchFilter { key, headers });
        }
        if !valid {
            return None;
        }
        let topics = &mut self.clusters[cluster].topics;
        if !topics.contains(&with.topic) {
            topics.push(with.topic.clone());
        }
        Some(FetchAction {
            cluster,
            topic: with.topic.clone(),
            filters,
            merge: with.merge.is_some(),
        })
    }
}
