//! A schema registry client (Confluent's REST API, which Karapace and Apicurio's ccompat API
//! speak): `GET /subjects/{subject}/versions/{version}` and `GET /schemas/ids/{id}`.
//!
//! Answers are cached: a schema by id for good (ids never change meaning), a subject's
//! version for `max-age` seconds, after which the next use looks it up again in the
//! background while the cached answer keeps serving. A registry that is down therefore
//! changes nothing for what was seen before; only an id never seen fails. The caches are
//! bounded; the client lives across configuration changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use sluice_schema::{Codec, ModelKind};
use sluice_shared::table::models::Registry;

use crate::tls::{TlsError, client_config, plain_client_config};

/// How long one lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest registry answer read.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// Most schemas and compiled models kept per registry.
const MAX_CACHED: usize = 4096;

/// Why a schema could not be had from a registry.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum RegistryError {
    /// The registry did not answer, or answered with an error.
    #[error("schema registry {url}: {reason}")]
    Unavailable {
        /// The registry.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The registry has no such subject, version or id.
    #[error("schema registry {url} has no {what}")]
    NotFound {
        /// The registry.
        url: String,
        /// What was asked for.
        what: String,
    },
    /// The schema does not compile as the model asks.
    #[error("schema {id} of {url} is not a {model} schema: {reason}")]
    Schema {
        /// The registry.
        url: String,
        /// The schema id.
        id: i64,
        /// The model.
        model: &'static str,
        /// Why.
        reason: String,
    },
}

/// A subject's version as last looked up.
#[derive(Clone, Copy)]
struct SubjectEntry {
    id: i64,
    fetched: Instant,
    refreshing: bool,
}

/// A compiled model of a schema, with the Protobuf message it was compiled for.
type Compiled = (Option<String>, Arc<Codec>);

/// Keyed so that a lookup borrows the request's strings: no allocation per request.
#[derive(Default)]
struct Cache {
    /// Subject, then version.
    subjects: HashMap<String, HashMap<String, SubjectEntry>>,
    schemas: HashMap<i64, Arc<str>>,
    /// By schema id and model; the Protobuf `record` told apart in the list.
    codecs: HashMap<(i64, ModelKind), Vec<Compiled>>,
}

/// One registry's client and caches.
pub(crate) struct RegistryClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    registry: Registry,
    cache: Mutex<Cache>,
    /// HTTP requests made to the registry.
    pub(crate) lookups: AtomicU64,
}

