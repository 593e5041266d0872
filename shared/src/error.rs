//! Error vocabulary shared by the control plane and the data plane.

use std::fmt;

/// One problem in a configuration, at a JSON pointer into the document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    /// JSON pointer (RFC 6901) to the offending value, `""` for the whole document.
    pub pointer: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl ConfigError {
    /// An error at `pointer`.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// Every problem found in a configuration; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error, serde::Serialize)]
#[serde(transparent)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// Adds one error.
    pub fn push(&mut self, pointer: impl Into<String>, message: impl fmt::Display) {
        self.0.push(ConfigError::new(pointer, message.to_string()));
    }

    /// True when no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no error was recorded, the errors otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// The recorded errors, in document order.
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Escapes one reference token of a JSON pointer (RFC 6901).
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Who caused a failed request: sets the status class, the log level and the metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The HTTP client sent something wrong (4xx).
    Client,
    /// Kafka failed or refused (5xx, logged as a warning).
    Kafka,
    /// Sluice itself failed (5xx, logged as an error).
    Gateway,
    /// The upstream HTTP server of an `http` client failed (5xx, logged as a warning).
    Upstream,
}

/// The closed set of failures a request can end with; decides the HTTP status and the JSON
/// `code` of the error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No route matches the request.
    NotFound,
    /// The request is malformed (bad path encoding, bad header value).
    BadRequest,
    /// The route needs credentials, and the request has none or invalid ones.
    Unauthorized,
    /// The credentials are valid but lack a role the route requires, or CORS refuses
    /// the origin.
    Forbidden,
    /// The route answers another method.
    MethodNotAllowed,
    /// The client does not accept what the route sends.
    NotAcceptable,
    /// The request body is over the configured limit.
    PayloadTooLarge,
    /// The request headers are over the configured limit.
    HeadersTooLarge,
    /// The request target alone is over the head limit.
    UriTooLong,
    /// The client was too slow to send its request.
    RequestTimeout,
    /// Kafka is unreachable or the producer queue is full; retry later.
    KafkaUnavailable,
    /// Kafka refused the record as too large.
    RecordTooLarge,
    /// The topic does not exist on the cluster.
    UnknownTopic,
    /// Kafka refused the request for another reason.
    KafkaRejected,
    /// No reply arrived on the reply topic in time.
    ReplyTimeout,
    /// The reply record cannot be turned into an HTTP response.
    BadReply,
    /// The topic cache has not caught up with the topic yet.
    CacheLoading,
    /// The record was evicted from the topic cache at its memory bound.
    CacheEvicted,
    /// The gateway's memory budget for request bodies is used up; retry later.
    Overloaded,
    /// The upstream HTTP server of an `http` client is unreachable or broke the exchange.
    UpstreamFailed,
    /// The upstream HTTP server did not answer in time.
    UpstreamTimeout,
    /// A body, header, parameter or key does not fit its model.
    InvalidPayload,
    /// The request's content type is not one its route's model accepts.
    UnsupportedMediaType,
    /// A schema a model needs cannot be had from its registry now; retry later.
    SchemaUnavailable,
    /// The upstream HTTP server's response does not fit its model.
    UpstreamInvalid,
    /// A bug or an unexpected state in Sluice.
    Internal,
}

impl ErrorCode {
    /// The HTTP status for this failure.
    pub fn status(self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::BadRequest | Self::InvalidPayload => 400,
            Self::UnsupportedMediaType => 415,
            Self::SchemaUnavailable => 503,
            Self::UpstreamInvalid => 502,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::MethodNotAllowed => 405,
            Self::NotAcceptable => 406,
            Self::PayloadTooLarge | Self::RecordTooLarge => 413,
            Self::HeadersTooLarge => 431,
            Self::UriTooLong => 414,
            Self::RequestTimeout => 408,
            Self::KafkaUnavailable | Self::Overloaded | Self::CacheLoading | Self::CacheEvicted => {
                503
            }
            Self::ReplyTimeout | Self::UpstreamTimeout => 504,
            Self::UnknownTopic | Self::KafkaRejected | Self::BadReply | Self::UpstreamFailed => 502,
            Self::Internal => 500,
        }
    }

    /// The stable machine-readable `code` of the JSON error body.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotAcceptable => "not_acceptable",
            Self::PayloadTooLarge => "payload_too_large",
            Self::HeadersTooLarge => "headers_too_large",
            Self::UriTooLong => "uri_too_long",
            Self::RequestTimeout => "request_timeout",
            Self::KafkaUnavailable => "kafka_unavailable",
            Self::RecordTooLarge => "record_too_large",
            Self::UnknownTopic => "unknown_topic",
            Self::KafkaRejected => "kafka_rejected",
            Self::ReplyTimeout => "reply_timeout",
            Self::BadReply => "bad_reply",
            Self::CacheLoading => "cache_loading",
            Self::CacheEvicted => "cache_evicted",
            Self::Overloaded => "overloaded",
            Self::UpstreamFailed => "upstream_failed",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::InvalidPayload => "invalid_payload",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::SchemaUnavailable => "schema_unavailable",
            Self::UpstreamInvalid => "upstream_invalid",
            Self::Internal => "internal",
        }
    }

    /// Who is to blame.
    pub fn party(self) -> Party {
        match self {
            Self::NotFound
            | Self::BadRequest
            | Self::Unauthorized
            | Self::Forbidden
            | Self::MethodNotAllowed
            | Self::NotAcceptable
            | Self::PayloadTooLarge
            | Self::HeadersTooLarge
            | Self::UriTooLong
            | Self::RequestTimeout
            | Self::RecordTooLarge
            | Self::InvalidPayload
            | Self::UnsupportedMediaType => Party::Client,
            Self::KafkaUnavailable
            | Self::UnknownTopic
            | Self::KafkaRejected
            | Self::ReplyTimeout
            | Self::BadReply => Party::Kafka,
            Self::Overloaded | Self::Internal | Self::CacheLoading | Self::CacheEvicted => {
                Party::Gateway
            }
            Self::UpstreamFailed
            | Self::UpstreamTimeout
            | Self::UpstreamInvalid
            | Self::SchemaUnavailable => Party::Upstream,
        }
    }

    /// Whether a client may retry the same request later (adds `Retry-After`).
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Self::KafkaUnavailable
                | Self::Overloaded
                | Self::CacheLoading
                | Self::SchemaUnavailable
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_display_one_per_line_with_pointer() {
        let mut errors = ConfigErrors::default();
        errors.push("/bindings/a", "first");
        errors.push("", "second");
        assert_eq!(errors.to_string(), "/bindings/a: first\n/: second");
    }

    #[test]
    fn pointer_tokens_escape_slash_and_tilde() {
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    }
}
