//! `catalogs`: local schemas read and numbered, registries checked and described.

use std::collections::HashMap;
use std::sync::Arc;

use sluice_schema::wire::{IdWidth, text_id};

use super::Compiler;
use super::vault::resolve;
use crate::error::pointer_token;
use crate::spec::{
    ApicurioCatalogSpec, CatalogOptionsSpec, CatalogSpec, CatalogType, RegistryCatalogSpec,
};
use sluice_schema::{Codec, ModelKind};

use crate::table::models::{
    Catalog, CatalogSource, LocalSubject, Registry, SchemaIdentity, SchemaRef, Selector,
};

/// Largest schema file read.
const MAX_SCHEMA_BYTES: u64 = 1024 * 1024;
/// Default and largest `max-age`, seconds.
const DEFAULT_MAX_AGE: u64 = 300;
const MAX_MAX_AGE: u64 = 7 * 24 * 3600;

impl<'a> Compiler<'a> {
    /// Every catalog; local schemas are read now (compiled when a model names them).
    pub(super) fn compile_catalogs(&mut self) {
        for (name, spec) in &self.spec.catalogs {
            let at = format!("/catalogs/{}", pointer_token(name));
            if let Some(source) = self.catalog_source(name, spec, &at) {
                self.catalog_index.insert(name, self.catalogs.len());
                self.catalogs.push(Catalog {
                    name: name.clone(),
                    source,
                });
            }
        }
    }

    fn catalog_source(
        &mut self,
        name: &str,
        spec: &CatalogSpec,
        at: &str,
    ) -> Option<CatalogSource> {
        if spec.vault.is_some()
            && !matches!(
                spec.catalog_type,
                CatalogType::SchemaRegistry | CatalogType::KarapaceSchemaRegistry
            )
        {
            self.errors.push(
                format!("{at}/vault"),
                format!("a {} catalog reads no vault", spec.catalog_type.as_str()),
            );
        }
        let Some(options) = &spec.options else {
            self.errors.push(at, "missing field 'options'");
            return None;
        };
        let at = format!("{at}/options");
        match options {
            CatalogOptionsSpec::Inline(inline) => {
                let mut subjects = HashMap::new();
                for (subject, entry) in &inline.subjects {
                    subjects.insert(
                        subject.clone(),
                        local(Some(entry.schema.clone()), entry.version.clone()),
                    );
                }
                Some(CatalogSource::Local(subjects))
            }
            CatalogOptionsSpec::Filesystem(files) => {
                let mut subjects = HashMap::new();
                for (subject, entry) in &files.subjects {
                    let here = format!("{at}/subjects/{}/path", pointer_token(subject));
                    let text = self.schema_file(&entry.path, &here);
                    subjects.insert(subject.clone(), local(text, None));
                }
                Some(CatalogSource::Local(subjects))
            }
            CatalogOptionsSpec::Registry(registry) => {
                self.registry(name, registry, spec.vault.as_deref(), &at)
            }
            CatalogOptionsSpec::Apicurio(apicurio) => self.apicurio(apicurio, &at),
        }
    }

    /// Reads a schema file, relative to the configuration's directory.
    fn schema_file(&mut self, path: &str, at: &str) -> Option<String> {
        let full = resolve(path, self.options.base_dir.as_deref());
        let read = std::fs::metadata(&full).and_then(|meta| {
            if meta.len() > MAX_SCHEMA_BYTES {
                Err(std::io::Error::other(format!(
                    "larger than {MAX_SCHEMA_BYTES} bytes"
                )))
            } else {
                std::fs::read_to_string(&full)
            }
        });
        match read {
            Ok(text) => Some(text),
            Err(error) => {
                self.errors
                    .push(at, format!("cannot read schema file '{full}': {error}"));
                None
            }
        }
    }

    fn registry(
        &mut self,
        name: &str,
        spec: &RegistryCatalogSpec,
        vault: Option<&str>,
        at: &str,
    ) -> Option<CatalogSource> {
        let url = self.registry_url(&spec.url, &format!("{at}/url"))?;
        let max_age_seconds = self.max_age(spec.max_age, &format!("{at}/max-age"));
        let context = spec
            .context
            .as_deref()
            .filter(|c| !c.is_empty() && *c != "default")
            .map(str::to_owned);
        let https = url.starts_with("https://");
        let catalog_at = at.trim_end_matches("/options");
        let tls = self
            .https_tls(name, "catalog", vault, spec.tls.as_ref(), https, catalog_at)
            .ok()
            .flatten();
        let authorization = spec
            .credentials
            .as_ref()
            .and_then(|c| c.headers.authorization.clone());
        Some(CatalogSource::Registry(Box::new(Registry {
            url,
            context,
            max_age_seconds,
            authorization,
            id_width: IdWidth::Four,
            tls,
        })))
    }

