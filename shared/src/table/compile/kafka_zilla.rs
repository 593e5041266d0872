//! Zilla's forms of Kafka client security: credentials from an `inline` guard named by the
//! client's `options.authorization`, and a `tls` client binding between the kafka client and
//! its tcp client, whose vault holds the trusted authorities and the client's key.

use super::{Compiler, binding_pointer};
use crate::error::pointer_token;
use crate::spec::{BindingKind, BindingSpec, BindingType, KafkaOptionsSpec, OptionsSpec, SaslSpec};
use crate::table::cluster::{KafkaSecurity, KafkaStore, KafkaStoreRole};

/// Credentials for the SASL exchange.
pub(super) enum Credentials {
    /// plain or scram, with the pointer of the `credentials` that gave them.
    Sasl(SaslSpec, String),
    /// A bearer token.
    OAuthBearer(String),
}

/// What Zilla's forms add to a kafka client's security.
pub(super) struct ZillaSecurity {
    pub credentials: Option<Credentials>,
    pub tls: Option<TlsClient>,
}

/// A `tls` client binding in front of Kafka.
pub(super) struct TlsClient {
    stores: Vec<KafkaStore>,
    system_authorities: bool,
}

impl TlsClient {
    pub(super) fn apply(self, security: &mut KafkaSecurity) {
        let trusts = self
            .stores
            .iter()
            .any(|s| matches!(s.role, KafkaStoreRole::Trust(_)));
        if self.system_authorities && !trusts {
            security.set("ssl.ca.location", "probe");
        }
        security.stores = self.stores;
    }
}

impl Compiler<'_> {
    /// `options.authorization`: the credentials of the inline guard it names, with
    /// `{identity}` and `{credentials}` replaced.
    pub(super) fn kafka_authorization(
        &mut self,
        options: &KafkaOptionsSpec,
        at: &str,
    ) -> Option<Credentials> {
        let authorization = options.authorization.as_ref()?;
        let base = format!("{at}/options/authorization");
        if authorization.len() != 1 {
            self.errors
                .push(base, "authorization names exactly one guard");
            return None;
        }
        let (guard_name, spec) = authorization.first()?;
        let here = format!("{base}/{}/credentials", pointer_token(guard_name));
        let Some(guard) = self.spec.guards.get(guard_name) else {
            if !self.spec.unparsed.contains(guard_name) {
                self.errors.push(
                    format!("{base}/{}", pointer_token(guard_name)),
                    format!("guard '{guard_name}' is not defined under /guards"),
                );
            }
            return None;
        };
        let Some(inline) = guard.inline() else {
            self.errors.push(
                format!("{base}/{}", pointer_token(guard_name)),
                format!("guard '{guard_name}' is a jwt guard; kafka credentials come from an inline guard"),
            );
            return None;
        };
        let fill = |value: &str| {
            value
                .replace("{identity}", inline.identity.as_deref().unwrap_or_default())
                .replace(
                    "{credentials}",
                    inline.credentials.as_deref().unwrap_or_default(),
                )
        };
        let credentials = &spec.credentials;
        if credentials.mechanism.eq_ignore_ascii_case("oauthbearer") {
            let token = credentials.token.as_deref().map(fill).unwrap_or_default();
            if token.is_empty() {
                self.errors.push(
                    format!("{here}/token"),
                    "oauthbearer needs a token, for example \"{credentials}\" of the guard",
                );
                return None;
            }
            return Some(Credentials::OAuthBearer(token));
        }
        let sasl = SaslSpec {
            mechanism: credentials.mechanism.clone(),
            username: credentials
                .username
                .as_deref()
                .map(fill)
                .unwrap_or_default(),
            password: credentials
                .password
                .as_deref()
                .map(fill)
                .unwrap_or_default(),
        };
        Some(Credentials::Sasl(sasl, here))
    }

    /// The `tls` client binding a kafka client exits to, if any.
    pub(super) fn tls_client(&mut self, binding: &BindingSpec, at: &str) -> Option<TlsClient> {
        let exit = binding.exit.as_deref()?;
        let tls = self.spec.bindings.get(exit)?;
        if tls.binding_type != BindingType::Tls {
            return None;
        }
        let tls_at = binding_pointer(exit);
        if tls.kind != BindingKind::Client {
            self.errors.push(
                format!("{at}/exit"),
                format!("exit '{exit}' is a tls server; a kafka client exits to a tls client"),
            );
            return None;
        }
        match tls.exit.as_deref() {
            Some(next) => {
                if self.expect_exit(
                    &format!("{tls_at}/exit"),
                    next,
                    BindingType::Tcp,
                    &[BindingKind::Client],
                ) {
                    self.unused_tcp_options(next);
                }
            }
            None => self
                .errors
                .push(tls_at.clone(), "missing field 'exit' (the tcp client)"),
        }
        let Some(OptionsSpec::Tls(options)) = &tls.options else {
            return Some(TlsClient {
                stores: Vec::new(),
                system_authorities: true,
            });
        };
        let stores = self.client_stores_of(exit, options, &tls_at);
        Some(TlsClient {
            stores,
            system_authorities: options.trustcacerts.unwrap_or(options.trust.is_none()),
        })
    }

    /// The stores a tls client reads: `trust` and one key of `keys`.
    pub(super) fn client_stores_of(
        &mut self,
        exit: &str,
        options: &crate::spec::TlsOptionsSpec,
        tls_at: &str,
    ) -> Vec<KafkaStore> {
        let mut stores = Vec::new();
        let mut problems = Vec::new();
        if let Some(aliases) = &options.trust {
            let pointer = format!("{tls_at}/options/trust");
            if let Some(file) = self.store_file(exit, "trust", &pointer, &mut problems) {
                stores.push(KafkaStore {
                    role: KafkaStoreRole::Trust(aliases.clone()),
                    file,
                    pointer,
                });
            }
        }
        if let Some(aliases) = &options.keys {
            let pointer = format!("{tls_at}/options/keys");
            if aliases.len() != 1 {
                problems.push((
                    pointer.clone(),
                    "a kafka client presents one key: name one alias".to_owned(),
                ));
            }
            if let (Some(alias), Some(file)) = (
                aliases.first(),
                self.store_file(exit, "keys", &pointer, &mut problems),
            ) {
                stores.push(KafkaStore {
                    role: KafkaStoreRole::Key(alias.clone()),
                    file,
                    pointer,
                });
            }
        }
        if options.signers.is_some() {
            problems.push((
                format!("{tls_at}/options/signers"),
                "choosing the client key by its signer is not supported yet; name it in keys"
                    .to_owned(),
            ));
        }
        for (field, present) in [
            ("certificate", options.certificate.is_some()),
            ("key", options.key.is_some()),
            ("mutual", options.mutual.is_some()),
            ("authorization", options.authorization.is_some()),
        ] {
            if present {
                problems.push((
                    format!("{tls_at}/options/{field}"),
                    format!("'{field}' applies to tls servers; a tls client takes trust, trustcacerts, keys, sni and alpn"),
                ));
            }
        }
        for (pointer, message) in problems {
            self.errors.push(pointer, message);
        }
        stores
    }
}
