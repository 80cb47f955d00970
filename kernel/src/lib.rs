//! The Aether kernel: a WebSocket hub, an in-process bus and the services behind it, and the
//! embedded desktop. `main.rs` only parses flags and wires signals; everything else is here so the
//! integration tests can start a real kernel on `127.0.0.1:0`.

pub mod app;
pub mod assets;
pub mod bus;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod data_lock;
pub mod guard;
pub mod hub;
pub mod net;
pub mod services;
pub mod tls;

pub use app::{Kernel, serve};
pub use config::Config;

/// The kernel's version, announced in `kernel.hello`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
