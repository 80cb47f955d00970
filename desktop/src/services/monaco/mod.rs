//! Monaco, the code editor, loaded lazily: nothing of it is fetched until the first editor asks
//! for it with [`load`], so the desktop's start stays as fast without it.
//!
//! [`load`] adds the AMD loader (`/monaco/vs/loader.js`, placed there by `cargo xtask`) to the
//! page, points it at `/monaco/vs`, and requires `vs/editor/editor.main`; every caller waiting at
//! the same time shares that one load. The typed surface is in [`bindings`]; option bags are
//! typed structs ([`options`]); [`wat`] teaches Monaco the WebAssembly text format. The desktop's
//! theme reaches every editor through [`follow_theme`] (Monaco's theme is global), before or
//! after the load. This module never renders and never evaluates JavaScript source.
//!
//! Once the loader has run, its `define.amd` flag is taken off (see [`hide_amd_flag`]): Monaco's
//! own modules never read it, and a UMD script the page adds later (xterm.js, for the Terminal)
//! then sets its global instead of registering with the loader, whichever app opens first and
//! however their loads interleave.

pub mod bindings;
pub mod options;
pub mod wat;

use std::cell::{Cell, RefCell};

use futures_channel::oneshot;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// Where the build places Monaco's `vs` folder.
pub const VS_PATH: &str = "/monaco/vs";

/// Why Monaco could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MonacoError {
    #[error(
        "the editor's files could not be loaded ({0}); reload the page, or rebuild the desktop with `cargo xtask build`"
    )]
    Load(String),
}

enum LoadState {
    Idle,
    Loading(Vec<oneshot::Sender<Result<(), MonacoError>>>),
    Ready,
}

thread_local! {
    static STATE: RefCell<LoadState> = const { RefCell::new(LoadState::Idle) };
    /// The Monaco theme the desktop's theme asks for (`vs-dark` until told otherwise).
    static THEME: Cell<&'static str> = const { Cell::new(DARK_THEME) };
}

/// Monaco's built-in themes matching the desktop's dark and light themes.
pub const DARK_THEME: &str = "vs-dark";
pub const LIGHT_THEME: &str = "vs";

/// Sets the theme of every Monaco editor of the page (`vs` or `vs-dark`): at once when Monaco
/// is loaded, else when it loads. Loads nothing itself.
pub fn follow_theme(light: bool) {
    let name = if light { LIGHT_THEME } else { DARK_THEME };
    THEME.with(|theme| theme.set(name));
    if STATE.with(|s| matches!(*s.borrow(), LoadState::Ready)) {
        bindings::set_theme(name);
    }
}

/// Loads Monaco once (later calls return at once); after a failure the next call tries again.
pub async fn load() -> Result<(), MonacoError> {
    let (tx, rx) = oneshot::channel();
    let start = STATE.with(|s| {
        let mut state = s.borrow_mut();
        match &mut *state {
            LoadState::Ready => {
                let _ = tx.send(Ok(()));
                false
            }
            LoadState::Loading(waiters) => {
                waiters.push(tx);
                false
            }
            LoadState::Idle => {
                *state = LoadState::Loading(vec![tx]);
                true
            }
        }
    });
    if start && let Err(e) = inject_loader() {
        finish(Err(e));
    }
    rx.await
        .unwrap_or_else(|_| Err(MonacoError::Load("the load was abandoned".into())))
}

/// Settles every waiter.
fn finish(result: Result<(), MonacoError>) {
    let waiters = STATE.with(|s| {
        let mut state = s.borrow_mut();
        let next = if result.is_ok() {
            LoadState::Ready
        } else {
            LoadState::Idle
        };
        match std::mem::replace(&mut *state, next) {
            LoadState::Loading(waiters) => waiters,
            _ => Vec::new(),
        }
    });
    if result.is_ok() {
        wat::register();
        bindings::set_theme(THEME.with(Cell::get));
    }
    for waiter in waiters {
        let _ = waiter.send(result.clone());
    }
}

/// Adds `<script src="/monaco/vs/loader.js">`; its load event requires the editor.
fn inject_loader() -> Result<(), MonacoError> {
    let fail = |what: &str| MonacoError::Load(what.to_owned());
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| fail("no document"))?;
    let script: web_sys::HtmlScriptElement = document
        .create_element("script")
        .map_err(|_| fail("cannot create a script element"))?
        .unchecked_into();
    script.set_src(&format!("{VS_PATH}/loader.js"));
    script.set_onload(Some(
        &Closure::once_into_js(|| {
            hide_amd_flag();
            require_editor();
        })
        .unchecked_into(),
    ));
    script.set_onerror(Some(
        &Closure::once_into_js(|| finish(Err(MonacoError::Load("loader.js is missing".into()))))
            .unchecked_into(),
    ));
    document
        .head()
        .ok_or_else(|| fail("no <head>"))?
        .append_child(&script)
        .map_err(|_| fail("cannot add the loader to the page"))?;
    Ok(())
}

/// Configures the AMD loader and requires `vs/editor/editor.main`.
fn require_editor() {
    bindings::amd_config(&options::to_js(&options::LoaderConfig::new(VS_PATH)));
    let deps = js_sys::Array::of1(&JsValue::from_str("vs/editor/editor.main"));
    let on_load = Closure::once_into_js(|| finish(Ok(())));
    let on_error = Closure::once_into_js(|error: JsValue| {
        let why = js_sys::Reflect::get(&error, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "the editor module failed".into());
        finish(Err(MonacoError::Load(why)));
    });
    bindings::amd_require(&deps, on_load.unchecked_ref(), on_error.unchecked_ref());
}

/// Takes `define.amd` off the loader's `define`, in the same turn as the loader ran (a script's
/// load event fires right after it executes, so no other script runs in between). The flag only
/// tells UMD builds that an AMD loader is there; Monaco's modules call `define` with their names
/// and never look at it, and `editor.main` sets the global `monaco` itself.
fn hide_amd_flag() {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Ok(define) = js_sys::Reflect::get(&window, &"define".into())
        && define.is_function()
    {
        let _ = js_sys::Reflect::set(&define, &"amd".into(), &JsValue::UNDEFINED);
    }
}
