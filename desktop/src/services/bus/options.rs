//! How a request or a stream is sent: [`RequestOptions`] and [`StreamOptions`].
//!
//! `silent` marks what the page asks on its own (an inline completion, the cancel of one), not
//! what a person asked for: the bus client remembers it with the request, and the toasts do not
//! show that request's errors (the caller reports them where it made the request). It never
//! travels on the wire.

use super::client::DEFAULT_TIMEOUT_MS;

/// Options of a request answered by one reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestOptions {
    /// How long to wait for the reply, in milliseconds.
    pub timeout_ms: u32,
    /// Its errors are not shown as toasts.
    pub silent: bool,
    /// A client or session to address (the relay, SPEC §3); `None` for a kernel service.
    pub to: Option<String>,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            silent: false,
            to: None,
        }
    }
}

impl RequestOptions {
    /// The defaults with a timeout of `timeout_ms`.
    pub fn timeout(timeout_ms: u32) -> Self {
        RequestOptions {
            timeout_ms,
            ..RequestOptions::default()
        }
    }

    /// The same options, silent.
    pub fn silent(self) -> Self {
        RequestOptions {
            silent: true,
            ..self
        }
    }
}

/// Options of a request answered by a stream (see `BusClient::stream`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// Its errors (a refusal, or the stream's failure) are not shown as toasts.
    pub silent: bool,
}