impl RegistryClient {
    /// A client for `registry`; its TLS stores are read now.
    pub(crate) fn new(registry: &Registry) -> Result<Self, TlsError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(LOOKUP_TIMEOUT));
        http.set_nodelay(true);
        let tls = match &registry.tls {
            Some(tls) => client_config(tls)?,
            None => plain_client_config(&registry.url)?,
        };
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            registry: registry.clone(),
            cache: Mutex::new(Cache::default()),
            lookups: AtomicU64::new(0),
        })
    }

    /// How wide schema ids are in this registry's frames.
    pub(crate) fn id_width(&self) -> sluice_schema::wire::IdWidth {
        self.registry.id_width
    }

    /// The registry's URL.
    pub(crate) fn url(&self) -> &str {
        &self.registry.url
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The id of `subject` at `version`: cached, refreshed in the background after
    /// `max-age`, looked up now only the first time.
    pub(crate) async fn subject(
        self: &Arc<Self>,
        subject: &str,
        version: &str,
    ) -> Result<i64, RegistryError> {
        let max_age = Duration::from_secs(self.registry.max_age_seconds);
        let cached = {
            let mut cache = self.cache();
            match cache
                .subjects
                .get_mut(subject)
                .and_then(|versions| versions.get_mut(version))
            {
                Some(entry)
                    if entry.fetched.elapsed() >= max_age
                        && !entry.refreshing
                        && version == "latest" =>
                {
                    entry.refreshing = true;
                    Some((entry.id, true))
                }
                Some(entry) => Some((entry.id, false)),
                None => None,
            }
        };
        match cached {
            Some((id, refresh)) => {
                if refresh {
                    let client = self.clone();
                    let (subject, version) = (subject.to_owned(), version.to_owned());
                    tokio::spawn(async move {
                        if let Err(error) = client.lookup_subject(&subject, &version).await {
                            tracing::warn!(error = %error, subject = %subject, "schema registry lookup failed; the cached schema stays in use");
                            let mut cache = client.cache();
                            let entry = cache
                                .subjects
                                .get_mut(&subject)
                                .and_then(|versions| versions.get_mut(&version));
                            if let Some(entry) = entry {
                                entry.refreshing = false;
                                entry.fetched = Instant::now();
                            }
                        }
                    });
                }
                Ok(id)
            }
            None => self.lookup_subject(subject, version).await,
        }
    }

    async fn lookup_subject(&self, subject: &str, version: &str) -> Result<i64, RegistryError> {
        let name = match &self.registry.context {
            Some(context) => format!(":.{context}:{subject}"),
            None => subject.to_owned(),
        };
        let path = format!(
            "/subjects/{}/versions/{}",
            utf8_percent_encode(&name, NON_ALPHANUMERIC),
            utf8_percent_encode(version, NON_ALPHANUMERIC)
        );
        let answer = self
            .get(&path, &format!("subject '{subject}' version '{version}'"))
            .await?;
        let id = answer.get("id").and_then(serde_json::Value::as_i64);
        let schema = answer.get("schema").and_then(serde_json::Value::as_str);
        let (Some(id), Some(schema)) = (id, schema) else {
            return Err(self.unavailable("the subject's answer has no id or schema"));
        };
        let mut cache = self.cache();
        bound(&mut cache.subjects);
        cache
            .subjects
            .entry(subject.to_owned())
            .or_default()
            .insert(
                version.to_owned(),
                SubjectEntry {
                    id,
                    fetched: Instant::now(),
                    refreshing: false,
                },
            );
        bound(&mut cache.schemas);
        cache.schemas.entry(id).or_insert_with(|| Arc::from(schema));
        Ok(id)
    }

    /// The compiled model of schema `id`, if it was compiled before.
    pub(crate) fn cached_codec(
        &self,
        id: i64,
        kind: ModelKind,
        record: Option<&str>,
    ) -> Option<Arc<Codec>> {
        let cache = self.cache();
        let compiled = cache.codecs.get(&(id, kind))?;
        compiled
            .iter()
            .find(|(r, _)| r.as_deref() == record)
            .map(|(_, codec)| codec.clone())
    }

    /// The compiled model of schema `id`: looked up and compiled once.
    pub(crate) async fn codec(
        &self,
        id: i64,
        kind: ModelKind,
        record: Option<&str>,
    ) -> Result<Arc<Codec>, RegistryError> {
        if let Some(codec) = self.cached_codec(id, kind, record) {
            return Ok(codec);
        }
        let cached = self.cache().schemas.get(&id).cloned();
        let text = match cached {
            Some(text) => text,
            None => {
                let answer = self
                    .get(&format!("/schemas/ids/{id}"), &format!("schema id {id}"))
                    .await?;
                let text: Arc<str> = answer
                    .get("schema")
                    .and_then(serde_json::Value::as_str)
                    .map(Arc::from)
                    .ok_or_else(|| self.unavailable("the schema's answer has no schema"))?;
                let mut cache = self.cache();
                bound(&mut cache.schemas);
                cache.schemas.insert(id, text.clone());
                text
            }
        };
        let codec = Codec::compile(kind, &text, record).map_err(|e| RegistryError::Schema {
            url: self.registry.url.clone(),
            id,
            model: kind.as_str(),
            reason: e.to_string(),
        })?;
        let codec = Arc::new(codec);
        let mut cache = self.cache();
        bound(&mut cache.codecs);
        cache
            .codecs
            .entry((id, kind))
            .or_default()
            .push((record.map(str::to_owned), codec.clone()));
        Ok(codec)
    }

    async fn get(&self, path: &str, what: &str) -> Result<serde_json::Value, RegistryError> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let mut request = Request::get(format!("{}{path}", self.registry.url)).header(
            header::ACCEPT,
            "application/vnd.schemaregistry.v1+json, application/json",
        );
        if let Some(authorization) = &self.registry.authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| self.unavailable(&e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| self.unavailable(&e.to_string()))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| self.unavailable(&e.to_string()))?
                .to_bytes();
            Ok::<_, RegistryError>((status, body))
        };
        let (status, body) = tokio::time::timeout(LOOKUP_TIMEOUT, exchange)
            .await
            .map_err(|_| self.unavailable("no answer within 5 s"))??;
        if status == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                url: self.registry.url.clone(),
                what: what.to_owned(),
            });
        }
        if !status.is_success() {
            return Err(self.unavailable(&format!("answered {status}")));
        }
        serde_json::from_slice(&body)
            .map_err(|e| self.unavailable(&format!("answered with invalid JSON: {e}")))
    }

    fn unavailable(&self, reason: &str) -> RegistryError {
        RegistryError::Unavailable {
            url: self.registry.url.clone(),
            reason: reason.to_owned(),
        }
    }
}

/// Makes room in a cache at its bound by forgetting an arbitrary entry.
fn bound<K: Clone + Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    if map.len() >= MAX_CACHED
        && let Some(key) = map.keys().next().cloned()
    {
        map.remove(&key);
    }
}

/// The registry clients of the data plane, kept across configuration changes so that their
/// caches survive an apply.
#[derive(Default)]
pub(crate) struct RegistryPool {
    clients: Mutex<HashMap<String, Arc<RegistryClient>>>,
}

impl RegistryPool {
    /// The client for `registry`, made on first use.
    pub(crate) fn client(&self, registry: &Registry) -> Result<Arc<RegistryClient>, TlsError> {
        let key = format!("{registry:?}");
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = Arc::new(RegistryClient::new(registry)?);
        clients.insert(key, client.clone());
        Ok(client)
    }
}
