//! What a matched route does. Each action is a leaf: it reads the request's context and the
//! snapshot, and never imports the handler, the listener or another action.
//!
//! - `produce`: one-way produce, 204 once Kafka acknowledged the record.
//! - `correlate`: request-response over a request and a reply topic, sync and async
//!   (`answer` turns a reply or an accepted request into the HTTP answer).
//! - `fetch`: the latest record of an item, or a list, from the topic cache; ETags and
//!   long-poll.
//! - `sse`: opening event streams from a topic feed (method, accept, last event id, start
//!   position); `stream` runs them (filters, event ids, keepalives, continuous
//!   authorization); `sink` writes them to hyper or straight to a socket.
//! - `echo`: the request's own body back.
//! - `context`: what the actions share of a request (identity, template values, filters).
//! - `body`: reading a request body within its limits.
//! - `validate`: an http server's request models, and a topic's key and value models.
//! - `view`: records shown through their topic's value model (fetch, SSE).

mod answer;
pub(crate) mod body;
pub(crate) mod context;
pub(crate) mod correlate;
pub(crate) mod echo;
pub(crate) mod fetch;
pub(crate) mod files;
pub(crate) mod forward;
pub(crate) mod produce;
pub(crate) mod sink;
pub(crate) mod sse;
pub(crate) mod sse_upstream;
pub(crate) mod stream;
pub(crate) mod upstream;
pub(crate) mod validate;
pub(crate) mod view;
