//! [`SourceEditor`]: the Tasks window's Monaco editor over one YAML model that holds the
//! definition, with the kernel's parse errors as markers on it.
//!
//! Browser glue only: the window decides what the text is and when it is checked. This holds the
//! editor, its model and the model's change listener, and disposes all three with the window,
//! clearing its markers first (Monaco keeps markers by URI, past the model's end). Nothing here
//! may be called before `services::monaco::load` has finished.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::problem::ParseProblem;
use crate::services::monaco::bindings::{self, CodeEditor, Disposable, TextModel};
use crate::services::monaco::options::{EditorOptions, Marker, Toggle, to_js};

/// The marker owner of the kernel's parse errors.
pub const PARSE_MARKERS: &str = "aether-task-parse";

/// Monaco's language id for the text (its own YAML highlighting, loaded on first use).
const LANGUAGE: &str = "yaml";

/// The editor, its model and the model's listener.
pub struct SourceEditor {
    editor: CodeEditor,
    model: TextModel,
    listener: Disposable,
}

impl SourceEditor {
    /// The URI of the model of Tasks window `window` (one model per window).
    pub fn uri_of(window: u32) -> String {
        format!("aether-task://window-{window}/definition.task.yaml")
    }

    /// Creates the editor in `element` over a new model `uri` holding `text` (replacing a model
    /// an earlier window left at that URI); `on_change(text)` hears every edit.
    pub fn new(
        element: &web_sys::HtmlElement,
        uri: &str,
        text: &str,
        on_change: impl Fn(String) + 'static,
    ) -> SourceEditor {
        let uri = bindings::Uri::parse(uri);
        if let Some(stale) = bindings::get_model(&uri) {
            stale.dispose();
        }
        let model = bindings::create_model(text, LANGUAGE, &uri);
        let watched: TextModel = JsValue::from(&model).unchecked_into();
        let listener =
            Closure::<dyn FnMut()>::new(move || on_change(watched.get_value())).into_js_value();
        let listener = model.on_did_change_content(listener.unchecked_ref());
        let options = EditorOptions {
            font_size: 12,
            tab_size: 2,
            // Inline completions are the Editor's (its AI provider answers for every model).
            inline_suggest: Toggle { enabled: false },
            ..EditorOptions::default()
        };
        let editor = bindings::create_editor(element, &to_js(&options));
        editor.set_model(Some(&model));
        SourceEditor {
            editor,
            model,
            listener,
        }
    }

    /// The text.
    pub fn value(&self) -> String {
        self.model.get_value()
    }

    /// Replaces the text (a loaded file); the change is heard like an edit.
    pub fn set_value(&self, text: &str) {
        self.model.set_value(text);
    }

    /// Shows `problem` as the only parse marker (`None` clears it).
    pub fn show(&self, problem: Option<&ParseProblem>) {
        let markers: Vec<Marker> = problem
            .map(|p| p.marker(self.model.get_line_count(), |line| self.model.get_line_max_column(line)))
            .into_iter()
            .collect();
        bindings::set_model_markers(&self.model, PARSE_MARKERS, &to_js(&markers));
    }

    /// Puts the keyboard focus in the editor, the caret `offset` UTF-16 units into the text.
    pub fn focus_at(&self, offset: u32) {
        let position = self.model.get_position_at(offset);
        self.editor.set_position(&position);
        self.editor.focus();
    }

    /// Disposes the editor, the listener and the model, after clearing the model's markers.
    pub fn dispose(self) {
        bindings::set_model_markers(&self.model, PARSE_MARKERS, &to_js(&Vec::<Marker>::new()));
        self.listener.dispose_handle();
        self.editor.dispose_editor();
        self.model.dispose();
    }
}
