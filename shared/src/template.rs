//! Value templates: strings with `${...}` placeholders resolved per request.
//!
//! Placeholders, as in Zilla:
//! - `${params.NAME}`: a path parameter of the matched route;
//! - `${idempotencyKey}`: the request's idempotency key header, or a random UUID;
//! - `${correlationId}`: the correlation id of a request-response exchange;
//! - `${guarded['GUARD'].identity}` and `${guarded['GUARD'].attributes.NAME}`: claims of the
//!   guard that authorized the request.
//!
//! Which placeholders a field accepts is decided by the caller through [`Allowed`].

use std::fmt;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text copied as is.
    Literal(String),
    /// `${params.NAME}`.
    Param(String),
    /// `${idempotencyKey}`.
    IdempotencyKey,
    /// `${correlationId}`.
    CorrelationId,
    /// `${guarded['GUARD'].identity}`.
    GuardIdentity(String),
    /// `${guarded['GUARD'].attributes.NAME}`.
    GuardAttribute(String, String),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// Which placeholders a field accepts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allowed {
    /// `${params.NAME}`.
    pub params: bool,
    /// `${idempotencyKey}`.
    pub idempotency_key: bool,
    /// `${correlationId}`.
    pub correlation_id: bool,
    /// `${guarded[...]...}`.
    pub guarded: bool,
}

/// The values a template is resolved with.
pub trait Resolve {
    /// The value of path parameter `name`, if the route captured it.
    fn param(&self, name: &str) -> Option<&str>;
    /// The request's idempotency key.
    fn idempotency_key(&self) -> &str;
    /// The exchange's correlation id, if any.
    fn correlation_id(&self) -> Option<&str> {
        None
    }
    /// A guard identity or attribute; `None` resolves to the empty string, as in Zilla.
    fn guarded(&self, _guard: &str, _attribute: Option<&str>) -> Option<&str> {
        None
    }
}

impl Template {
    /// Compiles `source`, accepting only the placeholders in `allowed`.
    pub fn parse(source: &str, allowed: Allowed) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(TemplateError::Unclosed(source.len() - rest.len() + start));
            };
            parts.push(placeholder(&after[..end], allowed)?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The parsed parts.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The literal value when the template has no placeholder.
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Literal(text)] => Some(text),
            _ => None,
        }
    }

    /// Names of the path parameters the template uses.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Param(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// Whether the template uses `${idempotencyKey}`.
    pub fn uses_idempotency_key(&self) -> bool {
        self.parts.contains(&Part::IdempotencyKey)
    }

    /// Resolves into `out` (appending).
    pub fn render_into(&self, values: &dyn Resolve, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Param(name) => out.push_str(values.param(name).unwrap_or_default()),
                Part::IdempotencyKey => out.push_str(values.idempotency_key()),
                Part::CorrelationId => out.push_str(values.correlation_id().unwrap_or_default()),
                Part::GuardIdentity(guard) => {
                    out.push_str(values.guarded(guard, None).unwrap_or_default())
                }
                Part::GuardAttribute(guard, name) => {
                    out.push_str(values.guarded(guard, Some(name)).unwrap_or_default())
                }
            }
        }
    }

    /// Resolves the template; a template without placeholders is borrowed, not copied.
    pub fn render(&self, values: &dyn Resolve) -> std::borrow::Cow<'_, str> {
        if let Some(literal) = self.as_literal() {
            return std::borrow::Cow::Borrowed(literal);
        }
        let mut out = String::with_capacity(self.source.len() + 16);
        self.render_into(values, &mut out);
        std::borrow::Cow::Owned(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn placeholder(inner: &str, allowed: Allowed) -> Result<Part, TemplateError> {
    let refuse = |what: &'static str| {
        Err(TemplateError::NotAllowed {
            placeholder: inner.to_owned(),
            what,
        })
    };
    if let Some(name) = inner.strip_prefix("params.") {
        if !crate::path::valid_name(name) {
            return Err(TemplateError::BadParameter {
                placeholder: inner.to_owned(),
                name: name.to_owned(),
            });
        }
        return if allowed.params {
            Ok(Part::Param(name.to_owned()))
        } else {
            refuse("${params.*}")
        };
    }
    match inner {
        "idempotencyKey" if allowed.idempotency_key => return Ok(Part::IdempotencyKey),
        "idempotencyKey" => return refuse("${idempotencyKey}"),
        "correlationId" if allowed.correlation_id => return Ok(Part::CorrelationId),
        "correlationId" => return refuse("${correlationId}"),
        _ => {}
    }
    if let Some(guarded) = inner.strip_prefix("guarded['") {
        let Some((guard, tail)) = guarded.split_once("']") else {
            return Err(TemplateError::BadGuarded {
                placeholder: inner.to_owned(),
                guard: "GUARD".to_owned(),
            });
        };
        if !allowed.guarded {
            return refuse("${guarded[...]}");
        }
        if tail == ".identity" {
            return Ok(Part::GuardIdentity(guard.to_owned()));
        }
        if let Some(name) = tail.strip_prefix(".attributes.")
            && crate::path::valid_name(name)
        {
            return Ok(Part::GuardAttribute(guard.to_owned(), name.to_owned()));
        }
        return Err(TemplateError::BadGuardedField {
            placeholder: inner.to_owned(),
            guard: guard.to_owned(),
        });
    }
    Err(TemplateError::Unknown(inner.to_owned()))
}

