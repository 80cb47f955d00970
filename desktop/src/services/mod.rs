//! Browser services: long-lived, UI-free parts of the desktop that apps and the shell use.
//!
//! `bus` is the WebSocket client of the kernel's message bus; `devtools` exposes it to the
//! browser console and to end-to-end tests as `window.aether`; `web_storage` is `localStorage`
//! and `sessionStorage` as plain strings; `preferences` is the person's choices for this browser
//! (theme, AI model, the Editor's font size, the agent's reads) kept there; `vfs` is this tab's files (IndexedDB, served to the bus
//! under the tab's session id); `monaco` loads the code editor lazily and binds it; `v86` hosts
//! this tab's x86 machines (the `v86` backend of `vm.spawn`, in Web Workers); `service_worker`
//! registers the worker that lets the desktop load without the kernel. Services never
//! render; the shell and the apps read
//! them through signals.

pub mod bus;
pub mod devtools;
pub mod monaco;
pub mod preferences;
pub mod service_worker;
pub mod v86;
pub mod vfs;
pub mod web_storage;
