//! Typed wasm-bindgen bindings to xterm.js (`@xterm/xterm` 6) and its fit addon
//! (`@xterm/addon-fit`), whose UMD builds define the globals `Terminal` and `FitAddon.FitAddon`
//! once [`load`] has added them to the page (lazily, when the first Terminal opens).
//!
//! A UMD build registers itself with an AMD loader when it finds one (`define.amd`) instead of
//! setting its global, and Monaco's loader is one. Monaco's loader takes its `define.amd` flag
//! off right after `loader.js` runs (`services::monaco`, `hide_amd_flag`), so with the Editor
//! opened first there is normally nothing left to find. While these scripts load, any
//! `define.amd` still present (an AMD loader from elsewhere, or the moment between `loader.js`
//! running and its flag coming off) is hidden as well ([`AmdHidden`]) and put back afterwards,
//! so `Terminal` is always a global whichever app loads first.

use std::cell::Cell;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::services::v86::Manifest;

#[wasm_bindgen]
extern "C" {
    /// `new Terminal(options)`.
    #[wasm_bindgen(js_name = Terminal)]
    pub type XTerm;

    #[wasm_bindgen(constructor, js_class = "Terminal")]
    fn new_with(options: &Object) -> XTerm;

    /// Mounts the terminal into `parent`.
    #[wasm_bindgen(method, js_class = "Terminal")]
    pub fn open(this: &XTerm, parent: &web_sys::HtmlElement);

    /// Writes output (escape sequences interpreted).
    #[wasm_bindgen(method, js_class = "Terminal")]
    pub fn write(this: &XTerm, data: &str);

    /// Calls `callback` with what the user types (and the terminal's own answers to queries).
    #[wasm_bindgen(method, js_class = "Terminal", js_name = onData)]
    pub fn on_data(this: &XTerm, callback: &Closure<dyn FnMut(String)>) -> Disposable;

    #[wasm_bindgen(method, js_class = "Terminal", js_name = loadAddon)]
    pub fn load_addon(this: &XTerm, addon: &FitAddon);

    #[wasm_bindgen(method, js_class = "Terminal")]
    pub fn focus(this: &XTerm);

    #[wasm_bindgen(method, js_class = "Terminal")]
    pub fn reset(this: &XTerm);

    #[wasm_bindgen(method, js_class = "Terminal")]
    pub fn dispose(this: &XTerm);

    /// The terminal's live options (setting a key on it changes the terminal at once).
    #[wasm_bindgen(method, getter, js_class = "Terminal")]
    fn options(this: &XTerm) -> Object;

    /// Rows of the terminal.
    #[wasm_bindgen(method, getter, js_class = "Terminal")]
    pub fn rows(this: &XTerm) -> u32;

    /// Columns of the terminal.
    #[wasm_bindgen(method, getter, js_class = "Terminal")]
    pub fn cols(this: &XTerm) -> u32;

    /// What `on_data` returns.
    pub type Disposable;

    #[wasm_bindgen(method)]
    pub fn dispose(this: &Disposable);

    /// `new FitAddon.FitAddon()`: sizes the terminal to its container.
    #[wasm_bindgen(js_namespace = FitAddon, js_name = FitAddon)]
    pub type FitAddon;

    #[wasm_bindgen(method, js_class = "FitAddon")]
    pub fn fit(this: &FitAddon);
}

impl XTerm {
    /// A terminal in the desktop's colours, with a monospace font.
    pub fn create() -> XTerm {
        let options = Object::new();
        let set = |o: &Object, k: &str, v: JsValue| {
            let _ = Reflect::set(o, &k.into(), &v);
        };
        set(&options, "theme", colours().into());
        set(&options, "fontSize", 13.into());
        set(
            &options,
            "fontFamily",
            "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace".into(),
        );
        set(&options, "cursorBlink", true.into());
        set(&options, "scrollback", 5000.into());
        XTerm::new_with(&options)
    }

    /// Takes the desktop's current colours (`terminal.options.theme`), e.g. after the theme
    /// changed; xterm.js redraws with them.
    pub fn recolour(&self) {
        let _ = Reflect::set(&self.options(), &"theme".into(), &colours());
    }
}

