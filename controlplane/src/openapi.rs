//! The admin API's OpenAPI document (utoipa), served at `GET /openapi.json`.
//!
//! The functions below only carry the documentation of each route; the router is
//! [`crate::admin`], and a test checks that both list the same routes.

#![allow(
    dead_code,
    reason = "documentation-only functions: utoipa reads their attributes"
)]

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// An error.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// Machine-readable code: `unauthorized`, `not_found`, `conflict`, `invalid`...
    pub code: String,
    /// For a person.
    pub message: String,
}

/// One validation error.
#[derive(Serialize, ToSchema)]
pub struct PointerError {
    /// JSON pointer (RFC 6901) to the offending value.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

/// A refused configuration: every problem with its location.
#[derive(Serialize, ToSchema)]
pub struct ValidationErrors {
    /// `invalid`.
    pub code: String,
    /// Summary.
    pub message: String,
    /// Every problem.
    pub errors: Vec<PointerError>,
}

/// The result of a change.
#[derive(Serialize, ToSchema)]
pub struct Applied {
    /// The head revision after the change.
    pub revision: u64,
    /// True when the change equalled the head and made no revision.
    pub unchanged: bool,
}

/// What a change answers: the revision after it, or for a dry run the validity and diff.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ChangeResult {
    /// The change was made (or equalled the head).
    Applied(Applied),
    /// `?dry_run=true`.
    DryRun(DryRun),
}

/// Names added, removed and changed in one section.
#[derive(Serialize, ToSchema)]
pub struct SectionDiff {
    /// New names.
    pub added: Vec<String>,
    /// Names gone.
    pub removed: Vec<String>,
    /// Names whose content differs.
    pub changed: Vec<String>,
}

/// What a change would do.
#[derive(Serialize, ToSchema)]
pub struct Diff {
    /// The configuration's `name` differs.
    pub name_changed: bool,
    /// Bindings.
    pub bindings: SectionDiff,
    /// Guards.
    pub guards: SectionDiff,
}

/// The result of a dry run.
#[derive(Serialize, ToSchema)]
pub struct DryRun {
    /// Always true (an invalid configuration is a 422).
    pub valid: bool,
    /// The differences with the head.
    pub diff: Diff,
}

/// One revision, without its configuration.
#[derive(Serialize, ToSchema)]
pub struct RevisionSummary {
    /// Its number.
    pub number: u64,
    /// The revision it replaced.
    pub parent: Option<u64>,
    /// Who.
    pub author: String,
    /// Why.
    pub message: String,
    /// When, milliseconds since the epoch.
    pub created_ms: u64,
    /// SHA-256 of the configuration's JSON.
    pub checksum: String,
}

/// Revisions, newest first.
#[derive(Serialize, ToSchema)]
pub struct RevisionList {
    /// At most the newest 100.
    pub revisions: Vec<RevisionSummary>,
}

/// A refused change.
#[derive(Serialize, ToSchema)]
pub struct RejectedChange {
    /// When, milliseconds since the epoch.
    pub time_ms: u64,
    /// Why.
    pub reason: String,
}

/// What runs.
#[derive(Serialize, ToSchema)]
pub struct StatusReport {
    /// The revision the data plane serves.
    pub live_revision: Option<u64>,
    /// When it was applied, milliseconds since the epoch.
    pub applied_ms: Option<u64>,
    /// The last refused change.
    pub last_rejected: Option<RejectedChange>,
    /// Separate data planes following this control plane.
    pub data_planes: Vec<DataPlaneEntry>,
}

/// A separate data plane, as it reported itself when it last polled.
#[derive(Serialize, ToSchema)]
pub struct DataPlaneEntry {
    /// Its id.
    pub id: String,
    /// The revision it serves.
    pub applied_revision: Option<u64>,
    /// Why the last revision it received did not apply there.
    pub last_error: Option<String>,
    /// When it last polled, milliseconds since the epoch.
    pub last_seen_ms: u64,
    /// It polled within the last 90 s.
    pub connected: bool,
}

