//! Continuous authorization: sessions of long-lived streams, their expiry and renewal.
//!
//! A guarded SSE stream joins a session: one per (connection, guard, identity), as in Zilla,
//! so that every stream of one identity on one HTTP/2 connection shares it. A session
//! expires at the token's `exp`; `challenge: N` makes its streams send `event: challenge`
//! N seconds before that. The client answers with a `POST` carrying
//! `content-type: application/x-challenge-response` and new credentials:
//!
//! - on the same connection (HTTP/2), the answer renews the sessions of its identity there;
//! - on any connection (HTTP/1.1, where the stream's connection is busy), the answer also
//!   carries the `sluice-session` header given in the challenge's data, which names the
//!   session directly.
//!
//! A renewal must come from the same guard and identity, with every role the session has.
//! A session not renewed ends its streams at expiry.

use sluice_shared::sync::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use sluice_shared::guard::Principal;
use tokio::sync::watch;

/// Request header naming a session in a challenge answer.
pub(crate) const SESSION_HEADER: &str = "sluice-session";
/// Content type of a challenge answer.
pub(crate) const CHALLENGE_RESPONSE: &str = "application/x-challenge-response";

/// One authorized session of long-lived streams.
pub(crate) struct Session {
    /// The guard's index in the live configuration (updated when it changes).
    guard: AtomicUsize,
    /// The guard's name: guard indexes change across configurations, names do not.
    guard_name: String,
    /// The credentials the session was last (re)authorized with, checked again when the
    /// configuration changes.
    credentials: Mutex<String>,
    identity: Option<String>,
    roles: Mutex<Vec<String>>,
    expires_at: watch::Sender<u64>,
    /// Unguessable name, for challenge answers on another connection.
    pub token: String,
}

