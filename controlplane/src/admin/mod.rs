//! The admin API on the admin listener: the configuration, its bindings and guards,
//! revisions, rollback, status, health and the OpenAPI document.
//!
//! - `GET /healthz`: 200 while the process serves. `GET /readyz`: 200 once a configuration
//!   is applied and every Kafka cluster it uses answers (503 with the reason otherwise).
//! - `GET /v1/config`: the live head, JSON or YAML (`accept: application/yaml`), with
//!   `ETag: "<revision>"`.
//! - `PUT /v1/config`: a whole new configuration (JSON, or YAML with
//!   `content-type: application/yaml`). `If-Match: "<revision>"` makes it conditional
//!   (mismatch: 412); `?dry_run=true` validates and returns the differences without
//!   applying. Invalid: 422 with every error and its JSON pointer. Applied: 200 with the
//!   revision; unchanged: 200 with `"unchanged": true` and no new revision.
//! - `GET /v1/revisions`, `GET /v1/revisions/{n}`, `POST /v1/revisions/{n}/rollback` (a new
//!   revision equal to revision n).
//! - `GET /v1/config` with `If-None-Match: "<revision>"`: 304 while that is the head; with
//!   `prefer: wait=N` (N ≤ 300) it waits for the next applied revision first. Separate data
//!   planes follow this way and report themselves in request headers.
//! - `GET /v1/status`: live revision, when applied, last refused change, data planes.
//! - `GET /v1/traffic`: the last minutes of traffic, in columns (`traffic`).
//! - `GET|PUT|DELETE /v1/bindings/{name}`, `GET /v1/bindings`, and the same for guards: one
//!   resource of the head, with its own ETag; a change is applied as a whole configuration.
//! - `GET /openapi.json`: the OpenAPI document (`crate::openapi`).
//! - `GET /metrics`: Prometheus text format (data plane and configuration series).
//! - `GET /ui/`: the web UI (`ui`), public assets that call this API.
//!
//! Mutations need `authorization: Bearer <admin token>`. Reads are open when the admin
//! listener is on a loopback address, and need the token otherwise. Bodies are capped at
//! the configuration document limit.

//!
//! Modules: `server` (listener), `token` (the admin token), `router` (route table, authorization, dispatch),
//! `config` (the whole configuration and rollback), `resources` (bindings and guards one by
//! one), `request` (reading requests), `answer` (building answers), `error` (`ApiError`:
//! every refusal, and the one place where it becomes an answer), `traffic` (the traffic
//! view's JSON), `ui` (the web UI's assets). This file only declares and re-exports.

mod answer;
mod config;
mod error;
mod outcome;
mod request;
mod resources;
mod router;
mod server;
mod token;
mod traffic;
mod ui;

pub(crate) use answer::{Answer, admin_tls_metrics, json_answer, metrics_answer, problem};
pub use router::ROUTES;
pub(crate) use server::serve;
pub use server::{Admin, start};
pub use token::{Token, read_token_file};
pub(crate) use token::{authorized, unauthorized};
