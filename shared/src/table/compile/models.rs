//! Models: their kind, options and schema, checked and bound to a catalog.

use std::sync::Arc;

use serde_json::Value;
use sluice_schema::{Codec, ModelKind, ScalarFormat, ScalarOptions};

use super::Compiler;
use crate::error::pointer_token;
use crate::spec::{CatalogRefSpec, ModelSpec};
use crate::table::models::{
    CatalogSource, Leniency, ModelBinding, SchemaIdentity, SchemaRef, Selector,
};

/// Where a model sits: on a topic's key or value (which `strategy: topic` needs), or on a
/// request.
#[derive(Debug, Clone, Copy)]
pub(super) enum ModelPlace<'t> {
    /// A kafka topic's `key` or `value`.
    Topic(&'t str, &'static str),
    /// An http request or response.
    Http,
}

impl Compiler<'_> {
    /// Checks a model and binds it to its schema; `None` after recording its errors.
    pub(super) fn model_binding(
        &mut self,
        spec: &ModelSpec,
        at: &str,
        place: ModelPlace<'_>,
    ) -> Option<Arc<ModelBinding>> {
        let Some(kind) = ModelKind::parse(&spec.model) else {
            let names: Vec<&str> = ModelKind::ALL.iter().map(|k| k.as_str()).collect();
            self.errors.push(
                format!("{at}/model"),
                format!(
                    "unknown model '{}', expected one of {}",
                    spec.model,
                    names.join(", ")
                ),
            );
            return None;
        };
        let json_view = match spec.view.as_deref() {
            None => false,
            Some("json") if kind.has_json_view() => true,
            Some(view) => {
                self.errors.push(
                    format!("{at}/view"),
                    format!(
                        "view '{view}' does not apply to {}; avro and protobuf have view json",
                        kind.as_str()
                    ),
                );
                false
            }
        };
        let leniency = self.leniency(spec.validate.as_ref(), &format!("{at}/validate"));
        let schema = if kind.has_schema() {
            self.misplaced_scalar_options(spec, at);
            self.schema_ref(spec, kind, at, place)?
        } else {
            self.scalar(spec, kind, at)?
        };
        if json_view
            && matches!(
                &schema,
                SchemaRef::Registry {
                    selector: Selector::Encoded,
                    ..
                }
            )
        {
            self.errors.push(
                format!("{at}/catalog"),
                "strategy encoded takes the schema from each payload; converting JSON needs a subject, an id or strategy topic",
            );
        }
        Some(Arc::new(ModelBinding {
            pointer: at.to_owned(),
            kind,
            json_view,
            leniency,
            schema,
        }))
    }

    fn leniency(&mut self, validate: Option<&Value>, at: &str) -> Leniency {
        let lenient = |value: Option<&Value>,
                       errors: &mut crate::error::ConfigErrors,
                       at: String| match value.and_then(Value::as_str) {
            None if value.is_none() => false,
            Some("strict") => false,
            Some("lenient") => true,
            _ => {
                errors.push(at, "expected strict or lenient");
                false
            }
        };
        match validate {
            None => Leniency::default(),
            Some(Value::Object(map)) => {
                if let Some(other) = map
                    .keys()
                    .find(|k| !matches!(k.as_str(), "decode" | "encode"))
                {
                    self.errors.push(
                        format!("{at}/{}", pointer_token(other)),
                        "expected decode or encode",
                    );
                }
                Leniency {
                    decode: lenient(map.get("decode"), &mut self.errors, format!("{at}/decode")),
                    encode: lenient(map.get("encode"), &mut self.errors, format!("{at}/encode")),
                }
            }
            Some(value) => {
                let both = lenient(Some(value), &mut self.errors, at.to_owned());
                Leniency {
                    decode: both,
                    encode: both,
                }
            }
        }
    }

    fn misplaced_scalar_options(&mut self, spec: &ModelSpec, at: &str) {
        let scalar_fields = [
            ("encoding", spec.encoding.is_some()),
            ("format", spec.format.is_some()),
            ("range", spec.range.is_some()),
            ("multiple", spec.multiple.is_some()),
            ("pattern", spec.pattern.is_some()),
            ("minLength", spec.min_length.is_some()),
            ("maxLength", spec.max_length.is_some()),
        ];
        for (field, present) in scalar_fields {
            if present {
                self.errors.push(
                    format!("{at}/{field}"),
                    format!(
                        "'{field}' applies to string and number models, not {}",
                        spec.model
                    ),
                );
            }
        }
    }

    fn scalar(&mut self, spec: &ModelSpec, kind: ModelKind, at: &str) -> Option<SchemaRef> {
        if spec.catalog.is_some() {
            self.errors.push(
                format!("{at}/catalog"),
                format!("{} takes no catalog", kind.as_str()),
            );
        }
        let text = kind == ModelKind::String;
        let misplaced = [
            ("encoding", spec.encoding.is_some() && !text),
            ("format", spec.format.is_some() && text),
            ("range", spec.range.is_some() && text),
            ("multiple", spec.multiple.is_some() && text),
            ("pattern", spec.pattern.is_some() && !text),
            ("minLength", spec.min_length.is_some() && !text),
            ("maxLength", spec.max_length.is_some() && !text),
        ];
        for (field, wrong) in misplaced {
            if wrong {
                self.errors.push(
                    format!("{at}/{field}"),
                    format!("'{field}' does not apply to {}", kind.as_str()),
                );
            }
        }
        let options = self.scalar_options(spec, at);
        match Codec::scalar(kind, options) {
            Ok(codec) => Some(SchemaRef::Ready {
                codec: Arc::new(codec),
                identity: SchemaIdentity::default(),
            }),
            Err(error) => {
                self.errors.push(at, error.to_string());
                None
            }
        }
    }

    fn scalar_options(&mut self, spec: &ModelSpec, at: &str) -> ScalarOptions {
        let format = match spec.format.as_deref() {
            None | Some("text") => ScalarFormat::Text,
            Some("binary") => ScalarFormat::Binary,
            Some(other) => {
                self.errors.push(
                    format!("{at}/format"),
                    format!("unknown format '{other}', expected text or binary"),
                );
                ScalarFormat::Text
            }
        };
        let utf16 = match spec.encoding.as_deref() {
            None | Some("utf_8") => false,
            Some("utf_16") => true,
            Some(other) => {
                self.errors.push(
                    format!("{at}/encoding"),
                    format!("unknown encoding '{other}', expected utf_8 or utf_16"),
                );
                false
            }
        };
        ScalarOptions {
            format,
            utf16,
            min_length: spec.min_length,
            max_length: spec.max_length,
            pattern: spec.pattern.clone(),
            range: spec.range.clone(),
            multiple: spec.multiple,
        }
    }

    /// The one catalog reference of a schema model, resolved.
    fn schema_ref(
        &mut self,
        spec: &ModelSpec,
        kind: ModelKind,
        at: &str,
        place: ModelPlace<'_>,
    ) -> Option<SchemaRef> {
        let catalog_at = format!("{at}/catalog");
        let Some(catalogs) = &spec.catalog else {
            self.errors
                .push(at, format!("a {} model needs a catalog", kind.as_str()));
            return None;
        };
        let mut entries = catalogs.iter();
        let (Some((name, refs)), None) = (entries.next(), entries.next()) else {
            self.errors.push(catalog_at, "name exactly one catalog");
            return None;
        };
        let catalog_at = format!("{catalog_at}/{}", pointer_token(name));
        let Some(&index) = self.catalog_index.get(name.as_str()) else {
            if !self.spec.catalogs.contains_key(name) {
                self.errors.push(
                    catalog_at,
                    format!("catalog '{name}' is not defined under /catalogs"),
                );
            }
            return None;
        };
        let [reference] = refs.as_slice() else {
            self.errors.push(
                catalog_at,
                "give exactly one schema reference (id, subject or strategy)",
            );
            return None;
        };
        let at = format!("{catalog_at}/0");
        let selector = self.selector(reference, kind, &at, place)?;
        let record = reference.record.clone();
        match (&self.catalogs[index].source, kind) {
            (_, ModelKind::Protobuf) if record.is_none() => {
                self.errors
                    .push(at, "a protobuf model names its message in 'record'");
                None
            }
            (CatalogSource::Registry(_), _) => Some(SchemaRef::Registry {
                catalog: index,
                selector,
                record,
            }),
            (CatalogSource::Local(_), _) => {
                self.local_schema(index, &selector, kind, record.as_deref(), &at)
            }
        }
    }

    fn selector(
        &mut self,
        reference: &CatalogRefSpec,
        kind: ModelKind,
        at: &str,
        place: ModelPlace<'_>,
    ) -> Option<Selector> {
        if reference.overlay.is_some() {
            self.errors.push(
                format!("{at}/overlay"),
                "schema overlays are not supported by sluice",
            );
            return None;
        }
        if reference.record.is_some() && kind != ModelKind::Protobuf {
            self.errors
                .push(format!("{at}/record"), "record names a protobuf message");
        }
        let version = reference
            .version
            .clone()
            .unwrap_or_else(|| "latest".to_owned());
        match (
            reference.id,
            reference.subject.as_deref(),
            reference.strategy.as_deref(),
        ) {
            (Some(id), None, None) => Some(Selector::Id(id)),
            (None, Some(subject), None) => Some(Selector::Subject {
                subject: subject.to_owned(),
                version,
            }),
            (None, None, Some("topic")) => match place {
                ModelPlace::Topic(topic, part) => Some(Selector::Subject {
                    subject: format!("{topic}-{part}"),
                    version,
                }),
                ModelPlace::Http => {
                    self.errors.push(
                        format!("{at}/strategy"),
                        "strategy topic applies to kafka topics; name a subject",
                    );
                    None
                }
            },
            (None, None, Some("encoded")) => Some(Selector::Encoded),
            (None, None, Some(other)) => {
                self.errors.push(
                    format!("{at}/strategy"),
                    format!("unknown strategy '{other}', expected topic or encoded"),
                );
                None
            }
            _ => {
                self.errors
                    .push(at, "give exactly one of id, subject or strategy");
                None
            }
        }
    }
}
