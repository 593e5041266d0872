//! One binding or guard of the head configuration: list, get, put, delete. A change is
//! applied as a whole configuration.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::answer::{Answer, etag, json_answer, resource_etag};
use super::error::{ApiError, NotFound, ShapeError};
use super::outcome::outcome;
use super::request::{EntityTag, author, dry_run, entity_tag, message, read_document};
use crate::app::{App, ConfigChange};
use crate::store::{Revision, StoreError};

/// A field of a resource's shape: name, required, and the test of its JSON type.
type ShapeField = (&'static str, bool, fn(&Value) -> bool);

/// Checks a binding's or guard's shape as the OpenAPI document describes it (an object
/// with its required fields, of their types, and no other field), so that a request the
/// schema refuses is a 400 before any precondition is looked at.
fn check_shape(kind: &str, resource: &Value) -> Result<(), ShapeError> {
    let Some(object) = resource.as_object() else {
        return Err(ShapeError::NotObject(singular(kind)));
    };
    let fields: &[ShapeField] = if kind == "bindings" {
        &[
            ("type", true, Value::is_string),
            ("kind", true, Value::is_string),
            ("options", false, |v| v.is_object() || v.is_null()),
            ("routes", false, |v| {
                v.is_null()
                    || v.as_array()
                        .is_some_and(|routes| routes.iter().all(Value::is_object))
            }),
            ("exit", false, |v| v.is_string() || v.is_null()),
            ("vault", false, |v| v.is_string() || v.is_null()),
            ("telemetry", false, |v| v.is_object() || v.is_null()),
        ]
    } else {
        &[
            ("type", true, Value::is_string),
            ("options", true, Value::is_object),
        ]
    };
    for (name, required, valid) in fields {
        match object.get(*name) {
            None if *required => return Err(ShapeError::Missing(name)),
            Some(value) if !valid(value) => return Err(ShapeError::WrongType(name)),
            _ => {}
        }
    }
    match object
        .keys()
        .find(|key| !fields.iter().any(|(name, ..)| name == key))
    {
        Some(unknown) => Err(ShapeError::Unknown(unknown.clone())),
        None => Ok(()),
    }
}

async fn head_config(app: &App) -> Result<Revision, ApiError> {
    let store = app.store().ok_or(NotFound::NoConfiguration)?;
    Ok(store.head().await?.ok_or(NotFound::NoConfiguration)?)
}

/// `GET /v1/bindings` or `/v1/guards`: every one, secrets redacted.
pub(crate) async fn list_resources(app: &App, kind: &str) -> Result<Answer, ApiError> {
    let head = head_config(app).await?;
    let shown = sluice_shared::secrets::redacted(&head.config);
    let resources = shown.get(kind).cloned().unwrap_or_else(|| json!({}));
    let mut answer = json_answer(StatusCode::OK, &resources);
    answer.headers_mut().insert(header::ETAG, etag(head.number));
    Ok(answer)
}

/// `GET /v1/bindings/{name}` or `/v1/guards/{name}`: one, with its own ETag.
pub(crate) async fn get_resource(
    app: &App,
    kind: &str,
    name: &str,
    yaml: bool,
) -> Result<Answer, ApiError> {
    let head = head_config(app).await?;
    let shown = sluice_shared::secrets::redacted(&head.config);
    let resource =
        shown
            .get(kind)
            .and_then(|m| m.get(name))
            .ok_or_else(|| NotFound::NoResource {
                kind: singular(kind),
                name: name.to_owned(),
            })?;
    let mut answer = if yaml {
        let mut response = Response::new(Full::new(Bytes::from(
            serde_yaml::to_string(resource).unwrap_or_default(),
        )));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        );
        response
    } else {
        json_answer(StatusCode::OK, resource)
    };
    if let Ok(value) = HeaderValue::from_str(&resource_etag(resource)) {
        answer.headers_mut().insert(header::ETAG, value);
    }
    Ok(answer)
}

fn singular(kind: &str) -> &'static str {
    if kind == "guards" { "guard" } else { "binding" }
}

/// `PUT` or `DELETE` of one binding or guard: the head with that one resource changed,
/// applied like a whole configuration. `If-Match` names the resource's own ETag.
pub(crate) async fn change_resource(
    app: &App,
    kind: &str,
    name: &str,
    request: Request<Incoming>,
) -> Result<Answer, ApiError> {
    let head = head_config(app).await?;
    // ETags are those of the resource as GET shows it (secrets redacted).
    let current = sluice_shared::secrets::redacted(&head.config)
        .get(kind)
        .and_then(|m| m.get(name))
        .cloned();
    let wanted = entity_tag(&request)?;
    let delete = request.method() == Method::DELETE;
    let dry_run = dry_run(&request);
    let (author, message) = (author(&request), message(&request));
    let action = format!("{} /v1/{kind}/{name}", request.method());
    // A malformed request is a 400 whatever the precondition: the body is read first.
    let resource = read_resource(kind, delete, request).await?;
    if let Some(EntityTag::Tag(wanted)) = wanted
        && current.as_ref().map(resource_etag).as_deref() != Some(&format!("\"{wanted}\""))
    {
        return Err(ApiError::ResourceChanged {
            kind: singular(kind),
            etag: current.as_ref().map(resource_etag),
        });
    }
    if delete && current.is_none() {
        return Err(NotFound::NoResource {
            kind: singular(kind),
            name: name.to_owned(),
        }
        .into());
    }
    let config = changed_config(&head.config, kind, name, resource).ok_or_else(|| {
        StoreError::Corrupt("the stored configuration is not an object".to_owned())
    })?;
    let change = ConfigChange {
        config,
        author,
        message: if message.is_empty() {
            action.clone()
        } else {
            message
        },
        expected: Some(Some(head.number)),
        dry_run,
        action,
    };
    outcome(app.change(change).await)
}

/// `config` with resource `name` of `kind` replaced by `resource`, or removed when it is
/// `None`; `None` when the stored configuration is not an object.
fn changed_config(
    config: &Value,
    kind: &str,
    name: &str,
    resource: Option<Value>,
) -> Option<Value> {
    let mut config = config.clone();
    match resource {
        None => {
            if let Some(map) = config.get_mut(kind).and_then(Value::as_object_mut) {
                map.remove(name);
            }
        }
        Some(resource) => {
            let object = config.as_object_mut()?;
            let map = object.entry(kind.to_owned()).or_insert_with(|| json!({}));
            if let Some(map) = map.as_object_mut() {
                map.insert(name.to_owned(), resource);
            }
        }
    }
    Some(config)
}

/// The resource a `PUT` sends, of the shape `kind` takes; `None` for a `DELETE`.
async fn read_resource(
    kind: &str,
    delete: bool,
    request: Request<Incoming>,
) -> Result<Option<Value>, ApiError> {
    if delete {
        return Ok(None);
    }
    let resource = read_document(request).await?;
    check_shape(kind, &resource).map_err(super::error::BadRequest::from)?;
    Ok(Some(resource))
}
