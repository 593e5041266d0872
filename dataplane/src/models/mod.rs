//! Models at run time: payloads checked and converted on their way to Kafka, records
//! converted on their way out, schemas of registries looked up and cached.
//!
//! - On the way in (produce), a payload that does not fit is refused with `400` naming the
//!   place, the rule and the schema ([`Problem`]), and nothing is written; with
//!   `validate: lenient` and no conversion it is written as it is, counted and logged.
//! - On the way out (fetch, SSE), a record that does not fit is skipped, or with
//!   `validate: lenient` delivered as it is; either way counted in
//!   `sluice_model_failures_total` and logged once per model and reason.
//! - Registry catalogs frame payloads on Kafka (magic byte, schema id, Protobuf message
//!   indexes); `inline` and `filesystem` catalogs do not.
//!
//! Modules: `registry` (the registry client and its caches), `failures` (counting and
//! logging once). Failures become answers through [`crate::problem`].

pub(crate) mod failures;
pub(crate) mod registry;

use std::borrow::Cow;
use std::sync::Arc;

use sluice_schema::wire;
use sluice_schema::{Codec, Violation};
use sluice_shared::RouteTable;
use sluice_shared::table::models::{
    CatalogSource, ModelBinding, SchemaIdentity, SchemaRef, Selector,
};

pub(crate) use crate::problem::{Place, Problem};
pub(crate) use failures::ModelFailures;
use registry::{RegistryClient, RegistryError, RegistryPool};

use crate::error::DataPlaneError;
use crate::tls::TlsError;

/// The models of one route table, with the registry clients they need.
#[derive(Default)]
pub(crate) struct ModelRuntime {
    /// Registry clients by catalog index; `None` for local catalogs.
    registries: Vec<Option<Arc<RegistryClient>>>,
    failures: Arc<ModelFailures>,
}

/// Why a payload was not admitted.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// It does not fit its model.
    Invalid(Box<Problem>),
    /// Its schema could not be had from the registry.
    Unavailable(RegistryError),
}

/// Why a record could not be rendered without waiting.
pub(crate) enum Pending {
    /// Schema `id` of catalog `catalog` must be looked up first.
    Schema(usize, i64),
    /// It does not fit its model.
    Invalid(Violation),
}

impl ModelRuntime {
    /// The registry clients of `table`'s catalogs, from the data plane's pool.
    pub(crate) fn new(
        table: &RouteTable,
        pool: &RegistryPool,
        failures: Arc<ModelFailures>,
    ) -> Result<Self, TlsError> {
        let mut registries = Vec::with_capacity(table.catalogs.len());
        for catalog in &table.catalogs {
            registries.push(match &catalog.source {
                CatalogSource::Registry(registry) => Some(pool.client(registry)?),
                CatalogSource::Local(_) => None,
            });
        }
        Ok(Self {
            registries,
            failures,
        })
    }

    /// Looks up every registry schema `table` names, so that requests find them cached;
    /// fails when one cannot be had.
    pub(crate) async fn warm(&self, table: &RouteTable) -> Result<(), RegistryError> {
        for binding in table.model_bindings() {
            let SchemaRef::Registry {
                catalog,
                selector,
                record,
            } = &binding.schema
            else {
                continue;
            };
            let Some(client) = self.client(*catalog) else {
                continue;
            };
            let id = match selector {
                Selector::Id(id) => *id,
                Selector::Subject { subject, version } => client.subject(subject, version).await?,
                Selector::Encoded => continue,
            };
            client.codec(id, binding.kind, record.as_deref()).await?;
        }
        Ok(())
    }

    fn client(&self, catalog: usize) -> Option<&Arc<RegistryClient>> {
        self.registries.get(catalog).and_then(Option::as_ref)
    }