/// Health.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
    /// The live revision (readiness).
    pub revision: Option<u64>,
}

/// A whole configuration, a binding or a guard: the `zilla.yaml` vocabulary of
/// `docs/configuration.md`, as JSON (or YAML with `application/yaml`).
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct Document(serde_json::Value);

/// A whole configuration (`docs/configuration.md`). The schema checks its shape; what it
/// cannot express (exits that name no binding, ports, topics...) is checked on apply and
/// refused with 422 and every error's JSON pointer.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigDocument {
    /// The namespace name.
    pub name: String,
    /// Guards by name.
    #[schema(value_type = Option<HashMap<String, GuardDocument>>)]
    pub guards: Option<serde_json::Value>,
    /// Bindings by name.
    #[schema(value_type = Option<HashMap<String, BindingDocument>>)]
    pub bindings: Option<serde_json::Value>,
}

/// One binding: `type`, `kind`, and its `options`, `routes` and `exit`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingDocument {
    /// `tcp`, `tls`, `http`, `sse`, `http-kafka`, `sse-kafka`, `kafka` or `echo`.
    #[serde(rename = "type")]
    pub binding_type: String,
    /// `server`, `client`, `proxy`, `cache_client` or `cache_server`.
    pub kind: String,
    /// Options of that type.
    #[schema(value_type = Option<Object>)]
    pub options: Option<serde_json::Value>,
    /// Routes, first match wins.
    #[schema(value_type = Option<Vec<Object>>)]
    pub routes: Option<serde_json::Value>,
    /// The binding requests go to when no route matches.
    pub exit: Option<String>,
}

/// One guard: `type: jwt` and its options.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardDocument {
    /// `jwt`.
    #[serde(rename = "type")]
    pub guard_type: String,
    /// Issuer, audience, keys or JWKS URL, challenge...
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process serves", body = Health)))]
fn healthz() {}

#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "A configuration is applied and every Kafka cluster it uses answers", body = Health),
        (status = 503, description = "Nothing applied yet, or a Kafka cluster does not answer (the message says which)", body = Problem)))]
fn readyz() {}

#[utoipa::path(get, path = "/v1/status", tag = "status",
    responses((status = 200, description = "Live revision, last refusal and the data planes following", body = StatusReport),
        (status = 400, description = "A malformed query parameter (dry_run and secrets take true or false)", body = Problem),
        (status = 401, description = "No or wrong admin token: reads need it when the admin listener is not on loopback", body = Problem)))]
fn status() {}

#[utoipa::path(get, path = "/v1/config", tag = "config",
    params(
        ("if-none-match" = Option<String>, Header, pattern = r#"^[ \t]*(\*|((W/)?"[0-9]{1,19}"|[0-9]{1,19})([ \t]*,[ \t]*((W/)?"[0-9]{1,19}"|[0-9]{1,19}))*)[ \t]*$"#, description = "Revision ETags (\"<n>\", a list, or *): 304 while the head is one of them"),
        ("prefer" = Option<String>, Header, description = "wait=N (at most 300): with if-none-match, wait up to N seconds for the next applied revision"),
        ("sluice-data-plane" = Option<String>, Header, pattern = r"^[A-Za-z0-9._-]{1,64}$", description = "A following data plane's id (1 to 64 of [A-Za-z0-9._-]), listed in /v1/status"),
        ("sluice-applied-revision" = Option<u64>, Header, description = "The revision that data plane serves"),
        ("sluice-apply-error" = Option<String>, Header, description = "Why the last revision did not apply on that data plane"),
        ("secrets" = Option<bool>, Query, description = "true: secret fields (SASL password, key password) as stored instead of \"***\"; needs the admin token even on loopback (data planes use it)")),
    responses(
        (status = 200, description = "The head configuration; YAML with accept: application/yaml. Secret fields read \"***\" unless secrets=true; a PUT that sends \"***\" back keeps the stored value",
            body = Document, headers(("etag" = String, description = "\"<revision>\""))),
        (status = 401, description = "secrets=true without the admin token, or no token where reads need it", body = Problem),
        (status = 304, description = "The head is still the if-none-match revision",
            headers(("etag" = String, description = "\"<revision>\""))),
        (status = 400, description = "A malformed condition, wait or data-plane header", body = Problem),
        (status = 404, description = "Nothing stored", body = Problem)))]
