//! One binding and its routes: read once their type is known, so each part is checked
//! against the right shape.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ConfigErrors;
use crate::spec::document::{BindingKind, BindingSpec, BindingType};
use crate::spec::options::OptionsSpec;
use crate::spec::route::{ConditionSpec, RouteSpec, WithSpec};
use crate::spec::telemetry::BindingTelemetrySpec;
use crate::spec::typed::typed;

/// A binding's fields before its type is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    #[serde(rename = "type")]
    binding_type: BindingType,
    kind: BindingKind,
    #[serde(default)]
    options: Option<Value>,
    #[serde(default)]
    routes: Vec<Value>,
    #[serde(default)]
    exit: Option<String>,
    #[serde(default)]
    telemetry: Option<BindingTelemetrySpec>,
    #[serde(default)]
    vault: Option<String>,
}

/// A route's fields before the binding type gives them meaning.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default)]
    when: Vec<Value>,
    #[serde(default)]
    exit: Option<String>,
    #[serde(default)]
    with: Option<Value>,
    #[serde(default)]
    guarded: IndexMap<String, Vec<String>>,
}

/// Zilla binding types that Sluice does not implement.
const ZILLA_ONLY_TYPES: &[&str] = &[
    "amqp",
    "asyncapi",
    "fan",
    "grpc",
    "grpc-kafka",
    "mcp",
    "mcp-http",
    "mcp-openapi",
    "mqtt",
    "mqtt-kafka",
    "openapi",
    "openapi-asyncapi",
    "pgsql",
    "pgsql-kafka",
    "proxy",
    "risingwave",
    "tls-client",
    "ws",
];

pub(super) fn binding(
    value: Value,
    pointer: &str,
    errors: &mut ConfigErrors,
) -> Option<BindingSpec> {
    if let Some(name) = value.get("type").and_then(Value::as_str)
        && ZILLA_ONLY_TYPES.contains(&name)
    {
        errors.push(
            format!("{pointer}/type"),
            format!(
                "'{name}' is a Zilla binding type that sluice does not implement; sluice implements tcp, tls, http, sse, http-kafka, sse-kafka, kafka, http-filesystem, filesystem and echo"
            ),
        );
        return None;
    }
    let raw: RawBinding = typed(value, pointer, errors)?;
    // A binding with a part that cannot be read is left out whole (and named in
    // `unparsed`): compiling what remains of it would add wrong errors (a route without
    // its `with`) or misplace them (routes after a dropped one).
    let errors_before = errors.0.len();
    let binding_type = raw.binding_type;
    let options = raw.options.and_then(|options| {
        let at = format!("{pointer}/options");
        match binding_type {
            BindingType::Tcp => typed(options, &at, errors).map(OptionsSpec::Tcp),
            BindingType::Http => typed(options, &at, errors).map(OptionsSpec::Http),
            BindingType::HttpKafka => typed(options, &at, errors).map(OptionsSpec::HttpKafka),
            BindingType::Kafka => typed(options, &at, errors).map(OptionsSpec::Kafka),
            BindingType::Sse => typed(options, &at, errors).map(OptionsSpec::Sse),
            BindingType::Tls => typed(options, &at, errors).map(OptionsSpec::Tls),
            BindingType::Filesystem => typed(options, &at, errors).map(OptionsSpec::Filesystem),
            other => {
                errors.push(
                    at,
                    format!("a {} binding takes no options here", other.as_str()),
                );
                None
            }
        }
    });
    let mut routes = Vec::with_capacity(raw.routes.len());
    for (index, route_value) in raw.routes.into_iter().enumerate() {
        let at = format!("{pointer}/routes/{index}");
        if let Some(route) = route(binding_type, route_value, &at, errors) {
            routes.push(route);
        }
    }
    if errors.0.len() > errors_before {
        return None;
    }
    Some(BindingSpec {
        binding_type,
        kind: raw.kind,
        options,
        routes,
        exit: raw.exit,
        telemetry: raw.telemetry,
        vault: raw.vault,
    })
}

fn route(
    binding_type: BindingType,
    value: Value,
    pointer: &str,
    errors: &mut ConfigErrors,
) -> Option<RouteSpec> {
    let raw: RawRoute = typed(value, pointer, errors)?;
    let mut when = Vec::with_capacity(raw.when.len());
    for (index, condition) in raw.when.into_iter().enumerate() {
        let at = format!("{pointer}/when/{index}");
        let parsed = match binding_type {
            BindingType::Tcp => typed(condition, &at, errors).map(ConditionSpec::Tcp),
            BindingType::Http => typed(condition, &at, errors).map(ConditionSpec::Http),
            BindingType::HttpKafka | BindingType::HttpFilesystem => {
                typed(condition, &at, errors).map(ConditionSpec::HttpKafka)
            }
            BindingType::Sse | BindingType::SseKafka => {
                typed(condition, &at, errors).map(ConditionSpec::Path)
            }
            BindingType::Tls => typed(condition, &at, errors).map(ConditionSpec::Tls),
            other => {
                errors.push(
                    at,
                    format!(
                        "routes of a {} binding take no conditions here",
                        other.as_str()
                    ),
                );
                None
            }
        };
        when.extend(parsed);
    }
    let with = raw.with.and_then(|with| {
        let at = format!("{pointer}/with");
        match binding_type {
            BindingType::HttpKafka => {
                typed(with, &at, errors).map(|with| WithSpec::HttpKafka(Box::new(with)))
            }
            BindingType::Http => Some(WithSpec::Http(with)),
            BindingType::SseKafka => typed(with, &at, errors).map(WithSpec::SseKafka),
            BindingType::HttpFilesystem => typed(with, &at, errors).map(WithSpec::HttpFilesystem),
            other => {
                errors.push(
                    at,
                    format!("routes of a {} binding take no 'with'", other.as_str()),
                );
                None
            }
        }
    });
    Some(RouteSpec {
        when,
        exit: raw.exit,
        with,
        guarded: raw.guarded,
    })
}
