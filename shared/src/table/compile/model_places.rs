//! Where models apply: kafka cache topics (`options.topics`) and the chains routes reach
//! them by; http `options.requests` (server) and their `responses` (client).

use std::collections::HashMap;
use std::sync::Arc;

use super::Compiler;
use super::check_topic_name;
use super::models::ModelPlace;
use crate::error::pointer_token;
use crate::path::PathTemplate;
use crate::spec::{
    BindingKind, BindingType, HttpRequestSpec, HttpResponseSpec, KafkaTopicSpec, ModelSpec,
    OptionsSpec,
};
use crate::table::models::{ChainModels, ModelBinding, RequestModels, ResponseModels, TopicModels};

/// Models by parameter or header name.
type NamedModels = Vec<(String, Arc<ModelBinding>)>;

impl<'a> Compiler<'a> {
    /// A kafka cache binding's `options.topics`.
    pub(super) fn cache_topics(&mut self, binding: &'a str, topics: &[KafkaTopicSpec], at: &str) {
        let mut compiled: HashMap<String, TopicModels> = HashMap::new();
        for (index, topic) in topics.iter().enumerate() {
            let here = format!("{at}/options/topics/{index}");
            if let Err(message) = check_topic_name(&topic.name) {
                self.errors.push(format!("{here}/name"), message);
                continue;
            }
            if compiled.contains_key(&topic.name) {
                self.errors.push(
                    format!("{here}/name"),
                    format!("topic '{}' is listed twice", topic.name),
                );
                continue;
            }
            let key = topic.key.as_ref().and_then(|spec| {
                self.model_binding(
                    spec,
                    &format!("{here}/key"),
                    ModelPlace::Topic(&topic.name, "key"),
                )
            });
            let value = topic.value.as_ref().and_then(|spec| {
                self.model_binding(
                    spec,
                    &format!("{here}/value"),
                    ModelPlace::Topic(&topic.name, "value"),
                )
            });
            compiled.insert(topic.name.clone(), TopicModels { key, value });
        }
        self.cache_topics.insert(binding, compiled);
    }

    /// The topic models of the kafka chain from `start`: the first binding on the way that
    /// lists a topic decides its models.
    pub(super) fn chain_models(&mut self, start: &str) -> ChainModels {
        if let Some(models) = self.chain_models.get(start) {
            return models.clone();
        }
        let mut merged: HashMap<String, TopicModels> = HashMap::new();
        let mut current = start;
        for _ in 0..=self.spec.bindings.len() {
            let Some(binding) = self.spec.bindings.get(current) else {
                break;
            };
            if binding.binding_type != BindingType::Kafka || binding.kind == BindingKind::Client {
                break;
            }
            for (topic, models) in self.cache_topics.get(current).into_iter().flatten() {
                merged
                    .entry(topic.clone())
                    .or_insert_with(|| models.clone());
            }
            match &binding.exit {
                Some(exit) => current = exit,
                None => break,
            }
        }
        let models = Arc::new(merged);
        self.chain_models.insert(start.to_owned(), models.clone());
        models
    }

    /// An http binding's `options.requests`; `client` says whether `responses` may appear.
    pub(super) fn request_models(&mut self, binding: &str, client: bool) -> Vec<RequestModels> {
        let Some(binding_spec) = self.spec.bindings.get(binding) else {
            return Vec::new();
        };
        let Some(OptionsSpec::Http(options)) = &binding_spec.options else {
            return Vec::new();
        };
        let Some(requests) = &options.requests else {
            return Vec::new();
        };
        let at = format!("/bindings/{}/options/requests", pointer_token(binding));
        let mut compiled = Vec::with_capacity(requests.len());
        for (index, request) in requests.iter().enumerate() {
            if let Some(models) = self.request(request, client, &format!("{at}/{index}")) {
                compiled.push(models);
            }
        }
        compiled
    }