/// xterm.js's theme (`ITheme`) from the desktop's `--terminal-*` variables (style/themes.css),
/// so the terminal's colours are the theme's and live only in the stylesheet. A variable that is
/// missing is left out: xterm.js keeps its own default for it.
fn colours() -> Object {
    let theme = Object::new();
    let style = web_sys::window().and_then(|w| {
        let root = w.document()?.document_element()?;
        w.get_computed_style(&root).ok().flatten()
    });
    let Some(style) = style else {
        return theme;
    };
    for (key, variable) in [
        ("background", "--terminal-bg"),
        ("foreground", "--terminal-fg"),
        ("cursor", "--terminal-cursor"),
        ("cursorAccent", "--terminal-bg"),
        ("selectionBackground", "--terminal-selection"),
    ] {
        let value = style.get_property_value(variable).unwrap_or_default();
        if !value.trim().is_empty() {
            let _ = Reflect::set(&theme, &key.into(), &value.trim().into());
        }
    }
    theme
}

impl FitAddon {
    /// `new FitAddon.FitAddon()` (the UMD build puts the class inside a namespace object).
    pub fn create() -> Result<FitAddon, String> {
        let namespace =
            Reflect::get(&js_sys::global(), &"FitAddon".into()).map_err(|e| format!("{e:?}"))?;
        let class: js_sys::Function = Reflect::get(&namespace, &"FitAddon".into())
            .map_err(|e| format!("{e:?}"))?
            .dyn_into()
            .map_err(|_| "FitAddon.FitAddon is not a class".to_owned())?;
        Reflect::construct(&class, &js_sys::Array::new())
            .map(JsCast::unchecked_into)
            .map_err(|e| format!("{e:?}"))
    }
}

thread_local! {
    static LOADED: Cell<bool> = const { Cell::new(false) };
}

/// `define.amd` of the page's AMD loader, taken away until this is dropped.
struct AmdHidden {
    define: JsValue,
    amd: JsValue,
}

impl AmdHidden {
    /// Hides `window.define.amd`, if there is an AMD loader (`None` when there is none).
    fn hide() -> Option<AmdHidden> {
        let window = web_sys::window()?;
        let define = Reflect::get(&window, &"define".into()).ok()?;
        if !define.is_function() {
            return None;
        }
        let amd = Reflect::get(&define, &"amd".into()).ok()?;
        if amd.is_undefined() {
            return None;
        }
        let _ = Reflect::set(&define, &"amd".into(), &JsValue::UNDEFINED);
        Some(AmdHidden { define, amd })
    }
}

impl Drop for AmdHidden {
    fn drop(&mut self) {
        let _ = Reflect::set(&self.define, &"amd".into(), &self.amd);
    }
}

/// Adds xterm.js, its stylesheet and the fit addon to the page (once).
pub async fn load(manifest: &Manifest) -> Result<(), String> {
    if LOADED.with(Cell::get) {
        return Ok(());
    }
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let head = document.head().ok_or("no <head>")?;
    let css = document
        .create_element("link")
        .map_err(|e| format!("{e:?}"))?;
    let _ = css.set_attribute("rel", "stylesheet");
    let _ = css.set_attribute("href", &manifest.xterm_css);
    let _ = head.append_child(&css);
    let _amd = AmdHidden::hide();
    for src in [&manifest.xterm_js, &manifest.fit_js] {
        let script = document
            .create_element("script")
            .map_err(|e| format!("{e:?}"))?;
        let _ = script.set_attribute("src", src);
        let loaded = Promise::new(&mut |resolve, reject| {
            let _ = Reflect::set(&script, &"onload".into(), &resolve);
            let _ = Reflect::set(&script, &"onerror".into(), &reject);
        });
        let _ = head.append_child(&script);
        JsFuture::from(loaded)
            .await
            .map_err(|_| format!("{src} did not load"))?;
    }
    LOADED.with(|l| l.set(true));
    Ok(())
}
