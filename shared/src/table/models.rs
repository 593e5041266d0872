//! Compiled catalogs and models: what the data plane checks and converts.
//!
//! Schemas held in the configuration (`inline`, `filesystem`) are compiled here, once per
//! revision; schemas in a registry are named here (subject and version, or id) and looked
//! up by the data plane, which keeps them cached.

use std::collections::HashMap;
use std::sync::Arc;

use sluice_schema::{Codec, ModelKind, wire::IdWidth};

use super::client_tls::UpstreamTls;
use crate::path::PathTemplate;

/// A catalog, compiled.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Its name.
    pub name: String,
    /// Where its schemas come from.
    pub source: CatalogSource,
}

/// Where a catalog's schemas come from.
#[derive(Debug, Clone)]
pub enum CatalogSource {
    /// Schemas in the configuration or in files: subject to its id and text.
    Local(HashMap<String, LocalSubject>),
    /// A schema registry.
    Registry(Box<Registry>),
}

/// One subject of an `inline` or `filesystem` catalog.
#[derive(Debug, Clone)]
pub struct LocalSubject {
    /// Its id: the CRC-32C of the text.
    pub id: i64,
    /// Its version name.
    pub version: String,
    /// The schema text; `None` when its file could not be read (reported at the file).
    pub text: Option<Arc<str>>,
}

/// A schema registry that speaks Confluent's REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The base URL of the API (for Apicurio, its `/apis/ccompat/v7`), without a final `/`.
    pub url: String,
    /// The context subjects are looked up in (`:.name:` prefix); `None` for the default.
    pub context: Option<String>,
    /// Seconds a subject's latest version is used before it is looked up again.
    pub max_age_seconds: u64,
    /// The `authorization` header sent with every lookup; a secret.
    pub authorization: Option<String>,
    /// How wide ids are in framed payloads.
    pub id_width: IdWidth,
    /// TLS to an `https://` registry.
    pub tls: Option<UpstreamTls>,
}

/// What happens to a payload that does not fit its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Leniency {
    /// Records read from Kafka that do not fit are delivered as they are (else skipped).
    pub decode: bool,
    /// Payloads written to Kafka that do not fit are written as they are, when no
    /// conversion is asked for (else refused with 400).
    pub encode: bool,
}

/// A model bound to where its schema comes from.
#[derive(Debug, Clone)]
pub struct ModelBinding {
    /// Where the model is configured (a JSON pointer), for logs.
    pub pointer: String,
    /// The model.
    pub kind: ModelKind,
    /// Clients speak JSON; Kafka holds the binary form.
    pub json_view: bool,
    /// What happens to a payload that does not fit.
    pub leniency: Leniency,
    /// The schema.
    pub schema: SchemaRef,
}

/// Where a model's schema is.
#[derive(Debug, Clone)]
pub enum SchemaRef {
    /// Compiled now: a scalar, or a schema of an `inline` or `filesystem` catalog. Payloads
    /// on Kafka carry no frame.
    Ready {
        /// The compiled model.
        codec: Arc<Codec>,
        /// Its catalog, subject, version and id, for error answers.
        identity: SchemaIdentity,
    },
    /// A subject or id of a registry; payloads on Kafka carry the registry's frame.
    Registry {
        /// Index of the catalog.
        catalog: usize,
        /// Which schema.
        selector: Selector,
        /// `protobuf`: the message.
        record: Option<String>,
    },
}

/// A schema of a registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    /// By id.
    Id(i64),
    /// By subject and version (`latest` or a number).
    Subject {
        /// The subject.
        subject: String,
        /// The version.
        version: String,
    },
    /// The id each payload carries.
    Encoded,
}

/// Which schema a model used, as error answers name it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchemaIdentity {
    /// The catalog.
    pub catalog: Option<String>,
    /// The subject.
    pub subject: Option<String>,
    /// The version.
    pub version: Option<String>,
    /// The schema id.
    pub id: Option<i64>,
}

/// The models of one topic's keys and values.
#[derive(Debug, Clone, Default)]
pub struct TopicModels {
    /// Record keys.
    pub key: Option<Arc<ModelBinding>>,
    /// Record values.
    pub value: Option<Arc<ModelBinding>>,
}

/// The topic models a route's kafka chain declares, by topic.
pub type ChainModels = Arc<HashMap<String, TopicModels>>;

/// The models of requests to an http server with some path and method.
#[derive(Debug, Clone)]
pub struct RequestModels {
    /// The path, with parameters.
    pub path: PathTemplate,
    /// The method; any when `None`.
    pub method: Option<http::Method>,
    /// Content types accepted (lowercase, no parameters); any when empty.
    pub content_types: Vec<String>,
    /// Request headers, by lowercase name.
    pub headers: Vec<(http::HeaderName, Arc<ModelBinding>)>,
    /// Path parameters.
    pub path_params: Vec<(String, Arc<ModelBinding>)>,
    /// Query parameters.
    pub query_params: Vec<(String, Arc<ModelBinding>)>,
    /// The body.
    pub content: Option<Arc<ModelBinding>>,
    /// `http` client: the upstream's responses.
    pub responses: Vec<ResponseModels>,
}

/// The models of an upstream's responses with some status codes.
#[derive(Debug, Clone)]
pub struct ResponseModels {
    /// Status codes; any when empty.
    pub status: Vec<u16>,
    /// Content types the response may have; any when empty.
    pub content_types: Vec<String>,
    /// Response headers.
    pub headers: Vec<(http::HeaderName, Arc<ModelBinding>)>,
    /// The body.
    pub content: Option<Arc<ModelBinding>>,
}

impl RequestModels {
    /// Whether these models are for `method` on `path`.
    pub fn applies(&self, method: &http::Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method) && self.path.matches(path).is_some()
    }
}

impl RequestModels {
    /// Every model of these requests and their responses.
    pub(crate) fn bindings(&self) -> impl Iterator<Item = &Arc<ModelBinding>> {
        let responses = self
            .responses
            .iter()
            .flat_map(|r| r.headers.iter().map(|(_, m)| m).chain(r.content.iter()));
        self.headers
            .iter()
            .map(|(_, m)| m)
            .chain(self.path_params.iter().map(|(_, m)| m))
            .chain(self.query_params.iter().map(|(_, m)| m))
            .chain(self.content.iter())
            .chain(responses)
    }
}
