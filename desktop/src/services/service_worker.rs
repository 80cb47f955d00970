//! The desktop's service worker: registered at start, so that the next load works without the
//! kernel (the desktop shows, and says the kernel is unreachable) and a new kernel's desktop
//! replaces the cached one on the next load. The worker itself is `public/sw.js`, which the
//! kernel serves at [`SCRIPT_URL`] with its build filled in; what it caches is said there.
//!
//! Best effort: a browser without service workers, a page that is not a secure context (plain
//! `http` on another host than loopback) or a refused registration leave the desktop as it was,
//! online only, with one console warning. It never delays start-up and never touches the bus.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Where the kernel serves the worker; a stable URL, so its scope is the whole origin.
pub const SCRIPT_URL: &str = "/sw.js";

/// Registers (or updates) the worker, in the background.
pub fn register() {
    let Some(window) = web_sys::window() else {
        return;
    };
    if !window.is_secure_context() {
        warn("this page is not a secure context, so it cannot load without the kernel");
        return;
    }
    let navigator = window.navigator();
    let supported = js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false);
    if !supported {
        warn("this browser has no service workers, so the page cannot load without the kernel");
        return;
    }
    let registering = navigator.service_worker().register(SCRIPT_URL);
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(why) = JsFuture::from(registering).await {
            warn(&format!(
                "the service worker was not registered ({}), so the page cannot load without the kernel",
                why.dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
                    .or_else(|| why.as_string())
                    .unwrap_or_default()
            ));
        }
    });
}

fn warn(message: &str) {
    web_sys::console::warn_1(&format!("aether: {message}").into());
}
