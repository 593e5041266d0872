//! Guards, `guarded` routes, the `authorization` and `access-control` options of `http`.

use indexmap::IndexMap;
use serde_json::Value;

use super::{Compiler, binding_pointer, http_names::is_bad_header_name};
use crate::error::pointer_token;
use crate::guard::{
    Authorization, CredentialPattern, DEFAULT_JWKS_REFRESH_SECONDS, DEFAULT_LEEWAY_SECONDS, Guard,
    GuardKeys, KeySet, MAX_LEEWAY_SECONDS, claim_path,
};
use crate::spec::{
    AccessControlSpec, AuthorizationSpec, BindingType, CorsPolicy, JwtOptionsSpec, RouteSpec,
};
use crate::table::server::{Cors, Guarded, normalize_origin};

impl Compiler<'_> {
    pub(super) fn compile_guards(&mut self) {
        for (name, spec) in &self.spec.guards {
            let at = format!("/guards/{}/options", pointer_token(name));
            let Some(options) = spec.jwt() else {
                continue; // inline guards hold Kafka credentials; see compile/kafka.rs
            };
            let keys = self.guard_keys(options, &at);
            let leeway_seconds = options.leeway_seconds.unwrap_or(DEFAULT_LEEWAY_SECONDS);
            if leeway_seconds > MAX_LEEWAY_SECONDS {
                self.errors.push(
                    format!("{at}/leeway-seconds"),
                    format!("{leeway_seconds} is more than {MAX_LEEWAY_SECONDS}"),
                );
            }
            if options.challenge == Some(0) {
                self.errors.push(
                    format!("{at}/challenge"),
                    "challenge is seconds before expiry and must be at least 1",
                );
            }
            let mut attributes = Vec::new();
            for (attribute, path) in &options.attributes {
                if path.is_empty() || path.split('.').any(str::is_empty) {
                    self.errors.push(
                        format!("{at}/attributes/{}", pointer_token(attribute)),
                        format!("'{path}' is not a claim path"),
                    );
                }
                attributes.push((attribute.clone(), claim_path(path)));
            }
            self.guard_index.insert(name, self.guards.len());
            self.guards.push(Guard {
                name: name.clone(),
                issuer: options.issuer.clone(),
                audience: options.audience.clone(),
                roles: claim_path(options.roles.as_deref().unwrap_or("scope")),
                identity: claim_path(options.identity.as_deref().unwrap_or("sub")),
                attributes,
                challenge_seconds: options.challenge,
                leeway_seconds,
                keys: keys.unwrap_or(GuardKeys::Inline(KeySet::default())),
                prepared: std::sync::OnceLock::new(),
            });
        }
    }

    /// A jwt guard's keys: inline JWKs, a JWKS URL, or the issuer's well-known JWKS.
    fn guard_keys(&mut self, options: &JwtOptionsSpec, at: &str) -> Option<GuardKeys> {
        match &options.keys {
            Some(Value::String(url)) => self.jwks_url(url, &format!("{at}/keys")),
            Some(keys) => {
                let (set, problems) = KeySet::parse(keys);
                for problem in problems {
                    self.errors
                        .push(format!("{at}/keys{}", problem.pointer), problem.message);
                }
                if set.is_empty() {
                    self.errors
                        .push(format!("{at}/keys"), "the guard has no usable key");
                }
                Some(GuardKeys::Inline(set))
            }
            None => match &options.issuer {
                Some(issuer) => {
                    let url = format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'));
                    self.jwks_url(&url, &format!("{at}/issuer"))
                }
                None => {
                    self.errors.push(
                        at,
                        "a jwt guard needs 'keys' (JWKs or a JWKS URL) or an 'issuer' to find them",
                    );
                    None
                }
            },
        }
    }

    /// Builds every guard's claim checks now, so that requests only read them.
    pub(super) fn prepare_guards(&self) {
        for guard in &self.guards {
            guard.validation(jsonwebtoken::Algorithm::RS256);
        }
    }

    fn jwks_url(&mut self, url: &str, at: &str) -> Option<GuardKeys> {
        let refresh_seconds = DEFAULT_JWKS_REFRESH_SECONDS;
        let Some(rest) = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
        else {
            self.errors
                .push(at, format!("'{url}' is not an http:// or https:// URL"));
            return None;
        };
        if rest.is_empty() || rest.starts_with('/') {
            self.errors.push(at, format!("'{url}' has no host"));
            return None;
        }
        Some(GuardKeys::Url {
            url: url.to_owned(),
            refresh_seconds,
        })
    }

    /// Applies `jwks-refresh-seconds` once the guards exist.
    pub(super) fn guard_refresh(&mut self) {
        for (name, spec) in &self.spec.guards {
            let Some(seconds) = spec.jwt().and_then(|o| o.jwks_refresh_seconds) else {
                continue;
            };
            let Some(&index) = self.guard_index.get(name.as_str()) else {
                continue;
            };
            let at = format!(
                "/guards/{}/options/jwks-refresh-seconds",
                pointer_token(name)
            );
            if !(10..=86_400).contains(&seconds) {
                self.errors
                    .push(at, format!("{seconds} is outside 10..=86400"));
                continue;
            }
            match &mut self.guards[index].keys {
                GuardKeys::Url {
                    refresh_seconds, ..
                } => *refresh_seconds = seconds,
                GuardKeys::Inline(_) => self
                    .errors
                    .push(at, "jwks-refresh-seconds applies to keys read from a URL"),
            }
        }
    }

    /// The compiled `guarded` of a route; unknown guards were reported by `check_guards`.
    pub(super) fn guarded(&self, route: &RouteSpec) -> Guarded {
        route
            .guarded
            .iter()
            .filter_map(|(name, roles)| {
                self.guard_index
                    .get(name.as_str())
                    .map(|index| (*index, roles.clone()))
            })
            .collect()
    }

    pub(super) fn authorization(
        &mut self,
        spec: &IndexMap<String, AuthorizationSpec>,
        at: &str,
    ) -> Option<Authorization> {
        if spec.len() != 1 {
            self.errors
                .push(at, "authorization names exactly one guard");
            return None;
        }
        let (guard_name, spec) = spec.first()?;
        let at = format!("{at}/{}", pointer_token(guard_name));
        let Some(&guard) = self.guard_index.get(guard_name.as_str()) else {
            self.errors.push(
                at,
                format!("guard '{guard_name}' is not defined under /guards"),
            );
            return None;
        };
        let credentials = &spec.credentials;
        if credentials.headers.is_empty()
            && credentials.query.is_empty()
            && credentials.cookies.is_empty()
        {
            self.errors.push(
                format!("{at}/credentials"),
                "credentials need at least one of headers, query or cookies",
            );
        }
        let mut patterns = |kind: &str, entries: &IndexMap<String, String>, lowercase: bool| {
            let mut compiled = Vec::new();
            for (name, pattern) in entries {
                let entry_at = format!("{at}/credentials/{kind}/{}", pointer_token(name));
                if name.is_empty() || (lowercase && is_bad_header_name(name)) {
                    self.errors
                        .push(entry_at.clone(), format!("'{name}' is not a valid name"));
                }
                match CredentialPattern::parse(pattern) {
                    Ok(p) => {
                        let name = if lowercase {
                            name.to_ascii_lowercase()
                        } else {
                            name.clone()
                        };
                        compiled.push((name, p));
                    }
                    Err(message) => self.errors.push(entry_at, message),
                }
            }
            compiled
        };
        let headers = patterns("headers", &credentials.headers, true);
        let query = patterns("query", &credentials.query, false);
        let cookies = patterns("cookies", &credentials.cookies, false);
        Some(Authorization {
            guard,
            cookies,
            headers,
            query,
        })
    }

    pub(super) fn cors(&mut self, spec: &AccessControlSpec, at: &str) -> Cors {
        let mut cors = Cors {
            cross_origin: spec.policy == CorsPolicy::CrossOrigin,
            max_age: spec.max_age,
            ..Cors::default()
        };
        if let Some(allow) = &spec.allow {
            if !cors.cross_origin {
                self.errors.push(
                    format!("{at}/allow"),
                    "allow applies to policy cross-origin only",
                );
            }
            if let Some(origins) = &allow.origins {
                let mut normalized = Vec::new();
                for (index, origin) in origins.iter().enumerate() {
                    match normalize_origin(origin) {
                        Some(o) => normalized.push(o),
                        None => self.errors.push(
                            format!("{at}/allow/origins/{index}"),
                            format!("'{origin}' is not an origin (scheme://host[:port]); omit 'origins' to allow any"),
                        ),
                    }
                }
                cors.origins = Some(normalized);
            }
            if let Some(methods) = &allow.methods {
                for (index, method) in methods.iter().enumerate() {
                    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
                        self.errors.push(
                            format!("{at}/allow/methods/{index}"),
                            format!("'{method}' is not an HTTP method"),
                        );
                    }
                }
                cors.methods = Some(methods.iter().map(|m| m.to_ascii_uppercase()).collect());
            }
            if let Some(headers) = &allow.headers {
                cors.headers = Some(self.header_names(headers, &format!("{at}/allow/headers")));
            }
            cors.credentials = allow.credentials.unwrap_or(false);
        }
        if let Some(headers) = spec.expose.as_ref().and_then(|e| e.headers.as_ref()) {
            cors.expose = Some(self.header_names(headers, &format!("{at}/expose/headers")));
        }
        if spec.max_age.is_some_and(|age| age > 86_400) {
            self.errors
                .push(format!("{at}/max-age"), "max-age is at most 86400 seconds");
        }
        cors
    }

    fn header_names(&mut self, names: &[String], at: &str) -> Vec<String> {
        for (index, name) in names.iter().enumerate() {
            if is_bad_header_name(name) {
                self.errors.push(
                    format!("{at}/{index}"),
                    format!("'{name}' is not a header name"),
                );
            }
        }
        names.iter().map(|n| n.to_ascii_lowercase()).collect()
    }

    /// Every guarded route reachable from http server `server` must be guarded by the guard
    /// the server authorizes with, or it could never be reached.
    pub(super) fn check_guard_reach(&mut self, server: &str, guard: Option<usize>) {
        let mut pending: Vec<&str> = vec![server];
        let mut seen: Vec<&str> = Vec::new();
        let mut problems = Vec::new();
        while let Some(name) = pending.pop() {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let Some(binding) = self.spec.bindings.get(name) else {
                continue;
            };
            if !matches!(
                binding.binding_type,
                BindingType::Http
                    | BindingType::Sse
                    | BindingType::HttpKafka
                    | BindingType::SseKafka
                    | BindingType::HttpFilesystem
            ) {
                continue;
            }
            for (index, route) in binding.routes.iter().enumerate() {
                for guard_name in route.guarded.keys() {
                    let index_of = self.guard_index.get(guard_name.as_str()).copied();
                    if index_of.is_some() && index_of != guard {
                        problems.push((
                            format!(
                                "{}/routes/{index}/guarded/{}",
                                binding_pointer(name),
                                pointer_token(guard_name)
                            ),
                            format!(
                                "http binding '{server}' has no options.authorization for guard '{guard_name}', so this route could never be reached"
                            ),
                        ));
                    }
                }
                if binding.binding_type != BindingType::HttpKafka
                    && binding.binding_type != BindingType::SseKafka
                    && binding.binding_type != BindingType::HttpFilesystem
                    && let Some(exit) = route.exit.as_deref()
                {
                    pending.push(exit);
                }
            }
            if let Some(exit) = binding.exit.as_deref() {
                pending.push(exit);
            }
        }
        for (at, message) in problems {
            self.errors.push(at, message);
        }
    }
}