fn get_config() {}

#[utoipa::path(put, path = "/v1/config", tag = "config",
    request_body(content = ConfigDocument, description = "A whole configuration, JSON or YAML (content-type: application/yaml)"),
    params(
        ("if-match" = Option<String>, Header, pattern = r#"^[ \t]*(\*|(W/)?"[0-9]{1,19}"|[0-9]{1,19})[ \t]*$"#, description = "Apply only if the head is this revision (\"<n>\", or *)"),
        ("dry_run" = Option<bool>, Query, description = "Validate and diff only"),
        ("x-sluice-author" = Option<String>, Header, description = "Who, for the history"),
        ("x-sluice-message" = Option<String>, Header, description = "Why, for the history")),
    responses(
        (status = 200, description = "Applied, unchanged, or (dry run) valid with the diff", body = ChangeResult),
        (status = 400, description = "Not JSON or YAML, a malformed If-Match or query parameter", body = Problem),
        (status = 401, description = "No or wrong admin token", body = Problem),
        (status = 412, description = "The head is not the If-Match revision", body = Problem),
        (status = 413, description = "Over the document size limit", body = Problem),
        (status = 422, description = "Invalid: every error with its pointer", body = ValidationErrors)),
    security(("admin_token" = [])))]
fn put_config() {}

#[utoipa::path(get, path = "/v1/revisions", tag = "revisions",
    responses((status = 200, description = "Newest first", body = RevisionList),
        (status = 400, description = "A malformed query parameter (dry_run and secrets take true or false)", body = Problem),
        (status = 401, description = "No or wrong admin token: reads need it when the admin listener is not on loopback", body = Problem)))]
fn list_revisions() {}

#[utoipa::path(get, path = "/v1/revisions/{number}", tag = "revisions",
    params(("number" = u64, Path, description = "Revision number")),
    responses(
        (status = 200, description = "That revision's configuration", body = Document,
            headers(("etag" = String, description = "\"<revision>\""))),
        (status = 404, description = "No such revision, or no longer kept", body = Problem),
        (status = 400, description = "A malformed query parameter (dry_run and secrets take true or false)", body = Problem),
        (status = 401, description = "No or wrong admin token: reads need it when the admin listener is not on loopback", body = Problem)))]
fn get_revision() {}

#[utoipa::path(post, path = "/v1/revisions/{number}/rollback", tag = "revisions",
    params(("number" = u64, Path, description = "The revision to return to"),
        ("if-match" = Option<String>, Header, pattern = r#"^[ \t]*(\*|(W/)?"[0-9]{1,19}"|[0-9]{1,19})[ \t]*$"#, description = "Only if the head is this revision (\"<n>\", or *)")),
    responses(
        (status = 200, description = "A new revision equal to revision {number}", body = Applied),
        (status = 400, description = "A malformed If-Match, query parameter or body", body = Problem),
        (status = 401, description = "No or wrong admin token", body = Problem),
        (status = 404, description = "No such revision", body = Problem),
        (status = 412, description = "The head moved", body = Problem),
        (status = 422, description = "That revision no longer applies here (a port in use...)", body = ValidationErrors)),
    security(("admin_token" = [])))]
fn rollback() {}

