//! Models as configurations write them, in Zilla's shape: on kafka cache topics
//! (`options.topics`: `key` and `value`) and on http requests (`options.requests`: headers,
//! path and query parameters, content; on an http client also the responses).

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A model: its name alone (`int32`), or an object with its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// `json`, `avro`, `protobuf`, `string`, `int32`, `int64`, `float` or `double`.
    pub model: String,
    /// `json`: clients read and write JSON, Kafka holds the binary form (avro, protobuf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    /// The one catalog the schema comes from, and how it is chosen there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<IndexMap<String, Vec<CatalogRefSpec>>>,
    /// `strict` (default) or `lenient`, or `{decode, encode}`: what happens to a payload
    /// that does not fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate: Option<Value>,
    /// `string`: `utf_8` (default) or `utf_16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Numbers: `text` (default) or `binary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Numbers: `[min,max]`, open ends with parentheses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// Numbers: the value is a multiple of this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiple: Option<f64>,
    /// `string`: a regular expression the whole text matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// `string`: fewest characters.
    #[serde(default, rename = "minLength", skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// `string`: most characters.
    #[serde(default, rename = "maxLength", skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
}

/// How a model picks its schema in a catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogRefSpec {
    /// A schema id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `topic` (the subject is `<topic>-key` or `<topic>-value`) or `encoded` (each
    /// payload carries its schema id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// A subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The subject's version (default `latest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `protobuf`: the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Zilla: a JSON overlay applied to the schema (not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<Value>,
}

/// A field that holds a model: a name or an object.
pub(crate) fn model<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<ModelSpec>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    model_of(value).map(Some).map_err(serde::de::Error::custom)
}

/// A map of names to models.
pub(crate) fn models<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, ModelSpec>, D::Error> {
    let map = IndexMap::<String, Value>::deserialize(deserializer)?;
    map.into_iter()
        .map(|(name, value)| {
            model_of(value)
                .map(|model| (name.clone(), model))
                .map_err(|e| serde::de::Error::custom(format!("{name}: {e}")))
        })
        .collect()
}

fn model_of(value: Value) -> Result<ModelSpec, serde_json::Error> {
    match value {
        Value::String(name) => Ok(ModelSpec {
            model: name,
            view: None,
            catalog: None,
            validate: None,
            encoding: None,
            format: None,
            range: None,
            multiple: None,
            pattern: None,
            min_length: None,
            max_length: None,
        }),
        other => serde_json::from_value(other),
    }
}

/// One topic of a kafka cache binding's `options.topics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaTopicSpec {
    /// The topic.
    pub name: String,
    /// The model of record keys.
    #[serde(
        default,
        deserialize_with = "model",
        skip_serializing_if = "Option::is_none"
    )]
    pub key: Option<ModelSpec>,
    /// The model of record values.
    #[serde(
        default,
        deserialize_with = "model",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<ModelSpec>,
}

/// One entry of an http binding's `options.requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpRequestSpec {
    /// The path, with `{name}` parameters.
    pub path: String,
    /// The method; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The content types accepted; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<Vec<String>>,
    /// Models of request headers, by header name.
    #[serde(
        default,
        deserialize_with = "models",
        skip_serializing_if = "IndexMap::is_empty"
    )]
    pub headers: IndexMap<String, ModelSpec>,
    /// Models of path and query parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<HttpParamsSpec>,
    /// The model of the request body.
    #[serde(
        default,
        deserialize_with = "model",
        skip_serializing_if = "Option::is_none"
    )]
    pub content: Option<ModelSpec>,
    /// `http` client: models of the upstream's responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responses: Option<Vec<HttpResponseSpec>>,
}

/// Models of a request's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpParamsSpec {
    /// Path parameters, by the names of the path's `{name}`s.
    #[serde(
        default,
        deserialize_with = "models",
        skip_serializing_if = "IndexMap::is_empty"
    )]
    pub path: IndexMap<String, ModelSpec>,
    /// Query parameters, by name.
    #[serde(
        default,
        deserialize_with = "models",
        skip_serializing_if = "IndexMap::is_empty"
    )]
    pub query: IndexMap<String, ModelSpec>,
}

/// Models of an upstream's responses with some status codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpResponseSpec {
    /// A status code or a list of them; every status when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusSpec>,
    /// The content types the response may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<Vec<String>>,
    /// Models of response headers.
    #[serde(
        default,
        deserialize_with = "models",
        skip_serializing_if = "IndexMap::is_empty"
    )]
    pub headers: IndexMap<String, ModelSpec>,
    /// The model of the response body.
    #[serde(
        default,
        deserialize_with = "model",
        skip_serializing_if = "Option::is_none"
    )]
    pub content: Option<ModelSpec>,
}

/// One status code or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    /// One code.
    One(u16),
    /// Several codes.
    Many(Vec<u16>),
}

impl StatusSpec {
    /// The codes.
    pub fn codes(&self) -> Vec<u16> {
        match self {
            Self::One(code) => vec![*code],
            Self::Many(codes) => codes.clone(),
        }
    }
}