    /// Checks a payload from a client at `place` and returns what goes to Kafka: the payload
    /// itself, or its binary form with the registry's frame.
    pub(crate) async fn admit<'p>(
        &self,
        binding: &ModelBinding,
        payload: &'p [u8],
        place: Place<'_>,
    ) -> Result<Cow<'p, [u8]>, Refusal> {
        let admitted = match &binding.schema {
            SchemaRef::Ready { codec, identity } => {
                // Checked in place unless converted: the payload is not copied.
                let admitted = if binding.json_view {
                    let mut out = Vec::with_capacity(payload.len());
                    codec
                        .admit(payload, true, &mut out)
                        .map(|()| Cow::Owned(out))
                } else {
                    codec.check(payload).map(|()| Cow::Borrowed(payload))
                };
                admitted
                    .map_err(|violation| self.refuse(binding, violation, place, identity.clone()))
            }
            SchemaRef::Registry {
                catalog,
                selector,
                record,
            } => {
                let Some(client) = self.client(*catalog) else {
                    return Ok(Cow::Borrowed(payload));
                };
                self.admit_registry(binding, client, selector, record.as_deref(), payload, place)
                    .await
            }
        };
        match admitted {
            Err(Refusal::Invalid(problem)) if binding.leniency.encode && !binding.json_view => {
                self.failures.note("in", binding, &problem.violation.rule);
                Ok(Cow::Borrowed(payload))
            }
            Err(Refusal::Invalid(problem)) => {
                self.failures.count("in", binding);
                Err(Refusal::Invalid(problem))
            }
            other => other,
        }
    }

    async fn admit_registry<'p>(
        &self,
        binding: &ModelBinding,
        client: &Arc<RegistryClient>,
        selector: &Selector,
        record: Option<&str>,
        payload: &'p [u8],
        place: Place<'_>,
    ) -> Result<Cow<'p, [u8]>, Refusal> {
        let width = client.id_width();
        let identity = |id: i64, subject: Option<&str>| SchemaIdentity {
            catalog: None,
            subject: subject.map(str::to_owned),
            version: None,
            id: Some(id),
        };
        if binding.json_view {
            let (id, subject) = match selector {
                Selector::Id(id) => (*id, None),
                Selector::Subject { subject, version } => (
                    client
                        .subject(subject, version)
                        .await
                        .map_err(Refusal::Unavailable)?,
                    Some(subject.as_str()),
                ),
                Selector::Encoded => return Err(Refusal::Unavailable(not_convertible(client))),
            };
            let codec = client
                .codec(id, binding.kind, record)
                .await
                .map_err(Refusal::Unavailable)?;
            let mut out = Vec::with_capacity(payload.len() + 16);
            wire::frame(id, width, &mut out);
            if let Some(indexes) = codec.indexes() {
                wire::write_indexes(indexes, &mut out);
            }
            return match codec.admit(payload, true, &mut out) {
                Ok(()) => Ok(Cow::Owned(out)),
                Err(violation) => {
                    Err(self.refuse(binding, violation, place, identity(id, subject)))
                }
            };
        }
        let (id, rest) = wire::unframe(payload, width)
            .map_err(|v| self.refuse(binding, v, place, SchemaIdentity::default()))?;
        if let Selector::Id(expected) = selector
            && *expected != id
        {
            let violation =
                Violation::whole(format!("the payload names schema id {id}, not {expected}"));
            return Err(self.refuse(binding, violation, place, identity(id, None)));
        }
        let codec = match client.codec(id, binding.kind, record).await {
            Ok(codec) => codec,
            Err(RegistryError::NotFound { .. }) => {
                let violation = Violation::whole(format!("schema id {id} is not in the registry"));
                return Err(self.refuse(binding, violation, place, identity(id, None)));
            }
            Err(error) => return Err(Refusal::Unavailable(error)),
        };
        check_framed(&codec, rest)
            .map(|()| Cow::Borrowed(payload))
            .map_err(|violation| self.refuse(binding, violation, place, identity(id, None)))
    }

    fn refuse(
        &self,
        binding: &ModelBinding,
        violation: Violation,
        place: Place<'_>,
        mut identity: SchemaIdentity,
    ) -> Refusal {
        if let SchemaRef::Registry { catalog, .. } = &binding.schema
            && identity.catalog.is_none()
        {
            identity.catalog = self.client(*catalog).map(|c| c.url().to_owned());
        }
        Refusal::Invalid(Box::new(Problem::new(
            place,
            violation,
            binding.kind,
            identity,
        )))
    }

    /// A record's payload as a client sees it, with cached schemas only: `Ok(None)` when it
    /// is shown unchanged.
    pub(crate) fn render_cached(
        &self,
        binding: &ModelBinding,
        payload: &[u8],
    ) -> Result<Option<Vec<u8>>, Pending> {
        match &binding.schema {
            SchemaRef::Ready { codec, .. } => codec
                .render(payload, binding.json_view)
                .map_err(Pending::Invalid),
            SchemaRef::Registry {
                catalog, record, ..
            } => {
                let Some(client) = self.client(*catalog) else {
                    return Ok(None);
                };
                let (id, rest) =
                    wire::unframe(payload, client.id_width()).map_err(Pending::Invalid)?;
                let codec = client
                    .cached_codec(id, binding.kind, record.as_deref())
                    .ok_or(Pending::Schema(*catalog, id))?;
                render_framed(&codec, rest, binding.json_view).map_err(Pending::Invalid)
            }
        }
    }

    /// Looks up schema `id` of `catalog` so that [`Self::render_cached`] finds it.
    pub(crate) async fn load(
        &self,
        binding: &ModelBinding,
        catalog: usize,
        id: i64,
    ) -> Result<(), RegistryError> {
        let record = match &binding.schema {
            SchemaRef::Registry { record, .. } => record.as_deref(),
            SchemaRef::Ready { .. } => None,
        };
        match self.client(catalog) {
            Some(client) => client.codec(id, binding.kind, record).await.map(drop),
            None => Ok(()),
        }
    }

    /// Counts and logs (once per model and reason) a record that did not fit on the way out.
    pub(crate) fn render_failed(&self, binding: &ModelBinding, violation: Violation) -> Violation {
        self.failures.note("out", binding, &violation.rule);
        violation
    }
}

