//! One function per admin route, carrying only its documentation: utoipa reads their
//! attributes.

#![allow(
    dead_code,
    reason = "documentation-only functions: utoipa reads their attributes"
)]

use super::schemas::*;

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

#[utoipa::path(get, path = "/v1/traffic", tag = "status",
    responses((status = 200, description = "The last five minutes of traffic, read every 2 s: per route requests, errors by class and p50/p99 latency; streams, waiters, connections, consumer lag, Kafka clients replaced, revisions applied", body = TrafficView),
        (status = 400, description = "A malformed query parameter (dry_run and secrets take true or false)", body = Problem),
        (status = 401, description = "No or wrong admin token: reads need it when the admin listener is not on loopback", body = Problem)))]
fn traffic() {}

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
