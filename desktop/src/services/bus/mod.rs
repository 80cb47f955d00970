//! The bus client: the desktop's one WebSocket to the kernel, and everything that rides on it.
//!
//! [`BusClient`] is the public face: typed requests ([`BusClient::send_request`]), listeners
//! ([`BusClient::on`], [`BusClient::listen`]), events ([`BusClient::publish`]) and the connection
//! state for the shell ([`BusState`]). The rest is split by concern: pure rules that are unit
//! tested on the native host (`backoff`, `request_id`, `pending`, `listeners`, `state`, `url`,
//! `error`) and the browser glue (`socket`, `connection`, `client`, `page_token`).
//!
//! This service never renders and never decides what a message means to an app.

mod backoff;
mod client;
mod connection;
mod error;
mod listeners;
mod page_token;
mod pending;
mod request_id;
mod socket;
mod state;
mod url;

pub use client::{BusClient, DEFAULT_TIMEOUT_MS};
pub use error::BusError;
pub use listeners::SubscriptionHandle;
pub use state::BusState;
