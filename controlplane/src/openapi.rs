//! The admin API's OpenAPI document (utoipa), served at `GET /openapi.json`.
//!
//! `paths` holds one documentation-only function per route (the router is
//! [`crate::admin`], and a test checks that both list the same routes); `schemas` the
//! documents they take and answer.

mod paths;
mod schemas;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use paths::*;
use schemas::*;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token: SLUICE_ADMIN_TOKEN, or <data-dir>/admin-token",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Sluice admin API", description = "Configuration, revisions and health of a Sluice gateway."),
    paths(healthz, readyz, status, traffic, get_config, put_config, list_revisions, get_revision, rollback,
        list_bindings, get_binding, put_binding, delete_binding,
        list_guards, get_guard, put_guard, delete_guard, metrics, ui_index, ui_file, openapi_json),
    components(schemas(Problem, PointerError, ValidationErrors, Applied, ChangeResult, SectionDiff, Diff, DryRun,
        ConfigDocument, BindingDocument, CatalogDocument, GuardDocument,
        RevisionSummary, RevisionList, RejectedChange, StatusReport, DataPlaneEntry, Health, Document,
        TrafficView, RouteSeries, TopicLagSeries, ReplacedSeries, RevisionMark)),
    modifiers(&BearerToken)
)]
pub struct AdminApi;

/// The document as JSON text.
pub fn document() -> String {
    let mut document = serde_json::to_value(AdminApi::openapi()).unwrap_or_default();
    not_nullable_parameters(&mut document);
    serde_json::to_string(&document).unwrap_or_else(|_| "{}".to_owned())
}

/// Optional parameters are absent or have a value: a header or query parameter cannot be
/// JSON `null`, so their schemas say `string` or `boolean`, not `[string, null]` (which
/// tells clients and test generators that the text "null" is valid).
fn not_nullable_parameters(document: &mut serde_json::Value) {
    let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for operation in paths.values_mut().filter_map(|item| item.as_object_mut()) {
        for parameters in operation
            .values_mut()
            .filter_map(|op| op.get_mut("parameters"))
            .filter_map(|p| p.as_array_mut())
        {
            for schema in parameters.iter_mut().filter_map(|p| p.get_mut("schema")) {
                let single = schema
                    .get("type")
                    .and_then(|t| t.as_array())
                    .map(|types| {
                        types
                            .iter()
                            .filter(|t| *t != "null")
                            .cloned()
                            .collect::<Vec<_>>()
                    })
                    .filter(|types| types.len() == 1);
                if let Some(mut single) = single {
                    schema["type"] = single.remove(0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