    fn request(&mut self, spec: &HttpRequestSpec, client: bool, at: &str) -> Option<RequestModels> {
        let path = match PathTemplate::parse(&spec.path) {
            Ok(path) => Some(path),
            Err(error) => {
                self.errors.push(format!("{at}/path"), error.to_string());
                None
            }
        };
        let method = spec.method.as_deref().and_then(|method| {
            match http::Method::from_bytes(method.as_bytes()) {
                Ok(method) => Some(method),
                Err(_) => {
                    self.errors.push(
                        format!("{at}/method"),
                        format!("'{method}' is not an HTTP method"),
                    );
                    None
                }
            }
        });
        self.request_placement(spec, client, at);
        let headers = self.named_models(&spec.headers, &format!("{at}/headers"), true);
        let (path_params, query_params) = self.params(spec, path.as_ref(), at);
        let content = spec
            .content
            .as_ref()
            .and_then(|c| self.model_binding(c, &format!("{at}/content"), ModelPlace::Http));
        let responses = spec
            .responses
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, r)| self.response(r, &format!("{at}/responses/{i}")))
            .collect();
        Some(RequestModels {
            path: path?,
            method,
            content_types: content_types(spec.content_type.as_deref()),
            headers: headers
                .into_iter()
                .filter_map(|(name, model)| {
                    Some((http::HeaderName::from_bytes(name.as_bytes()).ok()?, model))
                })
                .collect(),
            path_params,
            query_params,
            content,
            responses,
        })
    }

    /// Requests are checked on servers, responses on clients.
    fn request_placement(&mut self, spec: &HttpRequestSpec, client: bool, at: &str) {
        let checked_on_client = [
            ("headers", !spec.headers.is_empty()),
            ("params", spec.params.is_some()),
            ("content", spec.content.is_some()),
        ];
        for (field, present) in checked_on_client {
            if client && present {
                self.errors.push(
                    format!("{at}/{field}"),
                    "requests are checked by the http server binding; an http client checks the upstream's responses",
                );
            }
        }
        if !client && spec.responses.is_some() {
            self.errors.push(
                format!("{at}/responses"),
                "responses are checked by the http client binding that calls the upstream",
            );
        }
    }

    /// Path and query parameter models; path parameters must be in the path.
    fn params(
        &mut self,
        spec: &HttpRequestSpec,
        path: Option<&PathTemplate>,
        at: &str,
    ) -> (NamedModels, NamedModels) {
        let Some(params) = &spec.params else {
            return (Vec::new(), Vec::new());
        };
        for name in params.path.keys() {
            if path.is_some_and(|p| !p.has_param(name)) {
                self.errors.push(
                    format!("{at}/params/path/{}", pointer_token(name)),
                    format!("the path '{}' has no parameter '{name}'", spec.path),
                );
            }
        }
        (
            self.named_models(&params.path, &format!("{at}/params/path"), false),
            self.named_models(&params.query, &format!("{at}/params/query"), false),
        )
    }

    fn response(&mut self, spec: &HttpResponseSpec, at: &str) -> Option<ResponseModels> {
        let status = spec.status.as_ref().map(|s| s.codes()).unwrap_or_default();
        for (index, code) in status.iter().enumerate() {
            if !(100..=599).contains(code) {
                self.errors.push(
                    format!("{at}/status/{index}"),
                    format!("{code} is not an HTTP status"),
                );
            }
        }
        let headers = self.named_models(&spec.headers, &format!("{at}/headers"), true);
        let content = spec
            .content
            .as_ref()
            .and_then(|c| self.model_binding(c, &format!("{at}/content"), ModelPlace::Http));
        Some(ResponseModels {
            status,
            content_types: content_types(spec.content_type.as_deref()),
            headers: headers
                .into_iter()
                .filter_map(|(name, model)| {
                    Some((http::HeaderName::from_bytes(name.as_bytes()).ok()?, model))
                })
                .collect(),
            content,
        })
    }

    /// Models by name; header names must be valid and are lowercased.
    fn named_models(
        &mut self,
        specs: &indexmap::IndexMap<String, ModelSpec>,
        at: &str,
        headers: bool,
    ) -> Vec<(String, Arc<ModelBinding>)> {
        let mut models = Vec::with_capacity(specs.len());
        for (name, spec) in specs {
            let here = format!("{at}/{}", pointer_token(name));
            let name = if headers {
                match http::HeaderName::from_bytes(name.as_bytes()) {
                    Ok(header) => header.as_str().to_owned(),
                    Err(_) => {
                        self.errors
                            .push(here, format!("'{name}' is not a header name"));
                        continue;
                    }
                }
            } else {
                name.clone()
            };
            if let Some(model) = self.model_binding(spec, &here, ModelPlace::Http) {
                models.push((name, model));
            }
        }
        models
    }
}

/// Content types as compared: lowercase, without parameters.
fn content_types(list: Option<&[String]>) -> Vec<String> {
    list.unwrap_or_default()
        .iter()
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .collect()
}
