//! Typed `wasm-bindgen` bindings to the parts of Monaco (0.57, AMD build) and its AMD loader that
//! the desktop uses: the loader's `require`, editors, diff editors, models, URIs, markers,
//! actions, languages (register, Monarch tokens) and inline completion providers.
//!
//! Every name here resolves on the global `monaco` (or `window.require`) when called, so nothing
//! may be called before [`super::load`] has finished. Option bags are built from typed serde
//! structs in [`super::options`]; no JavaScript source is evaluated.

use js_sys::{Function, Object};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    // ---- the AMD loader (`min/vs/loader.js`) ----

    /// `require.config({paths: {vs}})`.
    #[wasm_bindgen(js_namespace = ["window", "require"], js_name = config)]
    pub fn amd_config(config: &JsValue);

    /// `require(deps, onLoad, onError)`.
    #[wasm_bindgen(js_namespace = window, js_name = require)]
    pub fn amd_require(deps: &js_sys::Array, on_load: &Function, on_error: &Function);

    // ---- monaco.Uri ----

    /// `monaco.Uri`.
    #[wasm_bindgen(js_namespace = monaco)]
    pub type Uri;

    /// `monaco.Uri.parse(value)`.
    #[wasm_bindgen(static_method_of = Uri, js_namespace = monaco, js_name = parse)]
    pub fn parse(value: &str) -> Uri;

    // ---- monaco.editor ----

    /// `monaco.editor.ITextModel`.
    pub type TextModel;

    #[wasm_bindgen(method, js_name = getValue)]
    pub fn get_value(this: &TextModel) -> String;

    #[wasm_bindgen(method, js_name = setValue)]
    pub fn set_value(this: &TextModel, value: &str);

    #[wasm_bindgen(method, js_name = getLanguageId)]
    pub fn get_language_id(this: &TextModel) -> String;

    /// Characters before `position` (a `{lineNumber, column}`), as `getOffsetAt`.
    #[wasm_bindgen(method, js_name = getOffsetAt)]
    pub fn get_offset_at(this: &TextModel, position: &JsValue) -> u32;

    #[wasm_bindgen(method, js_name = getValueInRange)]
    pub fn get_value_in_range(this: &TextModel, range: &JsValue) -> String;

    #[wasm_bindgen(method, js_name = onDidChangeContent)]
    pub fn on_did_change_content(this: &TextModel, listener: &Function) -> Disposable;

    #[wasm_bindgen(method, js_name = getLineCount)]
    pub fn get_line_count(this: &TextModel) -> u32;

    /// The column just after the last character of `line` (1 for an empty line).
    #[wasm_bindgen(method, js_name = getLineMaxColumn)]
    pub fn get_line_max_column(this: &TextModel, line: u32) -> u32;

    /// The `{lineNumber, column}` `offset` UTF-16 units into the text, as `getPositionAt`.
    #[wasm_bindgen(method, js_name = getPositionAt)]
    pub fn get_position_at(this: &TextModel, offset: u32) -> JsValue;

    #[wasm_bindgen(method)]
    pub fn dispose(this: &TextModel);

    /// `monaco.editor.createModel(value, language, uri)`.
    #[wasm_bindgen(js_namespace = ["monaco", "editor"], js_name = createModel)]
    pub fn create_model(value: &str, language: &str, uri: &Uri) -> TextModel;

    /// `monaco.editor.getModel(uri)`.
    #[wasm_bindgen(js_namespace = ["monaco", "editor"], js_name = getModel)]
    pub fn get_model(uri: &Uri) -> Option<TextModel>;

    /// `monaco.editor.setModelMarkers(model, owner, markers)`.
    #[wasm_bindgen(js_namespace = ["monaco", "editor"], js_name = setModelMarkers)]
    pub fn set_model_markers(model: &TextModel, owner: &str, markers: &JsValue);

    /// `monaco.editor.setTheme(name)`.
    #[wasm_bindgen(js_namespace = ["monaco", "editor"], js_name = setTheme)]
    pub fn set_theme(name: &str);

    /// `monaco.editor.IStandaloneCodeEditor`.
    pub type CodeEditor;

    /// `monaco.editor.create(element, options)`.
    #[wasm_bindgen(js_namespace = ["monaco", "editor"], js_name = create)]
    pub fn create_editor(element: &web_sys::HtmlElement, options: &JsValue) -> CodeEditor;

    #[wasm_bindgen(method, js_name = setModel)]
    pub fn set_model(this: &CodeEditor, model: Option<&TextModel>);

    #[wasm_bindgen(method, js_name = getModel)]
    pub fn model(this: &CodeEditor) -> Option<TextModel>;

    /// The selection as a range, or `null`.
    #[wasm_bindgen(method, js_name = getSelection)]
    pub fn get_selection(this: &CodeEditor) -> JsValue;

    /// `onDidChangeCursorSelection(listener)`: the selection (or the caret) moved.
    #[wasm_bindgen(method, js_name = onDidChangeCursorSelection)]
    pub fn on_did_change_cursor_selection(this: &CodeEditor, listener: &Function) -> Disposable;

    #[wasm_bindgen(method, js_name = addAction)]
    pub fn add_action(this: &CodeEditor, descriptor: &Object) -> Disposable;

    #[wasm_bindgen(method, js_name = updateOptions)]
    pub fn update_options(this: &CodeEditor, options: &JsValue);

    /// Moves the caret to `position` (a `{lineNumber, column}`).
    #[wasm_bindgen(method, js_name = setPosition)]
    pub fn set_position(this: &CodeEditor, position: &JsValue);

    /// Scrolls so that `line` is in the middle of the view (`revealLineInCenter`).
    #[wasm_bindgen(method, js_name = revealLineInCenter)]
    pub fn reveal_line_in_center(this: &CodeEditor, line: u32);

    #[wasm_bindgen(method)]
    pub fn focus(this: &CodeEditor);

    #[wasm_bindgen(method)]
    pub fn layout(this: &CodeEditor);

    #[wasm_bindgen(method, js_name = dispose)]
    pub fn dispose_editor(this: &CodeEditor);

    /// `monaco.editor.IStandaloneDiffEditor`.
    pub type DiffEditor;

    /// `monaco.editor.createDiffEditor(element, options)`.
    #[wasm_bindgen(js_namespace = ["monaco", "editor"], js_name = createDiffEditor)]
    pub fn create_diff_editor(element: &web_sys::HtmlElement, options: &JsValue) -> DiffEditor;

    /// `setModel({original, modified})`.
    #[wasm_bindgen(method, js_name = setModel)]
    pub fn set_diff_model(this: &DiffEditor, models: &Object);

    #[wasm_bindgen(method, js_name = dispose)]
    pub fn dispose_diff(this: &DiffEditor);

    /// `IDisposable`.
    pub type Disposable;

    #[wasm_bindgen(method, js_name = dispose)]
    pub fn dispose_handle(this: &Disposable);

    // ---- monaco.languages ----

    /// `monaco.languages.register({id, extensions})`.
    #[wasm_bindgen(js_namespace = ["monaco", "languages"], js_name = register)]
    pub fn register_language(extension_point: &JsValue);

    /// `monaco.languages.setMonarchTokensProvider(id, definition)`.
    #[wasm_bindgen(js_namespace = ["monaco", "languages"], js_name = setMonarchTokensProvider)]
    pub fn set_monarch_tokens_provider(language_id: &str, definition: &JsValue) -> Disposable;

    /// `monaco.languages.registerInlineCompletionsProvider(selector, provider)`.
    #[wasm_bindgen(js_namespace = ["monaco", "languages"], js_name = registerInlineCompletionsProvider)]
    pub fn register_inline_completions_provider(selector: &str, provider: &Object) -> Disposable;

    /// Monaco's `CancellationToken` (given to providers).
    pub type CancellationToken;

    #[wasm_bindgen(method, getter, js_name = isCancellationRequested)]
    pub fn is_cancellation_requested(this: &CancellationToken) -> bool;

    #[wasm_bindgen(method, js_name = onCancellationRequested)]
    pub fn on_cancellation_requested(this: &CancellationToken, listener: &Function) -> Disposable;
}
