//! The bus client: the desktop's one WebSocket to the kernel, and everything that rides on it.
//!
//! [`BusClient`] is the public face: typed requests ([`BusClient::send_request`],
//! [`BusClient::call`]), typed streams ([`BusClient::stream`], [`BusClient::tap`]), listeners
//! ([`BusClient::on`], [`BusClient::listen`], [`BusClient::on_errors`]), events
//! ([`BusClient::publish`]) and the connection state for the shell ([`BusState`]). Request ids
//! are minted in one place (`request_id`, through the client); the `silent` option
//! ([`RequestOptions`], [`StreamOptions`]) keeps a request's errors out of the toasts. The rest
//! is split by concern: pure rules that are unit tested on the native host (`backoff`,
//! `request_id`, `pending`, `streams`, `listeners`, `options`, `state`, `url`, `error`) and the
//! browser glue (`socket`, `connection`, `client`, `requests`, `streaming`, `page_token`).
//!
//! This service never renders and never decides what a message means to an app.

mod backoff;
mod client;
mod connection;
mod error;
mod listeners;
mod options;
mod page_token;
mod pending;
mod request_id;
mod requests;
mod socket;
mod state;
mod streaming;
mod streams;
mod url;

pub use client::{BusClient, DEFAULT_TIMEOUT_MS};
pub use error::BusError;
pub use listeners::{SubscriptionHandle, namespace_pattern};
pub use options::{RequestOptions, StreamOptions};
pub use state::BusState;
pub use streaming::StreamHandle;
