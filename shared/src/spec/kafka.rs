//! The options of `kafka` bindings: servers, properties, SASL and TLS (Sluice's forms and
//! Zilla's `authorization`), cache settings.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// `kafka` binding options; which fields apply depends on the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaOptionsSpec {
    /// `client`: bootstrap servers, `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<Vec<String>>,
    /// `client`, Sluice: extra librdkafka properties (`linger.ms`, `message.timeout.ms`, ...).
    /// Values may be written as strings, numbers or booleans; librdkafka takes them as text.
    #[serde(
        default,
        skip_serializing_if = "IndexMap::is_empty",
        deserialize_with = "scalar_strings"
    )]
    pub properties: IndexMap<String, String>,
    /// `client`: SASL authentication to the brokers (Zilla 1.x names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslSpec>,
    /// `client`, Sluice: TLS to the brokers (Zilla chains a `tls` client binding instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<KafkaTlsSpec>,
    /// `client`: credentials from an `inline` guard (Zilla 2.x), by guard name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<IndexMap<String, KafkaAuthorizationSpec>>,
    /// `cache_server`: topics fetched from start even with no client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Vec<String>>,
    /// `cache_server` / `cache_client`: per-topic settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<super::model::KafkaTopicSpec>>,
    /// `client`, Sluice: memory bound of each fetched topic's cache, bytes (default 64 MiB).
    #[serde(
        default,
        rename = "cache-max-bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub cache_max_bytes: Option<u64>,
}

/// `kafka` client `options.sasl`, as Zilla 1.x names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaslSpec {
    /// `plain`, `scram-sha-256` or `scram-sha-512`.
    pub mechanism: String,
    /// User name.
    pub username: String,
    /// Password; a secret: the admin API shows it as `***`.
    pub password: String,
}

/// `kafka` client `options.tls` (Sluice): TLS to the brokers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KafkaTlsSpec {
    /// PEM file of the authorities that sign the brokers' certificates; the system's
    /// authorities when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// PEM file of the client certificate (mutual TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// PEM file of the client certificate's private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Password of an encrypted `key`; a secret: the admin API shows it as `***`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_password: Option<String>,
    /// Check that a broker's certificate names the host connected to (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_hostname: Option<bool>,
}

/// A map whose values are strings, numbers or booleans, each kept as its text.
pub(crate) fn scalar_strings<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Integer(i64),
        Float(f64),
        Flag(bool),
        Other(serde::de::IgnoredAny),
    }
    let map = IndexMap::<String, Scalar>::deserialize(deserializer)?;
    map.into_iter()
        .map(|(key, value)| {
            let text = match value {
                Scalar::Text(text) => text,
                Scalar::Integer(n) => n.to_string(),
                Scalar::Float(n) => n.to_string(),
                Scalar::Flag(flag) => flag.to_string(),
                Scalar::Other(_) => {
                    return Err(serde::de::Error::custom(format!(
                        "property '{key}' must be a string, a number or a boolean"
                    )));
                }
            };
            Ok((key, text))
        })
        .collect()
}

/// One guard of a kafka client's `options.authorization`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaAuthorizationSpec {
    /// The SASL exchange, its values written with `{identity}` and `{credentials}` of the
    /// guard.
    pub credentials: KafkaCredentialsSpec,
}

/// SASL credentials of a kafka client, in Zilla 2.x form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaCredentialsSpec {
    /// `plain`, `scram-sha-256`, `scram-sha-512` or `oauthbearer`.
    pub mechanism: String,
    /// The user name (`{identity}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password (`{credentials}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `oauthbearer`: the bearer token (`{credentials}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}
