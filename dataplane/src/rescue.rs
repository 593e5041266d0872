//! The one place where a failed request becomes a response: logged by the party at fault
//! (client: debug, Kafka: warn, gateway: error), answered with its `ErrorCode`'s status and
//! JSON body, with CORS headers when the request came from an allowed origin. The handler
//! and the SSE fast path both answer failures here.

use http::Response;
use http::request::Parts;
use sluice_shared::Party;
use sluice_shared::table::{Cors, RequestHead};
use tracing::{debug, error, warn};

use crate::error::DataPlaneError;
use crate::head::Head;
use crate::http::cors::{self, Verdict};
use crate::response::{self, Body};

/// The answer to `failure`, for the request `parts` to a server with CORS policy `cors`.
pub(crate) fn rescue(
    parts: &Parts,
    cors: Option<&Cors>,
    failure: &DataPlaneError,
) -> Response<Body> {
    log(parts, failure);
    let mut response = response::error(failure);
    let head = Head(parts);
    if let Ok(Verdict::CrossOrigin(origin)) =
        cors::check(cors, parts, head.scheme(), head.authority())
    {
        cors::decorate(cors, &origin, &mut response);
    }
    response
}

fn log(parts: &Parts, failure: &DataPlaneError) {
    let code = failure.code();
    match code.party() {
        Party::Client => {
            debug!(method = %parts.method, path = parts.uri.path(), code = code.as_str(), error = %failure, "request refused")
        }
        Party::Upstream => {
            warn!(method = %parts.method, path = parts.uri.path(), code = code.as_str(), error = %failure, "the upstream server failed the request")
        }
        Party::Kafka => {
            warn!(method = %parts.method, path = parts.uri.path(), code = code.as_str(), error = %failure, "kafka failed the request")
        }
        Party::Gateway => {
            error!(method = %parts.method, path = parts.uri.path(), code = code.as_str(), error = %failure, "request failed")
        }
    }
}