#[utoipa::path(get, path = "/v1/bindings", tag = "bindings",
    responses((status = 200, description = "Bindings by name", body = Document,
        headers(("etag" = String, description = "\"<revision>\""))),
        (status = 400, description = "A malformed query parameter (dry_run and secrets take true or false)", body = Problem),
        (status = 401, description = "No or wrong admin token: reads need it when the admin listener is not on loopback", body = Problem),
        (status = 404, description = "Nothing stored", body = Problem)))]
fn list_bindings() {}

#[utoipa::path(get, path = "/v1/bindings/{name}", tag = "bindings",
    params(("name" = String, Path, description = "Binding name")),
    responses(
        (status = 200, description = "The binding", body = Document,
            headers(("etag" = String, description = "Hash of the binding"))),
        (status = 404, description = "No such binding", body = Problem),
        (status = 400, description = "A malformed query parameter (dry_run and secrets take true or false)", body = Problem),
        (status = 401, description = "No or wrong admin token: reads need it when the admin listener is not on loopback", body = Problem)))]
fn get_binding() {}

#[utoipa::path(put, path = "/v1/bindings/{name}", tag = "bindings",
    params(("name" = String, Path, description = "Binding name"),
        ("if-match" = Option<String>, Header, pattern = r#"^[ \t]*(\*|(W/)?"[!#-~]+")[ \t]*$"#, description = "The binding's ETag, or *"),
        ("dry_run" = Option<bool>, Query, description = "Validate and diff only")),
    request_body(content = BindingDocument, description = "The binding, JSON or YAML (content-type: application/yaml)"),
    responses(
        (status = 200, description = "Applied, unchanged, or (dry run) valid with the diff", body = ChangeResult),
        (status = 400, description = "A malformed If-Match, query parameter or body", body = Problem),
        (status = 401, description = "No or wrong admin token", body = Problem),
        (status = 404, description = "Nothing stored", body = Problem),
        (status = 412, description = "The binding changed meanwhile", body = Problem),
        (status = 413, description = "Over the document size limit", body = Problem),
        (status = 422, description = "The configuration would be invalid", body = ValidationErrors)),
    security(("admin_token" = [])))]
fn put_binding() {}

#[utoipa::path(delete, path = "/v1/bindings/{name}", tag = "bindings",
    params(("name" = String, Path, description = "Binding name"),
        ("if-match" = Option<String>, Header, pattern = r#"^[ \t]*(\*|(W/)?"[!#-~]+")[ \t]*$"#, description = "The binding's ETag, or *"),
        ("dry_run" = Option<bool>, Query, description = "Validate and diff only")),
    responses(
        (status = 200, description = "Applied, or (dry run) valid with the diff", body = ChangeResult),
        (status = 400, description = "A malformed If-Match, query parameter or body", body = Problem),
        (status = 401, description = "No or wrong admin token", body = Problem),
        (status = 404, description = "No such binding", body = Problem),
        (status = 412, description = "The binding changed meanwhile", body = Problem),
        (status = 422, description = "Other bindings still exit to it", body = ValidationErrors)),
    security(("admin_token" = [])))]
fn delete_binding() {}

#[utoipa::path(get, path = "/v1/guards", tag = "guards",
    responses((status = 200, description = "Guards by name", body = Document,
        headers(("etag" = String, description = "\"<revision>\""))),
        (status = 400, description = "A malformed query parameter (dry_run and secrets take true or false)", body = Problem),
        (status = 401, description = "No or wrong admin token: reads need it when the admin listener is not on loopback", body = Problem),
        (status = 404, description = "Nothing stored", body = Problem)))]
fn list_guards() {}

#[utoipa::path(get, path = "/v1/guards/{name}", tag = "guards",
    params(("name" = String, Path, description = "Guard name")),
    responses(
        (status = 200, description = "The guard", body = Document,
            headers(("etag" = String, description = "Hash of the guard"))),
        (status = 404, description = "No such guard", body = Problem),
        (status = 400, description = "A malformed query parameter (dry_run and secrets take true or false)", body = Problem),
        (status = 401, description = "No or wrong admin token: reads need it when the admin listener is not on loopback", body = Problem)))]