    fn apicurio(&mut self, spec: &ApicurioCatalogSpec, at: &str) -> Option<CatalogSource> {
        let url = self.registry_url(&spec.url, &format!("{at}/url"))?;
        let url = if url.contains("/apis/ccompat/") {
            url
        } else {
            format!("{url}/apis/ccompat/v7")
        };
        let id_width = match spec.id_encoding.as_deref() {
            None | Some("default") => IdWidth::Eight,
            Some("legacy") => IdWidth::Four,
            Some(other) => {
                self.errors.push(
                    format!("{at}/id-encoding"),
                    format!("unknown id-encoding '{other}', expected default or legacy"),
                );
                IdWidth::Eight
            }
        };
        if let Some(use_id) = &spec.use_id
            && !matches!(use_id.as_str(), "globalId" | "contentId")
        {
            self.errors.push(
                format!("{at}/use-id"),
                format!("unknown use-id '{use_id}', expected globalId or contentId"),
            );
        }
        // The Confluent-compatible API serves the default group only.
        if let Some(group) = spec.group_id.as_deref()
            && group != "default"
        {
            self.errors.push(
                format!("{at}/group-id"),
                format!("group '{group}': sluice reads Apicurio through its Confluent-compatible API, which serves the default group"),
            );
        }
        let context = None;
        Some(CatalogSource::Registry(Box::new(Registry {
            url,
            context,
            max_age_seconds: self.max_age(spec.max_age, &format!("{at}/max-age")),
            authorization: None,
            id_width,
            tls: None,
        })))
    }

    fn registry_url(&mut self, url: &str, at: &str) -> Option<String> {
        let parsed = url.parse::<http::Uri>().ok().filter(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.host().is_some_and(|h| !h.is_empty())
        });
        if parsed.is_none() {
            self.errors
                .push(at, format!("'{url}' is not an http:// or https:// URL"));
            return None;
        }
        Some(url.trim_end_matches('/').to_owned())
    }

    fn max_age(&mut self, max_age: Option<u64>, at: &str) -> u64 {
        match max_age {
            None => DEFAULT_MAX_AGE,
            Some(seconds) if (1..=MAX_MAX_AGE).contains(&seconds) => seconds,
            Some(_) => {
                self.errors
                    .push(at, format!("must be 1 to {MAX_MAX_AGE} seconds"));
                DEFAULT_MAX_AGE
            }
        }
    }
}

impl Compiler<'_> {
    /// A schema of an `inline` or `filesystem` catalog, compiled now.
    pub(super) fn local_schema(
        &mut self,
        catalog: usize,
        selector: &Selector,
        kind: ModelKind,
        record: Option<&str>,
        at: &str,
    ) -> Option<SchemaRef> {
        let CatalogSource::Local(subjects) = &self.catalogs[catalog].source else {
            return None;
        };
        let catalog_name = self.catalogs[catalog].name.clone();
        let found = match selector {
            Selector::Subject { subject, version } => subjects
                .get(subject)
                .filter(|s| version == "latest" || *version == s.version)
                .map(|s| (subject.clone(), s.clone()))
                .ok_or_else(|| format!("catalog '{catalog_name}' has no subject '{subject}' version '{version}'")),
            Selector::Id(id) => subjects
                .iter()
                .find(|(_, s)| s.id == *id)
                .map(|(name, s)| (name.clone(), s.clone()))
                .ok_or_else(|| format!("catalog '{catalog_name}' has no schema with id {id}")),
            Selector::Encoded => Err("strategy encoded reads schema ids from payloads, which only registry catalogs give".to_owned()),
        };
        let (subject, local) = match found {
            Ok(found) => found,
            Err(message) => {
                self.errors.push(at, message);
                return None;
            }
        };
        // A file that could not be read is reported where it is named.
        let text = local.text.clone()?;
        let key = (catalog, subject.clone(), kind, record.map(str::to_owned));
        let codec = match self.codecs.get(&key) {
            Some(codec) => codec.clone(),
            None => match Codec::compile(kind, &text, record) {
                Ok(codec) => {
                    let codec = Arc::new(codec);
                    self.codecs.insert(key, codec.clone());
                    codec
                }
                Err(error) => {
                    let schema_at = format!(
                        "/catalogs/{}/options/subjects/{}",
                        pointer_token(&catalog_name),
                        pointer_token(&subject)
                    );
                    self.errors.push(
                        schema_at,
                        format!(
                            "subject '{subject}' is not a {} schema: {error}",
                            kind.as_str()
                        ),
                    );
                    return None;
                }
            },
        };
        Some(SchemaRef::Ready {
            codec,
            identity: SchemaIdentity {
                catalog: Some(catalog_name),
                subject: Some(subject),
                version: Some(local.version.clone()),
                id: Some(local.id),
            },
        })
    }
}

fn local(text: Option<String>, version: Option<String>) -> LocalSubject {
    LocalSubject {
        id: text.as_deref().map(text_id).unwrap_or_default(),
        version: version.unwrap_or_else(|| "latest".to_owned()),
        text: text.map(Arc::from),
    }
}
