//! A Terminal window's screen: an xterm.js terminal (through the typed bindings in `xterm`)
//! opened in the window's element, refitted whenever that element resizes (its rows and columns
//! then in [`Screen::size`], and on the element as `data-rows` / `data-cols`), its keystrokes
//! handed to one callback.
//!
//! [`Screen`] is a `Copy` handle on a value the window's reactive owner keeps: every method is a
//! no-op before the screen opens and after the window closed. It never decides what keys mean
//! or what is written; the machine and the attachment do.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ResizeObserver};

use super::xterm::{self, Disposable, FitAddon, XTerm};
use crate::services::v86;

/// The keyboard callback given to xterm.js and the handle that removes it.
type Typing = (Closure<dyn FnMut(String)>, Disposable);
/// The observer that refits the screen when the window resizes, and its callback.
type Refit = (ResizeObserver, Closure<dyn FnMut()>);

/// The open terminal and what is attached to it.
struct Term {
    xterm: XTerm,
    fit: FitAddon,
    typing: Typing,
    refit: Option<Refit>,
}

/// The window's screen (`Copy`).
#[derive(Clone, Copy)]
pub struct Screen {
    term: StoredValue<Option<Term>, LocalStorage>,
    /// Rows and columns after the latest fit.
    size: RwSignal<Option<(u32, u32)>>,
}

impl Screen {
    pub fn new() -> Screen {
        Screen {
            term: StoredValue::new_local(None),
            size: RwSignal::new(None),
        }
    }

    /// The terminal's rows and columns (tracked: it changes when the window is resized).
    pub fn size(self) -> Option<(u32, u32)> {
        self.size.get()
    }

    /// The terminal's rows and columns now, untracked.
    pub fn size_untracked(self) -> Option<(u32, u32)> {
        self.size.try_get_untracked().flatten()
    }

    /// Fits the terminal to its element and notes its rows and columns.
    fn refit(self, xterm: &XTerm, fit: &FitAddon, el: &HtmlElement) {
        fit.fit();
        let size = (xterm.rows(), xterm.cols());
        let _ = el.set_attribute("data-rows", &size.0.to_string());
        let _ = el.set_attribute("data-cols", &size.1.to_string());
        if self.size.try_get_untracked() != Some(Some(size)) {
            self.size.try_set(Some(size));
        }
    }

    /// Loads xterm.js (named by the v86 manifest) once per page. The error says what to do.
    pub async fn load() -> Result<(), String> {
        let loaded = match v86::manifest::load().await {
            Ok(manifest) => xterm::load(&manifest).await,
            Err(e) => Err(e),
        };
        loaded.map_err(|e| {
            format!("The terminal's files did not load ({e}); rebuild with `cargo xtask build`.")
        })
    }

    /// Opens the terminal in `el`, focused; `on_key` hears what is typed (or pasted).
    pub fn open(self, el: &HtmlElement, on_key: impl Fn(String) + 'static) -> Result<(), String> {
        if self.is_open() {
            return Ok(());
        }
        let xterm = XTerm::create();
        let fit = FitAddon::create()?;
        xterm.load_addon(&fit);
        xterm.open(el);
        self.refit(&xterm, &fit, el);
        xterm.focus();
        let on_data = Closure::<dyn FnMut(String)>::new(on_key);
        let disposable = xterm.on_data(&on_data);
        let observed = el.clone();
        let on_resize = Closure::<dyn FnMut()>::new(move || {
            self.term.try_with_value(|t| {
                if let Some(t) = t {
                    self.refit(&t.xterm, &t.fit, &observed);
                }
            });
        });
        let refit = ResizeObserver::new(on_resize.as_ref().unchecked_ref())
            .ok()
            .map(|observer| {
                observer.observe(el);
                (observer, on_resize)
            });
        self.term.try_set_value(Some(Term {
            xterm,
            fit,
            typing: (on_data, disposable),
            refit,
        }));
        Ok(())
    }

    /// True once the terminal is open.
    pub fn is_open(self) -> bool {
        self.term.try_with_value(Option::is_some).unwrap_or(false)
    }

    /// Writes `text` (terminal control sequences included).
    pub fn write(self, text: &str) {
        self.with(|t| t.xterm.write(text));
    }

    /// Clears the screen and the terminal's state.
    pub fn reset(self) {
        self.with(|t| t.xterm.reset());
    }

    /// Takes the desktop's current colours (the theme changed).
    pub fn recolour(self) {
        self.with(|t| t.xterm.recolour());
    }

    pub fn focus(self) {
        self.with(|t| t.xterm.focus());
    }

    /// Releases the terminal, its keyboard callback and its observer (the window is closing).
    pub fn close(self) {
        let Some(Some(term)) = self.term.try_update_value(Option::take) else {
            return;
        };
        term.typing.1.dispose();
        if let Some((observer, _)) = term.refit {
            observer.disconnect();
        }
        term.xterm.dispose();
    }

    fn with(self, f: impl FnOnce(&Term)) {
        self.term.try_with_value(|t| {
            if let Some(t) = t {
                f(t);
            }
        });
    }
}
