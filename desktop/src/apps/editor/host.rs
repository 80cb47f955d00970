//! [`Host`]: one Monaco editor inside the Editor window and a Monaco model per open file.
//!
//! The window keeps which files are open and whether they are dirty ([`super::tabs`]); the host
//! keeps their text. It tells the window when a buffer changes, shows one model at a time, sets
//! markers, reads the selection, and disposes everything with the window. Browser glue only.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::services::monaco::bindings::{self, CodeEditor, Disposable, TextModel};
use crate::services::monaco::options::{EditorOptions, FontSize, Marker, ReadOnly, to_js};

/// The URI scheme of the models (one per VFS path of this tab).
const SCHEME: &str = "aether-vfs://tab";

/// The marker owner of Run's compile errors.
pub const RUN_MARKERS: &str = "aether-run";

/// A caret position: 1-based line and column (in characters; Monaco counts UTF-16 units, the
/// same outside the astral planes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caret {
    pub line: u32,
    pub column: u32,
}

/// Monaco's `IPosition`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Position {
    line_number: u32,
    column: u32,
}

/// The editor and its models.
pub struct Host {
    editor: CodeEditor,
    models: RefCell<HashMap<String, (TextModel, Disposable)>>,
    on_change: Rc<dyn Fn(&str)>,
    extras: RefCell<Vec<Disposable>>,
}

impl Host {
    /// Creates the editor in `element`; `on_change(path)` hears every edit of a buffer.
    pub fn new(element: &web_sys::HtmlElement, on_change: Rc<dyn Fn(&str)>) -> Host {
        let editor = bindings::create_editor(element, &to_js(&EditorOptions::default()));
        Host {
            editor,
            models: RefCell::default(),
            on_change,
            extras: RefCell::default(),
        }
    }

    /// Keeps a registration (an action, a provider) until the host is disposed.
    pub fn keep(&self, disposable: Disposable) {
        self.extras.borrow_mut().push(disposable);
    }

    /// Adds an action to the editor's context menu (and its command palette, F1).
    pub fn add_action(&self, id: &str, label: &str, run: Rc<dyn Fn()>) -> Disposable {
        let descriptor = js_sys::Object::new();
        let set = |key: &str, value: &JsValue| {
            let _ = js_sys::Reflect::set(&descriptor, &key.into(), value);
        };
        set("id", &id.into());
        set("label", &label.into());
        set("contextMenuGroupId", &"9_aether".into());
        let run = Closure::<dyn Fn()>::new(move || run()).into_js_value();
        set("run", &run);
        self.editor.add_action(&descriptor)
    }

    /// Shows `path`, creating its model with `text` and `language` the first time.
    pub fn show(&self, path: &str, text: &str, language: &str) {
        if !self.models.borrow().contains_key(path) {
            let uri = bindings::Uri::parse(&format!("{SCHEME}{}", encode_path(path)));
            // A model left behind by an earlier window of this page is replaced.
            if let Some(stale) = bindings::get_model(&uri) {
                stale.dispose();
            }
            let model = bindings::create_model(text, language, &uri);
            let on_change = Rc::clone(&self.on_change);
            let owned = path.to_owned();
            let listener = Closure::<dyn FnMut()>::new(move || on_change(&owned)).into_js_value();
            let handle = model.on_did_change_content(listener.unchecked_ref());
            self.models
                .borrow_mut()
                .insert(path.to_owned(), (model, handle));
        }
        if let Some((model, _)) = self.models.borrow().get(path) {
            self.editor.set_model(Some(model));
        }
    }

    /// Shows nothing (no tab is open).
    pub fn show_none(&self) {
        self.editor.set_model(None);
    }

    /// The buffer of `path`.
    pub fn value(&self, path: &str) -> Option<String> {
        self.models.borrow().get(path).map(|(m, _)| m.get_value())
    }

    /// Replaces the buffer of `path` (an accepted AI edit); the change is an ordinary edit.
    pub fn set_value(&self, path: &str, text: &str) {
        // Set outside the borrow: the change listener reads the buffers.
        let model: Option<TextModel> = self
            .models
            .borrow()
            .get(path)
            .map(|(m, _)| JsValue::from(m).unchecked_into());
        if let Some(model) = model {
            model.set_value(text);
        }
    }

    /// Disposes `path`'s model.
    pub fn close(&self, path: &str) {
        let removed = self.models.borrow_mut().remove(path);
        if let Some((model, handle)) = removed {
            handle.dispose_handle();
            model.dispose();
        }
    }

    /// Sets the markers of `owner` on `path` (empty clears them).
    pub fn set_markers(&self, path: &str, owner: &str, markers: &[Marker]) {
        if let Some((model, _)) = self.models.borrow().get(path) {
            bindings::set_model_markers(model, owner, &to_js(&markers));
        }
    }

    /// The selected text of the shown model, if any is selected.
    pub fn selection(&self) -> Option<String> {
        selected_text(&self.editor)
    }

    /// Calls `listener` with the selected text (or `None`) whenever the selection moves, until
    /// the host is disposed.
    pub fn on_selection(&self, listener: Rc<dyn Fn(Option<String>)>) {
        let editor: CodeEditor = JsValue::from(&self.editor).unchecked_into();
        let closure =
            Closure::<dyn FnMut()>::new(move || listener(selected_text(&editor))).into_js_value();
        self.keep(
            self.editor
                .on_did_change_cursor_selection(closure.unchecked_ref()),
        );
    }

    /// Makes the editor read-only (a binary file's note) or editable.
    pub fn set_read_only(&self, read_only: bool) {
        self.editor.update_options(&to_js(&ReadOnly { read_only }));
    }

    /// Sets the editor's font size, in CSS pixels (Settings; it applies at once).
    pub fn set_font_size(&self, px: u32) {
        self.editor
            .update_options(&to_js(&FontSize { font_size: px }));
    }

    /// Puts the caret at `caret` in the shown model, its line in the middle of the view, and
    /// the keyboard focus in the editor.
    pub fn reveal(&self, caret: Caret) {
        let position = Position {
            line_number: caret.line.max(1),
            column: caret.column.max(1),
        };
        self.editor.set_position(&to_js(&position));
        self.editor.reveal_line_in_center(position.line_number);
        self.editor.focus();
    }

    /// Puts the keyboard focus in the editor.
    pub fn focus(&self) {
        self.editor.focus();
    }

    /// Disposes the editor, its models and registrations.
    pub fn dispose(&self) {
        for extra in self.extras.borrow_mut().drain(..) {
            extra.dispose_handle();
        }
        let paths: Vec<String> = self.models.borrow().keys().cloned().collect();
        for path in paths {
            self.close(&path);
        }
        self.editor.dispose_editor();
    }
}

/// The text selected in `editor`'s shown model, if any.
fn selected_text(editor: &CodeEditor) -> Option<String> {
    let model = editor.model()?;
    let range = editor.get_selection();
    if range.is_null() || range.is_undefined() {
        return None;
    }
    let text = model.get_value_in_range(&range);
    (!text.is_empty()).then_some(text)
}

/// A VFS path as a URI path (spaces and `%`, `#`, `?` escaped).
fn encode_path(path: &str) -> String {
    js_sys::encode_uri(path)
        .as_string()
        .unwrap_or_else(|| path.to_owned())
        .replace('#', "%23")
        .replace('?', "%3F")
}
