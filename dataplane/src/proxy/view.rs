//! How fetch and SSE show a topic's records: through the value model of the route's kafka
//! chain (checked, and converted to JSON with `view: json`), or as they are.
//!
//! A record that does not fit is hidden (strict, the default) or shown as it is
//! (`validate: lenient`); both are counted and logged once per model and reason. A record
//! whose schema id the registry cannot give right now is treated the same way.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sluice_shared::table::models::{ChainModels, ModelBinding};

use crate::kafka::feed::{Record, Shown};
use crate::models::{ModelRuntime, Pending};

/// The value model of one topic, ready to show its records.
pub(crate) struct View {
    models: Arc<ModelRuntime>,
    binding: Arc<ModelBinding>,
    /// Schemas the registry could not give during this view's life: not asked again.
    unavailable: Mutex<Vec<(usize, i64)>>,
}

impl View {
    /// The view of `topic` under the chain's models; `None` when its values have no model.
    pub(crate) fn of(models: &Arc<ModelRuntime>, chain: &ChainModels, topic: &str) -> Option<Self> {
        if chain.is_empty() {
            return None;
        }
        let binding = chain.get(topic)?.value.clone()?;
        Some(Self {
            models: models.clone(),
            binding,
            unavailable: Mutex::new(Vec::new()),
        })
    }

    /// Whether converted values are JSON.
    pub(crate) fn json(&self) -> bool {
        self.binding.json_view
    }

    /// How `value` is shown, with the schemas cached now; `Err` names a schema to load
    /// first with [`View::load`].
    pub(crate) fn show(&self, value: &[u8]) -> Result<Shown, (usize, i64)> {
        match self.models.render_cached(&self.binding, value) {
            Ok(None) => Ok(Shown::Same),
            Ok(Some(converted)) => Ok(Shown::Converted(Bytes::from(converted))),
            Err(Pending::Invalid(violation)) => {
                self.models.render_failed(&self.binding, violation);
                Ok(self.unfit())
            }
            Err(Pending::Schema(catalog, id)) => {
                let given_up = self
                    .unavailable
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .contains(&(catalog, id));
                if given_up {
                    Ok(self.unfit())
                } else {
                    Err((catalog, id))
                }
            }
        }
    }

    /// How a feed record is shown, computed once for every stream of this model.
    pub(crate) fn show_record(&self, record: &Record, value: &[u8]) -> Result<Shown, (usize, i64)> {
        let address = Arc::as_ptr(&self.binding) as usize;
        if let Some((model, shown)) = record.shown.get()
            && *model == address
        {
            return Ok(shown.clone());
        }
        let shown = self.show(value)?;
        let _ = record.shown.set((address, shown.clone()));
        Ok(shown)
    }

    /// Looks schema `id` of `catalog` up; when the registry cannot give it, records that
    /// need it are treated as not fitting.
    pub(crate) async fn load(&self, (catalog, id): (usize, i64)) {
        if let Err(error) = self.models.load(&self.binding, catalog, id).await {
            self.models.render_failed(
                &self.binding,
                sluice_schema::Violation::whole(error.to_string()),
            );
            self.unavailable
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((catalog, id));
        }
    }

    fn unfit(&self) -> Shown {
        if self.binding.leniency.decode {
            Shown::Same
        } else {
            Shown::Hidden
        }
    }
}