fn get_guard() {}

#[utoipa::path(put, path = "/v1/guards/{name}", tag = "guards",
    params(("name" = String, Path, description = "Guard name"),
        ("if-match" = Option<String>, Header, pattern = r#"^[ \t]*(\*|(W/)?"[!#-~]+")[ \t]*$"#, description = "The guard's ETag, or *"),
        ("dry_run" = Option<bool>, Query, description = "Validate and diff only")),
    request_body(content = GuardDocument, description = "The guard, JSON or YAML (content-type: application/yaml)"),
    responses(
        (status = 200, description = "Applied, unchanged, or (dry run) valid with the diff", body = ChangeResult),
        (status = 400, description = "A malformed If-Match, query parameter or body", body = Problem),
        (status = 401, description = "No or wrong admin token", body = Problem),
        (status = 404, description = "Nothing stored", body = Problem),
        (status = 412, description = "The guard changed meanwhile", body = Problem),
        (status = 413, description = "Over the document size limit", body = Problem),
        (status = 422, description = "The configuration would be invalid", body = ValidationErrors)),
    security(("admin_token" = [])))]
fn put_guard() {}

#[utoipa::path(delete, path = "/v1/guards/{name}", tag = "guards",
    params(("name" = String, Path, description = "Guard name"),
        ("if-match" = Option<String>, Header, pattern = r#"^[ \t]*(\*|(W/)?"[!#-~]+")[ \t]*$"#, description = "The guard's ETag, or *"),
        ("dry_run" = Option<bool>, Query, description = "Validate and diff only")),
    responses(
        (status = 200, description = "Applied, or (dry run) valid with the diff", body = ChangeResult),
        (status = 400, description = "A malformed If-Match, query parameter or body", body = Problem),
        (status = 401, description = "No or wrong admin token", body = Problem),
        (status = 404, description = "No such guard", body = Problem),
        (status = 412, description = "The guard changed meanwhile", body = Problem),
        (status = 422, description = "Routes still use it", body = ValidationErrors)),
    security(("admin_token" = [])))]
fn delete_guard() {}

#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format (version 0.0.4): requests by binding, route and status, latency histograms, open streams, waiters, Kafka produce errors and consumer lag, live revision, applies and refusals",
        content_type = "text/plain", body = String),
        (status = 400, description = "A malformed query parameter (dry_run and secrets take true or false)", body = Problem),
        (status = 401, description = "No or wrong admin token: reads need it when the admin listener is not on loopback", body = Problem)))]
fn metrics() {}

#[utoipa::path(get, path = "/ui/", tag = "ui",
    responses((status = 200, description = "The web UI: route editor, guards, history, status (a client of this API)",
        content_type = "text/html", body = String)))]
fn ui_index() {}

#[utoipa::path(get, path = "/ui/{file}", tag = "ui",
    params(("file" = String, Path, description = "app.js, diff.js, style.css or index.html")),
    responses(
        (status = 200, description = "A web UI asset, with a strict Content-Security-Policy", body = String),
        (status = 404, description = "No such asset", body = Problem)))]
fn ui_file() {}

#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "This document", body = Document)))]
fn openapi_json() {}

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
    paths(healthz, readyz, status, get_config, put_config, list_revisions, get_revision, rollback,
        list_bindings, get_binding, put_binding, delete_binding,
        list_guards, get_guard, put_guard, delete_guard, metrics, ui_index, ui_file, openapi_json),
    components(schemas(Problem, PointerError, ValidationErrors, Applied, ChangeResult, SectionDiff, Diff, DryRun,
        ConfigDocument, BindingDocument, GuardDocument,
        RevisionSummary, RevisionList, RejectedChange, StatusReport, DataPlaneEntry, Health, Document)),
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