/// Why a template does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `${` without `}`, at this byte.
    #[error("'${{' at byte {0} is never closed")]
    Unclosed(usize),
    /// A placeholder this field does not take.
    #[error("'${{{placeholder}}}': {what} is not allowed in this field")]
    NotAllowed {
        /// The placeholder's text.
        placeholder: String,
        /// Which kind it is.
        what: &'static str,
    },
    /// `${params.NAME}` with a name that no path can capture.
    #[error("'${{{placeholder}}}': '{name}' is not a valid parameter name")]
    BadParameter {
        /// The placeholder's text.
        placeholder: String,
        /// The name.
        name: String,
    },
    /// `${guarded[...]}` not of the form `guarded['GUARD'].identity`.
    #[error("'${{{placeholder}}}': expected guarded['{guard}'].identity")]
    BadGuarded {
        /// The placeholder's text.
        placeholder: String,
        /// The guard, or `GUARD` when none is named.
        guard: String,
    },
    /// `${guarded['GUARD']...}` naming neither the identity nor an attribute.
    #[error(
        "'${{{placeholder}}}': expected guarded['{guard}'].identity or guarded['{guard}'].attributes.NAME"
    )]
    BadGuardedField {
        /// The placeholder's text.
        placeholder: String,
        /// The guard.
        guard: String,
    },
    /// A placeholder Sluice does not know.
    #[error(
        "unknown placeholder '${{{0}}}' (known: params.NAME, idempotencyKey, correlationId, guarded['GUARD'].identity)"
    )]
    Unknown(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Values;
    impl Resolve for Values {
        fn param(&self, name: &str) -> Option<&str> {
            (name == "id").then_some("42")
        }
        fn idempotency_key(&self) -> &str {
            "key-1"
        }
    }

    const ALL: Allowed = Allowed {
        params: true,
        idempotency_key: true,
        correlation_id: true,
        guarded: true,
    };

    #[test]
    fn renders_params_and_literals() {
        let template = Template::parse("item-${params.id}/${idempotencyKey}", ALL).expect("valid");
        assert_eq!(template.render(&Values), "item-42/key-1");
        assert_eq!(template.params().collect::<Vec<_>>(), vec!["id"]);
    }

    #[test]
    fn literal_templates_are_recognised() {
        let template = Template::parse("items", ALL).expect("valid");
        assert_eq!(template.as_literal(), Some("items"));
    }

    #[test]
    fn unknown_or_disallowed_placeholders_are_errors() {
        assert!(
            Template::parse("${nope}", ALL)
                .unwrap_err()
                .to_string()
                .contains("unknown placeholder")
        );
        assert!(
            Template::parse("${params.id", ALL)
                .unwrap_err()
                .to_string()
                .contains("never closed")
        );
        let only_params = Allowed {
            params: true,
            ..Allowed::default()
        };
        assert!(
            Template::parse("${correlationId}", only_params)
                .unwrap_err()
                .to_string()
                .contains("not allowed")
        );
        assert!(Template::parse("${params.a-b}", ALL).is_err());
    }

    #[test]
    fn guarded_placeholders_parse() {
        let template = Template::parse(
            "${guarded['jwt'].identity}:${guarded['jwt'].attributes.tenant}",
            ALL,
        )
        .expect("valid");
        assert_eq!(
            template.parts(),
            &[
                Part::GuardIdentity("jwt".into()),
                Part::Literal(":".into()),
                Part::GuardAttribute("jwt".into(), "tenant".into())
            ]
        );
    }
}