impl Session {
    fn new(principal: &Principal, guard_name: &str, credentials: &str) -> Self {
        Self {
            guard: AtomicUsize::new(principal.guard),
            guard_name: guard_name.to_owned(),
            credentials: Mutex::new(credentials.to_owned()),
            identity: principal.identity.clone(),
            roles: Mutex::new(principal.roles.clone()),
            expires_at: watch::Sender::new(principal.expires_at),
            token: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// The expiry, seconds since the epoch, and its changes.
    pub(crate) fn expiry(&self) -> watch::Receiver<u64> {
        self.expires_at.subscribe()
    }

    /// Whether `principal` may renew this session: same guard and identity, every role.
    fn renewable_by(&self, principal: &Principal) -> bool {
        self.guard.load(Ordering::Relaxed) == principal.guard
            && self.identity.is_some()
            && self.identity == principal.identity
            && principal.has_roles(&lock(&self.roles))
    }

    fn renew(&self, principal: &Principal, credentials: &str) {
        {
            let mut roles = lock(&self.roles);
            roles.clone_from(&principal.roles);
        }
        {
            let mut held = lock(&self.credentials);
            credentials.clone_into(&mut held);
        }
        self.expires_at.send_if_modified(|at| {
            let later = principal.expires_at > *at;
            if later {
                *at = principal.expires_at;
            }
            later
        });
    }
}

/// Every live session by token, across connections.
#[derive(Default)]
pub(crate) struct SessionRegistry {
    by_token: Mutex<HashMap<String, Weak<Session>>>,
}

impl SessionRegistry {
    fn insert(&self, session: &Arc<Session>) {
        {
            let mut map = lock(&self.by_token);
            if map.len() >= 1024 && map.len().is_power_of_two() {
                map.retain(|_, weak| weak.strong_count() > 0);
            }
            map.insert(session.token.clone(), Arc::downgrade(session));
        }
    }

    fn get(&self, token: &str) -> Option<Arc<Session>> {
        lock(&self.by_token).get(token)?.upgrade()
    }

    /// After a configuration change: checks every live session's credentials against the
    /// new guards (without reading JWKS URLs again) and ends the streams of those that no
    /// longer pass: a removed guard or key, a changed issuer... `check` gets the guard's
    /// name and the credentials and says whether they still pass, and under which guard
    /// index.
    pub(crate) fn revalidate(&self, check: impl Fn(&str, &str) -> Option<usize>) -> usize {
        let sessions: Vec<Arc<Session>> = lock(&self.by_token)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        let mut ended = 0;
        for session in sessions {
            let credentials = lock(&session.credentials).clone();
            match check(&session.guard_name, &credentials) {
                Some(index) => session.guard.store(index, Ordering::Relaxed),
                None => {
                    session.expires_at.send_replace(0);
                    ended += 1;
                }
            }
        }
        ended
    }
}

/// The sessions of one connection.
#[derive(Default)]
pub(crate) struct ConnectionSessions {
    sessions: Mutex<Vec<Weak<Session>>>,
}

/// What a challenge answer renewed.
pub(crate) enum Renewal {
    /// This many sessions now expire later.
    Renewed(usize),
    /// The named session does not exist (any more).
    UnknownSession,
    /// Sessions exist but the token may not renew them (other identity, fewer roles).
    NotAllowed,
    /// No session of this identity on this connection.
    NoSession,
}

impl ConnectionSessions {
    /// The session a stream of `principal` joins: the connection's session of the same
    /// identity when the new token has all of its roles, otherwise a new one.
    pub(crate) fn join(
        &self,
        registry: &SessionRegistry,
        principal: &Principal,
        guard_name: &str,
        credentials: &str,
    ) -> Arc<Session> {
        let mut sessions = lock(&self.sessions);
        sessions.retain(|weak| weak.strong_count() > 0);
        let shared = sessions
            .iter()
            .filter_map(Weak::upgrade)
            .find(|session| session.renewable_by(principal));
        if let Some(session) = shared {
            session.renew(principal, credentials);
            return session;
        }
        let session = Arc::new(Session::new(principal, guard_name, credentials));
        registry.insert(&session);
        sessions.push(Arc::downgrade(&session));
        session
    }

    /// Renews sessions with `principal`: the one named by `token`, or else every session of
    /// its identity on this connection.
    pub(crate) fn renew(
        &self,
        registry: &SessionRegistry,
        principal: &Principal,
        credentials: &str,
        token: Option<&str>,
    ) -> Renewal {
        let candidates: Vec<Arc<Session>> = match token {
            Some(token) => match registry.get(token) {
                Some(session) => vec![session],
                None => return Renewal::UnknownSession,
            },
            None => lock(&self.sessions)
                .iter()
                .filter_map(Weak::upgrade)
                .collect(),
        };
        if candidates.is_empty() {
            return Renewal::NoSession;
        }
        let mut renewed = 0;
        for session in &candidates {
            if session.renewable_by(principal) {
                session.renew(principal, credentials);
                renewed += 1;
            }
        }
        match renewed {
            0 if token.is_some() => Renewal::NotAllowed,
            0 => Renewal::NoSession,
            n => Renewal::Renewed(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl ConnectionSessions {
        fn join_for_test(&self, registry: &SessionRegistry, principal: &Principal) -> Arc<Session> {
            self.join(registry, principal, "jwt", "token")
        }
    }

    fn principal(identity: &str, roles: &[&str], exp: u64) -> Principal {
        Principal {
            guard: 0,
            identity: Some(identity.to_owned()),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            attributes: Vec::new(),
            expires_at: exp,
        }
    }

    #[test]
    fn streams_of_one_identity_share_a_session_renewed_once() {
        let registry = SessionRegistry::default();
        let connection = ConnectionSessions::default();
        let a = connection.join_for_test(&registry, &principal("alice", &["r"], 100));
        let b = connection.join_for_test(&registry, &principal("alice", &["r", "w"], 90));
        let other = connection.join_for_test(&registry, &principal("bob", &["r"], 100));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
        assert_eq!(*a.expiry().borrow(), 100, "expiry never moves back");
        assert!(matches!(
            connection.renew(
                &registry,
                &principal("alice", &["r", "w"], 200),
                "token",
                None
            ),
            Renewal::Renewed(1)
        ));
        assert_eq!(*a.expiry().borrow(), 200);
        assert_eq!(*other.expiry().borrow(), 100);
    }

    #[test]
    fn a_renewal_needs_the_same_identity_and_every_role() {
        let registry = SessionRegistry::default();
        let connection = ConnectionSessions::default();
        let session = connection.join_for_test(&registry, &principal("alice", &["r", "w"], 100));
        let elsewhere = ConnectionSessions::default();
        assert!(matches!(
            elsewhere.renew(
                &registry,
                &principal("alice", &["r", "w"], 200),
                "token",
                None
            ),
            Renewal::NoSession
        ));
        let token = Some(session.token.as_str());
        assert!(matches!(
            elsewhere.renew(
                &registry,
                &principal("mallory", &["r", "w"], 200),
                "token",
                token
            ),
            Renewal::NotAllowed
        ));
        assert!(matches!(
            elsewhere.renew(&registry, &principal("alice", &["r"], 200), "token", token),
            Renewal::NotAllowed
        ));
        assert!(matches!(
            elsewhere.renew(
                &registry,
                &principal("alice", &["r"], 200),
                "token",
                Some("nope")
            ),
            Renewal::UnknownSession
        ));
        assert!(matches!(
            elsewhere.renew(
                &registry,
                &principal("alice", &["r", "w"], 300),
                "token",
                token
            ),
            Renewal::Renewed(1)
        ));
        assert_eq!(*session.expiry().borrow(), 300);
    }
}
