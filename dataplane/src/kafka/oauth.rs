//! The bearer token an `oauthbearer` Kafka client presents, from its inline guard: its
//! principal and lifetime come from the token's claims when it is a JWT (`sub`, `exp`),
//! else the principal is `sluice` and the token is presented again every hour.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rdkafka::client::OAuthToken;

/// How long a token without `exp` is presented before librdkafka asks again.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The token librdkafka presents for `token`, at `now`.
pub(crate) fn token(token: &str, now: SystemTime) -> OAuthToken {
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    let principal = claims
        .as_ref()
        .and_then(|c| c.get("sub"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("sluice")
        .to_owned();
    let default_end = now + DEFAULT_LIFETIME;
    let expires = claims
        .as_ref()
        .and_then(|c| c.get("exp"))
        .and_then(serde_json::Value::as_u64)
        .map_or(default_end, |exp| UNIX_EPOCH + Duration::from_secs(exp));
    let lifetime_ms = expires
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    OAuthToken {
        token: token.to_owned(),
        principal_name: principal,
        lifetime_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_claims_give_the_principal_and_lifetime() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"orders-service","exp":2000000000}"#);
        let jwt = format!("eyJhbGciOiJub25lIn0.{payload}.sig");
        let now = UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        let token = token(&jwt, now);
        assert_eq!(token.principal_name, "orders-service");
        assert_eq!(token.lifetime_ms, 2_000_000_000_000);
        assert_eq!(token.token, jwt);
    }

    #[test]
    fn an_opaque_token_lives_an_hour() {
        let now = UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        let token = token("opaque-secret", now);
        assert_eq!(token.principal_name, "sluice");
        assert_eq!(token.lifetime_ms, 1_900_003_600_000);
    }
}
