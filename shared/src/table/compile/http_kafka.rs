//! `http-kafka` routes: conditions, produce and fetch actions, templates.

use super::correlate::CorrelationHeaders;
use super::{Compiler, binding_pointer, check_topic_name, http_names};
use crate::error::pointer_token;
use crate::path::PathTemplate;
use crate::spec::{
    Acks, BindingType, Capability, ConditionSpec, HttpKafkaWithSpec, OptionsSpec, RouteSpec,
    WithSpec,
};
use crate::table::action::{Action, HttpKafkaBinding, HttpKafkaRoute, ProduceAction};
use crate::table::models::ChainModels;
use crate::table::server::RequestCondition;
use crate::template::{Allowed, Template};

impl Compiler<'_> {
    pub(super) fn compile_http_kafka(&mut self) {
        for (name, binding) in &self.spec.bindings {
            if binding.binding_type != BindingType::HttpKafka {
                continue;
            }
            let at = binding_pointer(name);
            let mut idempotency_header =
                crate::table::action::DEFAULT_IDEMPOTENCY_HEADER.to_owned();
            let mut max_wait_seconds = crate::table::action::DEFAULT_MAX_WAIT_SECONDS;
            let mut headers = CorrelationHeaders::default();
            let mut trace_context = true;
            if let Some(OptionsSpec::HttpKafka(options)) = &binding.options {
                trace_context = options.trace_context.unwrap_or(true);
                if let Some(idempotency) = &options.idempotency {
                    idempotency_header = idempotency.header.to_ascii_lowercase();
                    if http_names::is_bad_header_name(&idempotency_header) {
                        self.errors.push(
                            format!("{at}/options/idempotency/header"),
                            format!("'{}' is not a valid HTTP header name", idempotency.header),
                        );
                    }
                }
                if let Some(correlation) = &options.correlation {
                    headers = self.correlation_headers(
                        correlation,
                        &format!("{at}/options/correlation/headers"),
                    );
                }
                if let Some(seconds) = options.max_wait_seconds {
                    if (1..=3600).contains(&seconds) {
                        max_wait_seconds = seconds;
                    } else {
                        self.errors.push(
                            format!("{at}/options/max-wait-seconds"),
                            format!("{seconds} is outside 1..=3600"),
                        );
                    }
                }
            }
            let mut routes = Vec::with_capacity(binding.routes.len());
            for (index, route) in binding.routes.iter().enumerate() {
                let route_at = format!("{at}/routes/{index}");
                if let Some(compiled) = self.http_kafka_route(route, index, &route_at, &headers) {
                    routes.push(compiled);
                }
            }
            self.http_kafka_index.insert(name, self.http_kafka.len());
            self.http_kafka.push(HttpKafkaBinding {
                binding: name.clone(),
                idempotency_header,
                max_wait_seconds,
                trace_context,
                routes,
            });
        }
    }

    fn http_kafka_route(
        &mut self,
        route: &RouteSpec,
        index: usize,
        at: &str,
        headers: &CorrelationHeaders,
    ) -> Option<HttpKafkaRoute> {
        self.route_guards = route.guarded.keys().cloned().collect();
        let guarded = self.guarded(route);
        let when = self.request_conditions(route, at);
        let Some(WithSpec::HttpKafka(with)) = &route.with else {
            self.errors.push(at, "missing field 'with'");
            return None;
        };
        let cluster = match &route.exit {
            Some(exit) if self.expect_kafka_exit(&format!("{at}/exit"), exit) => {
                match self.cluster_of(exit) {
                    Ok(cluster) => Some(cluster),
                    Err(message) => {
                        self.errors.push(format!("{at}/exit"), message);
                        None
                    }
                }
            }
            _ => None,
        };
        let with_at = format!("{at}/with");
        let models = route
            .exit
            .as_deref()
            .map(|exit| self.chain_models(exit))
            .unwrap_or_default();
        let action = if with.capability == Capability::Fetch {
            let mut action = self.fetch_action(with, &when, &with_at, cluster?)?;
            action.models = models;
            Action::Fetch(action)
        } else {
            let mut action = self.produce_action(with, &when, &with_at, cluster?)?;
            action.reply = self.reply_action(with, &when, &with_at, action.cluster, headers);
            action.models = models;
            Action::Produce(Box::new(action))
        };
        Some(HttpKafkaRoute {
            index,
            when,
            guarded,
            action,
        })
    }

    fn produce_action(
        &mut self,
        with: &HttpKafkaWithSpec,
        when: &[RequestCondition],
        at: &str,
        cluster: usize,
    ) -> Option<ProduceAction> {
        for (field, present) in [
            ("filters", with.filters.is_some()),
            ("merge", with.merge.is_some()),
            ("max-topics", with.max_topics.is_some()),
        ] {
            if present {
                self.errors.push(
                    format!("{at}/{field}"),
                    format!("'{field}' applies to capability fetch only"),
                );
            }
        }
        let topic_allowed = Allowed {
            params: true,
            guarded: true,
            ..Allowed::default()
        };
        let value_allowed = Allowed {
            idempotency_key: true,
            ..topic_allowed
        };
        let topic = self.template(&with.topic, topic_allowed, when, &format!("{at}/topic"));
        if let Some(literal) = topic.as_ref().and_then(Template::as_literal) {
            match check_topic_name(literal) {
                Ok(()) => {
                    let topics = &mut self.clusters[cluster].topics;
                    if !topics.iter().any(|t| t == literal) {
                        topics.push(literal.to_owned());
                    }
                }
                Err(message) => self.errors.push(format!("{at}/topic"), message),
            }
        }
        let key = with
            .key
            .as_ref()
            .map(|key| self.template(key, value_allowed, when, &format!("{at}/key")));
        let mut overrides = Vec::with_capacity(with.overrides.len());
        for (name, value) in &with.overrides {
            let header_at = format!("{at}/overrides/{}", pointer_token(name));
            if name.is_empty() {
                self.errors
                    .push(header_at.clone(), "a Kafka header name must not be empty");
            }
            if let Some(template) = self.template(value, value_allowed, when, &header_at) {
                overrides.push((name.clone(), template));
            }
        }
        Some(ProduceAction {
            cluster,
            topic: topic?,
            acks: with.acks.unwrap_or(Acks::InSyncReplicas),
            key: match key {
                Some(key) => Some(key?),
                None => None,
            },
            overrides,
            reply: None,
            models: ChainModels::default(),
        })
    }

    /// The method and path conditions of an `http-kafka` or `http-filesystem` route.
    pub(super) fn request_conditions(
        &mut self,
        route: &RouteSpec,
        at: &str,
    ) -> Vec<RequestCondition> {
        let mut when = Vec::with_capacity(route.when.len());
        for (position, condition) in route.when.iter().enumerate() {
            let ConditionSpec::HttpKafka(condition) = condition else {
                continue;
            };
            let method = condition.method.as_ref().map(|m| m.to_ascii_uppercase());
            if let Some(method) = &method
                && (method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()))
            {
                self.errors.push(
                    format!("{at}/when/{position}/method"),
                    format!("'{method}' is not an HTTP method"),
                );
            }
            let path = match condition.path.as_deref().map(PathTemplate::parse) {
                None => None,
                Some(Ok(path)) => Some(path),
                Some(Err(error)) => {
                    self.errors
                        .push(format!("{at}/when/{position}/path"), error.to_string());
                    None
                }
            };
            when.push(RequestCondition { method, path });
        }
        when
    }

    /// Parses a template and checks that every `${params.x}` is captured by every path of
    /// the route, since a parameter some requests lack would silently become "".
    pub(super) fn template(
        &mut self,
        source: &str,
        allowed: Allowed,
        when: &[RequestCondition],
        at: &str,
    ) -> Option<Template> {
        let template = match Template::parse(source, allowed) {
            Ok(template) => template,
            Err(message) => {
                self.errors.push(at, message);
                return None;
            }
        };
        for param in template.params() {
            let captured = !when.is_empty()
                && when
                    .iter()
                    .all(|c| c.path.as_ref().is_some_and(|p| p.has_param(param)));
            if !captured {
                self.errors.push(
                    at,
                    format!(
                        "'${{params.{param}}}' is not captured by every 'when' path of this route"
                    ),
                );
            }
        }
        let mut valid = true;
        for part in template.parts() {
            let (guard, attribute) = match part {
                crate::template::Part::GuardIdentity(guard) => (guard, None),
                crate::template::Part::GuardAttribute(guard, name) => (guard, Some(name)),
                _ => continue,
            };
            let Some(spec) = self.spec.guards.get(guard) else {
                valid = false;
                self.errors
                    .push(at, format!("guard '{guard}' is not defined under /guards"));
                continue;
            };
            if !self.route_guards.contains(guard) {
                valid = false;
                self.errors.push(
                    at,
                    format!(
                        "'${{guarded['{guard}']...}}' needs this route to be guarded by '{guard}'"
                    ),
                );
            }
            if let Some(name) = attribute
                && !spec.jwt().is_some_and(|o| o.attributes.contains_key(name))
            {
                valid = false;
                self.errors.push(
                    at,
                    format!("guard '{guard}' has no attribute '{name}' (options.attributes)"),
                );
            }
        }
        valid.then_some(template)
    }
}
