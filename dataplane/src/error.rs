//! Data-plane errors and their HTTP meaning.

use sluice_shared::ErrorCode;

/// Why a request failed; [`DataPlaneError::code`] decides the status and JSON `code`.
#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    /// No route matches.
    #[error("no route for {method} {path}")]
    NoRoute {
        /// Request method.
        method: String,
        /// Request path.
        path: String,
    },
    /// The route is guarded and the request has no valid credentials.
    #[error("{reason}")]
    Unauthorized {
        /// Why, for the client: missing or invalid credentials.
        reason: String,
        /// The credentials were present but invalid (`error="invalid_token"`).
        invalid: bool,
    },
    /// The credentials lack a role the route requires.
    #[error("the token lacks a required role: {}", roles.join(" "))]
    InsufficientScope {
        /// The roles the route requires.
        roles: Vec<String>,
    },
    /// The request has both `content-length` and `transfer-encoding`.
    #[error("a request must not have both content-length and transfer-encoding")]
    AmbiguousLength,
    /// A line of the request head ends in a bare LF.
    #[error("request lines must end in CR LF, not a bare LF")]
    BareLineFeed,
    /// The first request head did not arrive within the header-read timeout.
    #[error("the request head did not arrive in time")]
    HeadTimeout,
    /// The request line alone is over the head limit.
    #[error("the request target is longer than the head limit")]
    UriTooLong,
    /// The request head is over the head limit.
    #[error("the request head is over the limit of {limit} bytes")]
    HeadersTooLarge {
        /// The listener's `max-header-bytes`.
        limit: u64,
    },
    /// The listener is at its `max-connections`.
    #[error("this listener is at its connection limit; retry later")]
    TooManyConnections,
    /// A challenge answer names no live session.
    #[error("{0}")]
    NoSession(String),
    /// A challenge answer's token may not renew the session (other identity, fewer roles).
    #[error(
        "this token may not renew the stream's session: it needs the same identity and every role"
    )]
    RenewalRefused,
    /// CORS refuses the request's origin, method or headers.
    #[error("{0}")]
    CorsRefused(String),
    /// The route answers GET only.
    #[error("{method} is not allowed here; this route streams events to GET requests")]
    MethodNotAllowed {
        /// The request's method.
        method: String,
    },
    /// The client's `accept` excludes `text/event-stream`.
    #[error("this route streams text/event-stream; send 'accept: text/event-stream'")]
    NotAcceptable,
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// A body, header, parameter or key does not fit its model.
    #[error("{}", .0.detail())]
    Invalid(Box<crate::problem::Problem>),
    /// The upstream's response does not fit its model.
    #[error("the upstream's response does not fit its model: {}", .0.detail())]
    UpstreamInvalid(Box<crate::problem::Problem>),
    /// The content type is not one the route's model accepts.
    #[error("content type '{found}' is not accepted here; send one of: {}", .accepted.join(", "))]
    UnsupportedMediaType {
        /// The request's content type.
        found: String,
        /// The accepted ones.
        accepted: Vec<String>,
    },
    /// A schema cannot be had from its registry now.
    #[error("{0}")]
    SchemaUnavailable(String),
    /// The body is over the limit.
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit, bytes.
        limit: u64,
    },
    /// The process's memory budget for request bodies is used up.
    #[error(
        "the gateway is receiving too many request bodies at once (budget {limit_bytes} bytes); retry shortly"
    )]
    Overloaded {
        /// The budget.
        limit_bytes: u64,
    },
    /// The request body stopped arriving.
    #[error("the request body sent no byte for {timeout_ms} ms")]
    BodyStalled {
        /// The route's body-read timeout.
        timeout_ms: u64,
    },
    /// Reading the request body failed.
    #[error("reading the request body failed: {0}")]
    Body(String),
    /// Kafka failed; the code says how.
    #[error("{message}")]
    Kafka {
        /// Classification.
        code: ErrorCode,
        /// For the client and the log.
        message: String,
    },
    /// No reply arrived in time.
    #[error("no reply on topic '{topic}' within {timeout_ms} ms")]
    ReplyTimeout {
        /// The reply topic.
        topic: String,
        /// The route's timeout.
        timeout_ms: u64,
    },
    /// The reply cannot become an HTTP response.
    #[error("the reply is not a valid HTTP response: {0}")]
    BadReply(String),
    /// The topic cache is still reading the topic's history.
    #[error("the cache of topic '{topic}' is still loading; retry shortly")]
    CacheLoading {
        /// The topic.
        topic: String,
    },
    /// The topic cache has not read, within its wait, writes this instance acknowledged.
    #[error(
        "the cache of topic '{topic}' has not yet read the writes this instance acknowledged; retry shortly"
    )]
    CacheBehind {
        /// The topic.
        topic: String,
    },
    /// The record was dropped at the cache's memory bound.
    #[error("the answer is not in the topic cache: it was evicted at the cache's memory bound")]
    CacheEvicted,
    /// No record for this item.
    #[error("no record for this item")]
    NoRecord,
    /// The upstream HTTP server could not be reached, or broke the exchange.
    #[error("the upstream server failed: {0}")]
    Upstream(String),
    /// The upstream HTTP server sent no response head in time.
    #[error("the upstream server did not answer within {seconds} s")]
    UpstreamTimeout {
        /// The wait.
        seconds: u64,
    },
    /// The topic named by the request does not exist.
    #[error("no topic '{0}' on the kafka cluster")]
    NoTopic(String),
    /// A route with a topic from the path streams as many topics as it may.
    #[error("this route already streams {limit} topics (its max-topics); try again later")]
    TooManyTopics {
        /// The route's `max-topics`.
        limit: usize,
    },
    /// No file at this path (or one Sluice does not serve: a directory, a link).
    #[error("no file at {0}")]
    NoFile(String),
    /// Files are served to GET and HEAD only.
    #[error("{method} is not allowed here; files are served to GET and HEAD")]
    ReadOnly {
        /// The request's method.
        method: String,
    },
    /// An internal failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DataPlaneError {
    /// No route for the request.
    pub(crate) fn no_route(parts: &http::request::Parts) -> Self {
        Self::NoRoute {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
        }
    }

    /// The error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoRoute { .. }
            | Self::NoRecord
            | Self::NoFile(_)
            | Self::NoTopic(_)
            | Self::NoSession(_) => ErrorCode::NotFound,
            Self::AmbiguousLength | Self::BareLineFeed => ErrorCode::BadRequest,
            Self::HeadTimeout => ErrorCode::RequestTimeout,
            Self::UriTooLong => ErrorCode::UriTooLong,
            Self::HeadersTooLarge { .. } => ErrorCode::HeadersTooLarge,
            Self::TooManyConnections => ErrorCode::Overloaded,
            Self::RenewalRefused => ErrorCode::Forbidden,
            Self::Unauthorized { .. } => ErrorCode::Unauthorized,
            Self::InsufficientScope { .. } | Self::CorsRefused(_) => ErrorCode::Forbidden,
            Self::MethodNotAllowed { .. } | Self::ReadOnly { .. } => ErrorCode::MethodNotAllowed,
            Self::NotAcceptable => ErrorCode::NotAcceptable,
            Self::CacheLoading { .. } | Self::CacheBehind { .. } => ErrorCode::CacheLoading,
            Self::CacheEvicted => ErrorCode::CacheEvicted,
            Self::BadRequest(_) | Self::Body(_) => ErrorCode::BadRequest,
            Self::Invalid(_) => ErrorCode::InvalidPayload,
            Self::UpstreamInvalid(_) => ErrorCode::UpstreamInvalid,
            Self::UnsupportedMediaType { .. } => ErrorCode::UnsupportedMediaType,
            Self::SchemaUnavailable(_) => ErrorCode::SchemaUnavailable,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::BodyStalled { .. } => ErrorCode::RequestTimeout,
            Self::Overloaded { .. } | Self::TooManyTopics { .. } => ErrorCode::Overloaded,
            Self::Kafka { code, .. } => *code,
            Self::ReplyTimeout { .. } => ErrorCode::ReplyTimeout,
            Self::BadReply(_) => ErrorCode::BadReply,
            Self::Upstream(_) => ErrorCode::UpstreamFailed,
            Self::UpstreamTimeout { .. } => ErrorCode::UpstreamTimeout,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<sluice_shared::table::Denial> for DataPlaneError {
    /// What a guard's refusal tells the client.
    fn from(denial: sluice_shared::table::Denial) -> Self {
        use sluice_shared::table::Denial;
        match denial {
            Denial::Unauthenticated { invalid } => Self::Unauthorized {
                reason: if invalid {
                    "the credentials are not valid".to_owned()
                } else {
                    "this route needs credentials".to_owned()
                },
                invalid,
            },
            Denial::Forbidden { roles } => Self::InsufficientScope { roles },
        }
    }
}