fn not_convertible(client: &RegistryClient) -> RegistryError {
    RegistryError::NotFound {
        url: client.url().to_owned(),
        what: "schema to convert with (strategy encoded)".to_owned(),
    }
}

/// Checks a framed payload's rest: Protobuf message indexes first, then the message.
fn check_framed(codec: &Codec, rest: &[u8]) -> Result<(), Violation> {
    let (codec, rest) = message_of(codec, rest)?;
    codec.check(rest)
}

fn render_framed(
    codec: &Codec,
    rest: &[u8],
    json_view: bool,
) -> Result<Option<Vec<u8>>, Violation> {
    let (codec, body) = message_of(codec, rest)?;
    match codec.render(body, json_view)? {
        Some(converted) => Ok(Some(converted)),
        None => Ok(None),
    }
}

/// The model of a framed payload: for Protobuf, the message its indexes name.
fn message_of<'c, 'r>(
    codec: &'c Codec,
    rest: &'r [u8],
) -> Result<(Cow<'c, Codec>, &'r [u8]), Violation> {
    if codec.indexes().is_none() {
        return Ok((Cow::Borrowed(codec), rest));
    }
    let (indexes, body) = wire::read_indexes(rest)?;
    let message = codec.at_indexes(&indexes).ok_or_else(|| {
        Violation::whole(format!("the schema has no message at indexes {indexes:?}"))
    })?;
    Ok((message, body))
}

impl From<Refusal> for DataPlaneError {
    /// A payload that does not fit, or whose schema cannot be had.
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Invalid(problem) => Self::Invalid(problem),
            Refusal::Unavailable(error) => Self::SchemaUnavailable(error.to_string()),
        }
    }
}
